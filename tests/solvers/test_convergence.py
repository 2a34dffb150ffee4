"""Manufactured solution on the unit cube: P2 tetrahedra converge at L2 rate ≈ 3, energy rate ≈ 2."""

import numpy as np
import pytest
import scipy.sparse as sp
import skfem
import sympy as sym

from vertfem.meshing.model import boundary_faces
from vertfem.meshing.tet10 import EDGES, jacobians, physical_points, quadrature, shape_functions
from vertfem.solvers.assembly import assemble_body_force, assemble_stiffness
from vertfem.solvers.linear import solve_spd

E, NU = 1.0, 0.3
LAM, MU = E * NU / ((1 + NU) * (1 - 2 * NU)), E / (2 * (1 + NU))


def _manufactured():
    x, y, z = sym.symbols("x y z")
    s = sym.sin(sym.pi * x) * sym.sin(sym.pi * y) * sym.sin(sym.pi * z)
    u = sym.Matrix([s, 2 * s * x, s * (1 + y)])
    X = (x, y, z)
    grad = u.jacobian(X)
    eps = (grad + grad.T) / 2
    sig = LAM * eps.trace() * sym.eye(3) + 2 * MU * eps
    f = -sym.Matrix([sum(sym.diff(sig[i, j], X[j]) for j in range(3)) for i in range(3)])
    return (sym.lambdify(X, list(u), "numpy"), sym.lambdify(X, list(grad), "numpy"), sym.lambdify(X, list(f), "numpy"))


U, GRAD, F = _manufactured()


def _vec(fun, p):
    out = fun(p[:, 0], p[:, 1], p[:, 2])
    return np.stack([np.broadcast_to(np.asarray(c, float), p[:, 0].shape) for c in out], axis=-1)


def _structured_tet10(level: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly refined unit cube (scikit-fem) with mid-side nodes added, VTK order."""
    m = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 2**level + 1),) * 3)
    p, t = m.p.T, m.t.T.copy()
    a, b, c, d = (p[t[:, i]] for i in range(4))
    neg = np.einsum("ij,ij->i", b - a, np.cross(c - a, d - a)) < 0
    t[neg, 1], t[neg, 2] = t[neg, 2], t[neg, 1].copy()
    nv = len(p)
    pairs = np.sort(t[:, EDGES].reshape(-1, 2), axis=1)
    keys, inv = np.unique(pairs[:, 0] * nv + pairs[:, 1], return_inverse=True)
    mids = 0.5 * (p[keys // nv] + p[keys % nv])
    el = np.hstack([t, nv + inv.reshape(-1, 6)])
    return np.vstack([p, mids]), el


def _errors(level):
    x, el = _structured_tet10(level)
    k = assemble_stiffness(x, el, np.full(len(el), E), NU)
    f = assemble_body_force(x, el, lambda p: _vec(F, p))
    _, faces = boundary_faces(el)
    bnd = np.unique(faces)
    dofs = (3 * bnd[:, None] + np.arange(3)).ravel()
    free = np.ones(k.shape[0])
    free[dofs] = 0
    df = sp.diags(free)
    u, _ = solve_spd((df @ k @ df + sp.diags(1 - free)).tocsr(), free * f)
    u = u.reshape(-1, 3)
    xi, w = quadrature(6)
    det = np.linalg.det(jacobians(x, el, xi))
    pts = physical_points(x, el, xi).reshape(-1, 3)
    uh = np.einsum("qa,eai->eqi", shape_functions(xi), u[el]).reshape(-1, 3)
    l2 = np.sqrt(np.sum((det * w).ravel() * np.sum((uh - _vec(U, pts)) ** 2, axis=1)))
    # energy-norm error from gradients at the same points
    from vertfem.meshing.tet10 import shape_gradients_ref

    inv = np.linalg.inv(jacobians(x, el, xi))
    g = np.einsum("qaj,eqji->eqai", shape_gradients_ref(xi), inv)
    gh = np.einsum("eqai,eaj->eqji", g, u[el]).reshape(-1, 3, 3)
    ge = _vec(GRAD, pts).reshape(-1, 3, 3)
    d = gh - ge
    eps = 0.5 * (d + d.transpose(0, 2, 1))
    dens = LAM * np.trace(eps, axis1=1, axis2=2) ** 2 + 2 * MU * np.sum(eps * eps, axis=(1, 2))
    energy = np.sqrt(np.sum((det * w).ravel() * dens))
    return 1.0 / 2**level, l2, energy


def test_p2_convergence_rates():
    h, l2, en = np.array([_errors(level) for level in (2, 3, 4)]).T
    rate_l2 = np.polyfit(np.log(h), np.log(l2), 1)[0]
    rate_en = np.polyfit(np.log(h), np.log(en), 1)[0]
    assert rate_l2 == pytest.approx(3.0, abs=0.15)
    assert rate_en == pytest.approx(2.0, abs=0.15)
