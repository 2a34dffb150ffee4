"""Young-adult reference, T-score, %YAM and the diagnostic classes used with them.

T-score = (BMD − young-adult mean) / young-adult SD; %YAM = 100 · BMD / young-adult mean. Classes: WHO
(T ≤ −2.5 osteoporosis, −2.5 < T < −1 osteopenia, otherwise normal; WHO Technical Report Series 843, 1994;
Kanis et al., Osteoporos Int 30:3–44, 2019) and the Japanese %YAM criteria used by Yoshida et al. 2023
(%YAM < 70 % osteoporosis, < 80 % osteopenia; Orimo et al., Arch Osteoporos 7:3–20, 2012). TBS classes: normal
> 1.350, partially degraded 1.200–1.350, degraded < 1.200 (Harvey et al., Bone 78:216–224, 2015); Yoshida et
al. call TBS ≤ 1.31 bone-microarchitecture impairment (McCloskey et al., J Bone Miner Res 31:940–948, 2016).
The shipped reference is ``vertfem/data/dxa/young_adult_reference.yaml`` (source in its README).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError

__all__ = [
    "TBS_IMPAIRED_MAX",
    "ReferenceRow",
    "YoungAdultReference",
    "load_reference",
    "percent_yam",
    "t_score",
    "tbs_class",
    "who_class",
    "yam_class",
]

#: Yoshida et al. 2023: patient-level TBS ≤ 1.31 means bone-microarchitecture impairment.
TBS_IMPAIRED_MAX = 1.31


class ReferenceRow(BaseModel):
    """Young-adult mean and SD of areal BMD, g/cm²."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mean: float = Field(gt=0)
    sd: float = Field(gt=0)


class YoungAdultReference(BaseModel):
    """A young-adult reference file: ``sites: {SITE: {female: {mean, sd}, male: {mean, sd}}}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    source: str
    units: str = "g/cm2"
    sites: dict[str, dict[str, ReferenceRow]]

    def row(self, site: str, sex: str) -> ReferenceRow | None:
        """The reference of a site (``"L1-L4"``, ``"L1"``) and sex, or None when the file has none."""
        return self.sites.get(site, {}).get(sex)


@cache
def _load(path: str | None) -> YoungAdultReference:
    p = Path(path) if path else Path(str(files("vertfem.data") / "dxa" / "young_adult_reference.yaml"))
    try:
        data = yaml.safe_load(p.read_text())
        return YoungAdultReference.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the young-adult reference {p}: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"invalid young-adult reference {p}: {exc.errors()[0]['loc']}: "
                          f"{exc.errors()[0]['msg']}") from None


def load_reference(path: str | Path | None = None) -> YoungAdultReference:
    """The young-adult reference in ``path`` (default: the shipped NHANES L1–L4 reference).

    Examples
    --------
    >>> load_reference().row("L1-L4", "female").mean
    1.064
    """
    return _load(str(path) if path is not None else None)


def t_score(abmd_g_cm2: float, row: ReferenceRow | None) -> float:
    """T-score of an areal BMD against a reference row (NaN without one).

    Examples
    --------
    >>> round(t_score(0.799, ReferenceRow(mean=1.064, sd=0.106)), 2)
    -2.5
    """
    return float((abmd_g_cm2 - row.mean) / row.sd) if row is not None else float("nan")


def percent_yam(abmd_g_cm2: float, row: ReferenceRow | None) -> float:
    """%YAM = 100 · BMD / young-adult mean (NaN without a reference row).

    Examples
    --------
    >>> percent_yam(0.8512, ReferenceRow(mean=1.064, sd=0.106))
    80.0
    """
    return float(round(100.0 * abmd_g_cm2 / row.mean, 10)) if row is not None else float("nan")


def who_class(t: float) -> str:
    """WHO class of a T-score.

    Examples
    --------
    >>> who_class(-2.5), who_class(-1.2), who_class(0.3)
    ('osteoporosis', 'osteopenia', 'normal')
    """
    if not np.isfinite(t):
        return "unknown"
    return "osteoporosis" if t <= -2.5 else "osteopenia" if t < -1.0 else "normal"


def yam_class(yam_percent: float) -> str:
    """Class by %YAM as in Yoshida et al. 2023 (< 70 % osteoporosis, < 80 % osteopenia).

    Examples
    --------
    >>> yam_class(65.0), yam_class(75.0), yam_class(85.0)
    ('osteoporosis', 'osteopenia', 'normal')
    """
    if not np.isfinite(yam_percent):
        return "unknown"
    return "osteoporosis" if yam_percent < 70.0 else "osteopenia" if yam_percent < 80.0 else "normal"


def tbs_class(tbs: float) -> str:
    """TBS class (Harvey et al. 2015): degraded < 1.200 ≤ partially degraded ≤ 1.350 < normal.

    Examples
    --------
    >>> tbs_class(1.15), tbs_class(1.30), tbs_class(1.40)
    ('degraded', 'partially degraded', 'normal')
    """
    if not np.isfinite(tbs):
        return "unknown"
    return "degraded" if tbs < 1.2 else "partially degraded" if tbs <= 1.35 else "normal"
