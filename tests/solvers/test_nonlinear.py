"""Elastic–plastic analysis to failure: closed forms, consistency with the linear solver, CalculiX."""

import itertools
import json

import numpy as np
import pytest
from ccx import ccx_or_skip
from helpers import box_vertebra
from pydantic import ValidationError

import vertfem as vf
from vertfem.errors import SolverError
from vertfem.meshing import read_mesh
from vertfem.meshing.export import material_bins
from vertfem.meshing.model import VertebraMesh
from vertfem.meshing.tet10 import EDGES, element_volumes
from vertfem.solvers import Displacement, LoadCase, Selector, SolveOptions, axial_compression, solve_load_case
from vertfem.solvers.calculix import read_calculix_totals, run_calculix, write_calculix_plastic_deck
from vertfem.solvers.nonlinear import NonlinearOptions, offset_yield_point, solve_nonlinear
from vertfem.solvers.plasticity import bone_material, von_mises_material

L = 8.0  # bar length (mm); cross-section 4 × 4 mm
AREA = 16.0


def _roller(delta_mm: float) -> LoadCase:
    """Uniaxial stress in the bar: ends free to expand, rigid motion fixed at two corners."""
    return LoadCase(
        "roller",
        (
            Displacement("inferior", uz=0.0),
            Displacement(Selector("c0", box=((-2.01, -2.01, -4.01), (-1.99, -1.99, -3.99))), ux=0.0, uy=0.0),
            Displacement(Selector("c1", box=((1.99, -2.01, -4.01), (2.01, -1.99, -3.99))), uy=0.0),
            Displacement("superior", uz=delta_mm),
        ),
        "superior",
        delta_mm,
    )


@pytest.fixture(scope="module")
def bar():
    return box_vertebra(size=(4.0, 4.0, L), h=2.0, E=1000.0)


def _bone_box(h: float = 2.5) -> VertebraMesh:
    """A 10 × 10 × 16 mm box with moduli over a decade in smooth blobs, bone density 0.15 g/cm³."""
    def field(c):
        return 300.0 * 10 ** (0.5 * np.sin(c[:, 0] / 3.0) * np.cos(c[:, 1] / 4.0) + 0.3 * np.sin(c[:, 2] / 5.0))

    m = box_vertebra(size=(10.0, 10.0, 16.0), h=h, E_field=field)
    return m.with_materials(rho_ash_g_cm3=np.full(m.n_elements, 0.15))


@pytest.mark.parametrize("hardening_MPa", [0.0, 100.0])
def test_bar_yields_at_sigma_y_times_area_with_the_closed_form_post_yield_slope(bar, hardening_MPa):
    E, sy = 1000.0, 10.0
    mat = von_mises_material(bar.E_MPa, 0.3, sy, hardening_MPa=hardening_MPa)
    res = solve_nonlinear(bar, _roller(-0.16), NonlinearOptions(n_steps=20), material=mat)  # to 2 %, yield at 1 %
    assert res.stiffness_N_per_mm == pytest.approx(E * AREA / L, rel=1e-9)
    i_y = int(np.argmin(np.abs(res.apparent_strain - sy / E)))
    assert res.force_N[i_y] == pytest.approx(sy * AREA, rel=1e-9)
    slope = np.diff(res.force_N[i_y:]) / np.diff(res.displacement_mm[i_y:])
    e_t = E * hardening_MPa / (E + hardening_MPa)
    np.testing.assert_allclose(slope, e_t * AREA / L, rtol=0.005, atol=1e-6 * E * AREA / L)
    assert res.yield_force_N == pytest.approx(sy * AREA + e_t * AREA * 0.002 / (1 - e_t / E), rel=1e-6)
    assert res.yielded_volume_fraction == 1.0


def test_asymmetric_bone_model_yields_in_the_ratio_of_the_yield_strains(bar):
    """Morgan & Keaveny 2001 vertebral yield strains: 0.77 % compression, 0.70 % tension."""
    mat = bone_material(bar.E_MPa, np.full(bar.n_elements, 0.15), 0.3, post_yield_ratio=0.05)
    first_yield = {}
    for name, delta in (("compression", -0.16), ("tension", 0.16)):
        res = solve_nonlinear(bar, _roller(delta), NonlinearOptions(n_steps=2), material=mat)
        first_yield[name] = res.force_N[1]  # the elastic solution scaled to the first yield point
        post = np.diff(res.force_N[1:]) / np.diff(res.displacement_mm[1:])
        if name == "compression":  # post-yield slope = 5 % of E
            np.testing.assert_allclose(post, 0.05 * 1000.0 * AREA / L, rtol=0.005)
    assert first_yield["compression"] == pytest.approx(1000.0 * 0.0077 * AREA, rel=1e-9)
    assert first_yield["tension"] == pytest.approx(1000.0 * 0.0070 * AREA, rel=1e-9)
    assert first_yield["tension"] / first_yield["compression"] == pytest.approx(0.70 / 0.77, rel=1e-9)


def _quarter_annulus(a: float, b: float, t: float, nr: int, nt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Curved TET10 mesh of a quarter ring (radii a, b; thickness t): nodes, elements and grid coordinates.

    Hexahedral cells of the (r, θ, z) grid split into six tetrahedra along their
    main diagonal; mid-side nodes at the grid midpoints, so edges follow the arcs.
    """
    ids = np.arange((nr + 1) * (nt + 1) * 2).reshape(nr + 1, nt + 1, 2)
    grid = np.stack(np.meshgrid(np.arange(nr + 1), np.arange(nt + 1), np.arange(2), indexing="ij"), -1)
    grid = grid.reshape(-1, 3).astype(float)
    paths = [np.cumsum([np.zeros(3, int)] + [np.eye(3, dtype=int)[ax] for ax in p], axis=0)
             for p in itertools.permutations(range(3))]
    cells = np.array([[ids[i + v[0], j + v[1], v[2]] for v in path]
                      for i in range(nr) for j in range(nt) for path in paths])
    uniq, inv = np.unique(np.sort(cells[:, EDGES].reshape(-1, 2), axis=1), axis=0, return_inverse=True)
    param = np.vstack([grid, 0.5 * (grid[uniq[:, 0]] + grid[uniq[:, 1]])])
    elements = np.hstack([cells, len(grid) + inv.reshape(-1, 6)])
    r = a + (b - a) * param[:, 0] / nr
    th = 0.5 * np.pi * param[:, 1] / nt
    nodes = np.column_stack([r * np.cos(th), r * np.sin(th), t * param[:, 2]])
    x = nodes[elements[:, :4]]
    flip = np.einsum("ij,ij->i", np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), x[:, 3] - x[:, 0]) < 0
    elements[flip] = elements[flip][:, [0, 2, 1, 3, 6, 5, 4, 7, 9, 8]]  # swap vertices 1, 2 and their edges
    return nodes, elements, param


def test_thick_cylinder_limit_pressure_matches_the_closed_form():
    """Plane-strain von Mises ring under internal pressure: p_L = (2/√3)·σy·ln(b/a).

    Hill 1950, The Mathematical Theory of Plasticity (expansion of a thick tube).
    """
    a, b, t, nr, nt, sy = 10.0, 20.0, 2.0, 6, 12, 10.0
    nodes, el, param = _quarter_annulus(a, b, t, nr, nt)
    assert element_volumes(nodes, el).sum() == pytest.approx(np.pi / 4 * (b * b - a * a) * t, rel=1e-5)
    sets = {"bottom": np.flatnonzero(param[:, 2] == 0), "top": np.flatnonzero(param[:, 2] == 1),
            "xsym": np.flatnonzero(param[:, 1] == nt), "ysym": np.flatnonzero(param[:, 1] == 0)}
    conds = [Displacement("bottom", uz=0.0), Displacement("top", uz=0.0), Displacement("xsym", ux=0.0),
             Displacement("ysym", uy=0.0)]
    delta = 1.0  # radial displacement of the bore (mm), ≈ 8× the first-yield value
    inner = np.flatnonzero(param[:, 0] == 0)
    for i, node in enumerate(inner):  # a uniform radial displacement of the bore, node by node
        sets[f"bore{i}"] = np.array([node])
        c, s = nodes[node, :2] / np.hypot(*nodes[node, :2])
        conds.append(Displacement(f"bore{i}", ux=delta * c, uy=delta * s))
    m = len(el)
    frame = vf.VertebralFrame((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0), 0.0, t)
    mesh = VertebraMesh(nodes, el, np.full(m, 1000.0), np.full(m, 0.3), np.full(m, 0.5), np.zeros(m, np.int32),
                        sets, frame, t, 0.3)
    res = solve_nonlinear(mesh, LoadCase("bore", tuple(conds), "bore0", None), NonlinearOptions(n_steps=10),
                          material=von_mises_material(mesh.E_MPa, 0.3, sy))
    # the hoop force on the symmetry plane x = 0 balances the pressure's x-resultant p·a·t
    p = -res.reactions_N["xsym"][:, 0] / (a * t)
    p_limit = 2 / np.sqrt(3) * sy * np.log(b / a)
    assert p[-1] == pytest.approx(p_limit, rel=0.02)
    assert abs(p[-1] / p[-2] - 1) < 1e-3  # on the plateau
    bore_x = sum(res.reactions_N[f"bore{i}"][:, 0] for i, node in enumerate(inner) if node not in sets["xsym"])
    np.testing.assert_allclose(bore_x, p * a * t, rtol=1e-3)  # equilibrium in x, to the force tolerance


def test_small_displacement_stiffness_equals_the_linear_solution():
    m = _bone_box()
    lc = axial_compression(m.height_mm)
    linear = solve_load_case(m, lc, SolveOptions(nodal_fields=False, solver="pardiso", precision="double"))
    res = solve_nonlinear(m, lc, NonlinearOptions(n_steps=10))
    assert res.stiffness_N_per_mm == pytest.approx(linear.stiffness_N_per_mm, rel=1e-9)
    assert res.steps[0]["note"].startswith("elastic")
    assert res.load_factor[1] < res.load_factor[2]  # the first point is the onset of yield, before the first step


def test_newton_converges_quadratically_near_the_solution():
    m = _bone_box()
    opts = NonlinearOptions(n_steps=4, linear_solver="direct", cg_rtol=1e-13, force_tolerance=1e-11,
                            energy_tolerance=1e-22, line_search=False, max_newton_iterations=30)
    res = solve_nonlinear(m, axial_compression(m.height_mm), opts)
    last = res.steps[-1]
    r = np.array(last["residual_history_N"])
    r = r[r > 1e-10 * last["reaction_norm_N"]]  # above round-off
    assert len(r) >= 4 and last["n_plastic_elements"] > 0.5 * m.n_elements
    order = np.log(r[-1] / r[-2]) / np.log(r[-2] / r[-3])
    assert order > 1.7
    assert r[-1] / r[-2] ** 2 < 1.0 and r[-2] / r[-3] ** 2 < 1.0  # r_{k+1} ≤ C r_k² with C < 1 / N


def test_strength_does_not_depend_on_the_number_of_steps():
    m = _bone_box()
    lc = axial_compression(m.height_mm)
    coarse = solve_nonlinear(m, lc, NonlinearOptions(n_steps=5))
    fine = solve_nonlinear(m, lc, NonlinearOptions(n_steps=20))
    assert coarse.strength_nonlinear_N == pytest.approx(fine.strength_nonlinear_N, rel=0.01)
    np.testing.assert_allclose(np.interp(coarse.load_factor, fine.load_factor, fine.force_N)[2:], coarse.force_N[2:],
                               rtol=0.01)


def test_curve_matches_calculix_on_the_same_deck(tmp_path):
    """Von Mises per material bin, the same TET10 deck in CalculiX: every increment within 1 % (in fact 1e-5)."""
    exe = ccx_or_skip()
    m = _bone_box(h=3.5)
    bins, e_bin = material_bins(m.E_MPa, rel_tol=0.02)
    e = e_bin[bins]
    m = m.with_materials(E_MPa=e)
    mat = von_mises_material(e, 0.3, 0.0077 * e, hardening_MPa=0.05 * e / 0.95)
    lc = axial_compression(m.height_mm)
    res = solve_nonlinear(m, lc, NonlinearOptions(n_steps=5), material=mat)
    deck, names = write_calculix_plastic_deck(m, lc, mat, tmp_path / "job.inp", n_increments=5)
    run_calculix(deck, ccx=exe)
    times, totals = read_calculix_totals(deck.with_suffix(".dat"))
    ccx_force = -totals[f"RS{names.index('superior')}"][:, 2]
    np.testing.assert_allclose(times, np.arange(1, 6) / 5, rtol=1e-6)
    ours = res.force_N[np.searchsorted(res.load_factor, times - 1e-12)]
    assert res.yielded_volume_fraction > 0.5
    assert np.abs(ours / ccx_force - 1).max() < 1e-5  # CalculiX prints 7 digits


def test_result_files_and_row(tmp_path):
    m = _bone_box(h=4.0)
    res = solve_nonlinear(m, axial_compression(m.height_mm), NonlinearOptions(n_steps=4))
    row = res.row()
    assert row["strength_nonlinear_N"] == res.strength_nonlinear_N == res.force_N.max()
    assert row["strength_linear_same_strain_N"] == pytest.approx(res.stiffness_N_per_mm * 0.02 * 16.0)
    assert 0 < row["strength_nonlinear_to_linear"] < 1 and row["apparent_strain_at_strength"] == pytest.approx(0.02)
    paths = res.save(tmp_path)
    doc = json.loads(paths["json"].read_text())
    assert doc["measure"] == "fe_nonlinear" and doc["values"]["strength_nonlinear_N"] == pytest.approx(row[
        "strength_nonlinear_N"])
    curve = np.loadtxt(paths["csv"], delimiter=",", skiprows=1)
    np.testing.assert_allclose(curve[:, 3], res.force_N, rtol=1e-9)
    assert paths["png"].stat().st_size > 10_000
    back = read_mesh(paths["vtu"])
    assert back.n_elements == m.n_elements
    sums = res.reactions_N["superior"] + res.reactions_N["inferior"]
    assert np.abs(sums).max() < 1e-3 * res.force_N.max()  # the two endplates balance


def test_options_are_validated_and_failures_reported():
    with pytest.raises(ValidationError, match="unknown yield law"):
        NonlinearOptions(yield_law="made-up")
    with pytest.raises(ValidationError, match="extra"):
        NonlinearOptions(n_step=10)
    m = _bone_box(h=4.0)
    with pytest.raises(SolverError, match="did not converge"):
        solve_nonlinear(m, axial_compression(m.height_mm),
                        NonlinearOptions(n_steps=1, max_newton_iterations=2, max_cutbacks=0))


def test_offset_yield_point_without_a_crossing_is_none():
    d = np.linspace(0, 1, 5)
    assert offset_yield_point(d, 100.0 * d, 100.0, 0.2) is None
