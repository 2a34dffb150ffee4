"""The columns the check expects are the columns the measures write (so a typo is found, a valid name never refused)."""

from __future__ import annotations

import pandas as pd
import pytest

from vertfem.measures import MEASURES, run_measure, table_row
from vertfem.study.columns import OPEN_MEASURES, PROVENANCE_COLUMNS, measure_columns

_IDENT = {"vertebra", "kernel"}


@pytest.mark.parametrize("measure, options", [
    ("vbmd", {}), ("focal", {}), ("texture", {"preset": "goller2023"}), ("texture", {"preset": "ibsi"}),
    ("fe", {"mesh_size_mm": 6.0}),
])
@pytest.mark.filterwarnings("ignore::vertfem.errors.ResolutionWarning", "ignore::vertfem.errors.FeatureWarning")
def test_expected_columns_are_the_rows_columns(example, measure, options):
    m = MEASURES[measure]
    opts = m.parse(options)
    row = table_row(run_measure(measure, example.l1, opts))
    written = set(row) - _IDENT - set(PROVENANCE_COLUMNS) - {f"{measure}_options_sha256"}
    expected = set(measure_columns(measure, opts))
    if measure in OPEN_MEASURES:  # FE adds columns of its regions, endplates and sweeps: the listed ones always
        assert expected <= written, expected - written
    else:
        assert expected == written


def test_results_table_carries_the_levels_plausibility_per_scan():
    """The study's table runs the checks of ``vertfem analyze``'s levels table, each scan against itself."""
    from vertfem.study.store import _with_level_checks

    rows = [{"subject": s, "scan": "1", "kernel": "B40f", "vertebra": v, "stiffness_N_per_mm": 1.0e4,
             "apparent_modulus_MPa": e, "vbmd_mg_cm3": 80.0, "flags": ""}
            for s, es in (("A", (280.0, 300.0, 290.0, 600.0)), ("B", (280.0, 300.0, 290.0, 310.0)))
            for v, e in zip(("L1", "L2", "L3", "L4"), es)]
    table = _with_level_checks(pd.DataFrame(rows), None)
    flagged = table[table["plausibility_flags"].fillna("") != ""]
    assert list(zip(flagged["subject"], flagged["vertebra"])) == [("A", "L4")]
    assert flagged["flags"].iloc[0] == "modulus_vs_vbmd" and flagged["plausibility_reasons"].iloc[0]
    assert table.loc[3, "plausibility_modulus_ratio"] > 1.4 > table.loc[7, "plausibility_modulus_ratio"]
