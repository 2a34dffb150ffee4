"""Load cases as data: boundary conditions on named node sets.

All components are in the **vertebral frame** (x lateral, y anterior,
z cranial; :class:`~vertfem.vertebra.VertebralFrame`); the solver
works in that frame, so an axial displacement is a coordinate component
whatever the vertebra's orientation in the scanner.

A node set is named (``superior``, ``inferior``, any set stored on the
mesh) or selected by a :class:`Selector` (a half-space, a box in frame
coordinates, or a Python predicate on frame coordinates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import BoundaryConditionError, ConfigError

__all__ = [
    "Selector",
    "Displacement",
    "Rotation",
    "Force",
    "LoadCase",
    "axial_compression",
    "anterior_wedge",
    "lateral_wedge",
    "combined",
    "BUILTIN_LOAD_CASES",
    "load_case_from_mapping",
]

AXES = {"lateral": np.array([1.0, 0, 0]), "anterior": np.array([0, 1.0, 0]), "cranial": np.array([0, 0, 1.0])}


@dataclass(frozen=True)
class Selector:
    """Nodes chosen geometrically in frame coordinates (mm, relative to the centroid).

    Exactly one of ``plane`` (point, normal: keeps the side the normal points
    to), ``box`` (min, max corners) or ``predicate`` (callable on (n, 3)
    frame coordinates → bool array). ``surface_only`` restricts to surface
    nodes.
    """

    name: str
    plane: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    box: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    predicate: Callable[[np.ndarray], np.ndarray] | None = None
    surface_only: bool = True

    def select(self, local_mm: np.ndarray, surface: np.ndarray | None) -> np.ndarray:
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
            ok = np.asarray(self.predicate(local_mm), bool)
        idx = np.flatnonzero(ok)
        if self.surface_only and surface is not None:
            idx = np.intersect1d(idx, surface)
        return idx


NodeSet = Union[str, Selector]


@dataclass(frozen=True)
class Displacement:
    """Prescribed displacement components (mm) of a node set; ``None`` = free."""

    nodes: NodeSet
    ux: float | None = None
    uy: float | None = None
    uz: float | None = None

    @property
    def components(self) -> dict[int, float]:
        return {i: float(v) for i, v in enumerate((self.ux, self.uy, self.uz)) if v is not None}


@dataclass(frozen=True)
class Rotation:
    """Prescribed (small) rotation of a node set about an axis through its centroid.

    All three components are prescribed: ``u = θ·(a × (x − c)) + translation``.
    """

    nodes: NodeSet
    axis: str | tuple[float, float, float]
    angle_deg: float
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def axis_vector(self) -> np.ndarray:
        a = AXES[self.axis] if isinstance(self.axis, str) else np.asarray(self.axis, float)
        return a / np.linalg.norm(a)


@dataclass(frozen=True)
class Force:
    """A total force (N, frame components) spread over a node set's surface as uniform traction."""

    nodes: NodeSet
    force_N: tuple[float, float, float]


Condition = Union[Displacement, Rotation, Force]


@dataclass(frozen=True)
class LoadCase:
    """A named list of boundary conditions.

    ``loaded`` names the set whose axial reaction defines stiffness and
    ``axial_displacement_mm`` the applied axial displacement (for
    displacement-driven cases).
    """

    name: str
    conditions: tuple[Condition, ...]
    loaded: str = "superior"
    axial_displacement_mm: float | None = None
    description: str = ""
    meta: dict = field(default_factory=dict)


def _check_apparent_strain(strain: float) -> None:
    if not 0 < strain < 0.2:
        raise BoundaryConditionError(f"apparent strain must be in (0, 0.2), got {strain}")


def axial_compression(
    height_mm: float, *, apparent_strain: float = 0.01, transverse_fixed: bool = False
) -> LoadCase:
    """Inferior endplate fixed in all directions, superior displaced axially.

    The displacement is ``−apparent_strain·H`` along the cranial axis
    (stiffness does not depend on it: the model is linear). Transverse
    components of the superior endplate are free by default (Jiang 2023),
    fixed with ``transverse_fixed=True`` — the two differ by ~1.5 % (SCIENCE §6).
    """
    _check_apparent_strain(apparent_strain)
    d = -apparent_strain * height_mm
    top = Displacement("superior", 0.0, 0.0, d) if transverse_fixed else Displacement("superior", uz=d)
    return LoadCase(
        "axial_compression", (Displacement("inferior", 0.0, 0.0, 0.0), top), "superior", d,
        f"inferior fixed; superior uz = {d:.4g} mm, transverse {'fixed' if transverse_fixed else 'free'}",
        {"transverse_fixed": transverse_fixed, "apparent_strain": apparent_strain},
    )


def _wedge(name: str, axis: str, sign: float, angle_deg: float, axial_mm: float) -> LoadCase:
    rot = Rotation("superior", axis, sign * angle_deg, (0.0, 0.0, axial_mm))
    return LoadCase(
        name, (Displacement("inferior", 0.0, 0.0, 0.0), rot), "superior", axial_mm if axial_mm else None,
        f"inferior fixed; superior rotated {angle_deg:g}° about the {axis} axis through its centroid"
        + (f", plus uz = {axial_mm:.4g} mm" if axial_mm else ""),
    )


def anterior_wedge(angle_deg: float = 1.0) -> LoadCase:
    """Flexion: the superior endplate rotates about the lateral axis, anterior side down."""
    # rotation about -lateral moves +anterior points towards -cranial: (-x) × y = -z
    return _wedge("anterior_wedge", "lateral", -1.0, angle_deg, 0.0)


def lateral_wedge(angle_deg: float = 1.0) -> LoadCase:
    """Lateral bending: rotation about the anterior axis, the +lateral side down."""
    # rotation about +anterior moves +lateral points towards -cranial: y × x = -z
    return _wedge("lateral_wedge", "anterior", 1.0, angle_deg, 0.0)


def combined(height_mm: float, *, apparent_strain: float = 0.01, angle_deg: float = 1.0) -> LoadCase:
    """Axial compression plus anterior wedge (flexion) on the superior endplate."""
    _check_apparent_strain(apparent_strain)
    return _wedge("combined", "lateral", -1.0, angle_deg, -apparent_strain * height_mm)


BUILTIN_LOAD_CASES = ("axial_compression", "anterior_wedge", "lateral_wedge", "combined")


class _SelectorModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "selection"
    plane: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    box: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    surface_only: bool = True


class _ConditionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["displacement", "rotation", "force"]
    nodes: str | _SelectorModel
    ux: float | None = None
    uy: float | None = None
    uz: float | None = None
    axis: str | tuple[float, float, float] | None = None
    angle_deg: float | None = None
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    force_N: tuple[float, float, float] | None = None


class LoadCaseModel(BaseModel):
    """YAML/JSON schema of a load case: a built-in by name with parameters, or a list of conditions."""

    model_config = ConfigDict(extra="forbid")
    name: str = "custom"
    builtin: Literal["axial_compression", "anterior_wedge", "lateral_wedge", "combined"] | None = None
    apparent_strain: float = Field(0.01, gt=0, lt=0.2)
    transverse_fixed: bool = False
    angle_deg: float = 1.0
    conditions: list[_ConditionModel] = []
    loaded: str = "superior"
    axial_displacement_mm: float | None = None


def _node_set(n: str | _SelectorModel) -> NodeSet:
    return n if isinstance(n, str) else Selector(n.name, plane=n.plane, box=n.box, surface_only=n.surface_only)


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
    if m.builtin == "axial_compression":
        return axial_compression(height_mm, apparent_strain=m.apparent_strain, transverse_fixed=m.transverse_fixed)
    if m.builtin == "anterior_wedge":
        return anterior_wedge(m.angle_deg)
    if m.builtin == "lateral_wedge":
        return lateral_wedge(m.angle_deg)
    if m.builtin == "combined":
        return combined(height_mm, apparent_strain=m.apparent_strain, angle_deg=m.angle_deg)
    conds: list[Condition] = []
    for i, c in enumerate(m.conditions):
        ns = _node_set(c.nodes)
        if c.type == "displacement":
            conds.append(Displacement(ns, c.ux, c.uy, c.uz))
        elif c.type == "rotation":
            if c.axis is None or c.angle_deg is None:
                raise ConfigError(f"invalid load case: conditions.{i}: a rotation needs 'axis' and 'angle_deg'")
            conds.append(Rotation(ns, c.axis, c.angle_deg, c.translation_mm))
        else:
            if c.force_N is None:
                raise ConfigError(f"invalid load case: conditions.{i}: a force needs 'force_N'")
            conds.append(Force(ns, c.force_N))
    if not conds:
        raise ConfigError("invalid load case: give 'builtin' or a non-empty 'conditions' list")
    return LoadCase(m.name, tuple(conds), m.loaded, m.axial_displacement_mm)


def resolve_nodes(ns: NodeSet, node_sets: Mapping[str, np.ndarray], local_mm: np.ndarray) -> np.ndarray:
    """Node indices of a named set or selector; error if missing or empty."""
    if isinstance(ns, Selector):
        idx = ns.select(local_mm, node_sets.get("surface"))
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
    return [c.nodes if isinstance(c.nodes, str) else c.nodes.name for c in conditions]
