"""Training data: slabs, targets and patients of many vertebrae (numpy only; no torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = ["SlabDataset"]


@dataclass(frozen=True, eq=False)
class SlabDataset:
    """Slabs of vertebrae with their patient and targets.

    Attributes
    ----------
    images : ndarray of float32, shape (n_vertebrae, n_slabs, h, w)
        Slab ``mid`` is the mid-plane (validation, test and prediction use it; training uses all).
    patients, vertebrae : tuple of str
        Per vertebra.
    targets : dict of str → ndarray
        Per target (``bmd``, ``tbs``) one value per vertebra; NaN where unknown.
    mid : int
        Index of the mid-plane slab.
    extra : dict of str → ndarray
        Other per-vertebra columns carried along (%YAM, kernel, physics aBMD).
    """

    images: np.ndarray
    patients: tuple[str, ...]
    vertebrae: tuple[str, ...]
    targets: dict[str, np.ndarray]
    mid: int
    extra: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 4 or len(self.patients) != n or len(self.vertebrae) != n:
            raise ConfigError(f"a slab dataset needs images (n, slabs, h, w) and n patients and vertebrae; got "
                              f"{self.images.shape}, {len(self.patients)}, {len(self.vertebrae)}")
        for k, v in {**self.targets, **self.extra}.items():
            if len(v) != n:
                raise ConfigError(f"column {k!r} has {len(v)} values for {n} vertebrae")

    def rows(self, patients: Sequence[str]) -> np.ndarray:
        """Indices of the vertebrae of these patients."""
        wanted = set(patients)
        return np.array([i for i, p in enumerate(self.patients) if p in wanted], dtype=int)

    def target_matrix(self, names: Sequence[str]) -> np.ndarray:
        """Targets as ``(n_vertebrae, len(names))`` (NaN where unknown).

        Raises
        ------
        ConfigError
            A target the dataset does not hold, or one with no known value.
        """
        missing = [t for t in names if t not in self.targets or not np.isfinite(self.targets[t]).any()]
        if missing:
            raise ConfigError(f"targets {missing} have no values in the data (known: {sorted(self.targets)})")
        return np.column_stack([self.targets[t] for t in names]).astype(np.float64)
