# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .extract import FAMILIES, PRESETS, FilterSettings, TextureSettings, extract_features, preset
from .names import PYRADIOMICS, radiomics_name
from .preprocess import Discretised, discretise, resample_isotropic, resegment
from .vertebra import VOIS, TextureOptions, TextureResult, texture_features, vertebra_vois

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
    "preset",
    "radiomics_name",
    "resample_isotropic",
    "resegment",
    "texture_features",
    "vertebra_vois",
]
