"""Per-level plausibility of the FE models of one scan: each level checked against the scan's other levels.

Levels of one scan share the scanner, kernel, calibration and patient, so
what differs between them is anatomy. A level whose model went wrong — its
endplate sets swallowing the walls, a process left on the body, a frame
tilted by a segmentation error — stands out against its neighbours:

* **apparent modulus against vBMD**: the apparent modulus (K·H²/V) divided
  by vBMD^b (b: the density–modulus law's exponent, 1.56 for Morgan 2003
  vertebral bone) should agree across the levels; a level outside
  ×/÷ :data:`MODULUS_FACTOR` of the scan's median is flagged (needs three
  levels with both values). On the bundled CT, L1–L5 lie within ×/÷ 1.26 of
  their median (L1 lowest); before the anatomical endplates, L5 lay at ×1.59
  and L1 at ÷1.62.
* **endplate-set area against the body's cross-section**: each endplate
  set's area (projected on the plane perpendicular to the axis) over the
  model's mid-height cross-section lies in :data:`AREA_RATIO_RANGE`
  (endplates with their flared rims are a little larger than the waist;
  bundled L1–L5: 0.72–1.06). Below: the set misses part of the endplate, or
  the body carries a process; above: the set reaches onto the walls.
* **frame tilt against the neighbours**: the cranial axis of a level differs
  from those of its neighbours in the spine by the segmental angle, at most
  ~20° (L5–S1 lordosis); a level more than :data:`NEIGHBOUR_TILT_DEG` from
  every neighbour present is flagged, as is a frame more than
  :data:`AXIS_ENDPLATE_DEG` from the mean normal of its own endplates
  (bundled L1–L5: 2.5–8.2°).

:func:`check_levels` works on table rows (one dict per level with the FE
and vBMD columns), so the CLI's levels table and a study's table run the same
checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..labels import vertebra_names
from ..provenance import Flag

__all__ = ["AREA_RATIO_RANGE", "AXIS_ENDPLATE_DEG", "MODULUS_FACTOR", "NEIGHBOUR_TILT_DEG", "LevelPlausibility",
           "check_levels"]

#: A level's density-normalised apparent modulus may differ from the scan's median by at most this factor.
MODULUS_FACTOR = 1.4
#: Range of (endplate-set area) / (mid-height cross-section) of a plausible model.
AREA_RATIO_RANGE = (0.65, 1.35)
#: Largest plausible angle between the cranial axes of neighbouring levels, degrees.
NEIGHBOUR_TILT_DEG = 25.0
#: Largest plausible angle between a level's cranial axis and the mean normal of its endplates, degrees.
AXIS_ENDPLATE_DEG = 12.0


@dataclass(frozen=True)
class LevelPlausibility:
    """The checks of one level.

    Attributes
    ----------
    level : str
    modulus_ratio : float or None
        Density-normalised apparent modulus over the scan's median.
    superior_area_ratio, inferior_area_ratio : float or None
        Endplate-set area over the mid-height cross-section.
    neighbour_tilt_deg : float or None
        Smallest angle between this level's cranial axis and a neighbouring level's.
    axis_to_endplates_deg : float or None
        Angle between the cranial axis and the endplates' mean normal.
    flags : tuple of Flag
        One per failed check, saying why.
    """

    level: str
    modulus_ratio: float | None
    superior_area_ratio: float | None
    inferior_area_ratio: float | None
    neighbour_tilt_deg: float | None
    axis_to_endplates_deg: float | None
    flags: tuple[Flag, ...]

    def row(self) -> dict[str, Any]:
        """Columns for the levels table."""
        return {
            "plausibility_modulus_ratio": self.modulus_ratio,
            "plausibility_superior_area_ratio": self.superior_area_ratio,
            "plausibility_inferior_area_ratio": self.inferior_area_ratio,
            "plausibility_neighbour_tilt_deg": self.neighbour_tilt_deg,
            "plausibility_axis_to_endplates_deg": self.axis_to_endplates_deg,
            "plausibility_flags": ";".join(f.code for f in self.flags),
            "plausibility_reasons": " | ".join(f.message for f in self.flags),
        }


def _num(row: Mapping[str, Any], key: str) -> float | None:
    v = row.get(key)
    return float(v) if isinstance(v, (int, float)) and np.isfinite(v) else None


def _axis(row: Mapping[str, Any]) -> np.ndarray | None:
    v = [_num(row, f"cranial_{c}") for c in "xyz"]
    if any(x is None for x in v):
        return None
    a = np.asarray(v, float)
    return a / np.linalg.norm(a)


def check_levels(rows: Mapping[str, Mapping[str, Any]], *, law_exponent: float = 1.56,
                 convention: str = "totalsegmentator") -> dict[str, LevelPlausibility]:
    """Check every level of one scan against the others.

    Parameters
    ----------
    rows : mapping level → row
        Each row with ``apparent_modulus_MPa``, ``vbmd_mg_cm3``,
        ``endplate_superior_area_mm2``, ``endplate_inferior_area_mm2``,
        ``endplate_cross_section_mm2``, ``axis_to_endplates_deg`` and
        ``cranial_x/y/z`` (a missing value skips its check).
    law_exponent : float
        Exponent b of the density–modulus law (``E ∝ ρ^b``).
    convention : str
        Label convention naming the levels (for the order of neighbours).

    Returns
    -------
    dict level → LevelPlausibility

    Examples
    --------
    >>> rows = {n: {"apparent_modulus_MPa": e, "vbmd_mg_cm3": 80.0} for n, e in
    ...         [("L1", 280.0), ("L2", 300.0), ("L3", 290.0), ("L4", 600.0)]}
    >>> {n: [f.code for f in c.flags] for n, c in check_levels(rows).items()}
    {'L1': [], 'L2': [], 'L3': [], 'L4': ['modulus_vs_vbmd']}
    """
    order = {n: i for i, n in enumerate(vertebra_names(convention))}
    q: dict[str, float] = {}
    for name, row in rows.items():
        e, v = _num(row, "apparent_modulus_MPa"), _num(row, "vbmd_mg_cm3")
        if e is not None and v is not None and e > 0 and v > 0:
            q[name] = e / v**law_exponent
    median = float(np.median(list(q.values()))) if len(q) >= 3 else None
    axes = {n: _axis(r) for n, r in rows.items()}
    out = {}
    for name, row in rows.items():
        flags: list[Flag] = []
        ratio = q[name] / median if median and name in q else None
        if ratio is not None and not 1.0 / MODULUS_FACTOR <= ratio <= MODULUS_FACTOR:
            flags.append(Flag("modulus_vs_vbmd", (
                f"{name}: apparent modulus {row['apparent_modulus_MPa']:.0f} MPa at vBMD {row['vbmd_mg_cm3']:.1f} "
                f"mg/cm³ is ×{ratio:.2f} the scan's median after normalising by vBMD^{law_exponent:g} (allowed "
                f"×/÷ {MODULUS_FACTOR:g}): the model, not the density, differs — check the endplate sets and the "
                "body")))
        section = _num(row, "endplate_cross_section_mm2")
        area_ratios: dict[str, float | None] = {}
        for side in ("superior", "inferior"):
            a = _num(row, f"endplate_{side}_area_mm2")
            r = a / section if a is not None and section else None
            area_ratios[side] = r
            lo, hi = AREA_RATIO_RANGE
            if r is not None and not lo <= r <= hi:
                why = ("the set misses part of the endplate or the body carries a process" if r < lo
                       else "the set reaches beyond the endplate onto the walls")
                flags.append(Flag(f"{side}_endplate_area", (
                    f"{name}: the {side} endplate set covers {r:.2f} of the body's mid-height cross-section "
                    f"({a:.0f} of {section:.0f} mm²; plausible {lo:g}–{hi:g}): {why}")))
        tilt = None
        here = axes.get(name)
        if here is not None and name in order:
            near = [n for n in rows if n in order and abs(order[n] - order[name]) == 1 and axes.get(n) is not None]
            if near:
                angles = [float(np.degrees(np.arccos(np.clip(here @ axes[n], -1.0, 1.0)))) for n in near]
                tilt = min(angles)
                if tilt > NEIGHBOUR_TILT_DEG:
                    flags.append(Flag("frame_tilt", (
                        f"{name}: its cranial axis is {tilt:.0f}° from its neighbours' ({', '.join(near)}; plausible "
                        f"≤ {NEIGHBOUR_TILT_DEG:g}°): the body mask or its frame is wrong")))
        axis_ep = _num(row, "axis_to_endplates_deg")
        if axis_ep is not None and axis_ep > AXIS_ENDPLATE_DEG:
            flags.append(Flag("axis_vs_endplates", (
                f"{name}: its cranial axis is {axis_ep:.1f}° from the mean normal of its endplates (plausible ≤ "
                f"{AXIS_ENDPLATE_DEG:g}°): the body mask carries something that tilts its principal axes")))
        out[name] = LevelPlausibility(name, ratio, area_ratios["superior"], area_ratios["inferior"], tilt, axis_ep,
                                      tuple(flags))
    return out
