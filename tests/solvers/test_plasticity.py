"""Material models at the quadrature points: return mapping, consistent tangent, yield laws, element kernels."""

import numpy as np
import pytest
from helpers import box_vertebra

from vertfem.errors import MaterialLawError
from vertfem.solvers.assembly import assemble_stiffness, element_gradients
from vertfem.solvers.plasticity import (
    YIELD_LAWS,
    PlasticMaterial,
    bone_material,
    drucker_prager_parameters,
    from_mandel,
    get_yield_law,
    to_mandel,
    von_mises_material,
)
from vertfem.solvers.return_mapping import element_residuals, element_tangent_corrections, return_mapping

RNG = np.random.default_rng(7)


def _uniaxial_strain(stress_MPa: float, E: float, nu: float) -> np.ndarray:
    """Mandel strain of a uniaxial stress σ along z (elastic)."""
    return np.array([-nu, -nu, 1.0, 0.0, 0.0, 0.0]) * stress_MPa / E


def _dp(sc: float, st: float, h: float = 0.0, E: float = 1000.0, nu: float = 0.3) -> PlasticMaterial:
    return PlasticMaterial("dp", np.array([E]), nu, np.array([sc]), np.array([st]), np.array([h]))


def test_mandel_round_trip_and_energy():
    t = RNG.normal(size=(5, 6))
    np.testing.assert_allclose(from_mandel(to_mandel(t)), t, rtol=1e-15)
    s, e = RNG.normal(size=6), RNG.normal(size=6)
    tensor_contraction = s[:3] @ e[:3] + 2.0 * s[3:] @ e[3:]
    assert to_mandel(s) @ to_mandel(e) == pytest.approx(tensor_contraction, rel=1e-14)


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_drucker_prager_cone_passes_through_both_uniaxial_yield_stresses(sign):
    sc, st = 7.7, 7.0
    mat = _dp(sc, st)
    limit = sc if sign < 0 else st
    for factor, plastic in ((0.999, 0), (1.01, 1)):
        eps = _uniaxial_strain(sign * factor * limit, 1000.0, 0.3)
        _, _, _, state, _ = return_mapping(mat, eps[None], np.zeros((1, 6)), np.zeros(1))
        assert state[0] == plastic
    beta, k0 = drucker_prager_parameters(sc, st)
    assert float(k0) == pytest.approx(sc * (1 - beta)) and float(k0) == pytest.approx(st * (1 + beta))


def test_von_mises_radial_return_in_pure_shear_matches_closed_form():
    """One strain increment of pure shear: q = (H q_tr + 3G σy)/(3G + H), α = (q_tr − σy)/(3G + H)."""
    E, nu, sy, h = 1000.0, 0.3, 10.0, 50.0
    g = E / (2 * (1 + nu))
    gamma = 0.05  # engineering shear strain, far past yield
    eps = np.array([0, 0, 0, 0, 0, gamma / np.sqrt(2.0)])  # Mandel xy = √2·γ/2
    mat = von_mises_material(np.array([E]), nu, sy, hardening_MPa=h)
    s, ep, a, state, _ = return_mapping(mat, eps[None], np.zeros((1, 6)), np.zeros(1))
    q_tr = np.sqrt(3.0) * g * gamma
    q = (h * q_tr + 3 * g * sy) / (3 * g + h)
    assert state[0] == 1
    assert from_mandel(s)[0, 5] * np.sqrt(3.0) == pytest.approx(q, rel=1e-12)
    assert a[0] == pytest.approx((q_tr - sy) / (3 * g + h), rel=1e-12)
    assert np.abs(s[0, :5]).max() < 1e-12 and abs(ep[0, :3].sum()) < 1e-15  # isochoric flow


def _fd_tangent(mat, eps, eps_p, alpha, step=1e-8):
    d = np.empty((6, 6))
    for j in range(6):
        e1, e2 = eps.copy(), eps.copy()
        e1[j] += step
        e2[j] -= step
        s1 = return_mapping(mat, e1[None], eps_p[None], alpha[None], tangent=False)[0][0]
        s2 = return_mapping(mat, e2[None], eps_p[None], alpha[None], tangent=False)[0][0]
        d[:, j] = (s1 - s2) / (2 * step)
    return d


@pytest.mark.parametrize(
    "case",
    ["von-mises-hardening", "von-mises-perfect", "drucker-prager-cone", "drucker-prager-apex", "elastic"],
)
def test_consistent_tangent_equals_finite_differences_of_the_return_mapping(case):
    E, nu = 800.0, 0.3
    if case.startswith("von-mises"):
        mat = von_mises_material(np.array([E]), nu, 5.0, hardening_MPa=40.0 if case.endswith("hardening") else 0.0)
    else:
        mat = _dp(6.0, 4.0, h=25.0, E=E, nu=nu)
    eps_p = RNG.normal(scale=1e-3, size=6)
    alpha = np.array(2e-3)
    if case == "drucker-prager-apex":
        eps = eps_p + np.array([0.03, 0.03, 0.03, 1e-4, 0.0, -2e-4])  # strong hydrostatic tension
    elif case == "elastic":
        eps = eps_p + RNG.normal(scale=1e-4, size=6)
    else:
        eps = eps_p + RNG.normal(scale=2e-2, size=6)
    _, _, _, state, d = return_mapping(mat, eps[None], eps_p[None], alpha[None])
    expected_state = {"elastic": 0, "drucker-prager-apex": 2}.get(case, 1)
    assert state[0] == expected_state
    fd = _fd_tangent(mat, eps, eps_p, alpha)
    if case == "drucker-prager-apex":  # the apex tangent carries a 1e-6·2G deviatoric remainder for definiteness
        g = E / (2 * (1 + nu))
        fd += 2e-6 * g * (np.eye(6) - np.outer([1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0]) / 3)
    np.testing.assert_allclose(d[0], fd, atol=1e-6 * np.abs(fd).max())
    np.testing.assert_allclose(d[0], d[0].T, atol=1e-10 * np.abs(fd).max())


def test_apex_return_of_perfectly_plastic_drucker_prager_is_the_cone_tip():
    mat = _dp(6.0, 4.0)
    beta, k0 = drucker_prager_parameters(6.0, 4.0)
    eps = np.array([0.05, 0.05, 0.05, 0, 0, 0])
    s, *_ = return_mapping(mat, eps[None], np.zeros((1, 6)), np.zeros(1))
    np.testing.assert_allclose(s[0], [k0 / beta / 3] * 3 + [0, 0, 0], atol=1e-12)


def test_yield_law_constants_match_their_sources():
    mk = YIELD_LAWS["morgan-keaveny2001-vertebra"]
    assert (mk.yield_strain_compression, mk.yield_strain_tension) == (0.0077, 0.0070)  # Morgan & Keaveny 2001
    c, t = mk.yield_stresses_MPa(np.array([500.0]), np.array([0.1]))
    assert (c[0], t[0]) == pytest.approx((3.85, 3.5), rel=1e-14)
    kop = get_yield_law("kopperdahl2002")  # 37.4 ρ^1.39, QCT density (Kopperdahl 2002)
    c, t = kop.yield_stresses_MPa(np.array([1.0, 1.0]), np.array([0.1, 0.25]))
    np.testing.assert_allclose(c, 37.4 * np.array([0.1, 0.25]) ** 1.39, rtol=1e-14)
    np.testing.assert_allclose(t / c, 0.70 / 0.77, rtol=1e-14)
    key = get_yield_law("keyak1998")  # 137 ρ^1.88 below 0.317 g/cm³ ash, 114 ρ^1.72 above
    c, _ = key.yield_stresses_MPa(np.ones(2), np.array([0.25, 0.5]))
    np.testing.assert_allclose(c, [137 * 0.25**1.88, 114 * 0.5**1.72], rtol=1e-14)
    c_lo, _ = key.yield_stresses_MPa(np.ones(1), np.array([0.317 - 1e-9]))
    c_hi, _ = key.yield_stresses_MPa(np.ones(1), np.array([0.317]))
    assert c_hi[0] == pytest.approx(c_lo[0], rel=0.005)  # the two pieces meet (to Keyak's rounding)
    c, _ = get_yield_law("keller1994-vertebra").yield_stresses_MPa(np.ones(1), np.array([0.3]))
    assert c[0] == pytest.approx(284 * 0.3**2.27, rel=1e-14)
    with pytest.raises(MaterialLawError, match="unknown yield law"):
        get_yield_law("nope")


@pytest.mark.parametrize("ratio", [0.0, 0.05, 0.2])
def test_bone_material_post_yield_slope_is_the_stated_fraction_of_E(ratio):
    e = np.array([50.0, 400.0, 3000.0])
    m = bone_material(e, np.full(3, 0.2), 0.3, post_yield_ratio=ratio)
    np.testing.assert_allclose(m.uniaxial_tangent_MPa(), ratio * e, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.yield_compression_MPa / m.yield_tension_MPa, 0.77 / 0.70, rtol=1e-14)
    caps = bone_material(e, np.full(3, 0.2), 0.3, elastic=np.array([False, True, False]))
    assert np.isinf(caps.yield_compression_MPa[1]) and caps.summary()["n_never_yield"] == 1


def test_invalid_material_parameters_are_reported():
    with pytest.raises(MaterialLawError, match="one value per element"):
        von_mises_material(np.ones(3), 0.3, np.ones(2))
    with pytest.raises(MaterialLawError, match="positive"):
        von_mises_material(np.ones(2), 0.3, np.array([1.0, -1.0]))
    with pytest.raises(MaterialLawError, match="post_yield_ratio"):
        bone_material(np.ones(2), np.ones(2), 0.3, post_yield_ratio=1.0)


def test_element_kernels_reproduce_the_elastic_stiffness_matrix():
    """With Dᵗ = 2·Dᵉ the tangent corrections are the elastic element matrices; residuals of elastic u are K·u."""
    m = box_vertebra(size=(4.0, 4.0, 6.0), h=2.0, E_field=lambda c: 100.0 + 50.0 * c[:, 2])
    grad, wdet = element_gradients(m.nodes_mm, m.elements)
    mat = von_mises_material(m.E_MPa, 0.3, np.inf)
    params = mat.kernel_parameters()
    ne, nq = wdet.shape
    k = assemble_stiffness(m.nodes_mm, m.elements, m.E_MPa, 0.3)
    u = RNG.normal(size=3 * m.n_nodes)
    zeros = np.zeros((ne, nq, 6))
    sig, eps_p, alpha, dt = zeros.copy(), zeros.copy(), np.zeros((ne, nq)), np.zeros((ne, nq, 6, 6))
    state = np.zeros((ne, nq), np.int8)
    fe = element_residuals(np.ascontiguousarray(grad), wdet, m.elements, u, zeros, np.zeros((ne, nq)), params,
                           eps_p, alpha, sig, state, dt)
    f = np.bincount((3 * m.elements[:, :, None] + np.arange(3)).ravel(), fe.ravel(), 3 * m.n_nodes)
    np.testing.assert_allclose(f, k @ u, atol=1e-10 * np.abs(k @ u).max())
    state[:] = 1
    dk = element_tangent_corrections(np.ascontiguousarray(grad), wdet, np.arange(ne), state, 2.0 * dt, params)
    dofs = (3 * m.elements[:, :, None] + np.arange(3)).reshape(ne, 30)
    for e in (0, ne // 2, ne - 1):
        one = assemble_stiffness(m.nodes_mm, m.elements[e:e + 1], m.E_MPa[e:e + 1], 0.3).toarray()
        np.testing.assert_allclose(dk[e], one[np.ix_(dofs[e], dofs[e])], atol=1e-10 * np.abs(one).max())
