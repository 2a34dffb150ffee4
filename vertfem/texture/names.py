"""IBSI feature keys ↔ the pyradiomics names radiomics papers report.

Each entry maps ``(IBSI key, aggregation)`` to ``(pyradiomics class, name)``;
texture families use pyradiomics' defaults (GLCM/GLRLM: 13 directions
averaged = IBSI 3D_avg; zone and dependence matrices: 3D). pyradiomics'
``Kurtosis`` is not the excess kurtosis: it is IBSI ``stat.kurt`` + 3 and is
converted. Features pyradiomics lacks keep their IBSI key
(``original_gldzm_sde``).
"""

from __future__ import annotations

__all__ = ["FAMILY_OF_PREFIX", "PYRADIOMICS", "radiomics_name"]

FAMILY_OF_PREFIX = {"stat": "firstorder", "ih": "firstorder", "ivh": "ivh", "loc": "firstorder", "morph": "shape",
                    "cm": "glcm", "rlm": "glrlm", "szm": "glszm", "dzm": "gldzm", "ngt": "ngtdm", "ngl": "gldm"}

_FO = {"stat.energy": "Energy", "stat.min": "Minimum", "stat.p10": "10Percentile", "stat.p90": "90Percentile",
       "stat.max": "Maximum", "stat.mean": "Mean", "stat.median": "Median", "stat.iqr": "InterquartileRange",
       "stat.range": "Range", "stat.mad": "MeanAbsoluteDeviation", "stat.rmad": "RobustMeanAbsoluteDeviation",
       "stat.rms": "RootMeanSquared", "stat.skew": "Skewness", "stat.kurt": "Kurtosis", "stat.var": "Variance",
       "ih.entropy": "Entropy", "ih.uniformity": "Uniformity"}
_SHAPE = {"morph.vol": "MeshVolume", "morph.approx.vol": "VoxelVolume", "morph.area": "SurfaceArea",
          "morph.av": "SurfaceVolumeRatio", "morph.sphericity": "Sphericity", "morph.comp.1": "Compactness1",
          "morph.comp.2": "Compactness2", "morph.sph.dispr": "SphericalDisproportion",
          "morph.diam": "Maximum3DDiameter", "morph.pca.major": "MajorAxisLength",
          "morph.pca.minor": "MinorAxisLength", "morph.pca.least": "LeastAxisLength",
          "morph.pca.elongation": "Elongation", "morph.pca.flatness": "Flatness"}
_GLCM = {"auto.corr": "Autocorrelation", "joint.avg": "JointAverage", "clust.prom": "ClusterProminence",
         "clust.shade": "ClusterShade", "clust.tend": "ClusterTendency", "contrast": "Contrast", "corr": "Correlation",
         "diff.avg": "DifferenceAverage", "diff.entr": "DifferenceEntropy", "diff.var": "DifferenceVariance",
         "energy": "JointEnergy", "joint.entr": "JointEntropy", "info.corr.1": "Imc1", "info.corr.2": "Imc2",
         "inv.diff.mom": "Idm", "inv.diff.mom.norm": "Idmn", "inv.diff": "Id", "inv.diff.norm": "Idn",
         "inv.var": "InverseVariance", "joint.max": "MaximumProbability", "sum.avg": "SumAverage",
         "sum.entr": "SumEntropy", "joint.var": "SumSquares"}
_GLRLM = {"sre": "ShortRunEmphasis", "lre": "LongRunEmphasis", "glnu": "GrayLevelNonUniformity",
          "glnu.norm": "GrayLevelNonUniformityNormalized", "rlnu": "RunLengthNonUniformity",
          "rlnu.norm": "RunLengthNonUniformityNormalized", "r.perc": "RunPercentage", "gl.var": "GrayLevelVariance",
          "rl.var": "RunVariance", "rl.entr": "RunEntropy", "lgre": "LowGrayLevelRunEmphasis",
          "hgre": "HighGrayLevelRunEmphasis", "srlge": "ShortRunLowGrayLevelEmphasis",
          "srhge": "ShortRunHighGrayLevelEmphasis", "lrlge": "LongRunLowGrayLevelEmphasis",
          "lrhge": "LongRunHighGrayLevelEmphasis"}
_GLSZM = {"sze": "SmallAreaEmphasis", "lze": "LargeAreaEmphasis", "glnu": "GrayLevelNonUniformity",
          "glnu.norm": "GrayLevelNonUniformityNormalized", "zsnu": "SizeZoneNonUniformity",
          "zsnu.norm": "SizeZoneNonUniformityNormalized", "z.perc": "ZonePercentage", "gl.var": "GrayLevelVariance",
          "zs.var": "ZoneVariance", "zs.entr": "ZoneEntropy", "lgze": "LowGrayLevelZoneEmphasis",
          "hgze": "HighGrayLevelZoneEmphasis", "szlge": "SmallAreaLowGrayLevelEmphasis",
          "szhge": "SmallAreaHighGrayLevelEmphasis", "lzlge": "LargeAreaLowGrayLevelEmphasis",
          "lzhge": "LargeAreaHighGrayLevelEmphasis"}
_GLDM = {"lde": "SmallDependenceEmphasis", "hde": "LargeDependenceEmphasis", "glnu": "GrayLevelNonUniformity",
         "dcnu": "DependenceNonUniformity", "dcnu.norm": "DependenceNonUniformityNormalized",
         "gl.var": "GrayLevelVariance", "dc.var": "DependenceVariance", "dc.entr": "DependenceEntropy",
         "lgce": "LowGrayLevelEmphasis", "hgce": "HighGrayLevelEmphasis",
         "ldlge": "SmallDependenceLowGrayLevelEmphasis",
         "ldhge": "SmallDependenceHighGrayLevelEmphasis", "hdlge": "LargeDependenceLowGrayLevelEmphasis",
         "hdhge": "LargeDependenceHighGrayLevelEmphasis"}
_NGTDM = {"coarseness": "Coarseness", "contrast": "Contrast", "busyness": "Busyness", "complexity": "Complexity",
          "strength": "Strength"}

_BY_PREFIX = {"cm": ("glcm", _GLCM, "3D_avg"), "rlm": ("glrlm", _GLRLM, "3D_avg"), "szm": ("glszm", _GLSZM, "3D"),
              "ngl": ("gldm", _GLDM, "3D"), "ngt": ("ngtdm", _NGTDM, "3D")}

#: IBSI key (texture families at pyradiomics' default aggregation) → (pyradiomics class, feature name)
PYRADIOMICS: dict[str, tuple[str, str]] = {
    **{k: ("firstorder", v) for k, v in _FO.items()},
    **{k: ("shape", v) for k, v in _SHAPE.items()},
    **{f"{p}.{k}@{agg}": (cls, v) for p, (cls, names, agg) in _BY_PREFIX.items() for k, v in names.items()},
}


def radiomics_name(ibsi_key: str, image_type: str = "original") -> str:
    """Column name for an IBSI feature key, pyradiomics style where one exists.

    A texture feature at another aggregation than pyradiomics' default gets
    the aggregation appended; features pyradiomics lacks keep their IBSI key.

    Examples
    --------
    >>> radiomics_name("cm.energy@3D_avg")
    'original_glcm_JointEnergy'
    >>> radiomics_name("cm.energy@3D_mrg")
    'original_glcm_JointEnergy-3D_mrg'
    >>> radiomics_name("stat.skew", "wavelet-LHL")
    'wavelet-LHL_firstorder_Skewness'
    >>> radiomics_name("dzm.sde@3D")
    'original_gldzm_sde@3D'
    """
    if ibsi_key in PYRADIOMICS:
        cls, name = PYRADIOMICS[ibsi_key]
        return f"{image_type}_{cls}_{name}"
    prefix, rest = ibsi_key.split(".", 1)
    base, _, agg = rest.partition("@")
    if prefix in _BY_PREFIX and base in _BY_PREFIX[prefix][1]:
        cls, names, _ = _BY_PREFIX[prefix]
        return f"{image_type}_{cls}_{names[base]}-{agg}"
    return f"{image_type}_{FAMILY_OF_PREFIX.get(prefix, prefix)}_{rest}"
