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

# Modest, deterministic property tests (the whole suite takes about 20 minutes on two cores,
# most of it in the workflow tier's runs). `HYPOTHESIS_PROFILE=thorough` (or `pytest --hypothesis-profile=thorough`) runs many
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


# The tiers (pyproject's markers), by file: `system` tests install or start real programs,
# `workflow` tests run Snakemake on a config (any test using the smoke run is one), and the
# rest are `unit` tests of the library and the command line (`make test-fast`).
SYSTEM_FILES = {"test_core_install.py", "test_slurm.py"}
WORKFLOW_FILES = {
    "test_dvc.py",
    "test_interrupt.py",
    "test_paths.py",
    "test_reruns.py",
    "test_resources.py",
    "test_results_docs.py",
    "test_workflow.py",
    "test_workflow_geometry.py",
}


def pytest_collection_modifyitems(items):
    for item in items:
        name = item.path.name
        if name in SYSTEM_FILES:
            item.add_marker("system")
        elif name in WORKFLOW_FILES or "smoke_run" in getattr(item, "fixturenames", ()):
            item.add_marker("workflow")
        else:
            item.add_marker("unit")


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
