"""Static linear-elastic solution of a load case on a mapped vertebra mesh.

The problem is solved in the vertebral frame (x lateral, y anterior, z
cranial, origin at the body centroid): isotropic elasticity is invariant
under that rigid change of coordinates, and every load-case component is
then a coordinate component. Displacements are returned in scanner
coordinates; stress/strain tensor components are in the frame (zz = axial).

Dirichlet conditions are imposed by symmetric elimination on the full-size
system (prescribed rows/columns replaced by identity, their coupling moved to
the right-hand side), which keeps the matrix SPD for the Cholesky/CG solvers.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from ..errors import BoundaryConditionError, UnderConstrainedError
from ..meshing.model import REGIONS, VertebraMesh, boundary_faces
from ..provenance import Flag, InputFile, Provenance
from .assembly import BlockPattern, assemble_stiffness, surface_traction_loads
from .fields import element_fields, project_to_nodes
from .linear import rigid_body_modes, solve_spd
from .loadcases import Displacement, Force, LoadCase, Rotation, resolve_nodes
from .multigrid import p1_prolongation
from .options import SolveOptions
from .results import FEResult, Reaction

__all__ = ["solve_load_case", "apply_conditions", "mesh_provenance"]

log = logging.getLogger(__name__)


def apply_conditions(
    load_case: LoadCase, local_mm: np.ndarray, mesh: VertebraMesh
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Prescribed DOFs, their values, the force vector and the node set of each condition.

    Returns
    -------
    dofs : ndarray of int
    values : ndarray (mm)
    force : ndarray (3n,), N
    sets : dict name → node indices
    """
    n = len(local_mm)
    pres: dict[int, float] = {}
    force = np.zeros(3 * n)
    sets: dict[str, np.ndarray] = {}

    def put(dof: np.ndarray, val: np.ndarray, what: str) -> None:
        for d, v in zip(dof.tolist(), np.broadcast_to(val, dof.shape).tolist()):
            if d in pres and abs(pres[d] - v) > 1e-12 * max(1.0, abs(v)):
                raise BoundaryConditionError(
                    f"{what}: node {d // 3} component {d % 3} is already prescribed to {pres[d]:.6g} mm "
                    f"by another condition; node sets of the load case overlap"
                )
            pres[d] = v

    for cond in load_case.conditions:
        idx = resolve_nodes(cond.nodes, mesh.node_sets, local_mm)
        name = cond.nodes if isinstance(cond.nodes, str) else cond.nodes.name
        sets[name] = idx
        if isinstance(cond, Displacement):
            if not cond.components:
                raise BoundaryConditionError(f"displacement on {name!r} prescribes no component")
            for comp, val in cond.components.items():
                put(3 * idx + comp, np.asarray(val), f"displacement on {name!r}")
        elif isinstance(cond, Rotation):
            c = local_mm[idx].mean(axis=0)
            u = np.deg2rad(cond.angle_deg) * np.cross(cond.axis_vector, local_mm[idx] - c) + np.asarray(
                cond.translation_mm
            )
            for comp in range(3):
                put(3 * idx + comp, u[:, comp], f"rotation on {name!r}")
        elif isinstance(cond, Force):
            _, faces = boundary_faces(mesh.elements)
            faces = faces[np.isin(faces, idx).all(axis=1)]
            if len(faces) == 0:
                raise BoundaryConditionError(f"force on {name!r}: the set holds no complete boundary face")
            p = local_mm[faces[:, :3]]
            area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1).sum()
            force += surface_traction_loads(local_mm, faces, np.asarray(cond.force_N) / area)
        else:
            raise BoundaryConditionError(f"unknown condition type {type(cond).__name__}")
    if not pres:
        raise UnderConstrainedError(f"load case {load_case.name!r} prescribes no displacement: rigid-body motion is free")
    dofs = np.fromiter(pres.keys(), dtype=np.int64)
    vals = np.fromiter(pres.values(), dtype=float)
    order = np.argsort(dofs)
    return dofs[order], vals[order], force, sets


def _eliminate(k: sp.csr_matrix, dofs: np.ndarray) -> sp.csr_matrix:
    """``k`` with the rows and columns of ``dofs`` replaced by those of the identity (same sparsity).

    The result shares ``k``'s index arrays; only the values are copied.
    """
    a = sp.csr_matrix((k.data.copy(), k.indices, k.indptr), shape=k.shape)
    fixed = np.zeros(k.shape[0], bool)
    fixed[dofs] = True
    a.data[fixed[a.indices]] = 0.0
    start, length = a.indptr[dofs], np.diff(a.indptr)[dofs]
    entries = np.repeat(start - np.cumsum(length) + length, length) + np.arange(length.sum())
    a.data[entries] = 0.0
    a.data[entries[a.indices[entries] == np.repeat(dofs, length)]] = 1.0
    return a


def _check_constrained(local_mm: np.ndarray, dofs: np.ndarray, name: str) -> None:
    rbm = rigid_body_modes(local_mm)[dofs]
    rank = np.linalg.matrix_rank(rbm, tol=1e-8 * max(1.0, np.abs(rbm).max()))
    if rank < 6:
        raise UnderConstrainedError(
            f"load case {name!r} leaves {6 - rank} rigid-body mode(s) free (its displacement constraints "
            "do not fix translation and rotation); fix more components or a non-collinear set of nodes"
        )


def _strengths(
    k: float | None, f_axial: float, height: float, fields: dict, bone: np.ndarray, opts: SolveOptions
) -> dict[str, float]:
    out: dict[str, float] = {}
    if k is not None:
        out[f"apparent_strain_{opts.strength_strain:g}"] = k * opts.strength_strain * height
    eff, vol = fields["effective_strain"][bone], fields["volume_mm3"][bone]
    order = np.argsort(eff)[::-1]
    cum = np.cumsum(vol[order]) / vol.sum()
    pos = min(int(np.searchsorted(cum, opts.pistoia_volume_fraction)), len(order) - 1)
    crit = eff[order[pos]]
    if crit > 0 and f_axial != 0:
        out["pistoia"] = abs(f_axial) * opts.pistoia_strain / crit
    return out


def solve_load_case(mesh: VertebraMesh, load_case: LoadCase, options: SolveOptions | None = None) -> FEResult:
    """Solve one load case on a mapped mesh.

    Parameters
    ----------
    mesh : VertebraMesh
        With moduli and node sets (``superior``/``inferior`` for the built-ins).
    load_case : LoadCase
    options : SolveOptions, optional

    Returns
    -------
    FEResult

    Raises
    ------
    MissingMaterialError, BoundaryConditionError, UnderConstrainedError, SolverError

    Examples
    --------
    >>> import vertfem as vf  # doctest: +SKIP
    >>> res = vf.solve_load_case(mesh, vf.axial_compression(mesh.height_mm))  # doctest: +SKIP
    >>> res.stiffness_N_per_mm  # doctest: +SKIP
    """
    opts = options or SolveOptions()
    mesh.check_materials()
    timings: dict[str, float] = {}
    frame = mesh.frame
    local = frame.to_local(mesh.nodes_mm)
    dofs, vals, force, sets = apply_conditions(load_case, local, mesh)
    _check_constrained(local, dofs, load_case.name)

    t = time.perf_counter()
    pattern = BlockPattern.of(mesh.elements, len(local))
    k = assemble_stiffness(local, mesh.elements, mesh.E_MPa, mesh.poisson_ratio, pattern=pattern)
    timings["assembly"] = time.perf_counter() - t

    t = time.perf_counter()
    n = k.shape[0]
    u_p = np.zeros(n)
    u_p[dofs] = vals
    free = np.ones(n)
    free[dofs] = 0.0
    a = _eliminate(k, dofs)
    b = free * (force - k @ u_p) + u_p
    near_null = rigid_body_modes(local)
    near_null[dofs] = 0.0  # prescribed rows are identity rows
    u, info = solve_spd(a, b, solver=opts.solver, rtol=opts.rtol, near_null=near_null, precision=opts.precision,
                         block_size=3, prolongation=p1_prolongation(mesh.elements, len(local), dofs))
    timings["solve"] = time.perf_counter() - t

    t = time.perf_counter()
    reaction = (k @ u - force).reshape(-1, 3)
    u3 = u.reshape(-1, 3)
    reactions = {}
    rot = frame.rotation
    for name, idx in sets.items():
        c = local[idx].mean(axis=0)
        f = reaction[idx].sum(axis=0)
        m = np.cross(local[idx] - c, reaction[idx]).sum(axis=0)
        reactions[name] = Reaction(tuple(f), tuple(m), tuple(rot @ f), tuple(frame.to_scanner(c[None])[0]), len(idx))
    fields = element_fields(local, mesh.elements, u3, mesh.E_MPa, mesh.poisson_ratio)
    height = mesh.height_mm
    stiffness = None
    f_axial = reactions[load_case.loaded].force_N[2] if load_case.loaded in reactions else 0.0
    if load_case.axial_displacement_mm:
        stiffness = float(f_axial / load_case.axial_displacement_mm)
    bone = mesh.region != REGIONS["cap"]
    strengths = _strengths(stiffness, f_axial, height, fields, bone, opts)
    key = f"apparent_strain_{opts.strength_strain:g}" if opts.strength == "apparent_strain" else "pistoia"
    nodal = {"displacement_mm": u3 @ rot.T}
    if opts.nodal_fields:
        proj = project_to_nodes(
            local, mesh.elements, np.concatenate([fields["qp_stress_MPa"], fields["qp_strain"]], axis=-1),
            fields["qp_wdet"], pattern=pattern,
        )
        nodal["stress_MPa"] = proj[:, :6]
        nodal["strain"] = proj[:, 6:]
    timings["postprocess"] = time.perf_counter() - t
    vol = float(fields["volume_mm3"][bone].sum())
    fields = {k_: v for k_, v in fields.items() if not k_.startswith("qp_")}
    provenance = mesh_provenance(mesh, {"mesh": mesh.info.get("options", {}), "solve": opts.model_dump(mode="json"),
                                        "load_case": {"name": load_case.name, **load_case.meta}})
    log.info("%s: K = %s N/mm, %d DOFs via %s", load_case.name, stiffness, n, info.solver)
    return FEResult(
        vertebra=str(mesh.info.get("vertebra") or "mesh"),
        kernel=mesh.info.get("kernel"),
        load_case=load_case.name,
        load_case_description=load_case.description,
        stiffness_N_per_mm=stiffness,
        strength_N=strengths.get(key),
        strength_definition=key,
        strengths_N=strengths,
        apparent_modulus_MPa=None if stiffness is None else stiffness * height**2 / vol,
        height_mm=height,
        applied_axial_displacement_mm=load_case.axial_displacement_mm,
        reactions=reactions,
        bone_volume_mm3=vol,
        bone_mineral_mass_g=float(np.sum(mesh.rho_ash_g_cm3 * fields["volume_mm3"]) / 1000.0),
        n_clamped_elements=int(mesh.info.get("n_clamped", 0)),
        solver={**info.as_dict(), "n_free_dofs": int(n - len(dofs))},
        timings_s=timings,
        provenance=provenance,
        fields=fields,
        nodal=nodal,
        mesh=mesh,
    )


def mesh_provenance(mesh: VertebraMesh, options: dict) -> Provenance:
    """Provenance of an FE result from what the mesher recorded about its vertebra and inputs."""
    info = mesh.info
    inputs = {k: InputFile(v["path"], v["sha256"]) for k, v in info.get("inputs", {}).items()}
    flags = tuple(Flag.from_dict(f) for f in info.get("flags", []))
    return Provenance("fe", options, inputs, info.get("vertebra_record", {"name": info.get("vertebra")}),
                      info.get("calibration"), flags)
