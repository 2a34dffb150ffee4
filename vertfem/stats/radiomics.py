"""The radiomics model path of Che 2025: scaling, mRMR, LASSO, radscore, logistic model, calibration, DCA."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import mutual_info_classif
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import MaxAbsScaler

from ..errors import StatisticsInputError
from .roc import roc_analysis

__all__ = ["RadiomicsModel", "decision_curve", "fit_radiomics_model", "mrmr"]


def mrmr(x: pd.DataFrame, y: np.ndarray, k: int, *, seed: int = 0) -> list[str]:
    """Minimum-redundancy maximum-relevance selection (MID form).

    Relevance is the mutual information with the outcome, redundancy the mean
    absolute Pearson correlation with the features already chosen.
    """
    k = min(k, x.shape[1])
    rel = pd.Series(mutual_info_classif(x.values, y, random_state=seed), index=x.columns)
    corr = x.corr().abs().fillna(0.0)
    chosen = [rel.idxmax()]
    while len(chosen) < k:
        rest = [c for c in x.columns if c not in chosen]
        score = rel[rest] - corr.loc[rest, chosen].mean(axis=1)
        chosen.append(score.idxmax())
    return chosen


def decision_curve(y: np.ndarray, prob: np.ndarray, thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """Net benefit of the model, treat-all and treat-none across threshold probabilities (Vickers 2006)."""
    y = np.asarray(y, int)
    prob = np.asarray(prob, float)
    pt = np.linspace(0.01, 0.99, 99) if thresholds is None else np.asarray(thresholds, float)
    n = len(y)
    prev = y.mean()
    rows = []
    for t in pt:
        pred = prob >= t
        tp = np.sum(pred & (y == 1)) / n
        fp = np.sum(pred & (y == 0)) / n
        w = t / (1 - t)
        rows.append({"threshold": t, "net_benefit_model": tp - fp * w, "net_benefit_all": prev - (1 - prev) * w,
                     "net_benefit_none": 0.0})
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class RadiomicsModel:
    """Selected features, LASSO coefficients, radscores and performance on train and test."""

    features: list[str]
    coefficients: dict[str, float]
    intercept: float
    auc_train: dict
    auc_test: dict
    calibration_test: pd.DataFrame
    decision_curve_test: pd.DataFrame
    radscore_train: np.ndarray = field(repr=False)
    radscore_test: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)


def fit_radiomics_model(
    x: pd.DataFrame, y, *, n_mrmr: int = 30, cv: int = 10, test_size: float = 0.3, seed: int = 0
) -> RadiomicsModel:
    """Che 2025's path: 70/30 split → max-abs scaling → mRMR → L1 logistic (LASSO) with k-fold CV → radscore.

    The radscore is the LASSO linear predictor; the logistic model on it gives
    probabilities for the calibration curve and decision-curve analysis on
    the test split. Scaling, selection and fitting see the training split only.
    """
    y = np.asarray(y, int)
    x = x.loc[:, x.notna().all() & (x.std() > 0)]
    if x.shape[1] == 0:
        raise StatisticsInputError("no usable (finite, non-constant) feature columns for the radiomics model")
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
    scaler = MaxAbsScaler().fit(xtr)
    xtr = pd.DataFrame(scaler.transform(xtr), columns=x.columns)
    xte = pd.DataFrame(scaler.transform(xte), columns=x.columns)
    chosen = mrmr(xtr, ytr, n_mrmr, seed=seed)
    folds = StratifiedKFold(n_splits=min(cv, int(np.bincount(ytr).min())), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning))
        lasso = LogisticRegressionCV(Cs=20, cv=folds, l1_ratios=(1.0,), solver="saga", scoring="roc_auc",
                                     max_iter=5000, random_state=seed, use_legacy_attributes=False)
        lasso.fit(xtr[chosen], ytr)
    coef = dict(zip(chosen, lasso.coef_.ravel()))
    kept = {k: float(v) for k, v in coef.items() if v != 0}
    rs_tr = lasso.decision_function(xtr[chosen])
    rs_te = lasso.decision_function(xte[chosen])
    calib = LogisticRegression().fit(rs_tr[:, None], ytr)
    p_te = calib.predict_proba(rs_te[:, None])[:, 1]
    frac, mean_pred = calibration_curve(yte, p_te, n_bins=5, strategy="quantile")
    return RadiomicsModel(
        features=list(kept), coefficients=kept, intercept=float(lasso.intercept_[0]),
        auc_train=roc_analysis(ytr, rs_tr, higher_is_positive=True),
        auc_test=roc_analysis(yte, rs_te, higher_is_positive=True),
        calibration_test=pd.DataFrame({"mean_predicted": mean_pred, "observed_fraction": frac}),
        decision_curve_test=decision_curve(yte, p_te), radscore_train=rs_tr, radscore_test=rs_te,
        y_train=ytr, y_test=yte,
    )

