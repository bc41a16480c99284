"""Shared test set-up: make the `oracle` helper importable and keep hypothesis fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

# Modest, deterministic property tests: the whole suite must stay well under a minute on two
# cores. `HYPOTHESIS_PROFILE=thorough` (or `pytest --hypothesis-profile=thorough`) runs many
# more random examples.
settings.register_profile(
    "kstarlab",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kstarlab"))
