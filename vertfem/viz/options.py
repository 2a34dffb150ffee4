"""View options: one validated model for the Python API and ``vertfem view`` (flags generated from it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..options import Options

__all__ = ["CAMERAS", "CLIPS", "ViewOptions"]

#: Named camera positions in the vertebral frame (``right`` = the patient's right, the frame's +lateral).
CAMERAS = ("oblique", "anterior", "posterior", "right", "left", "cranial", "caudal")
#: Cuts through the frame's centroid, by the plane they show.
CLIPS = ("sagittal", "frontal", "axial")


class ViewOptions(Options):
    """How a 3-D view of a result is drawn.

    Every option is also a flag of ``vertfem view`` (``clim`` → ``--clim LO HI``).

    Examples
    --------
    >>> ViewOptions(clip="sagittal", dpi=300).window_size
    (900, 750)
    >>> from vertfem.options import parse_options
    >>> parse_options(ViewOptions, dpi=10, where="view options")
    Traceback (most recent call last):
    ...
    vertfem.errors.ConfigError: invalid view options: dpi (--dpi) = 10: must be ≥ 50
    """

    clip: Literal["sagittal", "frontal", "axial"] | None = Field(
        None, description="cut through the vertebral frame's centroid to show the inside")
    deformed_scale: float = Field(
        0.0, ge=0.0, le=1e4, description="draw the deformed shape, displacements × this factor (0: undeformed)")
    clim: tuple[float, float] | None = Field(
        None, description="colour range LO HI in the field's unit; unset: the percentile range")
    percentile: tuple[float, float] = Field(
        (2.0, 98.0), description="colour range from these percentiles of the field (0 100: full range)")
    cmap: str | None = Field(
        None, description="matplotlib colour map; unset: chosen by the field's sign (sequential for one-signed "
                          "ranges, diverging around 0)")
    camera: Literal["oblique", "anterior", "posterior", "right", "left", "cranial", "caudal"] | None = Field(
        None, description="view from this side of the vertebra; unset: facing the cut, or oblique")
    zoom: float = Field(1.0, gt=0.0, le=20.0, description="magnification of the view (>1 closer)")
    window_size: tuple[int, int] = Field((900, 750), description="image width and height, pixels at 100 dpi")
    dpi: int = Field(100, ge=50, le=1200, description="resolution of the PNG: 300 gives 3× the pixels of "
                                                      "window_size with text and markers scaled alike")
    title: str | None = Field(
        None, description="title text; unset: vertebra, kernel, load case and deformation scale; '' for none")
    show_sets: bool = Field(True, description="mark the constrained and loaded endplate nodes, with a legend")
    triad: bool = Field(True, description="orientation triad of the vertebral frame (right, anterior, cranial)")

    @field_validator("cmap")
    @classmethod
    def _known_cmap(cls, v: str | None) -> str | None:
        if v is not None:
            from .style import colormap  # matplotlib only when a colour map is named

            colormap(v)
        return v

    @field_validator("window_size")
    @classmethod
    def _window(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not all(64 <= s <= 8192 for s in v):
            raise ValueError(f"width and height must be 64–8192 pixels, got {v[0]} × {v[1]}")
        return v

    @field_validator("percentile")
    @classmethod
    def _percentile(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 <= v[0] < v[1] <= 100.0:
            raise ValueError(f"needs 0 ≤ low < high ≤ 100, got {v[0]:g}, {v[1]:g}")
        return v

    @field_validator("clim")
    @classmethod
    def _clim(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"needs low < high, got {v[0]:g}, {v[1]:g}")
        return v

    @model_validator(mode="after")
    def _pixels(self) -> ViewOptions:
        w, h = (round(s * self.dpi / 100) for s in self.window_size)
        if max(w, h) > 16384:
            raise ValueError(f"window_size × dpi/100 = {w} × {h} pixels; at most 16384 per side")
        return self
