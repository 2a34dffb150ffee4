"""Stiffness, strength and vBMD of L1 from the bundled CT — the 10-line workflow.

Run: ``python examples/01_analyze_l1.py [outdir]``; writes result.json and result.vtu.
"""

import sys

import vertfem as vf


def main(outdir: str = "example-01", mesh_size_mm: float = 2.0) -> vf.VertebraAnalysis:
    paths = vf.example_paths()
    l1 = vf.prepare_vertebra(paths["ct"], paths["labels"], "L1", kernel="B40f")
    res = vf.analyze(l1, fe_options={"mesh_size_mm": mesh_size_mm}, outdir=outdir)
    row = res.row()
    print(f"L1: stiffness {row['stiffness_N_per_mm']:.0f} N/mm, strength {row['strength_N']:.0f} N, "
          f"vBMD {row['vbmd_mg_cm3']:.1f} mg/cm³ ({row['acr_class']})")
    return res


if __name__ == "__main__":
    main(*sys.argv[1:2])
