# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .extract import extract_features, prepare_voi, voi_margin_mm
from .names import PYRADIOMICS, radiomics_name
from .preprocess import Discretised, discretise, ibsi_grid, resample_isotropic, resegment
from .settings import FAMILIES, PRESETS, FilterSettings, TextureOptions, TextureSettings, preset
from .vertebra import VOIS, TextureResult, texture_features, vertebra_vois

__all__ = [
    "FAMILIES",
    "PRESETS",
    "PYRADIOMICS",
    "VOIS",
    "Discretised",
    "FilterSettings",
    "TextureOptions",
    "TextureResult",
    "TextureSettings",
    "discretise",
    "extract_features",
    "ibsi_grid",
    "prepare_voi",
    "preset",
    "radiomics_name",
    "resample_isotropic",
    "resegment",
    "texture_features",
    "vertebra_vois",
    "voi_margin_mm",
]
