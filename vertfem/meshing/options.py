"""Meshing and material-mapping options (light: importable without gmsh)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..materials import ASH_APP_RATIO, LAWS, POISSON_RATIO
from ..options import Options
from ..vertebra.model import Region, region_field

__all__ = ["MeshOptions"]


class MeshOptions(Options):
    """Meshing and material-mapping options (part of the FE measure's options)."""

    region: Region = region_field()
    mesh_size_mm: float = Field(2.0, gt=0.3, le=8.0, description="target TET10 edge length, mm")
    smoothing_mm: float | None = Field(None, ge=0, le=5.0, description="Gaussian σ on the upsampled mask, mm")
    flat_cut_mm: float | None = Field(
        None, ge=0, le=10.0, description="cut the body with planes parallel to the endplates this far inside, mm"
    )
    law: str = Field("morgan2003-vertebra", description="density–modulus law name")
    integration: Literal["density", "modulus"] = Field("density", description="average density or modulus per element")
    restrict_to_mask: bool = Field(
        True, description="sample only voxels inside the bone mask (partial-volume control: on the bundled L1 it "
        "raises the moduli of the elements on the surface by a quarter and K by 6.5 percent over plain sampling)"
    )
    ash_app_ratio: float = Field(ASH_APP_RATIO, gt=0, le=1, description="ash/apparent density ratio")
    min_modulus_MPa: float = Field(1.0, gt=0, description="modulus of clamped (non-physical density) elements, MPa")
    poisson_ratio: float = Field(POISSON_RATIO, ge=0, lt=0.5, description="Poisson's ratio of every element")
    cortical_shell_mm: float | None = Field(None, gt=0, description="label elements within this depth as cortical, mm")
    cortical_E_MPa: float | None = Field(None, gt=0, description="fixed modulus of cortical elements, MPa")
    cortical_law: str | None = Field(None, description="separate density–modulus law for cortical elements")
    trim_to_endplates: bool = Field(
        True, description="model only the body's column under its endplates (drops processes a body isolation left)"
    )
    endplate_margin_mm: float = Field(
        2.0, ge=0, le=10.0, description="endplate faces may lie this far outside the body's endplate region, mm"
    )
    endplate_depth_mm: float = Field(
        3.0, gt=0, le=10.0, description="endplate faces lie within this axial distance of the endplate surface, mm"
    )
    cap_thickness_mm: float | None = Field(
        None, gt=0, le=50.0, description="embed both endplates in virtual PMMA caps this thick, mm"
    )
    cap_modulus_MPa: float = Field(2500.0, gt=0, description="Young's modulus of the virtual PMMA caps, MPa")
    optimize_netgen: bool = Field(False, description="run gmsh's Netgen optimiser on the volume mesh")

    @field_validator("law", "cortical_law")
    @classmethod
    def _known_law(cls, v: str | None) -> str | None:
        if v is not None and v not in LAWS:
            raise ValueError(f"unknown density–modulus law; choose from {sorted(LAWS)}")
        return v
