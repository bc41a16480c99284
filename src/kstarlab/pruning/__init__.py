"""Pruning approaches (issue 14: the robustness lottery) and their comparison.

- `comparison`: the per-model analysis files (`write_analysis`, `read_analysis`) and a
  study's summary (`summarise_pruning`): tables, fragile samples and figures;
- `plots`: the robustness-lottery plot, the embedding map, the per-class distributions
  and the fragile samples.
"""
