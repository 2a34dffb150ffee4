"""The return mapping of :mod:`.plasticity`'s materials and the TET10 element kernels built on it (numba).

The return mapping is the closed-form backward-Euler update of the
Drucker–Prager/von Mises cone with linear isotropic hardening (radial return
to the cone; return to the apex for hydrostatic tension beyond k₀/β), and the
tangent is its exact linearisation (Simo & Hughes 1998, *Computational
Inelasticity*, §3.3; de Souza Neto, Perić & Owen 2008, *Computational Methods
for Plasticity*, §8.3), so Newton's method converges quadratically. Vectors
are Mandel vectors (xx, yy, zz, √2·yz, √2·xz, √2·xy).

The element kernels evaluate, for :mod:`.nonlinear`, the internal forces of
every TET10 element (4-point rule) after the return mapping at its points,
and the corrections ``Σ w Bᵀ (Dᵗ − Dᵉ) B`` that turn elastic element matrices
into consistent tangents.
"""

from __future__ import annotations

import numba
import numpy as np

from .plasticity import PlasticMaterial

__all__ = [
    "elastic_yield_factors",
    "element_residuals",
    "element_tangent_corrections",
    "return_map_point",
    "return_mapping",
]


@numba.njit(cache=True, inline="always")
def _elastic_tangent(g: float, k: float, out: np.ndarray) -> None:
    for i in range(6):
        for j in range(6):
            out[i, j] = 0.0
    lam = k - 2.0 * g / 3.0
    for i in range(3):
        for j in range(3):
            out[i, j] = lam
        out[i, i] += 2.0 * g
    for i in range(3, 6):
        out[i, i] = 2.0 * g


@numba.njit(cache=True)
def _cone_return(ee, eps_p, s, snorm, i1, g, k, beta, dgam, denom, sig, eps_p_new, tangent, want_tangent):
    """Return to the cone along the normal ``a = √6 G n̂ + 3Kβ 1``; tangent ``Dᵉ − a⊗a/d − 2G·3GΔγ/q (I_dev − n̂⊗n̂)``."""
    q = np.sqrt(1.5) * snorm
    nhat = s / snorm
    a = np.empty(6)
    for i in range(6):
        a[i] = np.sqrt(6.0) * g * nhat[i] + (3.0 * k * beta if i < 3 else 0.0)
        sig[i] = s[i] + (i1 / 3.0 if i < 3 else 0.0) - dgam * a[i]
        eps_p_new[i] = eps_p[i] + dgam * (np.sqrt(1.5) * nhat[i] + (beta if i < 3 else 0.0))
    if want_tangent:
        _elastic_tangent(g, k, tangent)
        c = 2.0 * g * 3.0 * g * dgam / q
        for i in range(6):
            for j in range(6):
                idev = (1.0 if i == j else 0.0) - ((1.0 / 3.0) if (i < 3 and j < 3) else 0.0)
                tangent[i, j] -= a[i] * a[j] / denom + c * (idev - nhat[i] * nhat[j])


@numba.njit(cache=True)
def _apex_return(ee, eps_p, i1, g, k, beta, h, kk, sig, eps_p_new, tangent, want_tangent):
    """Return to the apex (β > 0): all deviatoric trial strain becomes plastic, volumetric return with
    hardening ``Δᾱ = Δεᵥᵖ/(3β)``. Returns Δᾱ."""
    tr = ee[0] + ee[1] + ee[2]
    hv = h / (3.0 * beta)
    dev_p = (beta * i1 - kk) / (3.0 * k * beta + hv)
    i1n = i1 - 3.0 * k * dev_p
    for i in range(6):
        sig[i] = i1n / 3.0 if i < 3 else 0.0
        eps_p_new[i] = eps_p[i] + (ee[i] - tr / 3.0 if i < 3 else ee[i]) + (dev_p / 3.0 if i < 3 else 0.0)
    if want_tangent:
        cvol = k * hv / (3.0 * k * beta + hv)
        for i in range(6):
            for j in range(6):
                idev = (1.0 if i == j else 0.0) - ((1.0 / 3.0) if (i < 3 and j < 3) else 0.0)
                # the exact apex tangent has no deviatoric stiffness; a 1e-6·2G remainder keeps the system definite
                tangent[i, j] = (cvol if (i < 3 and j < 3) else 0.0) + 2e-6 * g * idev
    return dev_p / (3.0 * beta)


@numba.njit(cache=True)
def return_map_point(
    eps: np.ndarray, eps_p: np.ndarray, alpha: float, g: float, k: float, beta: float, k0: float, h: float,
    sig: np.ndarray, eps_p_new: np.ndarray, tangent: np.ndarray, want_tangent: bool,
) -> tuple[float, int]:
    """Backward-Euler update of one point (Mandel vectors). Returns ``(alpha_new, state)``.

    ``state``: 0 elastic, 1 plastic (cone), 2 plastic (apex). ``tangent`` is
    filled with the consistent tangent when ``want_tangent``.
    """
    ee = np.empty(6)
    for i in range(6):
        ee[i] = eps[i] - eps_p[i]
    tr = ee[0] + ee[1] + ee[2]
    i1 = 3.0 * k * tr
    s = np.empty(6)
    for i in range(6):
        s[i] = 2.0 * g * (ee[i] - (tr / 3.0 if i < 3 else 0.0))
    snorm = 0.0
    for i in range(6):
        snorm += s[i] * s[i]
    snorm = np.sqrt(snorm)
    q = np.sqrt(1.5) * snorm
    kk = k0 + h * alpha
    f = q + beta * i1 - kk
    if not (f > 1e-12 * kk):  # elastic (also for k0 = inf)
        for i in range(6):
            sig[i] = s[i] + (i1 / 3.0 if i < 3 else 0.0)
            eps_p_new[i] = eps_p[i]
        if want_tangent:
            _elastic_tangent(g, k, tangent)
        return alpha, 0
    denom = 3.0 * g + 9.0 * k * beta * beta + h
    dgam = f / denom
    if q - 3.0 * g * dgam >= 0.0 and snorm > 0.0:
        _cone_return(ee, eps_p, s, snorm, i1, g, k, beta, dgam, denom, sig, eps_p_new, tangent, want_tangent)
        return alpha + dgam, 1
    return alpha + _apex_return(ee, eps_p, i1, g, k, beta, h, kk, sig, eps_p_new, tangent, want_tangent), 2


@numba.njit(cache=True)
def _return_map_many(eps, eps_p, alpha, params, want_tangent):
    n = eps.shape[0]
    sig = np.empty((n, 6))
    eps_p_new = np.empty((n, 6))
    alpha_new = np.empty(n)
    state = np.empty(n, np.int8)
    tangent = np.empty((n, 6, 6))
    for p in range(n):
        a, st = return_map_point(
            eps[p], eps_p[p], alpha[p], params[p, 0], params[p, 1], params[p, 2], params[p, 3], params[p, 4],
            sig[p], eps_p_new[p], tangent[p], want_tangent,
        )
        alpha_new[p] = a
        state[p] = st
    return sig, eps_p_new, alpha_new, state, tangent


def return_mapping(
    material: PlasticMaterial,
    strain: np.ndarray,
    plastic_strain: np.ndarray,
    alpha: np.ndarray,
    *,
    element: np.ndarray | None = None,
    tangent: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Stress, updated state and consistent tangent at a set of points (vectorised, for tests and tools).

    Parameters
    ----------
    material : PlasticMaterial
    strain, plastic_strain : ndarray (n, 6)
        Total and previous plastic strain, Mandel vectors.
    alpha : ndarray (n,)
        Previous equivalent plastic strain.
    element : ndarray of int (n,), optional
        Element of each point (default: point i belongs to element i).
    tangent : bool

    Returns
    -------
    stress : ndarray (n, 6), MPa (Mandel)
    plastic_strain : ndarray (n, 6)
    alpha : ndarray (n,)
    state : ndarray (n,) of int8
        0 elastic, 1 plastic (cone), 2 plastic (apex).
    tangent : ndarray (n, 6, 6) or None
        dσ/dε (MPa), Mandel.

    Examples
    --------
    >>> import numpy as np
    >>> from vertfem.solvers.plasticity import von_mises_material
    >>> m = von_mises_material(np.array([1000.0]), 0.0, 10.0)
    >>> eps = np.array([[0.02, -0.01, -0.01, 0, 0, 0]])  # deviatoric, trial q = 30 MPa (G = 500 MPa)
    >>> s, _, a, st, _ = return_mapping(m, eps, np.zeros((1, 6)), np.zeros(1))
    >>> round(float(s[0, 0] - s[0, 1]), 9), int(st[0]), round(float(a[0]), 9)  # Δγ = (30 − 10)/(3G)
    (10.0, 1, 0.013333333)
    """
    params = material.kernel_parameters()
    idx = np.arange(len(strain)) if element is None else np.asarray(element)
    out = _return_map_many(
        np.ascontiguousarray(strain, dtype=float), np.ascontiguousarray(plastic_strain, dtype=float),
        np.ascontiguousarray(alpha, dtype=float), np.ascontiguousarray(params[idx]), tangent,
    )
    return out[0], out[1], out[2], out[3], (out[4] if tangent else None)


# ---------------------------------------------------------------------------- element kernels (TET10)

_R2 = np.sqrt(0.5)


@numba.njit(cache=True, inline="always")
def _displacement_gradient(grad, elements, u, e, q, hh):
    """hh[i, j] = du_i/dx_j of element ``e`` at quadrature point ``q``."""
    hh[:] = 0.0
    for a in range(10):
        n = elements[e, a]
        for i in range(3):
            ui = u[3 * n + i]
            for j in range(3):
                hh[i, j] += ui * grad[e, q, a, j]


@numba.njit(cache=True)
def element_residuals(grad, wdet, elements, u, eps_p, alpha, params, eps_p_new, alpha_new, sig, state, dt):
    """Internal forces ``Σ_q w Bᵀσ`` of every element, (m, 30), after the return mapping at each point.

    ``grad`` (m, q, 10, 3) and ``wdet`` (m, q) are the physical shape-function
    gradients and weights (:func:`~vertfem.solvers.assembly.element_gradients`),
    ``u`` the nodal displacements (3n,), ``eps_p``/``alpha`` the committed
    state (m, q, 6)/(m, q), ``params`` (m, 5) from
    :meth:`PlasticMaterial.kernel_parameters`. Fills the trial state
    ``eps_p_new``/``alpha_new``, the stress ``sig`` (Mandel), ``state``
    (0 elastic, 1 cone, 2 apex) and the consistent tangent ``dt`` (m, q, 6, 6).
    """
    m, nq = wdet.shape
    fe = np.zeros((m, 30))
    for e in range(m):
        g_ = params[e, 0]
        k_ = params[e, 1]
        b_ = params[e, 2]
        k0 = params[e, 3]
        h_ = params[e, 4]
        eps = np.empty(6)
        hh = np.empty((3, 3))
        for q in range(nq):
            _displacement_gradient(grad, elements, u, e, q, hh)
            eps[0] = hh[0, 0]
            eps[1] = hh[1, 1]
            eps[2] = hh[2, 2]
            eps[3] = (hh[1, 2] + hh[2, 1]) * _R2
            eps[4] = (hh[0, 2] + hh[2, 0]) * _R2
            eps[5] = (hh[0, 1] + hh[1, 0]) * _R2
            alpha_new[e, q], state[e, q] = return_map_point(
                eps, eps_p[e, q], alpha[e, q], g_, k_, b_, k0, h_, sig[e, q], eps_p_new[e, q], dt[e, q], True
            )
            s = sig[e, q]
            w = wdet[e, q]
            sxx, syy, szz = s[0], s[1], s[2]
            syz, sxz, sxy = s[3] * _R2, s[4] * _R2, s[5] * _R2
            for a in range(10):
                gx, gy, gz = grad[e, q, a, 0], grad[e, q, a, 1], grad[e, q, a, 2]
                fe[e, 3 * a] += w * (sxx * gx + sxy * gy + sxz * gz)
                fe[e, 3 * a + 1] += w * (sxy * gx + syy * gy + syz * gz)
                fe[e, 3 * a + 2] += w * (sxz * gx + syz * gy + szz * gz)
    return fe


@numba.njit(cache=True)
def _b_matrix(g, out):
    """Mandel strain–displacement matrix (6, 30) from the gradients (10, 3) at one point."""
    for i in range(6):
        for c in range(30):
            out[i, c] = 0.0
    for a in range(10):
        gx, gy, gz = g[a, 0], g[a, 1], g[a, 2]
        out[0, 3 * a] = gx
        out[1, 3 * a + 1] = gy
        out[2, 3 * a + 2] = gz
        out[3, 3 * a + 1] = gz * _R2
        out[3, 3 * a + 2] = gy * _R2
        out[4, 3 * a] = gz * _R2
        out[4, 3 * a + 2] = gx * _R2
        out[5, 3 * a] = gy * _R2
        out[5, 3 * a + 1] = gx * _R2


@numba.njit(cache=True)
def element_tangent_corrections(grad, wdet, elist, state, dt, params):
    """``Σ_q w Bᵀ (Dᵗ − Dᵉ) B`` over the plastic points of the elements ``elist``, (k, 30, 30).

    Added to the elastic element matrices these give the consistent tangent;
    node-major DOF order (node, component), as :mod:`.assembly`.
    """
    k = len(elist)
    nq = wdet.shape[1]
    out = np.zeros((k, 30, 30))
    for t in range(k):
        e = elist[t]
        g_ = params[e, 0]
        lam = params[e, 1] - 2.0 * g_ / 3.0
        b = np.empty((6, 30))
        mb = np.empty((6, 30))
        d = np.empty((6, 6))
        for q in range(nq):
            if state[e, q] == 0:
                continue
            for i in range(6):
                for j in range(6):
                    d[i, j] = dt[e, q, i, j]
            for i in range(3):
                for j in range(3):
                    d[i, j] -= lam
                d[i, i] -= 2.0 * g_
            for i in range(3, 6):
                d[i, i] -= 2.0 * g_
            _b_matrix(grad[e, q], b)
            w = wdet[e, q]
            for i in range(6):
                for c in range(30):
                    acc = 0.0
                    for j in range(6):
                        acc += d[i, j] * b[j, c]
                    mb[i, c] = acc * w
            for r in range(30):
                for c in range(r, 30):
                    acc = 0.0
                    for i in range(6):
                        acc += b[i, r] * mb[i, c]
                    out[t, r, c] += acc
        for r in range(30):
            for c in range(r):
                out[t, r, c] = out[t, c, r]
    return out


@numba.njit(cache=True)
def elastic_yield_factors(grad, elements, u, params):
    """Per element, the smallest factor t at which t·(elastic stress of u) reaches the yield surface."""
    m, nq = grad.shape[0], grad.shape[1]
    out = np.full(m, np.inf)
    for e in range(m):
        g_, k_, b_, k0 = params[e, 0], params[e, 1], params[e, 2], params[e, 3]
        if not np.isfinite(k0):
            continue
        hh = np.empty((3, 3))
        for q in range(nq):
            _displacement_gradient(grad, elements, u, e, q, hh)
            tr = hh[0, 0] + hh[1, 1] + hh[2, 2]
            ss = 0.0
            for i in range(3):
                d = 2.0 * g_ * (hh[i, i] - tr / 3.0)
                ss += d * d
            ss += 0.5 * (2.0 * g_) ** 2 * ((hh[1, 2] + hh[2, 1]) ** 2 + (hh[0, 2] + hh[2, 0]) ** 2
                                           + (hh[0, 1] + hh[1, 0]) ** 2)
            denom = np.sqrt(1.5 * ss) + b_ * 3.0 * k_ * tr
            if denom > 0.0:
                out[e] = min(out[e], k0 / denom)
    return out
