"""Shared test set-up: make the `oracle` helper importable and keep hypothesis fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

# Modest, deterministic property tests. The whole suite takes about 25 minutes on two cores,
# most of it in the workflow and system tiers; the unit tier (`make test-fast`) a few
# minutes. `HYPOTHESIS_PROFILE=thorough` (or `pytest --hypothesis-profile=thorough`) runs many
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

# The tests' matrices are tiny: torch's intra-op threads cost more in synchronisation than
# they gain, and on a busy two-core machine spinning threads slow tiny tiles down 100-fold.
# Results do not depend on the thread count (the exactness tests use exact arithmetic).
torch.set_num_threads(int(os.environ.get("KSTARLAB_TEST_THREADS", "1")))


# The tiers (pyproject's markers) are the folders: `tests/unit` tests the library and the
# command line (`make test-fast`), `tests/workflow` runs Snakemake on a config (every test
# that uses the smoke run), and `tests/system` installs or starts real programs (Slurm, a
# fresh venv). A unit test that asks for the smoke run is a sorting mistake: refused.
TIERS = ("unit", "workflow", "system")


def pytest_collection_modifyitems(items):
    for item in items:
        tier = item.path.parent.name
        if tier not in TIERS:
            raise pytest.UsageError(
                f"{item.path}: a test file belongs in tests/{{{','.join(TIERS)}}}/"
            )
        if tier == "unit" and "smoke_run" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} uses the smoke run: move it to tests/workflow/")
        item.add_marker(tier)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """A completed run of config/smoke.yaml, with its report, in a fresh folder."""
    from system import SMOKE, snakemake

    work = tmp_path_factory.mktemp("smoke")
    snakemake("--cores", "2", workdir=work, configfile=SMOKE, timeout=1200)
    snakemake("--report", str(work / "results" / "report.html"), workdir=work, configfile=SMOKE)
    return work


def pytest_terminal_summary(terminalreporter):
    """Report how many near-tie samples each oracle comparison excluded."""
    from oracle import EXCLUSION_LOG

    if EXCLUSION_LOG:
        terminalreporter.section("k* oracle: near-tie exclusions")
        for line, count in sorted(EXCLUSION_LOG):
            if count:
                terminalreporter.write_line(line)
        zero = sum(1 for _, count in EXCLUSION_LOG if not count)
        terminalreporter.write_line(
            f"{zero} of {len(EXCLUSION_LOG)} comparisons: identical to the oracle on every sample"
        )
