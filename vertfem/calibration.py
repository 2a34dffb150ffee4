"""HU → equivalent mineral density, per reconstruction kernel.

Calibrations are linear, ``rho = intercept + slope * HU``, with ``rho`` the
K2HPO4-equivalent density in g/cm³, used as ash density (Jiang et al. 2023,
Front. Endocrinol. 14:1076990, §2.2):

* B40f (smooth standard): ρash = −4.2e−3 + 7.0e−4 · HU
* B70f (sharp bone):      ρash = −3.7e−3 + 7.3e−4 · HU

Any other kernel needs a user calibration (slope/intercept, or fitted to
phantom inserts). An unknown kernel without calibration is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import CalibrationError, ConfigError, UnknownKernelError
from .options import load_yaml

__all__ = [
    "KernelCalibration",
    "KernelRegistry",
    "default_registry",
    "fit_calibration",
    "hu_to_density",
    "load_calibrations",
    "resolve_calibration",
]


@dataclass(frozen=True)
class KernelCalibration:
    """A linear HU → density calibration of one reconstruction kernel.

    Attributes
    ----------
    kernel : str
        Kernel name as written in DICOM (0018,1210), e.g. ``"B40f"``.
    slope_g_cm3_per_HU : float
    intercept_g_cm3 : float
    source : str
        Citation or provenance.
    r2 : float or None
        Coefficient of determination when fitted to phantom inserts.
    residuals_g_cm3 : tuple of float
        Fit residuals (measured − fitted density) per insert, g/cm³.
    """

    kernel: str
    slope_g_cm3_per_HU: float
    intercept_g_cm3: float
    source: str = "user"
    r2: float | None = None
    residuals_g_cm3: tuple[float, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not np.isfinite(self.slope_g_cm3_per_HU) or self.slope_g_cm3_per_HU <= 0:
            raise CalibrationError(
                f"kernel {self.kernel!r}: slope must be a positive number of g/cm³ per HU, "
                f"got {self.slope_g_cm3_per_HU}"
            )
        if not np.isfinite(self.intercept_g_cm3):
            raise CalibrationError(f"kernel {self.kernel!r}: intercept must be finite, got {self.intercept_g_cm3}")

    def density_g_cm3(self, hu: np.ndarray | float) -> np.ndarray:
        """Equivalent (ash) density in g/cm³ for HU values."""
        return self.intercept_g_cm3 + self.slope_g_cm3_per_HU * np.asarray(hu, dtype=float)

    def hu(self, density_g_cm3: np.ndarray | float) -> np.ndarray:
        """Inverse calibration: HU that this kernel maps to a density."""
        return (np.asarray(density_g_cm3, dtype=float) - self.intercept_g_cm3) / self.slope_g_cm3_per_HU

    def as_dict(self) -> dict:
        return {
            "kernel": self.kernel,
            "slope_g_cm3_per_HU": self.slope_g_cm3_per_HU,
            "intercept_g_cm3": self.intercept_g_cm3,
            "source": self.source,
            "r2": self.r2,
        }


_JIANG = "Jiang et al. 2023, Front. Endocrinol. 14:1076990, §2.2"
B40F = KernelCalibration("B40f", 7.0e-4, -4.2e-3, _JIANG)
B70F = KernelCalibration("B70f", 7.3e-4, -3.7e-3, _JIANG)


def _norm(name: str) -> str:
    return str(name).strip().lower()


class KernelRegistry(Mapping[str, KernelCalibration]):
    """Kernel name → calibration, looked up case-insensitively.

    A registry is an immutable mapping; :meth:`with_calibration` returns an
    extended copy.

    Examples
    --------
    >>> reg = default_registry()
    >>> round(float(reg["b40f"].density_g_cm3(1000)), 4)
    0.6958
    """

    def __init__(self, calibrations: Iterable[KernelCalibration] = ()) -> None:
        self._cal: dict[str, KernelCalibration] = {}
        for c in calibrations:
            self._cal[_norm(c.kernel)] = c

    def __getitem__(self, kernel: str) -> KernelCalibration:
        try:
            return self._cal[_norm(kernel)]
        except KeyError:
            raise UnknownKernelError(
                f"no calibration for reconstruction kernel {kernel!r}; registered: "
                f"{', '.join(c.kernel for c in self._cal.values()) or 'none'}. Give a calibration "
                "(slope/intercept or phantom inserts) for this kernel, e.g. in a calibration YAML file"
            ) from None

    def __iter__(self):
        return (c.kernel for c in self._cal.values())

    def __len__(self) -> int:
        return len(self._cal)

    def __contains__(self, kernel: object) -> bool:
        return isinstance(kernel, str) and _norm(kernel) in self._cal

    def with_calibration(self, *calibrations: KernelCalibration) -> KernelRegistry:
        """A new registry with these calibrations added (replacing same names)."""
        return KernelRegistry([*self._cal.values(), *calibrations])


def default_registry() -> KernelRegistry:
    """The built-in kernels: B40f and B70f (Jiang 2023)."""
    return KernelRegistry([B40F, B70F])


def fit_calibration(
    kernel: str,
    hu_means: Iterable[float],
    densities_g_cm3: Iterable[float],
    *,
    source: str = "phantom fit",
) -> KernelCalibration:
    """Fit a calibration line to phantom-insert ROI means by least squares.

    Parameters
    ----------
    kernel : str
        Kernel name.
    hu_means : sequence of float
        Mean HU in each insert's ROI.
    densities_g_cm3 : sequence of float
        Known (K2HPO4 or HA equivalent) density of each insert, g/cm³.

    Returns
    -------
    KernelCalibration
        With ``r2`` and ``residuals_g_cm3`` filled in.

    Examples
    --------
    >>> cal = fit_calibration("FC18", [0, 100, 200], [0.0, 0.07, 0.14])
    >>> round(cal.slope_g_cm3_per_HU, 6), round(cal.r2, 6)
    (0.0007, 1.0)
    """
    x = np.asarray(list(hu_means), dtype=float)
    y = np.asarray(list(densities_g_cm3), dtype=float)
    if x.shape != y.shape:
        raise CalibrationError(
            f"kernel {kernel!r}: {x.size} HU means but {y.size} densities; give one of each per insert"
        )
    if x.size < 2 or np.ptp(x) == 0:
        raise CalibrationError(
            f"kernel {kernel!r}: a calibration fit needs at least two inserts of different HU, got {x.size}"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise CalibrationError(f"kernel {kernel!r}: insert values must be finite")
    a = np.column_stack([np.ones_like(x), x])
    (intercept, slope), *_ = np.linalg.lstsq(a, y, rcond=None)
    fitted = intercept + slope * x
    ss_res = float(np.sum((y - fitted) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return KernelCalibration(
        kernel, float(slope), float(intercept), source, float(r2), tuple(float(r) for r in y - fitted)
    )


def hu_to_density(hu: np.ndarray | float, calibration: KernelCalibration) -> np.ndarray:
    """Equivalent (ash) density in g/cm³ from HU with a kernel calibration."""
    return calibration.density_g_cm3(hu)


class _Inserts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hu: list[float]
    density_g_cm3: list[float]


class CalibrationEntry(BaseModel):
    """One kernel in a calibration YAML file: a line or phantom inserts."""

    model_config = ConfigDict(extra="forbid")
    slope: float | None = Field(None, description="g/cm³ per HU")
    intercept: float | None = Field(None, description="g/cm³")
    inserts: _Inserts | None = None
    source: str = "user"

    @model_validator(mode="after")
    def _one_form(self) -> CalibrationEntry:
        has_line = self.slope is not None and self.intercept is not None
        if has_line == (self.inserts is not None):
            raise ValueError("give either 'slope' and 'intercept', or 'inserts' (hu, density_g_cm3)")
        return self

    def build(self, kernel: str) -> KernelCalibration:
        if self.inserts is not None:
            return fit_calibration(kernel, self.inserts.hu, self.inserts.density_g_cm3, source=self.source)
        assert self.slope is not None and self.intercept is not None  # the validator guarantees a line
        return KernelCalibration(kernel, float(self.slope), float(self.intercept), self.source)


class CalibrationFile(BaseModel):
    """Schema of a calibration YAML file: ``kernels: {NAME: entry}`` and, for a file written by
    ``vertfem calibrate``, the ``report`` of how its line was obtained (kept for the record, not read)."""

    model_config = ConfigDict(extra="forbid")
    kernels: dict[str, CalibrationEntry]
    report: dict[str, Any] | None = None


def calibrations_from_mapping(data: Mapping, *, origin: str = "<mapping>") -> list[KernelCalibration]:
    """Validate a ``{kernels: {...}}`` mapping and build its calibrations."""
    try:
        cfg = CalibrationFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"invalid calibration in {origin}: " + "; ".join(lines)) from None
    return [entry.build(name) for name, entry in cfg.kernels.items()]


def load_calibrations(path: str | Path, *, registry: KernelRegistry | None = None) -> KernelRegistry:
    """Load kernel calibrations from YAML and add them to a registry.

    The file looks like::

        kernels:
          Br38f: {slope: 7.1e-4, intercept: -3.0e-3, source: "site QA 2024"}
          FC18:
            inserts: {hu: [2, 101, 205, 302], density_g_cm3: [0.0, 0.075, 0.15, 0.225]}
    """
    p = Path(path)
    data = load_yaml(p, what="calibration file")
    cals = calibrations_from_mapping(data or {}, origin=str(p))
    return (registry or default_registry()).with_calibration(*cals)


def resolve_calibration(
    kernel: str | KernelCalibration | None,
    *,
    scan_kernel: str | None = None,
    registry: KernelRegistry | None = None,
) -> KernelCalibration:
    """The calibration to use for a scan.

    Parameters
    ----------
    kernel : str, KernelCalibration or None
        What the user asked for. ``None`` means: use the scan's DICOM kernel.
    scan_kernel : str, optional
        The scan's ConvolutionKernel tag (``Scan.kernel``); may be
        multi-valued (``"B40f\\\\2"``), only the first value is used.
    registry : KernelRegistry, optional
        Defaults to :func:`default_registry`.

    Raises
    ------
    UnknownKernelError
        No kernel given and none in the header, or no calibration for it.
    """
    if isinstance(kernel, KernelCalibration):
        return kernel
    reg = registry or default_registry()
    if kernel is None:
        if not scan_kernel:
            raise UnknownKernelError(
                "no reconstruction kernel given and the scan has no ConvolutionKernel (0018,1210) tag; "
                f"name the kernel (e.g. --kernel B40f; registered: {', '.join(reg)}) or give a calibration"
            )
        kernel = str(scan_kernel).split("\\")[0].strip()
    return reg[kernel]
