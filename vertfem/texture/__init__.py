"""Texture and radiomics features (IBSI definitions), filters, presets and vertebral VOIs.

Implemented natively because pyradiomics does not install on this Python;
every feature reproduces the IBSI digital-phantom consensus values
(``tests/texture/test_ibsi.py``). Column names follow pyradiomics where a
feature exists there (``original_glcm_JointEnergy``).
"""

from .extract import FAMILIES, PRESETS, FilterSettings, TextureSettings, extract_features, preset
from .names import PYRADIOMICS, radiomics_name
from .preprocess import Discretised, discretise, resample_isotropic, resegment
from .vertebra import VOIS, texture_features, vertebra_vois

__all__ = [
    "FAMILIES",
    "PRESETS",
    "PYRADIOMICS",
    "VOIS",
    "Discretised",
    "FilterSettings",
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
