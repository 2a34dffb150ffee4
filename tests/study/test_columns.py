"""The columns the check expects are the columns the measures write (so a typo is found, a valid name never refused)."""

from __future__ import annotations

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
