"""Static linear-elastic solution of load cases on a mapped vertebra mesh.

The problem is solved in the vertebral frame (x lateral, y anterior, z
cranial, origin at the body centroid): isotropic elasticity is invariant
under that rigid change of coordinates, and every load-case component is
then a coordinate component. Displacements are returned in scanner
coordinates; stress/strain tensor components are in the frame (zz = axial).

Dirichlet conditions are imposed by symmetric elimination on the full-size
system (prescribed rows/columns replaced by identity, their coupling moved to
the right-hand side), which keeps the matrix SPD for the Cholesky/CG solvers.

:func:`solve_load_cases` solves a sweep: the stiffness matrix is assembled
once, and cases that prescribe the same degrees of freedom (every built-in
case does, :mod:`.loadcases`) share one eliminated matrix and one
factorisation or preconditioner; only the right-hand sides differ. The nodal
projection of all cases is one block solve.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from ..errors import BoundaryConditionError, SolverError, UnderConstrainedError
from ..meshing.endplates import HEIGHT_DEFINITION, set_faces
from ..meshing.model import REGIONS, VertebraMesh, boundary_faces
from ..provenance import Flag, InputFile, Provenance
from .assembly import BlockPattern, assemble_stiffness, element_gradients, surface_traction_loads
from .fields import element_fields, project_to_nodes
from .linear import PreparedSolver, SolverInfo, rigid_body_modes
from .loadcases import Displacement, Force, LoadCase, Rotation, face_centre, resolve_nodes
from .multigrid import p1_prolongation
from .options import SolveOptions
from .regions import RegionSpec, element_regions, region_results
from .results import FEResult, Reaction

__all__ = ["apply_conditions", "mesh_provenance", "solve_load_case", "solve_load_cases"]

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
            c = face_centre(local_mm, set_faces(mesh.boundary[1], idx), idx)
            u = np.deg2rad(cond.angle_deg) * np.cross(cond.axis_vector, local_mm[idx] - c) + np.asarray(
                cond.translation_mm
            )
            for comp in ((2,) if cond.axial_only else range(3)):
                put(3 * idx + comp, u[:, comp], f"rotation on {name!r}")
        elif isinstance(cond, Force):
            faces = set_faces(mesh.boundary[1], idx)
            if len(faces) == 0:
                raise BoundaryConditionError(f"force on {name!r}: the set holds no complete boundary face")
            p = local_mm[faces[:, :3]]
            area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1).sum()
            force += surface_traction_loads(local_mm, faces, np.asarray(cond.force_N) / area)
        else:
            raise BoundaryConditionError(f"unknown condition type {type(cond).__name__}")
    if not pres:
        raise UnderConstrainedError(f"load case {load_case.name!r} prescribes no displacement: rigid-body motion is "
                                    "free")
    dofs = np.fromiter(pres.keys(), dtype=np.int64)
    vals = np.fromiter(pres.values(), dtype=float)
    order = np.argsort(dofs)
    return dofs[order], vals[order], force, sets


@numba.njit(cache=True, nogil=True)
def _eliminated_values(indptr, indices, data, fixed):  # pragma: no cover - compiled
    out = np.empty_like(data)
    for i in range(len(indptr) - 1):
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            if fixed[i] or fixed[j]:
                out[jj] = 1.0 if i == j else 0.0
            else:
                out[jj] = data[jj]
    return out


def _eliminate(k: sp.csr_matrix, dofs: np.ndarray) -> sp.csr_matrix:
    """``k`` with the rows and columns of ``dofs`` replaced by those of the identity (same sparsity).

    The result shares ``k``'s index arrays; only the values are new.
    """
    fixed = np.zeros(k.shape[0], bool)
    fixed[dofs] = True
    a = sp.csr_matrix((_eliminated_values(k.indptr, k.indices, k.data, fixed), k.indices, k.indptr), shape=k.shape)
    a.has_sorted_indices = k.has_sorted_indices
    return a


def _check_constrained(local_mm: np.ndarray, dofs: np.ndarray, name: str) -> None:
    rbm = rigid_body_modes(local_mm)[dofs]
    rank = np.linalg.matrix_rank(rbm, tol=1e-8 * max(1.0, np.abs(rbm).max()))
    if rank < 6:
        raise UnderConstrainedError(
            f"load case {name!r} leaves {6 - rank} rigid-body mode(s) free (its displacement constraints "
            "do not fix translation and rotation); fix more components or a non-collinear set of nodes"
        )


def _vec(v: np.ndarray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])


def _mean_axial_displacement(u_local: np.ndarray, faces: np.ndarray, local_mm: np.ndarray) -> float:
    """Area-weighted mean axial displacement over TRI6 faces (exact for the quadratic field: mid-side weights A/3)."""
    p = local_mm[faces[:, :3]]
    area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    return float((area * u_local[faces[:, 3:], 2].mean(axis=1)).sum() / area.sum())


def _bone_endplate_faces(mesh: VertebraMesh) -> dict[str, np.ndarray]:
    """The bone's endplate faces: ``*_endplate`` sets under caps (faces of the bone's own boundary), else the
    ``superior``/``inferior`` sets."""
    bone = mesh.region != REGIONS["cap"]
    bone_faces = mesh.boundary[1] if bone.all() else boundary_faces(mesh.elements[bone])[1]
    out = {}
    for side in ("superior", "inferior"):
        name = f"{side}_endplate" if f"{side}_endplate" in mesh.node_sets else side
        if name in mesh.node_sets:
            faces = set_faces(bone_faces, mesh.node_sets[name])
            if len(faces):
                out[side] = faces
    return out


def _strength_texts(opts: SolveOptions, height: float) -> dict[str, str]:
    eps = opts.strength_strain
    return {
        f"apparent_strain_{eps:g}": (
            f"axial reaction at {100 * eps:g} % apparent compressive strain of the bone: the bone's endplates "
            f"displaced {eps:g}·H towards each other (H = {height:.2f} mm), scaled linearly from the applied load"),
        "pistoia": (
            f"axial reaction at which {100 * opts.pistoia_volume_fraction:g} % of the bone volume exceeds an "
            f"effective strain of {opts.pistoia_strain:g} (Pistoia et al. 2002), scaled linearly from the applied "
            "load"),
    }


def _pistoia_scale(fields: dict, bone: np.ndarray, opts: SolveOptions) -> float | None:
    """Load factor at which the critical bone volume fraction reaches the critical effective strain."""
    eff, vol = fields["effective_strain"][bone], fields["volume_mm3"][bone]
    order = np.argsort(eff)[::-1]
    cum = np.cumsum(vol[order]) / vol.sum()
    pos = min(int(np.searchsorted(cum, opts.pistoia_volume_fraction)), len(order) - 1)
    crit = float(eff[order[pos]])
    return opts.pistoia_strain / crit if crit > 0 else None


@dataclass(frozen=True)
class _Case:
    load_case: LoadCase
    dofs: np.ndarray
    vals: np.ndarray
    force: np.ndarray
    sets: dict[str, np.ndarray]


def solve_load_cases(
    mesh: VertebraMesh, load_cases: Sequence[LoadCase], options: SolveOptions | None = None, *,
    nodal_cases: Sequence[int] | None = None,
) -> list[FEResult]:
    """Solve several load cases on one mesh, assembling and factorising once per distinct constraint set.

    Parameters
    ----------
    mesh : VertebraMesh
        With moduli and node sets (``superior``/``inferior`` for the built-ins).
    load_cases : sequence of LoadCase
    options : SolveOptions, optional
    nodal_cases : sequence of int, optional
        Indices of the cases whose stress and strain are projected to the nodes (``options.nodal_fields``);
        default all. :func:`~vertfem.fe.fe_analysis` projects only its main case: a sweep's other cases are
        written with their element fields and nodal displacements, and the projection costs about 0.3 s per
        case on the 2 mm L1.

    Returns
    -------
    list of FEResult
        One per load case, in order (each with an empty ``sweep``).

    Raises
    ------
    MissingMaterialError, BoundaryConditionError, UnderConstrainedError, SolverError

    Examples
    --------
    >>> import vertfem as vf  # doctest: +SKIP
    >>> h = mesh.height_mm  # doctest: +SKIP
    >>> ax, fl = vf.solve_load_cases(mesh, [vf.axial_compression(h), vf.flexion(1.0)])  # doctest: +SKIP
    >>> ax.stiffness_N_per_mm, fl.rotational_stiffness_Nm_per_deg  # doctest: +SKIP
    """
    opts = options or SolveOptions()
    if not load_cases:
        raise BoundaryConditionError("no load case to solve")
    names = [lc.name for lc in load_cases]
    if len(set(names)) != len(names):
        raise BoundaryConditionError(f"the load cases of a sweep need distinct names, got {names}")
    mesh.check_materials()
    frame = mesh.frame
    local = frame.to_local(mesh.nodes_mm)
    cases = []
    for lc in load_cases:
        dofs, vals, force, sets = apply_conditions(lc, local, mesh)
        _check_constrained(local, dofs, lc.name)
        cases.append(_Case(lc, dofs, vals, force, sets))

    t = time.perf_counter()
    pattern = BlockPattern.of(mesh.elements, len(local))
    k = assemble_stiffness(local, mesh.elements, mesh.E_MPa, mesh.poisson_ratio, pattern=pattern)
    t_assembly = time.perf_counter() - t
    log.info("assembled %d TET10 in %.2f s", mesh.n_elements, t_assembly)

    n = k.shape[0]
    # the regions and the element gradients need only the mesh: a second thread builds them during the solve (the
    # solver's compiled kernels and PARDISO release the GIL)
    bone = mesh.region != REGIONS["cap"]
    spec = RegionSpec(opts.region_shell_mm, opts.region_endplate_mm, opts.region_strain_threshold)
    with ThreadPoolExecutor(max_workers=1) as pool:
        beside = pool.submit(_mesh_quantities, mesh, local, spec)
        solutions, infos, t_solve, n_groups = _solve_groups(k, cases, mesh, local, opts)
        endplate_faces, regions, gradients = beside.result()

    t = time.perf_counter()
    all_fields = [element_fields(local, mesh.elements, u.reshape(-1, 3), mesh.E_MPa, mesh.poisson_ratio,
                                 gradients=gradients) for u in solutions]
    projected, column = None, {}
    chosen = range(len(cases)) if nodal_cases is None else sorted(set(nodal_cases))
    if opts.nodal_fields and chosen:
        column = {i: 12 * j for j, i in enumerate(chosen)}
        qp = np.concatenate([np.concatenate([all_fields[i]["qp_stress_MPa"], all_fields[i]["qp_strain"]], axis=-1)
                             for i in chosen], axis=-1)
        projected = project_to_nodes(local, mesh.elements, qp, all_fields[0]["qp_wdet"], pattern=pattern)
    t_post = time.perf_counter() - t

    results = []
    for i, (c, u, info, fields) in enumerate(zip(cases, solutions, infos, all_fields)):
        t = time.perf_counter()
        nodal = {"displacement_mm": u.reshape(-1, 3) @ frame.rotation.T}
        if projected is not None and i in column:
            nodal["stress_MPa"] = projected[:, column[i]:column[i] + 6]
            nodal["strain"] = projected[:, column[i] + 6:column[i] + 12]
        res = _result(mesh, c, local, k, u, fields, nodal, regions, endplate_faces, bone, spec, opts, info)
        # stages shared by the sweep are charged to its first case
        timings = {"assembly": t_assembly if i == 0 else 0.0, "solve": info.time_s + info.setup_time_s,
                   "postprocess": (t_post if i == 0 else 0.0) + time.perf_counter() - t}
        results.append(dataclasses.replace(res, timings_s=timings))
    log.info("%s: %d DOFs, %d load case(s), %d factorisation(s), %.2f s solving", mesh.info.get("vertebra", "mesh"),
             n, len(cases), n_groups, t_solve)
    return results


def _mesh_quantities(mesh: VertebraMesh, local: np.ndarray,
                     spec: RegionSpec) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], tuple]:
    """The bone's endplate faces, the region masks and the element gradients of a mesh."""
    endplate_faces = _bone_endplate_faces(mesh)
    return endplate_faces, element_regions(mesh, local, spec, endplate_faces), element_gradients(local, mesh.elements)


def _solve_groups(k: sp.csr_matrix, cases: list[_Case], mesh: VertebraMesh, local: np.ndarray,
                  opts: SolveOptions) -> tuple[list[np.ndarray], list[SolverInfo], float, int]:
    """Solve every case; cases prescribing the same DOFs share one eliminated matrix and one solver set-up."""
    n = k.shape[0]
    solutions: list[np.ndarray] = [np.empty(0)] * len(cases)
    infos: list[SolverInfo] = [None] * len(cases)  # type: ignore[list-item]
    t = time.perf_counter()
    groups: dict[bytes, list[int]] = {}
    for i, c in enumerate(cases):
        groups.setdefault(c.dofs.tobytes(), []).append(i)
    for members in groups.values():
        dofs = cases[members[0]].dofs
        a = _eliminate(k, dofs)
        near_null = None
        if opts.solver == "cg-amg":  # smoothed aggregation needs the rigid-body modes; no other solver does
            near_null = rigid_body_modes(local)
            near_null[dofs] = 0.0  # prescribed rows are identity rows
        free = np.ones(n)
        free[dofs] = 0.0
        rhs = np.empty((n, len(members)))
        for j, i in enumerate(members):
            u_p = np.zeros(n)
            u_p[dofs] = cases[i].vals
            rhs[:, j] = free * (cases[i].force - k @ u_p) + u_p
        with PreparedSolver(a, solver=opts.solver, rtol=opts.rtol, near_null=near_null, precision=opts.precision,
                            block_size=3, prolongation=p1_prolongation(mesh.elements, len(local), dofs)) as prepared:
            x, group_infos = prepared.solve_many(rhs)
        for j, i in enumerate(members):
            solutions[i] = x[:, j]
            # the set-up is paid once per group: charge it to the group's first case
            info = group_infos[j]
            infos[i] = info if j == 0 else dataclasses.replace(info, setup_time_s=0.0)
    return solutions, infos, time.perf_counter() - t, len(groups)


def _reactions(mesh: VertebraMesh, case: _Case, local: np.ndarray, k: sp.csr_matrix,
               u: np.ndarray) -> dict[str, Reaction]:
    """Total reaction force and moment (about the set's face centre) of every constrained set."""
    reaction = (k @ u - case.force).reshape(-1, 3)
    frame = mesh.frame
    out = {}
    for name, idx in case.sets.items():
        c = face_centre(local, set_faces(mesh.boundary[1], idx), idx)
        f = reaction[idx].sum(axis=0)
        m = np.cross(local[idx] - c, reaction[idx]).sum(axis=0)
        out[name] = Reaction(_vec(f), _vec(m), _vec(frame.rotation @ f), _vec(frame.to_scanner(c[None])[0]), len(idx))
    return out


def _strengths(lc: LoadCase, f_axial: float, bone_strain: float | None, fields: dict, bone: np.ndarray,
               opts: SolveOptions, height: float) -> tuple[dict[str, float], str | None, str]:
    """Every strength of an axial case (N), the key of the chosen rule and its definition."""
    if lc.reports != "axial":
        return {}, None, f"no strength for load case {lc.name!r} (axial load cases only)"
    key = f"apparent_strain_{opts.strength_strain:g}"
    strengths: dict[str, float] = {}
    if bone_strain:
        strengths[key] = abs(f_axial) * opts.strength_strain / abs(bone_strain)
    scale = _pistoia_scale(fields, bone, opts)
    if scale is not None:
        strengths["pistoia"] = abs(f_axial) * scale
    rule = key if opts.strength == "apparent_strain" else "pistoia"
    return strengths, rule, _strength_texts(opts, height)[rule]


def _result(mesh: VertebraMesh, case: _Case, local: np.ndarray, k: sp.csr_matrix, u: np.ndarray, fields: dict,
            nodal: dict, regions: dict, endplate_faces: dict, bone: np.ndarray, spec: RegionSpec,
            opts: SolveOptions, info: SolverInfo) -> FEResult:
    lc = case.load_case
    reactions = _reactions(mesh, case, local, k, u)
    height = mesh.height_mm
    loaded = reactions.get(lc.loaded)
    if loaded is None:
        raise SolverError(f"load case {lc.name!r} has no condition on its loaded set {lc.loaded!r}")
    rotation = lc.rotation
    f_axial = loaded.force_N[2]
    moment = None if rotation is None else float(np.dot(loaded.moment_Nmm, rotation.axis_vector)) / 1000.0
    stiffness = rot_stiffness = None
    if lc.reports == "axial":
        assert lc.axial_displacement_mm is not None
        stiffness = float(f_axial / lc.axial_displacement_mm)
    elif lc.reports == "rotational":
        assert rotation is not None and moment is not None
        rot_stiffness = moment / rotation.angle_deg
    bone_strain = None
    if set(endplate_faces) == {"superior", "inferior"}:
        u3 = u.reshape(-1, 3)
        bone_strain = (_mean_axial_displacement(u3, endplate_faces["inferior"], local)
                       - _mean_axial_displacement(u3, endplate_faces["superior"], local)) / height
    strengths, rule_key, definition = _strengths(lc, f_axial, bone_strain, fields, bone, opts, height)
    vol = float(fields["volume_mm3"][bone].sum())
    region_values = region_results(regions, fields, bone, spec, axial_load=bool(lc.axial_displacement_mm))
    log.info("%s: K = %s N/mm, K_rot = %s N·m/deg via %s", lc.name, stiffness, rot_stiffness, info.solver)
    return FEResult(
        vertebra=str(mesh.info.get("vertebra") or "mesh"),
        kernel=mesh.info.get("kernel"),
        load_case=lc.name, load_case_description=lc.description or "custom load case", set_roles=lc.set_roles,
        stiffness_N_per_mm=stiffness, rotational_stiffness_Nm_per_deg=rot_stiffness, axial_force_N=float(f_axial),
        moment_Nm=moment,
        strength_N=strengths.get(rule_key) if rule_key else None,
        strength_rule=rule_key,
        strength_definition=definition,
        strengths_N=strengths,
        apparent_modulus_MPa=None if stiffness is None else stiffness * height**2 / vol,
        height_mm=height,
        height_definition=HEIGHT_DEFINITION,
        applied_axial_displacement_mm=lc.axial_displacement_mm,
        applied_rotation_deg=None if rotation is None else abs(rotation.angle_deg), bone_apparent_strain=bone_strain,
        reactions=reactions, regions=region_values, endplates=dict(mesh.info.get("endplates", {})), bone_volume_mm3=vol,
        bone_mineral_mass_g=float(np.sum(mesh.rho_ash_g_cm3 * fields["volume_mm3"]) / 1000.0),
        n_clamped_elements=int(mesh.info.get("n_clamped", 0)),
        solver={**info.as_dict(), "n_free_dofs": int(len(u) - len(case.dofs))},
        timings_s={},
        provenance=mesh_provenance(mesh, {"mesh": mesh.info.get("options", {}), "solve": opts.model_dump(mode="json"),
                                          "load_case": {"name": lc.name, **lc.meta}}),
        fields={k_: v for k_, v in fields.items() if not k_.startswith("qp_")},
        nodal=nodal,
        mesh=mesh,
    )


def solve_load_case(mesh: VertebraMesh, load_case: LoadCase, options: SolveOptions | None = None) -> FEResult:
    """Solve one load case on a mapped mesh (:func:`solve_load_cases` with one case).

    Examples
    --------
    >>> import vertfem as vf  # doctest: +SKIP
    >>> res = vf.solve_load_case(mesh, vf.axial_compression(mesh.height_mm))  # doctest: +SKIP
    >>> res.stiffness_N_per_mm  # doctest: +SKIP
    """
    return solve_load_cases(mesh, [load_case], options)[0]


def mesh_provenance(mesh: VertebraMesh, options: dict) -> Provenance:
    """Provenance of an FE result from what the mesher recorded about its vertebra and inputs."""
    info = mesh.info
    inputs = {k: InputFile(v["path"], v["sha256"]) for k, v in info.get("inputs", {}).items()}
    flags = tuple(Flag.from_dict(f) for f in info.get("flags", []))
    return Provenance("fe", options, inputs, info.get("vertebra_record", {"name": info.get("vertebra")}),
                      info.get("calibration"), flags)
