"""Reference-tissue masks from TotalSegmentator label maps."""

from __future__ import annotations

import numpy as np

__all__ = ["TOTALSEGMENTATOR_TISSUES", "totalsegmentator_tissue_masks"]

#: TotalSegmentator v2 label ids per reference tissue (``map_to_binary.py``: task "total" ids; task
#: "tissue_types" ids 1 subcutaneous_fat, 2 torso_fat, 3 skeletal_muscle).
TOTALSEGMENTATOR_TISSUES = {
    "blood": ("total", {52: "aorta"}),
    "muscle": ("total", {86: "autochthon_left", 87: "autochthon_right", 88: "iliopsoas_left", 89: "iliopsoas_right"}),
    "adipose": ("tissue_types", {1: "subcutaneous_fat"}),
    "muscle_tissue_types": ("tissue_types", {3: "skeletal_muscle"}),
}


def totalsegmentator_tissue_masks(
    total: np.ndarray | None = None, tissue_types: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Reference-tissue masks from TotalSegmentator v2 label arrays on the scan grid.

    Parameters
    ----------
    total : ndarray of int, optional
        Output of the ``total`` task: blood = aorta (52); muscle =
        autochthon left/right (86, 87) and iliopsoas left/right (88, 89).
    tissue_types : ndarray of int, optional
        Output of the ``tissue_types`` task: adipose = subcutaneous_fat (1);
        skeletal_muscle (3) is used for muscle when ``total`` is not given.

    Returns
    -------
    dict of str to ndarray of bool
        Only tissues with at least one voxel.

    Examples
    --------
    >>> lab = np.zeros((4, 4, 4), int); lab[1:3, 1:3, 1:3] = 52
    >>> sorted(totalsegmentator_tissue_masks(total=lab))
    ['blood']
    """
    out: dict[str, np.ndarray] = {}
    if total is not None:
        out["blood"] = np.isin(total, list(TOTALSEGMENTATOR_TISSUES["blood"][1]))
        out["muscle"] = np.isin(total, list(TOTALSEGMENTATOR_TISSUES["muscle"][1]))
    if tissue_types is not None:
        out["adipose"] = np.isin(tissue_types, list(TOTALSEGMENTATOR_TISSUES["adipose"][1]))
        if "muscle" not in out or not out["muscle"].any():
            out["muscle"] = np.isin(tissue_types, list(TOTALSEGMENTATOR_TISSUES["muscle_tissue_types"][1]))
    return {k: v for k, v in out.items() if v.any()}
