"""A custom load case: push only the anterior half of the superior endplate, compare with the built-ins.

Run: ``python examples/02_custom_load_case.py``.
"""

import vertfem as vf
from vertfem.solvers import Displacement, LoadCase, Selector, SolveOptions


def main(mesh_size_mm: float = 2.0) -> dict[str, float]:
    paths = vf.example_paths()
    l1 = vf.prepare_vertebra(paths["ct"], paths["labels"], "L1", kernel="B40f")
    mesh = vf.mesh_vertebra(l1, mesh_size_mm=mesh_size_mm)
    top = mesh.frame.superior_mm
    # frame coordinates (mm from the body centroid): x lateral, y anterior, z cranial
    anterior_top = Selector("anterior_top", box=((-99, 0, top - 8), (99, 99, top + 1)))
    push = -0.01 * mesh.height_mm
    custom = LoadCase("anterior_push", (Displacement("inferior", 0, 0, 0), Displacement(anterior_top, uz=push)),
                      loaded="anterior_top", axial_displacement_mm=push)
    opts = SolveOptions(nodal_fields=False)
    out = {}
    for lc in (vf.axial_compression(mesh.height_mm), custom):
        res = vf.solve_load_case(mesh, lc, opts)
        out[lc.name] = res.stiffness_N_per_mm
        print(f"{lc.name:>18}: {res.stiffness_N_per_mm:8.0f} N/mm  ({lc.description or 'custom'})")
    wedge = vf.solve_load_case(mesh, vf.anterior_wedge(1.0), opts)
    print(f"    anterior_wedge: moment {wedge.reactions['superior'].moment_Nmm[0]:.0f} N·mm per 1° of flexion")
    return out


if __name__ == "__main__":
    main()
