"""Gallery: the pictures a researcher looks at before trusting a result, written as PNGs ready for a figure.

Runs the bundled L1 (axial compression), then renders: modulus, von Mises
stress cut mid-sagittal, minimum principal strain on the deformed shape (one
sign everywhere, so a sequential map), the CT with the body outline and the
mapped density, and smooth vs sharp kernel on the same mesh with their
difference. Every 3-D view has a title, the vertebral frame's orientation
triad, a scalar bar that marks a clipped range, and a legend for the fixed
and loaded endplate nodes; rendering is off screen (no display needed).

Run: ``python examples/04_gallery.py [outdir] [mesh_size_mm] [dpi]`` (dpi 300 for print).
"""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

import vertfem as vf
from vertfem import viz
from vertfem.meshing.mapping import map_element_materials


def main(outdir: str = "gallery", mesh_size_mm: float = 2.0, dpi: int = 100) -> list[Path]:
    out = Path(outdir)
    p = vf.example_paths()
    l1 = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    scan, cal = l1.scan, l1.require_calibration()
    mesh = vf.mesh_vertebra(l1, mesh_size_mm=mesh_size_mm)
    res = vf.solve_load_case(mesh, vf.axial_compression(mesh.height_mm), vf.SolveOptions(nodal_fields=True))
    view = viz.ViewOptions(dpi=dpi)
    shots = [
        viz.plot_field(res, "E_MPa", options=view, screenshot=out / "l1_modulus.png"),
        viz.plot_field(res, "von_mises_MPa", options=view, clip="sagittal",
                       screenshot=out / "l1_von_mises_sagittal.png"),
        viz.plot_field(res, "min_principal_strain", options=view, deformed_scale=30.0,
                       screenshot=out / "l1_min_strain.png"),
    ]
    body = l1.to_scan_grid(l1.body)
    dens = np.where(body, 1000.0 * cal.density_g_cm3(scan.hu), np.nan)
    shots.append(viz.plot_ct_overlay(scan.hu, mask=body, overlay=dens, overlay_label="ρash (mg/cm³)", axis=1,
                                     spacing_mm=scan.geometry.spacing_mm[2::-2], dpi=max(dpi, 150),
                                     screenshot=out / "l1_ct_density.png"))
    # the same mesh mapped with the sharp-kernel line: a kernel comparison with an element-wise difference
    vals = map_element_materials(mesh.nodes_mm, mesh.elements, vf.resolve_calibration("B70f").density_g_cm3(l1.hu),
                                 l1.geometry, mask=l1.body)
    sharp = replace(mesh, E_MPa=vals.E_MPa, rho_ash_g_cm3=vals.rho_ash_g_cm3, rho_app_g_cm3=vals.rho_app_g_cm3)
    res_b = vf.solve_load_case(sharp, vf.axial_compression(sharp.height_mm))
    shots.append(viz.compare_results(res, res_b, "von_mises_MPa", labels=("B40f", "B70f line"), dpi=dpi,
                                     screenshot=out / "l1_kernels.png"))
    for s in shots:
        print(s)
    return shots


if __name__ == "__main__":
    main(*(sys.argv[1:2]), *(float(a) for a in sys.argv[2:3]), *(int(a) for a in sys.argv[3:4]))
