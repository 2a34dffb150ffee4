"""A custom load case: push only the anterior half of the superior endplate, and a sweep of the built-ins.

Frame coordinates are mm from the body centroid: x lateral (the patient's right), y anterior, z cranial.
The selector takes the nodes of the superior endplate (the ``superior`` node set, found from the body's
anatomy) on the anterior side of the plane y = 0 — only endplate nodes, none of the walls.

Run: ``python examples/02_custom_load_case.py``.
"""

import vertfem as vf
from vertfem.solvers import (
    Displacement,
    LoadCase,
    Selector,
    SolveOptions,
    axial_compression,
    extension,
    flexion,
    lateral_bending,
    solve_load_cases,
)


def main(mesh_size_mm: float = 2.0) -> dict[str, vf.solvers.FEResult]:
    paths = vf.example_paths()
    l1 = vf.prepare_vertebra(paths["ct"], paths["labels"], "L1", kernel="B40f")
    mesh = vf.mesh_vertebra(l1, mesh_size_mm=mesh_size_mm)
    anterior_half = Selector("anterior_endplate", within="superior", plane=((0.0, 0.0, 0.0), (0.0, 1.0, 0.0)))
    push = -0.01 * mesh.height_mm
    custom = LoadCase("anterior_push", (Displacement("inferior", 0, 0, 0), Displacement(anterior_half, uz=push)),
                      loaded="anterior_endplate", axial_displacement_mm=push,
                      description="inferior endplate fixed; anterior half of the superior endplate pushed by 1 %")
    # the built-ins share their constraints: one factorisation for the four; the custom case gets its own
    cases = [axial_compression(mesh.height_mm), flexion(1.0), extension(1.0), lateral_bending(1.0), custom]
    results = {r.load_case: r for r in solve_load_cases(mesh, cases, SolveOptions(nodal_fields=False))}
    for name, r in results.items():
        value = (f"{r.stiffness_N_per_mm:8.0f} N/mm   " if r.stiffness_N_per_mm is not None
                 else f"{r.rotational_stiffness_Nm_per_deg:8.1f} N·m/deg")
        print(f"{name:>22}: {value} ({r.load_case_description})")
    return results


if __name__ == "__main__":
    main()
