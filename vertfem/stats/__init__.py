"""Comparative statistics for vertfem studies (SCIENCE §5).

Kernel comparisons (paired t and Wilcoxon tests, Bland–Altman with exact
limit-of-agreement CIs), regression and Spearman correlation, ROC with DeLong
CIs and tests, odds ratios (maximum likelihood or Firth; conditional logistic
for matched sets) with separation and convergence flags, precision (RMS-SD,
LSC, ICC with CIs) and the radiomics model path (mRMR, LASSO, radscore,
calibration, decision curves). Defaults reproduce the R functions reviewers
use (wilcox.test, cor.test, pROC, glm, logistf, clogit, psych::ICC); every
result states its method, and undefined statistics are NaN with a reason,
never a reassuring number.
"""

from ._common import StatisticsWarning
from .clogit import ConditionalLogitFit, conditional_logistic_regression
from .comparison import bland_altman, linear_regression, loa_exact_ci, paired_comparison
from .logistic import conditional_odds_ratio, odds_ratios
from .logit import LogisticFit, logistic_regression
from .precision import Precision, icc, icc_table, precision
from .radiomics import RadiomicsModel, decision_curve, fit_radiomics_model, mrmr
from .ranktests import spearman, wilcoxon_signed_rank
from .roc import delong_test, roc_analysis

__all__ = [
    "ConditionalLogitFit",
    "LogisticFit",
    "Precision",
    "RadiomicsModel",
    "StatisticsWarning",
    "bland_altman",
    "conditional_logistic_regression",
    "conditional_odds_ratio",
    "decision_curve",
    "delong_test",
    "fit_radiomics_model",
    "icc",
    "icc_table",
    "linear_regression",
    "loa_exact_ci",
    "logistic_regression",
    "mrmr",
    "odds_ratios",
    "paired_comparison",
    "precision",
    "roc_analysis",
    "spearman",
    "wilcoxon_signed_rank",
]
