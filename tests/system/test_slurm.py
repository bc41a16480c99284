"""The workflow on a real SLURM cluster: Debian's slurm-wlm and munge on localhost, started
by the test (tests/localslurm.py), driven by `snakemake --workflow-profile profiles/slurm`.

- every job of config/smoke.yaml goes through sbatch (the SLURM logs and squeue show it),
  and results/kstar/summary.csv is byte-identical to the local run's;
- a job that fails on the cluster makes Snakemake fail, naming the job's log files.

Installing the packages needs root; without root the tests are skipped. The daemons are
stopped by PID when the module's tests are done.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from system import REPO, SMOKE, planned_jobs, snakemake

PROFILE = REPO / "profiles" / "slurm"

# Cluster-specific options on top of the profile: poll this tiny cluster every few seconds
# (the profile's 40 s suit a real scheduler), and split the k* jobs into two groups, one per
# CPU of this two-CPU node (the plugin runs a group's jobs one after the other).
FAST = (
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "3",
    "--group-components",
    "kstar=6",
    "aggregate=50",
)
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: ([^)]+)\)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from localslurm import LocalSlurm, install

    if os.geteuid() != 0:
        pytest.skip("installing and running slurm-wlm and munge needs root")
    install()
    slurm = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()


def submissions(text: str) -> dict[str, Path]:
    """SLURM job id -> its log file, from Snakemake's "has been submitted" lines."""
    return {jobid: Path(log) for _, jobid, log in SUBMITTED.findall(text)}


def test_smoke_workflow_runs_through_sbatch(cluster, smoke_run, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    expected = planned_jobs(snakemake("-n", workdir=work, configfile=SMOKE).stdout)
    out = snakemake(
        "--workflow-profile",
        str(PROFILE),
        *FAST,
        workdir=work,
        configfile=SMOKE,
        env=cluster.env,
        timeout=1800,
    )
    text = out.stdout + out.stderr
    assert "Using workflow specific profile" in text and str(PROFILE) in text

    # Every submission left its SLURM log (the profile keeps them), named by the job id ...
    submitted = submissions(text)
    logs = {p.stem: p for p in (work / ".snakemake/slurm_logs").rglob("*.log")}
    assert submitted and set(submitted) == set(logs), (submitted, logs)
    assert all(submitted[j].resolve() == logs[j].resolve() for j in submitted)
    # ... squeue saw each of them complete (MinJobAge keeps finished jobs listed) ...
    states = dict(cluster.jobs())
    assert all(states.get(j) == "COMPLETED" for j in submitted), (submitted, states)
    # ... and every planned job ran inside one of them, so none ran on the submit host.
    ran = "\n".join(p.read_text(errors="replace") for p in logs.values())
    missing = [(rule, output) for rule, output in expected if f"output: {output}" not in ran]
    assert not missing, f"jobs not in any SLURM log: {missing}"
    assert len(submitted) < len(expected)  # tiny jobs went in groups
    assert any(p.parent.name.startswith("group_kstar") for p in logs.values())

    summary = "results/kstar/summary.csv"
    assert (work / summary).read_bytes() == (smoke_run / summary).read_bytes()


def test_failed_cluster_job_fails_the_run_and_names_its_logs(cluster, smoke_run, tmp_path):
    """A corrupt checkpoint passes the config checks (which read no weights) and fails the
    extraction job on the cluster."""
    work = tmp_path / "work"
    for done in ("data", "models"):  # the digits and the zoo as made: skip training
        shutil.copytree(smoke_run / "results" / done, work / "results" / done)
    (work / "results/models/mlp.pt").write_bytes(b"not a checkpoint\n")
    config = SMOKE
    target = "results/latents/mlp/clean.h5"
    out = snakemake(
        "--workflow-profile",
        str(PROFILE),
        *FAST,
        "--retries",
        "0",
        target,
        workdir=work,
        configfile=config,
        env=cluster.env,
        check=False,
        timeout=900,
    )
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "Error in rule extract" in text
    assert "SLURM status is: 'FAILED'" in text
    (jobid, slurm_log), *_ = submissions(text).items()
    rule_log = "results/logs/extract/mlp/clean.log"
    error_block = text[text.index("Error in rule extract") :]
    assert rule_log in error_block and str(slurm_log) in error_block
    reason = "cannot read weights file results/models/mlp.pt: not a torch checkpoint"
    assert reason in (work / rule_log).read_text()
    assert reason in slurm_log.read_text()
    assert dict(cluster.jobs()).get(jobid) == "FAILED"
    assert not (work / target).exists()
    assert not list((work / "results/latents").rglob("*.h5"))  # no partial file either
