"""Vertebra label conventions of common segmentation tools.

Conventions
-----------
``totalsegmentator`` (v2 "total" task)
    25 sacrum, 26 S1, 27 L5, 28 L4, 29 L3, 30 L2, 31 L1, 32 T12 … 43 T1,
    44 C7 … 50 C1 (Wasserthal et al., Radiol AI 2023; TotalSegmentator
    ``map_to_binary.py``).
``totalsegmentator-v1``
    18 L5, 19 L4, 20 L3, 21 L2, 22 L1, 23 T12 … 34 T1, 35 C7 … 41 C1.
``verse``
    C1–C7 = 1–7, T1–T12 = 8–19, L1–L6 = 20–25, 26 sacrum, 28 T13
    (Sekuboyina et al., Med Image Anal 2021).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from .errors import UnknownVertebraError, UnsupportedLevelError

__all__ = ["CONVENTIONS", "label_id", "parse_levels", "spine_region", "vertebra_name", "vertebra_names"]

_CERVICAL = [f"C{i}" for i in range(1, 8)]
_THORACIC = [f"T{i}" for i in range(1, 13)]
_LUMBAR = [f"L{i}" for i in range(1, 6)]


def _totalseg_v2() -> dict[str, int]:
    names = ["sacrum", "S1", *_LUMBAR[::-1], *_THORACIC[::-1], *_CERVICAL[::-1]]
    return {n: 25 + i for i, n in enumerate(names)}


def _totalseg_v1() -> dict[str, int]:
    names = _LUMBAR[::-1] + _THORACIC[::-1] + _CERVICAL[::-1]
    return {n: 18 + i for i, n in enumerate(names)}


def _verse() -> dict[str, int]:
    table = {n: i + 1 for i, n in enumerate(_CERVICAL + _THORACIC + _LUMBAR + ["L6"])}
    table["sacrum"] = 26
    table["T13"] = 28
    return table


CONVENTIONS: dict[str, dict[str, int]] = {
    "totalsegmentator": _totalseg_v2(),
    "totalsegmentator-v1": _totalseg_v1(),
    "verse": _verse(),
}
"""Vertebra name → label id, per convention."""


def _table(convention: str) -> dict[str, int]:
    try:
        return CONVENTIONS[convention]
    except KeyError:
        raise UnknownVertebraError(
            f"unknown label convention {convention!r}; use one of {sorted(CONVENTIONS)} "
            "or pass a raw label id"
        ) from None


def label_id(vertebra: str | int, convention: str = "totalsegmentator") -> int:
    """Label id of a vertebra in a convention.

    Parameters
    ----------
    vertebra : str or int
        Name such as ``"L1"`` (case-insensitive) or a raw integer label id,
        which is returned unchanged.
    convention : str
        One of :data:`CONVENTIONS`.

    Examples
    --------
    >>> label_id("L1"), label_id("L1", "totalsegmentator-v1"), label_id("L1", "verse")
    (31, 22, 20)
    """
    if isinstance(vertebra, (int,)) and not isinstance(vertebra, bool):
        return int(vertebra)
    text = str(vertebra).strip()
    if text.isdigit():
        return int(text)
    table = _table(convention)
    key = text.upper() if text.lower() != "sacrum" else "sacrum"
    if key not in table:
        raise UnknownVertebraError(
            f"vertebra {vertebra!r} is not in the {convention!r} convention; "
            f"known names: {', '.join(table)}"
        )
    return table[key]


def vertebra_name(label: int, convention: str = "totalsegmentator") -> str | None:
    """Name of a label id in a convention, or ``None`` if it is not a vertebra."""
    for name, value in _table(convention).items():
        if value == int(label):
            return name
    return None


def vertebra_names(convention: str = "totalsegmentator") -> list[str]:
    """All vertebra names known to a convention, cranial to caudal."""
    table = _table(convention)
    return sorted(table, key=lambda n: _cranial_order(n))


def _cranial_order(name: str) -> int:
    order = _CERVICAL + _THORACIC + ["T13"] + _LUMBAR + ["L6", "S1", "sacrum"]
    return order.index(name) if name in order else len(order)


SpineRegion = Literal["cervical", "thoracic", "lumbar", "sacral"]


def spine_region(name: str) -> SpineRegion | None:
    """Region of the spine a level name belongs to (``None`` for raw label ids).

    Examples
    --------
    >>> spine_region("L1"), spine_region("T13"), spine_region("C2"), spine_region("sacrum"), spine_region("label-7")
    ('lumbar', 'thoracic', 'cervical', 'sacral', None)
    """
    m = re.fullmatch(r"([CTLS])(\d+)", str(name).strip().upper())
    if str(name).strip().lower() == "sacrum":
        return "sacral"
    if not m:
        return None
    return {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}[m.group(1)]  # type: ignore[return-value]


def parse_levels(
    spec: str | int | Sequence[str | int], convention: str = "totalsegmentator", *, present: Iterable[int] | None = None
) -> list[str | int]:
    """Expand a level specification into vertebra names (or raw ids), cranial to caudal.

    Parameters
    ----------
    spec : str, int or sequence
        ``"L1"``, ``"L1-L4"`` (a range along the spine), ``"T12,L1;L2"``
        (lists), ``"all"`` (every vertebra label present), raw label ids, or
        a sequence of any of these.
    convention : str
        Label convention that names the levels.
    present : iterable of int, optional
        Label ids present in the label map (needed for ``"all"``).

    Raises
    ------
    UnknownVertebraError
        An unknown name, a range whose ends are in no common order, or
        ``"all"`` without the labels present.

    Examples
    --------
    >>> parse_levels("L3-L1")
    ['L1', 'L2', 'L3']
    >>> parse_levels("T12, L2;L1")
    ['T12', 'L1', 'L2']
    >>> parse_levels("all", present=[31, 30, 5])
    ['L1', 'L2']
    """
    items: list[str | int] = []
    parts = [spec] if isinstance(spec, (str, int)) else list(spec)
    for part in parts:
        for token in (re.split(r"[;,\s]+", part.strip()) if isinstance(part, str) else [part]):
            if token == "":
                continue
            items.extend(_expand(token, convention, present))
    names = [x for x in items if isinstance(x, str)]
    ids = [x for x in items if not isinstance(x, str)]
    ordered = sorted(dict.fromkeys(names), key=_cranial_order)
    return [*ordered, *dict.fromkeys(ids)]


def _expand(token: str | int, convention: str, present: Iterable[int] | None) -> list[str | int]:
    if isinstance(token, int) or str(token).isdigit():
        return [int(token)]
    text = str(token).strip()
    table = _table(convention)
    if text.lower() == "all":
        if present is None:
            raise UnknownVertebraError("level 'all' needs the label map: pass the labels present")
        ids = {int(i) for i in present}
        return [n for n, i in table.items() if i in ids]
    if "-" in text:
        a, b = (_canonical(x) for x in text.split("-", 1))
        for end in (a, b):
            label_id(end, convention)
        order = vertebra_names(convention)
        ia, ib = sorted((order.index(a), order.index(b)))
        return list(order[ia:ib + 1])
    label_id(text, convention)
    return [_canonical(text)]


def _canonical(name: str) -> str:
    text = name.strip()
    return "sacrum" if text.lower() == "sacrum" else text.upper()


#: Levels that vertfem's vertebral-body methods (body isolation, endplates, FE) do not cover, with the reason.
UNSUPPORTED_LEVELS: dict[str, str] = {
    "C1": "C1 (the atlas) is a ring without a vertebral body: there is no body to isolate and no endplates to load",
    "C2": "C2 (the axis) carries the dens on its body: its cranial surface is not an endplate, so the body's "
          "endplates, axis and height are undefined",
    "S1": "S1 is fused into the sacrum: it has no free inferior endplate and its body is not a vertebral body "
          "loaded between two discs",
    "sacrum": "the sacrum is a fused block of five vertebrae with the alae: it has no vertebral body between two "
              "endplates",
}


def check_supported_level(name: str, method: str = "this method") -> None:
    """Refuse a level that has no vertebral body between two endplates (sacrum, S1–S5, C1, C2).

    Raw label ids (``"label-7"``) and unknown names pass: their anatomy is the caller's to vouch for.

    Raises
    ------
    UnsupportedLevelError
        Naming the level and why.

    Examples
    --------
    >>> check_supported_level("L5")
    >>> check_supported_level("S1", "vertebral-body FE")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vertfem.errors.UnsupportedLevelError: S1 is not supported by vertebral-body FE: S1 is fused into the sacrum: ...
    """
    text = str(name).strip()
    key = "sacrum" if text.lower() == "sacrum" else text.upper()
    reason = UNSUPPORTED_LEVELS.get(key)
    if reason is None and spine_region(text) == "sacral":
        reason = f"{key} is part of the sacrum: it has no vertebral body between two endplates"
    if reason is not None:
        raise UnsupportedLevelError(f"{text} is not supported by {method}: {reason}")
