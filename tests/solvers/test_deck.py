"""Complete decks: every load case as a CalculiX step, run by ``ccx``, reactions equal to vertfem's."""

import numpy as np
import pytest
from ccx import ccx_or_skip
from helpers import phantom_vertebra

from vertfem.calibration import default_registry
from vertfem.cli import main
from vertfem.ctsim import simulate_ct
from vertfem.meshing import mesh_vertebra, read_mesh
from vertfem.phantom import PhantomSpec, render_phantom
from vertfem.solvers import (
    Displacement,
    Force,
    LoadCase,
    Selector,
    SolveOptions,
    axial_compression,
    extension,
    flexion,
    lateral_bending,
    solve_load_cases,
)
from vertfem.solvers.calculix import run_calculix
from vertfem.solvers.deck import read_deck_totals, write_deck
from vertfem.solvers.static import apply_conditions


@pytest.fixture(scope="module")
def phantom_mesh():
    img = render_phantom(PhantomSpec(width_mm=30, depth_mm=24, height_mm=20, trabecular_vbmd_mg_cm3=110, wedge_deg=8.0),
                         spacing_mm=1.0)
    ct = simulate_ct(img, "smooth", seed=5)
    return mesh_vertebra(phantom_vertebra(ct.scan, ct.labels, default_registry()["B40f"]), mesh_size_mm=4.0)


def test_every_step_of_a_sweep_deck_matches_vertfem(phantom_mesh, tmp_path):
    exe = ccx_or_skip()
    mesh = phantom_mesh
    front = Selector("anterior_endplate", within="superior", plane=((0.0, 0.0, 0.0), (0.0, 1.0, 0.0)))
    pushed = LoadCase("anterior_force", (Displacement("inferior", 0.0, 0.0, 0.0), Force(front, (0.0, 0.0, -500.0)),
                                         Displacement("superior", ux=0.0, uy=0.0)), loaded="inferior")
    cases = [axial_compression(mesh.height_mm), flexion(1.0), lateral_bending(1.0, transverse_fixed=True), pushed]
    ours = solve_load_cases(mesh, cases, SolveOptions(solver="pardiso", precision="double", nodal_fields=False))
    deck = write_deck(mesh, cases, tmp_path / "sweep.inp")
    text = deck.path.read_text()
    assert text.count("*STEP") == 4 and text.count("*END STEP") == 4 and "*CLOAD, OP=NEW" in text
    assert "vertebral frame" in text and "*NSET, NSET=ANTERIOR_ENDPLATE" in text
    run_calculix(deck.path, ccx=exe)
    totals = read_deck_totals(deck.path.with_suffix(".dat"), deck)
    assert [name for name, _ in deck.steps] == [c.name for c in cases]
    local = mesh.frame.to_local(mesh.nodes_mm)
    for step, res, lc in zip(totals, ours, cases):
        assert set(step) == set(res.reactions)
        _, _, force, sets = apply_conditions(lc, local, mesh)
        for name, f_ccx in step.items():
            # CalculiX's RF is the internal force K·u: vertfem's reaction plus the load applied to the set's nodes
            f = np.asarray(res.reactions[name].force_N) + force.reshape(-1, 3)[sets[name]].sum(axis=0)
            np.testing.assert_allclose(f_ccx, f, rtol=0, atol=2e-5 * max(np.linalg.norm(f), 1.0))
    assert ours[0].stiffness_N_per_mm == pytest.approx(totals[0]["superior"][2] / cases[0].axial_displacement_mm,
                                                       rel=1e-5)


def test_cli_mesh_writes_a_runnable_deck_for_the_chosen_load_cases(example, tmp_path):
    exe = ccx_or_skip()
    p = example.paths
    code = main(["mesh", str(p["ct"]), str(p["labels"]), "--vertebra", "L1", "--kernel", "B40f", "--mesh-size-mm", "5",
                 "--load-case", "extension", "--sweep", "axial_compression", "-o", str(tmp_path / "l1.vtu"),
                 "--abaqus", str(tmp_path / "l1.inp")])
    assert code == 0
    text = (tmp_path / "l1.inp").read_text()
    assert text.count("*STEP") == 2 and "*BOUNDARY, OP=NEW" in text and "*NODE PRINT" in text
    totals = run_calculix(tmp_path / "l1.inp", ccx=exe)
    mesh = read_mesh(tmp_path / "l1.vtu")
    ext, axial = solve_load_cases(mesh, [extension(1.0), axial_compression(mesh.height_mm)],
                                  SolveOptions(solver="pardiso", precision="double", nodal_fields=False))
    # print order: each step's inferior, then superior set
    scale = abs(axial.axial_force_N)
    np.testing.assert_allclose(totals[0], ext.reactions["inferior"].force_N, rtol=0, atol=2e-5 * scale)
    np.testing.assert_allclose(totals[1], ext.reactions["superior"].force_N, rtol=0, atol=2e-5 * scale)
    assert totals[3][2] / (-0.01 * mesh.height_mm) == pytest.approx(axial.stiffness_N_per_mm, rel=1e-5)
