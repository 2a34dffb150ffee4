"""Bundled example data (see ``ct-example/ATTRIBUTION.md``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["example_paths"]


def example_paths() -> dict[str, Path]:
    """Paths of the bundled example CT and its TotalSegmentator v2 label map.

    The example is a real abdominal CT (3 mm isotropic, direction cosines
    diag(−1, −1, 1)) with vertebrae S1–T11, from TotalSegmentator's test data
    (Apache-2.0; Wasserthal et al., Radiol Artif Intell 2023). Its kernel is
    not recorded; vertfem treats it as B40f-like.

    Examples
    --------
    >>> sorted(example_paths())
    ['ct', 'labels']
    """
    root = Path(str(files(__package__))) / "ct-example"
    return {"ct": root / "ct.nii.gz", "labels": root / "vertebrae.nii.gz"}
