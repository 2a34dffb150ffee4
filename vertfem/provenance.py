"""Provenance: what produced a number — versions, options, inputs, calibration and flags.

Every result of every measure carries one :class:`Provenance` record. Its
JSON form is written into each output file, and :meth:`Provenance.row`
gives the columns that every results table carries (so a row can always be
traced back to its inputs and settings). A :class:`Flag` records something a
reader of the number must know (the vertebra was cut by the field of view,
islands were removed from the mask, elements were clamped); flags are data in
the output, never only a console warning.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as md
import json
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._version import __version__
from .options import options_sha256

__all__ = [
    "Flag",
    "InputFile",
    "Provenance",
    "array_sha256",
    "jsonable",
    "merge_flags",
    "package_versions",
    "write_record",
]

#: Packages whose versions can change a result; recorded in every provenance block.
_PACKAGES = ("numpy", "scipy", "SimpleITK", "numba", "pydantic", "gmsh", "meshio", "pyamg", "pypardiso", "mkl",
             "PyWavelets", "pandas", "statsmodels", "scikit-learn", "torch")


@dataclass(frozen=True)
class Flag:
    """A recorded caveat of a result.

    Attributes
    ----------
    code : str
        Stable identifier (``"cut_by_fov"``, ``"islands_removed"``, ``"clamped_elements"``, ...).
    message : str
        What happened, with numbers, and what it means for the result.
    severity : {"info", "warning"}
        ``warning`` when the number may be biased; ``info`` for a note.

    Examples
    --------
    >>> Flag("cut_by_fov", "L1 touches the image boundary").as_dict()["code"]
    'cut_by_fov'
    """

    code: str
    message: str
    severity: Literal["info", "warning"] = "warning"

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"code": self.code, "message": self.message, "severity": self.severity}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Flag:
        """Inverse of :meth:`as_dict`."""
        return cls(str(d["code"]), str(d["message"]), d.get("severity", "warning"))


def merge_flags(*groups: Iterable[Flag]) -> tuple[Flag, ...]:
    """Flags of several sources in order, each (code, message) once."""
    seen: dict[tuple[str, str], Flag] = {}
    for g in groups:
        for f in g:
            seen.setdefault((f.code, f.message), f)
    return tuple(seen.values())


@dataclass(frozen=True)
class InputFile:
    """An input file (or in-memory array) and the SHA-256 of its content."""

    path: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"path": self.path, "sha256": self.sha256}


@functools.cache
def package_versions() -> dict[str, str]:
    """Installed versions of vertfem and the packages that can change its numbers.

    Examples
    --------
    >>> package_versions()["vertfem"] == __version__
    True
    """
    out = {"vertfem": __version__, "python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


def array_sha256(array: np.ndarray, *extra: Any) -> str:
    """SHA-256 of an array's bytes, shape and dtype (and any extra values, e.g. its grid).

    Examples
    --------
    >>> a = np.zeros((2, 2))
    >>> array_sha256(a) == array_sha256(a.copy()) != array_sha256(a.astype(np.float32))
    True
    """
    h = hashlib.sha256()
    arr = np.ascontiguousarray(array)
    h.update(f"{arr.shape}|{arr.dtype}|{extra!r}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Where one measure's result comes from.

    Attributes
    ----------
    measure : str
        Registry name of the measure (``"vbmd"``, ``"fe"``, ...).
    options : dict
        The measure's resolved options (every default filled in).
    inputs : dict of str → InputFile
        ``ct`` and ``mask`` (path and content hash).
    vertebra : dict
        Name, label id, label convention and the vertebra-stage options.
    calibration : dict or None
        The HU → density line used (kernel, slope, intercept, source), or
        None for measures that work on HU.
    flags : tuple of Flag
        Caveats of the vertebra and of the result.
    versions : dict
        vertfem, Python and dependency versions.

    Examples
    --------
    >>> p = Provenance("vbmd", {"erosion_mm": 6.0}, {}, {"name": "L1"}, None)
    >>> p.row()["options_sha256"] == p.options_sha256
    True
    """

    measure: str
    options: dict[str, Any]
    inputs: dict[str, InputFile]
    vertebra: dict[str, Any]
    calibration: dict[str, Any] | None
    flags: tuple[Flag, ...] = ()
    versions: dict[str, str] = field(default_factory=package_versions)

    @property
    def options_sha256(self) -> str:
        """Hash of the measure's options, the vertebra stage's options and the calibration."""
        return options_sha256({"measure": self.measure, "options": self.options,
                               "vertebra_options": self.vertebra.get("options", {}), "calibration": self.calibration})

    def with_flags(self, *flags: Flag) -> Provenance:
        """A copy with more flags."""
        return Provenance(self.measure, self.options, self.inputs, self.vertebra, self.calibration,
                          merge_flags(self.flags, flags), self.versions)

    def as_dict(self) -> dict[str, Any]:
        """The JSON provenance block written into every output file."""
        return {
            "measure": self.measure,
            "vertfem_version": self.versions.get("vertfem", __version__),
            "versions": dict(self.versions),
            "options": self.options,
            "options_sha256": self.options_sha256,
            "inputs": {k: v.as_dict() for k, v in self.inputs.items()},
            "vertebra": self.vertebra,
            "calibration": self.calibration,
            "flags": [f.as_dict() for f in self.flags],
        }

    def row(self) -> dict[str, Any]:
        """Provenance columns of a results table (hashes, kernel, flags)."""
        cal = self.calibration or {}
        return {
            "vertfem_version": self.versions.get("vertfem", __version__),
            "options_sha256": self.options_sha256,
            "ct_sha256": self.inputs["ct"].sha256 if "ct" in self.inputs else None,
            "mask_sha256": self.inputs["mask"].sha256 if "mask" in self.inputs else None,
            "calibration": cal.get("source") if cal else None,
            "cut_by_fov": any(f.code == "cut_by_fov" for f in self.flags),
            "flags": ";".join(sorted({f.code for f in self.flags})),
        }


def jsonable(x: Any) -> Any:
    """Numpy scalars/arrays, tuples and paths as plain JSON types."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None if np.isnan(x) else ("inf" if x > 0 else "-inf")
    if hasattr(x, "__fspath__"):
        return str(x)
    return x


def write_record(path: str | os.PathLike[str], values: Mapping[str, Any], provenance: Provenance,
                 **extra: Any) -> Path:
    """Write one result record: ``{"measure", "values", ..., "provenance"}`` as JSON (atomically).

    Every measure's ``save`` writes its scalars through this function, so all
    output files carry the same provenance block.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    doc = {"measure": provenance.measure, "values": dict(values), **extra, "provenance": provenance.as_dict()}
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(jsonable(doc), indent=2))
    tmp.replace(p)
    return p
