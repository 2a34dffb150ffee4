"""The study report: one self-contained HTML file with methods, provenance, flagged statistics, figures and QC."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vertfem.io import file_sha256
from vertfem.meshing.volume import box_mesh
from vertfem.study import figures, run_study, write_report
from vertfem.study.analyses import small_n_warnings
from vertfem.study.qc import mesh_section

REPORT_STUDY = """\
name: report study
cohort: cohort.csv
measures:
  vbmd: {}
  fe: {mesh_size_mm: 5.0}
save_files: [fe]
analyses:
  - {type: paired, kernels: [B40f, B70f], measures: [vbmd_mg_cm3, stiffness_N_per_mm]}
  - {type: bland_altman, kernels: [B40f, B70f], measures: [stiffness_N_per_mm]}
  - {type: spearman, x: acr_class, measures: [stiffness_N_per_mm]}
  - {type: roc, outcome: fracture, measures: [stiffness_N_per_mm]}
  - {type: odds_ratios, name: separated, outcome: low_bmd, measures: [vbmd_mg_cm3], kernel: B40f}
output: out
execution: {workers: 2}
"""


@pytest.fixture(scope="module")
def reported(cohort_dir, tmp_path_factory):
    """The cohort's 6 scans with vBMD and FE (meshes kept), analysed; one outcome perfectly separated by vBMD."""
    d = tmp_path_factory.mktemp("report")
    shutil.copytree(cohort_dir / "data", d / "data")
    df = pd.read_csv(cohort_dir / "cohort.csv")
    df["low_bmd"] = (df["true_vbmd_mg_cm3"] < 100).astype(int)  # separates vBMD: ML odds ratio does not exist
    df.to_csv(d / "cohort.csv", index=False)
    (d / "study.yaml").write_text(REPORT_STUDY)
    run = run_study(d / "study.yaml")
    assert run.done == 12
    return d, write_report(d / "study.yaml")


def test_report_is_one_self_contained_file(reported):
    _, path = reported
    html = path.read_text()
    srcs = re.findall(r'src="([^"]*)"', html)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/") for s in srcs)
    assert all(h.startswith(("#", "data:text/csv;base64,")) for h in hrefs), [h[:40] for h in hrefs]
    assert "<link" not in html and "<script" not in html
    n_figs = len(list((path.parent / "figures").glob("*.png")))
    n_qc = len(list((path.parent / "qc").glob("*.jpg")))
    assert n_figs >= 5 and n_qc == 6 and len(srcs) == n_figs + n_qc  # every image is embedded
    for png in (path.parent / "figures").glob("*.png"):
        with Image.open(png) as im:
            assert im.info["dpi"] == pytest.approx((300, 300), abs=0.5)


def test_methods_paragraph_states_settings_calibration_statistics_and_versions(reported):
    _, path = reported
    html = path.read_text()
    methods = html[html.index('id="methods"'):html.index('id="results"')]
    for phrase in ["3 subjects (6 vertebra scans; levels L1; reconstruction kernels B40f, B70f)",
                   "eroded by 6 mm", "quadratic tetrahedra (TET10) of 5 mm", "morgan2003-vertebra",
                   "B40f: ρ = -0.0042 + 0.0007·HU", "axial force at 2 % apparent strain", "numpy ",
                   "Wilcoxon signed-rank (R wilcox.test convention)", "lower values indicate the event",
                   "maximum likelihood"]:
        assert phrase in methods, phrase


def test_provenance_traces_rows_to_inputs_and_settings(reported):
    d, path = reported
    html = path.read_text()
    prov = html[html.index('id="provenance"'):]
    table = pd.read_csv(d / "out" / "results.csv")
    assert file_sha256(d / "cohort.csv") in prov and file_sha256(d / "study.yaml") in prov
    for h in table["fe_options_sha256"].unique():
        assert h[:12] in prov
    assert "6 distinct CT files" in prov and "12 done" in prov


def test_statistics_tables_show_method_n_flags_and_small_n_warnings(reported):
    _, path = reported
    html = path.read_text()
    paired = html[html.index('id="a-paired"'):html.index('id="a-bland_altman"')]
    assert "<th>n</th>" in paired and "<th>method</th>" in paired and "[1]" in paired
    assert "n = 3 &lt; 10: estimates and intervals are unreliable" in paired
    sep = pd.read_csv(path.parent / "separated.csv")
    assert sep.loc[0, "separation"] in ("complete", "quasi-complete") and bool(sep.loc[0, "infinite_estimate"])
    assert "separation" in sep.loc[0, "warning"] and sep.loc[0, "n"] == 3
    roc = pd.read_csv(path.parent / "roc.csv")
    assert (roc["higher_is_positive"] == False).all() and roc["method"].str.contains("DeLong").all()  # noqa: E712


def test_small_n_warnings_name_what_is_degenerate():
    """n = 5 gives AUC 1 with CI [1, 1] and the Wilcoxon p at its floor (the issue's example)."""
    w = small_n_warnings({"n": 5, "auc": 1.0, "auc_ci_low": 1.0, "auc_ci_high": 1.0}, 10)
    assert w == ["n = 5 < 10: estimates and intervals are unreliable", "auc: confidence interval of zero width [1, 1]"]
    w = small_n_warnings({"n": 5, "wilcoxon_n_nonzero": 5, "p_wilcoxon": 2 / 2**5,
                          "wilcoxon_method": "Wilcoxon signed-rank (R wilcox.test convention): ..., exact p"}, 5)
    assert w == ["Wilcoxon p = 0.0625 is the smallest exact p with 5 non-zero differences: it cannot show more"]
    assert small_n_warnings({"n": 40, "auc": 0.8, "auc_ci_low": 0.7, "auc_ci_high": 0.9}, 10) == []


def test_figure_axes_carry_units_and_acr_class_names(tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, dpi: made.append(fig) or path)
    x = np.array([0.0, 1, 2, 1, 0, 2])
    figures.scatter_fit([("B40f", x, 1000 * (x + 1))], "acr_class", "stiffness_N_per_mm", tmp_path / "a.png",
                        fit=False)
    figures.bland_altman_plot([1.0, 2, 3], [1.2, 2.1, 3.3], "strength_N", "B40f", "B70f", tmp_path / "b.png")
    ax = made[0].axes[0]
    assert ax.get_xlabel() == "ACR class (trabecular vBMD)" and ax.get_ylabel() == "Stiffness (N/mm)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["osteoporosis", "osteopenia", "normal"]
    ax = made[1].axes[0]
    assert ax.get_ylabel() == "B70f − B40f (N)" and ax.get_xlabel() == "mean of B40f and B70f: Strength (N)"


def test_qc_mesh_section_covers_the_cut_exactly():
    """The polygons where a plane cuts a tetrahedral mesh of a box tile the box's cross-section."""
    t = box_mesh((20.0, 14.0, 30.0), mesh_size_mm=4.0)
    for axis, at, area in ((2, 11.3, 20 * 14), (1, 6.7, 20 * 30), (0, 9.1, 14 * 30)):
        polys = mesh_section(t.nodes_mm, t.elements, axis, at)
        x, y = (lambda p: p[:, 0], lambda p: p[:, 1])
        total = sum(0.5 * abs(np.dot(x(p), np.roll(y(p), 1)) - np.dot(y(p), np.roll(x(p), 1))) for p in polys)
        assert total == pytest.approx(area, rel=1e-9)
