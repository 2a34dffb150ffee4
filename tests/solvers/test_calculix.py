"""Independent code: the same heterogeneous TET10 model solved by CalculiX."""

import numpy as np
import pytest
from ccx import ccx_or_skip
from helpers import phantom_vertebra

from vertfem.calibration import default_registry
from vertfem.ctsim import simulate_ct
from vertfem.meshing import mesh_vertebra
from vertfem.meshing.caps import add_caps
from vertfem.phantom import PhantomSpec, render_phantom
from vertfem.solvers import SolveOptions, anterior_wedge, axial_compression, combined, lateral_wedge, solve_load_case
from vertfem.solvers.calculix import run_calculix, write_calculix_deck


@pytest.fixture(scope="module")
def hetero_mesh():
    img = render_phantom(PhantomSpec(width_mm=30, depth_mm=24, height_mm=20, trabecular_vbmd_mg_cm3=110),
                         spacing_mm=1.0)
    ct = simulate_ct(img, "sharp", seed=2)
    return mesh_vertebra(phantom_vertebra(ct.scan, ct.labels, default_registry()["B70f"]), mesh_size_mm=3.0)


CASES = {
    "axial": lambda h: axial_compression(h),
    "wedge": lambda h: anterior_wedge(1.0),
    "lateral": lambda h: lateral_wedge(1.0),
    "combined": lambda h: combined(h),
}


@pytest.mark.parametrize(
    "case, caps",
    [("axial", False), ("wedge", False), ("axial", True), ("wedge", True), ("lateral", True), ("combined", True)],
)
def test_reaction_force_matches_calculix(hetero_mesh, case, caps, tmp_path):
    """Within 0.5 % of the reaction (issue 4); with PMMA caps for every built-in load case."""
    exe = ccx_or_skip()
    mesh = add_caps(hetero_mesh, 4.0, 2500.0) if caps else hetero_mesh
    assert np.ptp(mesh.E_MPa) > 0.5 * mesh.E_MPa.mean()  # really heterogeneous
    lc = CASES[case](mesh.height_mm)
    ours = solve_load_case(mesh, lc, SolveOptions(nodal_fields=False))
    deck, names = write_calculix_deck(mesh, lc, tmp_path / "job.inp")
    totals = run_calculix(deck, ccx=exe)
    assert len(totals) == len(names)
    for name, f_ccx in zip(names, totals):
        f = np.asarray(ours.reactions[name].force_N)
        scale = np.linalg.norm(f)
        assert scale > 1.0
        np.testing.assert_allclose(f_ccx, f, atol=0.005 * scale)
