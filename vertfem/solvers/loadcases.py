"""Load cases as data: boundary conditions on named node sets, and what each case reports.

All components are in the **vertebral frame** (x lateral = the patient's
right, y anterior, z cranial; :class:`~vertfem.vertebra.VertebralFrame`); the
solver works in that frame, so an axial displacement is a coordinate
component whatever the vertebra's orientation in the scanner.

The built-in cases share one set of boundary conditions: the inferior
endplate is fixed in all directions; the superior endplate moves as a platen
— uniformly down for axial compression, rotated about an axis through its
centre for the bending cases — and only the platen's **axial** component is
prescribed, so the endplate may expand and slide transversely
(``transverse_fixed=True`` prescribes the platen's full rigid motion instead,
for every case alike; SCIENCE §6: the two differ by ~1.5 % in axial stiffness).
Because every built-in case constrains the same degrees of freedom, a sweep of
them is solved on one assembled, factorised model
(:func:`~vertfem.solvers.static.solve_load_cases`).

Each case reports what its name promises (:attr:`LoadCase.reports`):

* ``axial_compression``: axial stiffness K = F / δ (N/mm) and strength (N);
* ``flexion``, ``extension``, ``lateral_bending_right``, ``lateral_bending_left``:
  rotational stiffness M / θ (N·m/deg) about the platen's rotation axis
  through the endplate's centre (and the axial force the rotation causes);
* ``combined`` (axial compression plus flexion): the axial force (N) and the
  flexion moment (N·m) at the prescribed strain and angle — a combined case
  has no single stiffness (the stiffnesses are those of its two parts).

A node set is named (``superior``, ``inferior``, any set stored on the mesh)
or selected by a :class:`Selector` (a half-space, a box in frame coordinates
or a Python predicate on frame coordinates), optionally restricted to a named
set: ``Selector("anterior_endplate", within="superior", plane=((0, 0, 0), (0, 1, 0)))``
is the anterior half of the superior endplate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import BoundaryConditionError, ConfigError

__all__ = [
    "BUILTIN_LOAD_CASES",
    "Displacement",
    "Force",
    "LoadCase",
    "Rotation",
    "Selector",
    "anterior_wedge",
    "axial_compression",
    "builtin_load_case",
    "combined",
    "extension",
    "flexion",
    "lateral_bending",
    "lateral_wedge",
    "load_case_from_mapping",
]

AXES = {"lateral": np.array([1.0, 0, 0]), "anterior": np.array([0, 1.0, 0]), "cranial": np.array([0, 0, 1.0])}


@dataclass(frozen=True)
class Selector:
    """Nodes chosen geometrically in frame coordinates (mm, relative to the centroid).

    Exactly one of ``plane`` (point, normal: keeps the side the normal points
    to), ``box`` (min, max corners) or ``predicate`` (callable on (n, 3)
    frame coordinates → bool array). ``within`` restricts the choice to a
    named node set of the mesh (``"superior"``: the superior endplate);
    otherwise ``surface_only`` restricts it to surface nodes.

    Examples
    --------
    The anterior half of the superior endplate:

    >>> Selector("anterior_endplate", within="superior", plane=((0, 0, 0), (0, 1, 0))).within
    'superior'
    """

    name: str
    plane: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    box: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    predicate: Callable[[np.ndarray], np.ndarray] | None = None
    within: str | None = None
    surface_only: bool = True

    def select(self, local_mm: np.ndarray, node_sets: Mapping[str, np.ndarray]) -> np.ndarray:
        """Indices of the selected nodes, given the frame coordinates and the mesh's node sets."""
        given = [x is not None for x in (self.plane, self.box, self.predicate)]
        if sum(given) != 1:
            raise BoundaryConditionError(f"selector {self.name!r}: give exactly one of plane, box or predicate")
        if self.plane is not None:
            p, n = (np.asarray(v, float) for v in self.plane)
            ok = (local_mm - p) @ n >= 0
        elif self.box is not None:
            lo, hi = (np.asarray(v, float) for v in self.box)
            ok = np.all((local_mm >= lo) & (local_mm <= hi), axis=1)
        else:
            assert self.predicate is not None
            ok = np.asarray(self.predicate(local_mm), bool)
        idx = np.flatnonzero(ok)
        if self.within is not None:
            if self.within not in node_sets:
                raise BoundaryConditionError(f"selector {self.name!r} restricts to node set {self.within!r}, which "
                                             f"the mesh does not have; available: {sorted(node_sets)}")
            idx = np.intersect1d(idx, node_sets[self.within])
        elif self.surface_only and "surface" in node_sets:
            idx = np.intersect1d(idx, node_sets["surface"])
        return idx


NodeSet = str | Selector


@dataclass(frozen=True)
class Displacement:
    """Prescribed displacement components (mm) of a node set; ``None`` = free."""

    nodes: NodeSet
    ux: float | None = None
    uy: float | None = None
    uz: float | None = None

    @property
    def components(self) -> dict[int, float]:
        """Prescribed components by index (0 lateral, 1 anterior, 2 cranial)."""
        return {i: float(v) for i, v in enumerate((self.ux, self.uy, self.uz)) if v is not None}


@dataclass(frozen=True)
class Rotation:
    """A node set moved as a rigid platen: a small rotation about an axis through the set's centre, plus a translation.

    ``u = θ·(a × (x − c)) + translation``, with ``c`` the area-weighted centre
    of the set's boundary faces (the node mean when it holds none). With
    ``axial_only`` only the axial (cranial) component is prescribed and the
    set may expand and slide transversely; otherwise all three are.
    """

    nodes: NodeSet
    axis: str | tuple[float, float, float]
    angle_deg: float
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axial_only: bool = False

    @property
    def axis_vector(self) -> np.ndarray:
        """Unit rotation axis in frame coordinates."""
        a = AXES[self.axis] if isinstance(self.axis, str) else np.asarray(self.axis, float)
        return a / np.linalg.norm(a)


@dataclass(frozen=True)
class Force:
    """A total force (N, frame components) spread over a node set's surface as uniform traction."""

    nodes: NodeSet
    force_N: tuple[float, float, float]


Condition = Displacement | Rotation | Force


@dataclass(frozen=True)
class LoadCase:
    """A named list of boundary conditions and what to report.

    Attributes
    ----------
    name : str
    conditions : tuple of Displacement, Rotation or Force
    loaded : str
        The set whose reaction defines the reported quantities.
    axial_displacement_mm : float, optional
        The axial displacement applied to ``loaded``: the case reports an
        axial stiffness (reaction / displacement, N/mm) when it has no rotation.
    description : str
        The boundary conditions in words (stated in every result).
    meta : dict
        Parameters of a built-in case (apparent strain, angle, transverse condition).
    """

    name: str
    conditions: tuple[Condition, ...]
    loaded: str = "superior"
    axial_displacement_mm: float | None = None
    description: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def set_roles(self) -> dict[str, str]:
        """``fixed`` (every displacement component held at zero) or ``loaded`` for each node set with a condition.

        Examples
        --------
        >>> axial_compression(25.0).set_roles
        {'inferior': 'fixed', 'superior': 'loaded'}
        """
        roles: dict[str, str] = {}
        for c in self.conditions:
            fixed = isinstance(c, Displacement) and c.components == {0: 0.0, 1: 0.0, 2: 0.0}
            name = _set_name(c.nodes)
            roles[name] = "fixed" if fixed and roles.get(name, "fixed") == "fixed" else "loaded"
        return roles

    @property
    def rotation(self) -> Rotation | None:
        """The rotation prescribed on the loaded set, if any."""
        for c in self.conditions:
            if isinstance(c, Rotation) and _set_name(c.nodes) == self.loaded and c.angle_deg != 0:
                return c
        return None

    @property
    def reports(self) -> Literal["axial", "rotational", "forces"]:
        """``axial`` stiffness (N/mm), ``rotational`` stiffness (N·m/deg), or only the ``forces`` (N, N·m)."""
        axial = bool(self.axial_displacement_mm)
        rot = self.rotation is not None
        if axial and not rot:
            return "axial"
        if rot and not axial:
            return "rotational"
        return "forces"


def _set_name(ns: NodeSet) -> str:
    return ns if isinstance(ns, str) else ns.name


def _check_apparent_strain(strain: float) -> None:
    if not 0 < strain < 0.2:
        raise BoundaryConditionError(f"apparent strain must be in (0, 0.2), got {strain}")


def _check_angle(angle_deg: float) -> None:
    if not 0 < angle_deg <= 10:
        raise BoundaryConditionError(f"bending angle must be in (0, 10] degrees (small rotations), got {angle_deg}")


def _transverse(transverse_fixed: bool) -> str:
    return ("the superior endplate moves as a rigid platen (all components prescribed)" if transverse_fixed
            else "only the platen's axial component is prescribed on the superior endplate (transverse free)")


def axial_compression(height_mm: float, *, apparent_strain: float = 0.01, transverse_fixed: bool = False) -> LoadCase:
    """Inferior endplate fixed in all directions, superior endplate displaced axially by ``−apparent_strain·H``.

    Reports the axial stiffness (N/mm); the stiffness does not depend on the
    strain (the model is linear). Transverse components of the superior
    endplate are free by default (Jiang 2023), fixed with ``transverse_fixed``.

    Examples
    --------
    >>> lc = axial_compression(25.0)
    >>> lc.axial_displacement_mm, lc.reports
    (-0.25, 'axial')
    """
    _check_apparent_strain(apparent_strain)
    d = -apparent_strain * height_mm
    top = Displacement("superior", 0.0, 0.0, d) if transverse_fixed else Displacement("superior", uz=d)
    return LoadCase(
        "axial_compression", (Displacement("inferior", 0.0, 0.0, 0.0), top), "superior", d,
        f"inferior endplate fixed in all directions; superior endplate displaced uniformly by uz = {d:.4g} mm "
        f"({100 * apparent_strain:g} % apparent strain); {_transverse(transverse_fixed)}",
        {"transverse_fixed": transverse_fixed, "apparent_strain": apparent_strain},
    )


def _bending(name: str, axis: str, sign: float, angle_deg: float, transverse_fixed: bool, what: str,
             axial_mm: float = 0.0, extra: dict | None = None) -> LoadCase:
    _check_angle(angle_deg)
    rot = Rotation("superior", axis, sign * angle_deg, (0.0, 0.0, axial_mm), axial_only=not transverse_fixed)
    desc = (f"inferior endplate fixed in all directions; superior endplate rotated {angle_deg:g}° about the {axis} "
            f"axis through its centre ({what})" + (f", plus uz = {axial_mm:.4g} mm" if axial_mm else "")
            + f"; {_transverse(transverse_fixed)}")
    meta = {"transverse_fixed": transverse_fixed, "angle_deg": angle_deg, **(extra or {})}
    return LoadCase(name, (Displacement("inferior", 0.0, 0.0, 0.0), rot), "superior", axial_mm or None, desc, meta)


def flexion(angle_deg: float = 1.0, *, transverse_fixed: bool = False) -> LoadCase:
    """Flexion: the superior endplate rotates about the lateral axis, anterior side down (an anterior wedge).

    Reports the flexion stiffness (N·m/deg).

    Examples
    --------
    >>> flexion(1.0).reports
    'rotational'
    """
    # rotation about -lateral moves +anterior points towards -cranial: (-x) × y = -z
    return _bending("flexion", "lateral", -1.0, angle_deg, transverse_fixed, "anterior side down")


def extension(angle_deg: float = 1.0, *, transverse_fixed: bool = False) -> LoadCase:
    """Extension: the superior endplate rotates about the lateral axis, posterior side down."""
    return _bending("extension", "lateral", 1.0, angle_deg, transverse_fixed, "posterior side down")


def lateral_bending(angle_deg: float = 1.0, *, side: Literal["right", "left"] = "right",
                    transverse_fixed: bool = False) -> LoadCase:
    """Lateral bending: the superior endplate rotates about the anterior axis, the ``side`` down.

    The frame's lateral axis points to the patient's right, so ``"right"``
    lowers the +lateral side.
    """
    if side not in ("right", "left"):
        raise BoundaryConditionError(f"lateral bending side must be 'right' or 'left', got {side!r}")
    # rotation about +anterior moves +lateral points towards -cranial: y × x = -z
    sign = 1.0 if side == "right" else -1.0
    return _bending(f"lateral_bending_{side}", "anterior", sign, angle_deg, transverse_fixed,
                    f"the patient's {side} side down")


def anterior_wedge(angle_deg: float = 1.0, *, transverse_fixed: bool = False) -> LoadCase:
    """The earlier name of :func:`flexion` (an anterior wedge of the superior endplate)."""
    return flexion(angle_deg, transverse_fixed=transverse_fixed)


def lateral_wedge(angle_deg: float = 1.0, *, transverse_fixed: bool = False) -> LoadCase:
    """The earlier name of :func:`lateral_bending` to the right."""
    return lateral_bending(angle_deg, side="right", transverse_fixed=transverse_fixed)


def combined(height_mm: float, *, apparent_strain: float = 0.01, angle_deg: float = 1.0,
             transverse_fixed: bool = False) -> LoadCase:
    """Axial compression plus flexion of the superior endplate; reports the axial force (N) and moment (N·m)."""
    _check_apparent_strain(apparent_strain)
    return _bending("combined", "lateral", -1.0, angle_deg, transverse_fixed, "anterior side down",
                    -apparent_strain * height_mm, {"apparent_strain": apparent_strain})


#: Built-in load cases by name (``anterior_wedge`` and ``lateral_wedge`` are the earlier names of ``flexion`` and
#: ``lateral_bending_right``).
BUILTIN_LOAD_CASES = ("axial_compression", "flexion", "extension", "lateral_bending_right", "lateral_bending_left",
                      "combined", "anterior_wedge", "lateral_wedge")

BuiltinName = Literal["axial_compression", "flexion", "extension", "lateral_bending_right", "lateral_bending_left",
                      "combined", "anterior_wedge", "lateral_wedge"]


def builtin_load_case(name: str, height_mm: float, *, apparent_strain: float = 0.01, angle_deg: float = 1.0,
                      transverse_fixed: bool = False) -> LoadCase:
    """A built-in load case by name.

    Examples
    --------
    >>> builtin_load_case("lateral_wedge", 25.0).name
    'lateral_bending_right'
    """
    if name == "axial_compression":
        return axial_compression(height_mm, apparent_strain=apparent_strain, transverse_fixed=transverse_fixed)
    if name == "combined":
        return combined(height_mm, apparent_strain=apparent_strain, angle_deg=angle_deg,
                        transverse_fixed=transverse_fixed)
    bending: dict[str, Callable[[], LoadCase]] = {
        "flexion": lambda: flexion(angle_deg, transverse_fixed=transverse_fixed),
        "anterior_wedge": lambda: flexion(angle_deg, transverse_fixed=transverse_fixed),
        "extension": lambda: extension(angle_deg, transverse_fixed=transverse_fixed),
        "lateral_bending_right": lambda: lateral_bending(angle_deg, side="right", transverse_fixed=transverse_fixed),
        "lateral_wedge": lambda: lateral_bending(angle_deg, side="right", transverse_fixed=transverse_fixed),
        "lateral_bending_left": lambda: lateral_bending(angle_deg, side="left", transverse_fixed=transverse_fixed),
    }
    if name not in bending:
        raise ConfigError(f"unknown built-in load case {name!r}; choose from {', '.join(BUILTIN_LOAD_CASES)}")
    return bending[name]()


class _SelectorModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "selection"
    plane: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    box: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    within: str | None = None
    surface_only: bool = True


class _ConditionModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["displacement", "rotation", "force"]
    nodes: str | _SelectorModel
    ux: float | None = None
    uy: float | None = None
    uz: float | None = None
    axis: str | tuple[float, float, float] | None = None
    angle_deg: float | None = None
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axial_only: bool = False
    force_N: tuple[float, float, float] | None = None


class LoadCaseModel(BaseModel):
    """YAML/JSON schema of a load case: a built-in by name with parameters, or a list of conditions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "custom"
    builtin: BuiltinName | None = None
    apparent_strain: float = Field(0.01, gt=0, lt=0.2)
    transverse_fixed: bool = False
    angle_deg: float = Field(1.0, gt=0, le=10.0)
    conditions: tuple[_ConditionModel, ...] = ()
    loaded: str = "superior"
    axial_displacement_mm: float | None = None


def _node_set(n: str | _SelectorModel) -> NodeSet:
    if isinstance(n, str):
        return n
    return Selector(n.name, plane=n.plane, box=n.box, within=n.within, surface_only=n.surface_only)


def load_case_from_mapping(data: Mapping, *, height_mm: float) -> LoadCase:
    """Build a load case from a mapping (parsed YAML), validated.

    Examples
    --------
    >>> lc = load_case_from_mapping({"builtin": "axial_compression", "transverse_fixed": True}, height_mm=25)
    >>> lc.name, lc.axial_displacement_mm
    ('axial_compression', -0.25)
    """
    try:
        m = LoadCaseModel.model_validate(dict(data))
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("invalid load case: " + "; ".join(lines)) from None
    if m.builtin is not None:
        return builtin_load_case(m.builtin, height_mm, apparent_strain=m.apparent_strain, angle_deg=m.angle_deg,
                                 transverse_fixed=m.transverse_fixed)
    conds: list[Condition] = []
    for i, c in enumerate(m.conditions):
        ns = _node_set(c.nodes)
        if c.type == "displacement":
            conds.append(Displacement(ns, c.ux, c.uy, c.uz))
        elif c.type == "rotation":
            if c.axis is None or c.angle_deg is None:
                raise ConfigError(f"invalid load case: conditions.{i}: a rotation needs 'axis' and 'angle_deg'")
            conds.append(Rotation(ns, c.axis, c.angle_deg, c.translation_mm, c.axial_only))
        else:
            if c.force_N is None:
                raise ConfigError(f"invalid load case: conditions.{i}: a force needs 'force_N'")
            conds.append(Force(ns, c.force_N))
    if not conds:
        raise ConfigError("invalid load case: give 'builtin' or a non-empty 'conditions' list")
    return LoadCase(m.name, tuple(conds), m.loaded, m.axial_displacement_mm)


def face_centre(local_mm: np.ndarray, faces: np.ndarray | None, idx: np.ndarray) -> np.ndarray:
    """Area-weighted centre (frame mm) of the boundary faces ``faces`` (f, ≥3) of a node set, else its node mean."""
    if faces is not None and len(faces):
        p = local_mm[faces[:, :3]]
        area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
        if area.sum() > 0:
            return np.asarray((p.mean(axis=1) * area[:, None]).sum(axis=0) / area.sum())
    return np.asarray(local_mm[idx].mean(axis=0))


def resolve_nodes(ns: NodeSet, node_sets: Mapping[str, np.ndarray], local_mm: np.ndarray) -> np.ndarray:
    """Node indices of a named set or selector; error if missing or empty."""
    if isinstance(ns, Selector):
        idx = ns.select(local_mm, node_sets)
        name = ns.name
    else:
        if ns not in node_sets:
            raise BoundaryConditionError(
                f"the load case uses node set {ns!r}, which the mesh does not have; available: {sorted(node_sets)}"
            )
        idx, name = np.asarray(node_sets[ns]), ns
    if len(idx) == 0:
        raise BoundaryConditionError(f"node set {name!r} is empty; check the selector or the endplate detection")
    return idx


def condition_sets(conditions: Sequence[Condition]) -> list[str]:
    """Names of the node sets used by conditions."""
    return [_set_name(c.nodes) for c in conditions]
