"""How a field is coloured: label with units, colour map chosen by the field's sign, clipped range.

Quantities that cannot be negative (von Mises stress, modulus, density, strain
energy density, |u|) get a sequential map of their own. Signed quantities
(axial stress and strain, the minimum principal strain, differences) are
coloured by the sign of what is shown: a diverging map centred on zero only
when the range really straddles zero (the smaller side at least
:data:`DIVERGING_MIN_SIDE` of the larger), otherwise a sequential map that
darkens with magnitude (blue for compression, red for tension). A diverging
map on a one-signed field spends half its colours on values that do not
occur (Crameri, Shephard & Heron 2020, "The misuse of colour in science
communication", Nat Commun 11:5444, doi:10.1038/s41467-020-19160-7).

Colour ranges are percentile-clipped by default so that one hot element does
not wash out the picture; a clipped end is reported (:class:`ColourScale`) so
the scalar bar can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Colormap, ListedColormap

from ..errors import ConfigError

__all__ = [
    "DIFFERENCE_STYLE",
    "DIVERGING_MIN_SIDE",
    "FIELDS",
    "FONT_FILE",
    "ColourScale",
    "FieldStyle",
    "colormap",
    "colour_scale",
    "field_style",
]

#: Font of every label (DejaVu Sans, shipped with matplotlib): VTK's built-in fonts lack ▲, σ, ε, ³ and −.
FONT_FILE = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"

#: A signed range gets a diverging map only when its smaller side is at least this fraction of its larger side.
DIVERGING_MIN_SIDE = 0.1

_DIVERGING = "RdBu_r"
# sequential maps for one-signed ranges, cut before their white end so that near-zero values stay visible on
# a white background; the darkest colour marks the largest magnitude
_NEGATIVE = ("Blues_r", 0.0, 0.85)
_POSITIVE = ("Reds", 0.15, 1.0)


@dataclass(frozen=True)
class FieldStyle:
    """How a field is drawn.

    Attributes
    ----------
    label : str
        Scalar-bar title with units.
    cmap : str
        Matplotlib colour map for fields that cannot be negative.
    signed : bool
        The quantity can take either sign: the map is chosen from the sign of
        the range shown (see the module docstring).
    categorical : bool
        Integer codes (regions): full range, no percentile clipping.
    """

    label: str
    cmap: str = "viridis"
    signed: bool = False
    categorical: bool = False


FIELDS: dict[str, FieldStyle] = {
    "E_MPa": FieldStyle("E (MPa)", "viridis"),
    "rho_app_g_cm3": FieldStyle("ρapp (g/cm³)", "cividis"),
    "rho_ash_g_cm3": FieldStyle("ρash (g/cm³)", "cividis"),
    "von_mises_MPa": FieldStyle("von Mises stress (MPa)", "inferno"),
    "axial_stress_MPa": FieldStyle("axial stress σzz (MPa)", signed=True),
    "axial_strain": FieldStyle("axial strain εzz (–)", signed=True),
    "min_principal_strain": FieldStyle("minimum principal strain (–)", signed=True),
    "sed_MPa": FieldStyle("strain energy density (MPa = mJ/mm³)", "magma"),
    "effective_strain": FieldStyle("effective strain (–)", "inferno"),
    "displacement_magnitude_mm": FieldStyle("|u| (mm)", "plasma"),
    "region": FieldStyle("region", "tab10", categorical=True),
}

#: Style of a difference between two results (signed by nature).
DIFFERENCE_STYLE = FieldStyle("difference", signed=True)


def field_style(name: str) -> FieldStyle:
    """The style of a field; unknown fields get their name as label and a signed/sequential choice.

    Examples
    --------
    >>> field_style("von_mises_MPa").label
    'von Mises stress (MPa)'
    >>> field_style("my_index").signed
    True
    """
    return FIELDS.get(name, FieldStyle(name, signed=True))


def colormap(name: str | Colormap) -> Colormap:
    """A matplotlib colour map by name (``"inferno"``, ``"RdBu_r"``, …).

    Raises
    ------
    ConfigError
        Unknown name; the message lists a few valid ones.

    Examples
    --------
    >>> colormap("viridis").name
    'viridis'
    """
    if isinstance(name, Colormap):
        return name
    try:
        return colormaps[name]
    except KeyError:
        raise ConfigError(f"cmap = {name!r} is not a matplotlib colour map; e.g. viridis, inferno, cividis, RdBu_r, "
                          "Blues_r (see matplotlib.colormaps)") from None


def _cut(spec: tuple[str, float, float]) -> Colormap:
    name, lo, hi = spec
    return ListedColormap(colormaps[name](np.linspace(lo, hi, 256)), name=f"{name}[{lo:g}:{hi:g}]")


@dataclass(frozen=True)
class ColourScale:
    """A colour map and range for one picture, with what they leave out.

    Attributes
    ----------
    cmap : matplotlib Colormap
    clim : (float, float)
        Colour range (same unit as the field).
    kind : {"sequential", "diverging", "categorical"}
    data_min, data_max : float
        Extremes of the finite values shown.
    """

    cmap: Colormap
    clim: tuple[float, float]
    kind: Literal["sequential", "diverging", "categorical"]
    data_min: float
    data_max: float

    @property
    def clipped_below(self) -> bool:
        """Some values lie below the colour range."""
        return self.data_min < self.clim[0]

    @property
    def clipped_above(self) -> bool:
        """Some values lie above the colour range."""
        return self.data_max > self.clim[1]


def _percentile_range(v: np.ndarray, percentile: tuple[float, float] | None) -> tuple[float, float]:
    lo, hi = np.percentile(v, percentile) if percentile else (v.min(), v.max())
    return float(lo), float(hi)


def _widen(lo: float, hi: float) -> tuple[float, float]:
    """A non-empty range (a constant field gets ±0.5, or ±5 % of its value)."""
    if hi > lo:
        return lo, hi
    half = 0.05 * abs(lo) or 0.5
    return lo - half, lo + half


def colour_scale(
    values: np.ndarray,
    style: FieldStyle,
    *,
    clim: tuple[float, float] | None = None,
    percentile: tuple[float, float] | None = (2.0, 98.0),
    cmap: str | None = None,
) -> ColourScale:
    """Colour map and range for ``values`` drawn in ``style``.

    Parameters
    ----------
    values : ndarray
        The field (non-finite values are ignored).
    style : FieldStyle
    clim : (lo, hi), optional
        Fixed range; otherwise the ``percentile`` range of the values (the
        full range when ``percentile`` is None), made symmetric about zero
        for a diverging map.
    cmap : str, optional
        Colour map name; by default chosen from the style and the sign of the
        range (module docstring).

    Examples
    --------
    One-signed (all compressive) strain: sequential, not diverging.

    >>> s = colour_scale(np.linspace(-0.02, -0.001, 50), field_style("min_principal_strain"), percentile=None)
    >>> s.kind, s.clim
    ('sequential', (-0.02, -0.001))

    A range around zero: diverging, symmetric.

    >>> colour_scale(np.array([-0.02, 0.01, 0.015]), DIFFERENCE_STYLE, percentile=None).clim
    (-0.02, 0.02)

    One hot element is clipped, and reported.

    >>> s = colour_scale(np.r_[np.linspace(0.0, 1.0, 99), 50.0], field_style("von_mises_MPa"))
    >>> s.clipped_above, round(s.clim[1], 2), s.data_max
    (True, 0.99, 50.0)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        v = np.zeros(1)
    dmin, dmax = float(v.min()), float(v.max())
    if style.categorical:
        return ColourScale(colormap(cmap or style.cmap), _widen(dmin, dmax), "categorical", dmin, dmax)
    lo, hi = (float(clim[0]), float(clim[1])) if clim is not None else _percentile_range(v, percentile)
    if clim is not None and not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ConfigError(f"clim = {clim!r}: needs two finite numbers, low < high")
    if not style.signed:
        kind: Literal["sequential", "diverging"] = "sequential"
        cm = colormap(cmap or style.cmap)
    elif (lo < 0.0 < hi and min(-lo, hi) >= DIVERGING_MIN_SIDE * max(-lo, hi)) or lo == hi == 0.0:
        kind, cm = "diverging", colormap(cmap or _DIVERGING)
        if clim is None:
            m = max(-lo, hi)
            lo, hi = -m, m
    else:
        kind = "sequential"
        negative = hi <= 0.0 or -lo >= hi
        if clim is None:
            # the few values of the other sign are clipped at zero (and reported) rather than stretching the map
            lo, hi = (lo, min(hi, 0.0)) if negative else (max(lo, 0.0), hi)
        cm = colormap(cmap) if cmap else _cut(_NEGATIVE if negative else _POSITIVE)
    return ColourScale(cm, _widen(lo, hi), kind, dmin, dmax)
