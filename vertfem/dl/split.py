"""Patient-level splits: a held-out test set and cross-validation folds, no patient in two of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = ["PatientSplit", "split_patients"]


@dataclass(frozen=True)
class PatientSplit:
    """Test patients and the cross-validation fold of every other patient.

    Attributes
    ----------
    test : tuple of str
    folds : tuple of tuple of str
        ``folds[i]`` validates fold ``i``; the others train it.
    """

    test: tuple[str, ...]
    folds: tuple[tuple[str, ...], ...]

    def train_val(self, fold: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Training and validation patients of one fold."""
        train = tuple(p for i, f in enumerate(self.folds) if i != fold for p in f)
        return train, self.folds[fold]

    def check(self) -> None:
        """Raise :class:`~vertfem.errors.ConfigError` if any patient is in two groups."""
        groups = [set(self.test), *map(set, self.folds)]
        seen: set[str] = set()
        for g in groups:
            if seen & g:
                raise ConfigError(f"patients {sorted(seen & g)[:5]} are in two groups of the split")
            seen |= g

    def as_dict(self) -> dict[str, list]:
        """JSON-ready form."""
        return {"test": list(self.test), "folds": [list(f) for f in self.folds]}


def split_patients(patients: Sequence[str], *, test_fraction: float, folds: int, seed: int) -> PatientSplit:
    """Shuffle the distinct patients with ``seed``; the first ``round(test_fraction · n)`` are the test set, the
    rest are dealt into ``folds`` folds (as the paper: test excluded first, the rest divided randomly into 5).

    Raises
    ------
    ConfigError
        Fewer patients than folds after the test set is removed.

    Examples
    --------
    >>> s = split_patients([f"p{i}" for i in range(12)], test_fraction=0.25, folds=3, seed=0)
    >>> len(s.test), [len(f) for f in s.folds]
    (3, [3, 3, 3])
    """
    uniq = sorted({str(p) for p in patients})
    order = np.random.default_rng(seed).permutation(len(uniq))
    shuffled = [uniq[i] for i in order]
    n_test = round(test_fraction * len(uniq))
    rest = shuffled[n_test:]
    if len(rest) < folds:
        raise ConfigError(f"{len(rest)} patients left for {folds}-fold cross-validation after {n_test} test "
                          "patients; use fewer folds or a smaller test_fraction")
    split = PatientSplit(tuple(sorted(shuffled[:n_test])),
                         tuple(tuple(sorted(rest[i::folds])) for i in range(folds)))
    split.check()
    return split
