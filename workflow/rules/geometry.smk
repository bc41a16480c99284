# The second paper: per-model geometric features and robustness, then correlations and
# model embeddings across models. Rules are added with the geometry jobs.
