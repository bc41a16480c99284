"""Geometric features of last-layer representations (Li et al.) and what they explain.

- `features`: per-sample angle, length and margin against the final linear classifier;
- `robustness`: per-sample robustness to corruptions and to global magnitude pruning;
- `correlations`: Pearson / Spearman tables between features and robustness.
"""

from kstarlab.geometry.correlations import correlation_table, poster_table
from kstarlab.geometry.features import GeometricFeatures, geometric_features, linear_head
from kstarlab.geometry.robustness import (
    corruption_robustness,
    global_magnitude_prune,
    pruning_robustness,
    weight_sparsity,
)

__all__ = [
    "GeometricFeatures",
    "correlation_table",
    "corruption_robustness",
    "geometric_features",
    "global_magnitude_prune",
    "linear_head",
    "poster_table",
    "pruning_robustness",
    "weight_sparsity",
]
