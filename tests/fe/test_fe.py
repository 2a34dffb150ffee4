"""The FE measure: options, sweeps on one model, what every result states, per-region values, refusals."""

import csv
import json

import meshio
import numpy as np
import pytest
from helpers import box_vertebra, phantom_vertebra

from vertfem.cli import build_parser
from vertfem.cli._args import options_from_args
from vertfem.ctsim import simulate_ct
from vertfem.errors import ConfigError, UnsupportedLevelError
from vertfem.fe import FEOptions, LoadCaseOptions, build_load_cases, fe_analysis
from vertfem.fe.nonlinear import NonlinearFEOptions, fe_nonlinear
from vertfem.meshing import add_caps, mesh_vertebra
from vertfem.options import parse_options
from vertfem.phantom import PhantomSpec, render_phantom
from vertfem.solvers import SolveOptions, axial_compression, solve_load_case
from vertfem.vertebra import prepare_vertebra


@pytest.fixture(scope="module")
def phantom():
    img = render_phantom(PhantomSpec(width_mm=32, depth_mm=26, height_mm=22, trabecular_vbmd_mg_cm3=110),
                         spacing_mm=1.0)
    ct = simulate_ct(img, "smooth", seed=7)
    v = phantom_vertebra(ct.scan, ct.labels)
    return v, mesh_vertebra(v, mesh_size_mm=3.0)


def test_options_take_a_sweep_and_every_load_case_flag_from_the_command_line(example):
    p = example.paths
    args = build_parser().parse_args([
        "analyze", str(p["ct"]), str(p["labels"]), "-o", "out", "--load-case", "flexion", "--sweep", "extension",
        "lateral_wedge", "--transverse-fixed", "--law", "kopperdahl2002", "--strength", "pistoia", "--region", "whole",
        "--endplate-margin-mm", "3", "--endplate-depth-mm", "2.5", "--no-restrict-to-mask", "--no-trim-to-endplates",
        "--region-strain-threshold", "0.007",
    ])
    o = options_from_args(FEOptions, args, where="fe options")
    assert (o.load_case, o.sweep, o.transverse_fixed, o.law, o.strength, o.region) == (
        "flexion", ("extension", "lateral_wedge"), True, "kopperdahl2002", "pistoia", "whole")
    assert (o.endplate_margin_mm, o.endplate_depth_mm, o.restrict_to_mask, o.trim_to_endplates) == (3.0, 2.5, False,
                                                                                                   False)
    assert [c.name for c in build_load_cases(o, 25.0)] == ["flexion", "extension", "lateral_bending_right"]
    with pytest.raises(ConfigError, match="sweep"):
        parse_options(FEOptions, {"sweep": ["torsion"]})
    yaml_case = {"name": "front", "loaded": "front", "axial_displacement_mm": -0.2, "conditions": [
        {"type": "displacement", "nodes": "inferior", "ux": 0, "uy": 0, "uz": 0},
        {"type": "displacement", "nodes": {"name": "front", "within": "superior", "plane": [[0, 0, 0], [0, 1, 0]]},
         "uz": -0.2}]}
    assert build_load_cases(LoadCaseOptions(sweep=(yaml_case,)), 25.0)[1].name == "front"


def test_sweep_on_one_model_states_what_each_case_measured(phantom, tmp_path):
    v, mesh = phantom
    r = fe_analysis(v, mesh=mesh, sweep=("flexion", "extension", "lateral_bending_right", "combined"),
                    nodal_fields=False)
    assert [s.load_case for s in r.sweep] == ["flexion", "extension", "lateral_bending_right", "combined"]
    assert r.stiffness_N_per_mm > 0 and r.rotational_stiffness_Nm_per_deg is None
    flex, ext, lat, comb = r.sweep
    assert flex.rotational_stiffness_Nm_per_deg > 0 and ext.rotational_stiffness_Nm_per_deg > 0
    assert lat.rotational_stiffness_Nm_per_deg > 0 and comb.stiffness_N_per_mm is None
    assert comb.axial_force_N == pytest.approx(r.axial_force_N + flex.axial_force_N, rel=1e-6)
    assert r.solver["setup_time_s"] > 0 and all(s.solver["setup_time_s"] == 0 for s in r.sweep)
    row = r.row()
    assert row["flexion_rotational_stiffness_Nm_per_deg"] == flex.rotational_stiffness_Nm_per_deg
    for key in ("strength_definition", "height_definition", "bone_apparent_strain", "boundary_conditions",
                "strength_rule", "cortical_shell_load_share", "anterior_third_strained_fraction"):
        assert row[key] is not None, key
    paths = r.save(tmp_path)
    doc = json.loads(paths["json"].read_text())
    assert [s["load_case"] for s in doc["sweep"]] == ["flexion", "extension", "lateral_bending_right", "combined"]
    assert set(doc["regions"]) >= {"cortical_shell", "cancellous_core", "anterior_third", "superior_endplate_zone"}
    with open(paths["sweep"]) as fh:
        assert [x["load_case"] for x in csv.DictReader(fh)] == ["axial_compression", "flexion", "extension",
                                                               "lateral_bending_right", "combined"]
    vtu = meshio.read(paths["vtu"])
    assert "flexion/displacement_mm" in vtu.point_data and "combined/sed_MPa" in vtu.cell_data


def test_region_values_add_up(phantom):
    v, mesh = phantom
    r = fe_analysis(v, mesh=mesh, nodal_fields=False)
    g = r.regions
    for parts in (("cortical_shell", "cancellous_core"), ("anterior_third", "middle_third", "posterior_third")):
        assert sum(g[p]["volume_fraction"] for p in parts) == pytest.approx(1.0, rel=1e-12)
        assert sum(g[p]["load_share"] for p in parts) == pytest.approx(1.0, rel=1e-9)
        assert sum(g[p]["strain_energy_share"] for p in parts) == pytest.approx(1.0, rel=1e-9)
    assert g["superior_endplate_zone"]["load_share"] is None
    assert all(0 <= x["strained_fraction"] <= 1 and x["sed_peak_MPa"] >= x["sed_mean_MPa"] for x in g.values())
    # the shell carries more than its volume share: it is denser than the core
    assert g["cortical_shell"]["load_share"] > g["cortical_shell"]["volume_fraction"]


def test_strength_with_caps_refers_to_the_bone():
    """ν = 0, caps in series: the bone's strain is F/(E·A), so the 2 % rule gives 0.02·E·A exactly."""
    length, t, e_bone = 30.0, 5.0, 1000.0
    capped = add_caps(box_vertebra(size=(20.0, 20.0, length), h=2.0, E=e_bone, nu=0.0), t, 250.0)
    r = solve_load_case(capped, axial_compression(length), SolveOptions(solver="pardiso", nodal_fields=False))
    assert r.bone_apparent_strain < 0.01  # the caps take part of the applied 1 %
    assert r.strength_N == pytest.approx(0.02 * e_bone * 400.0, rel=1e-9)
    assert r.strengths_N["apparent_strain_0.02"] == r.strength_N and "of the bone" in r.strength_definition


def test_mask_restricted_sampling_is_selectable_and_stiffens_the_surface(phantom):
    v, mesh = phantom
    plain = mesh_vertebra(v, mesh_size_mm=3.0, restrict_to_mask=False)
    np.testing.assert_array_equal(plain.elements, mesh.elements)
    regions = fe_analysis(v, mesh=mesh, nodal_fields=False).regions
    assert regions  # computed on the same mesh
    surface = np.zeros(mesh.n_nodes, bool)
    surface[mesh.node_sets["surface"]] = True
    outer = surface[mesh.elements].any(axis=1)
    ratio = mesh.E_MPa / plain.E_MPa
    assert ratio[outer].mean() > 1.02 and ratio[~outer].mean() == pytest.approx(1.0, abs=0.01)


def test_levels_without_a_vertebral_body_are_refused_by_name(example):
    s1 = prepare_vertebra(example.scan, example.labels, "S1", kernel="B40f")
    with pytest.raises(UnsupportedLevelError, match=r"S1 is not supported.*fused into the sacrum"):
        fe_analysis(s1)
    with pytest.raises(UnsupportedLevelError, match=r"S1 is not supported.*fused into the sacrum"):
        fe_nonlinear(s1)


def test_nonlinear_measure_refuses_a_sweep_it_would_drop():
    with pytest.raises(ConfigError, match="runs one load case"):
        parse_options(NonlinearFEOptions, {"sweep": ["flexion"]}, where="fe_nonlinear options")
