"""The radiomics model path: signal recovery, decision curve and determinism."""

import numpy as np
import pandas as pd

from vertfem.stats import fit_radiomics_model


def test_radiomics_model_finds_the_signal():
    rng = np.random.default_rng(4)
    n = 160
    y = (rng.random(n) < 0.4).astype(int)
    x = pd.DataFrame(rng.normal(size=(n, 40)), columns=[f"f{i}" for i in range(40)])
    for c in ("f3", "f7", "f11"):
        x[c] += 1.0 * y
    m = fit_radiomics_model(x, y, n_mrmr=10, seed=0)
    assert {"f3", "f7", "f11"} & set(m.features)
    assert m.auc_test["auc"] > 0.75 and m.auc_test["direction"] == "<"  # the radscore rises with the event
    dca = m.decision_curve_test
    assert (dca["net_benefit_model"] >= dca["net_benefit_none"] - 1e-9).iloc[:30].all()
    again = fit_radiomics_model(x, y, n_mrmr=10, seed=0)
    assert again.coefficients == m.coefficients
