"""Strain, stress and derived fields from a TET10 displacement solution.

Per element: quadrature-point strains and stresses averaged over the element
volume (engineering shear strains are converted to tensor components);
von Mises stress, principal stresses and strains, strain energy density
(SED, MPa = mJ/mm³) and Pistoia's effective strain ``sqrt(2·SED/E)``.
Nodal values come from an L2 projection onto the P2 space (consistent mass
matrix, one factorisation for all twelve components).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

from ..errors import SolverError
from ..meshing.tet10 import quadrature, shape_functions
from .assembly import assemble_mass, element_gradients, lame

__all__ = ["element_fields", "project_to_nodes", "von_mises", "principal_values"]

_VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def _tensor(v: np.ndarray) -> np.ndarray:
    """Voigt (…, 6) tensor components → symmetric (…, 3, 3)."""
    t = np.empty(v.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(_VOIGT):
        t[..., i, j] = t[..., j, i] = v[..., k]
    return t


def von_mises(stress: np.ndarray) -> np.ndarray:
    """von Mises stress from Voigt tensor components (…, 6)."""
    s = stress
    return np.sqrt(
        0.5 * ((s[..., 0] - s[..., 1]) ** 2 + (s[..., 1] - s[..., 2]) ** 2 + (s[..., 2] - s[..., 0]) ** 2)
        + 3.0 * (s[..., 3] ** 2 + s[..., 4] ** 2 + s[..., 5] ** 2)
    )


def principal_values(voigt: np.ndarray) -> np.ndarray:
    """Principal values (…, 3), descending, of Voigt tensor components (…, 6)."""
    return np.linalg.eigvalsh(_tensor(voigt))[..., ::-1]


def element_fields(
    nodes: np.ndarray, elements: np.ndarray, u: np.ndarray, E_MPa: np.ndarray, nu: float
) -> dict[str, np.ndarray]:
    """Volume-averaged element fields of a displacement ``u`` (n, 3), mm.

    Returns
    -------
    dict
        ``strain`` (m, 6) tensor components xx, yy, zz, yz, xz, xy;
        ``stress_MPa`` (m, 6); ``von_mises_MPa``; ``principal_stress_MPa``
        (m, 3); ``principal_strain`` (m, 3); ``sed_MPa`` (strain energy
        density, mJ/mm³); ``effective_strain``; ``volume_mm3``;
        plus ``qp_strain`` (m, q, 6) and ``qp_wdet`` (m, q) for projection.
    """
    grad, wdet = element_gradients(nodes, elements)
    ue = u[elements]  # (m, 10, 3)
    h = np.einsum("eqai,eaj->eqji", grad, ue)  # displacement gradient du_j/dx_i → h[j, i]
    eps = 0.5 * (h + h.transpose(0, 1, 3, 2))
    qp = np.stack([eps[..., i, j] for i, j in _VOIGT], axis=-1)  # tensor components
    lam, mu = lame(E_MPa, nu)
    tr = qp[..., :3].sum(axis=-1)
    sig = 2.0 * mu[:, None, None] * qp
    sig[..., :3] += (lam[:, None] * tr)[..., None]
    vol = wdet.sum(axis=1)
    strain = (qp * wdet[..., None]).sum(axis=1) / vol[:, None]
    stress = (sig * wdet[..., None]).sum(axis=1) / vol[:, None]
    sed_qp = 0.5 * (np.sum(sig[..., :3] * qp[..., :3], axis=-1) + 2.0 * np.sum(sig[..., 3:] * qp[..., 3:], axis=-1))
    sed = (sed_qp * wdet).sum(axis=1) / vol
    return {
        "strain": strain,
        "stress_MPa": stress,
        "von_mises_MPa": von_mises(stress),
        "principal_stress_MPa": principal_values(stress),
        "principal_strain": principal_values(strain),
        "sed_MPa": sed,
        "effective_strain": np.sqrt(np.maximum(2.0 * sed / E_MPa, 0.0)),
        "volume_mm3": vol,
        "qp_strain": qp,
        "qp_stress_MPa": sig,
        "qp_wdet": wdet,
    }


def project_to_nodes(
    nodes: np.ndarray, elements: np.ndarray, qp_values: np.ndarray, qp_wdet: np.ndarray
) -> np.ndarray:
    """L2 projection of quadrature-point values (m, q, k) onto P2 nodal values (n, k).

    Solves ``M v = ∫ N f`` with the consistent P2 mass matrix; ``f`` is
    evaluated at the stiffness quadrature points (exact for the linear
    strains of a P2 field on affine elements up to the quadrature's order).
    """
    xi, _ = quadrature(2)
    n_q = shape_functions(xi)  # (q, 10)
    rhs_e = np.einsum("eq,qa,eqk->eak", qp_wdet, n_q, qp_values)
    rhs = np.zeros((len(nodes), qp_values.shape[-1]))
    np.add.at(rhs, elements.ravel(), rhs_e.reshape(-1, qp_values.shape[-1]))
    mass = assemble_mass(nodes, elements)
    d = mass.diagonal()
    # the P2 mass matrix is a well-conditioned Gram matrix: Jacobi-CG needs a few dozen iterations
    jac = spla.LinearOperator(mass.shape, matvec=lambda v: v / np.where(np.abs(d) > 0, d, 1.0))
    out = np.empty_like(rhs)
    for k in range(rhs.shape[1]):
        scale = np.linalg.norm(rhs[:, k])
        if scale == 0:
            out[:, k] = 0.0
            continue
        x, info = spla.cg(mass, rhs[:, k], rtol=1e-10, atol=0.0, maxiter=2000, M=jac)
        if info != 0:
            raise SolverError(f"L2 projection of field component {k} did not converge")
        out[:, k] = x
    return out
