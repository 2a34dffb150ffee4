"""Comparative statistics for vertfem studies (SCIENCE §5).

Kernel comparisons (paired tests, Bland–Altman), regression and rank
correlation, ROC with DeLong CIs and tests, odds ratios (plain and
conditional logistic), precision (RMS-SD, LSC, ICC) and the radiomics model
path (mRMR, LASSO, radscore, calibration, decision curves).
"""

from .comparison import bland_altman, linear_regression, paired_comparison, spearman
from .logistic import conditional_odds_ratio, odds_ratios
from .precision import Precision, icc, precision
from .radiomics import RadiomicsModel, decision_curve, fit_radiomics_model, mrmr
from .roc import delong_test, roc_analysis

__all__ = [
    "Precision",
    "RadiomicsModel",
    "bland_altman",
    "conditional_odds_ratio",
    "decision_curve",
    "delong_test",
    "fit_radiomics_model",
    "icc",
    "linear_regression",
    "mrmr",
    "odds_ratios",
    "paired_comparison",
    "precision",
    "roc_analysis",
    "spearman",
]
