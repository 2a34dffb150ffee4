"""Real data: L1–L4 of the bundled 3 mm abdominal CT (treated as B40f) solve end-to-end.

Reference ranges: vertebral-body stiffness in vivo is several kN/mm to tens of
kN/mm — Jiang et al. 2023 (Front Endocrinol 14:1076990) report L1 stiffness
8834 ± 3747 N/mm (B40f) and strength 6458 ± 1579 N at 2 % strain; the Bonelab
VerSe19 benchmark (whole L1, 1 mm voxels, Kopperdahl law) 19.2 ± 5.3 kN/mm.
We accept 3–60 kN/mm and 1–30 kN (2 % strain) for any single vertebra.

Run: ``python -m pytest validation/validate_real_ct.py -v`` (also run by CI).
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from vertfem.analysis import analyze_vertebra  # noqa: E402
from vertfem.data import example_paths  # noqa: E402


@pytest.mark.parametrize("name", ["L1", "L2", "L3", "L4"])
def test_lumbar_vertebrae_solve_with_plausible_stiffness_and_strength(name, tmp_path):
    p = example_paths()
    res = analyze_vertebra(p["ct"], p["labels"], name, kernel="B40f", fe_options={"nodal_fields": False},
                           outdir=tmp_path)
    row = res.row()
    assert 3_000 < row["stiffness_N_per_mm"] < 60_000
    assert 1_000 < row["strength_N"] < 30_000
    assert 20.0 < row["height_mm"] < 35.0
    summary = json.loads((tmp_path / "result.json").read_text())
    assert summary["values"]["stiffness_N_per_mm"] == pytest.approx(row["stiffness_N_per_mm"])
    print(name, {k: row[k] for k in ("stiffness_N_per_mm", "strength_N", "vbmd_mg_cm3", "n_elements", "total_time_s")})
