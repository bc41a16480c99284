"""Correlation between geometric features and robustness: the poster's tables.

``correlation_table`` is tidy (one row per model, robustness measure and feature, with
Pearson r and its p-value, Spearman r and n); ``poster_table`` pivots Pearson r into the
poster's layout, one row per architecture with columns rc-angle, rc-l2 and rc-margin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from kstarlab.errors import InputError

FEATURES = ("angle", "length", "margin")
POSTER_COLUMNS = {"angle": "rc-angle", "length": "rc-l2", "margin": "rc-margin"}
COLUMNS = ["model", "robustness", "feature", "pearson_r", "pearson_p", "spearman_r", "n"]


def correlation_table(
    model: str, features: Mapping[str, Any], robustness: Mapping[str, Any]
) -> pd.DataFrame:
    """Pearson (with p-value) and Spearman correlation of every feature with every measure.

    Samples where either value is not finite (e.g. an undefined angle) are left out of
    that pair; ``n`` counts the samples used. Fewer than 3 samples, or a constant
    variable, give NaN.
    """
    if not robustness:
        raise InputError("no robustness measure given to correlate with")
    rows = []
    for measure, values in robustness.items():
        r_vals = np.asarray(values, dtype=np.float64)
        for feature in FEATURES:
            if feature not in features:
                raise InputError(f"feature {feature!r} missing; have {sorted(features)}")
            f_vals = np.asarray(features[feature], dtype=np.float64)
            if f_vals.shape != r_vals.shape:
                raise InputError(
                    f"feature {feature!r} has {f_vals.size} samples, robustness {measure!r} {r_vals.size}"
                )
            ok = np.isfinite(f_vals) & np.isfinite(r_vals)
            a, b = f_vals[ok], r_vals[ok]
            n = int(ok.sum())
            if n < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
                pr, pp, sr = np.nan, np.nan, np.nan
            else:
                pr, pp = scipy.stats.pearsonr(a, b)
                sr = scipy.stats.spearmanr(a, b).statistic
            rows.append([model, measure, feature, float(pr), float(pp), float(sr), n])
    return pd.DataFrame(rows, columns=COLUMNS)


def poster_table(correlations: pd.DataFrame, robustness: str) -> pd.DataFrame:
    """Pearson r for one robustness measure: rows = models, columns rc-angle, rc-l2, rc-margin."""
    chosen = correlations[correlations["robustness"] == robustness]
    if chosen.empty:
        have = sorted(correlations["robustness"].unique())
        raise InputError(f"no correlations for robustness {robustness!r}; have {have}")
    table = chosen.pivot(index="model", columns="feature", values="pearson_r")
    table = table.reindex(columns=list(POSTER_COLUMNS)).rename(columns=POSTER_COLUMNS)
    table.columns.name = None
    return table
