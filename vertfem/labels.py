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

from .errors import UnknownVertebraError

__all__ = ["CONVENTIONS", "label_id", "vertebra_name", "vertebra_names"]

_CERVICAL = [f"C{i}" for i in range(1, 8)]
_THORACIC = [f"T{i}" for i in range(1, 13)]
_LUMBAR = [f"L{i}" for i in range(1, 6)]


def _totalseg_v2() -> dict[str, int]:
    names = ["sacrum", "S1"] + _LUMBAR[::-1] + _THORACIC[::-1] + _CERVICAL[::-1]
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
