"""An interrupted run: `snakemake --cores 2` on config/smoke.yaml is SIGKILLed (with every
process of its group) in the middle of an extraction. No HDF5 file at a final path is
partial, since outputs are written to a temporary file and renamed; Snakemake's
incomplete-file handling is not needed for that. The rerun completes, and its summary is
byte-identical to an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import h5py

from system import REPO, SMOKE, snakemake, tool


def _processes_in(folder: Path) -> list[int]:
    """PIDs of processes working in ``folder`` (jobs a killed Snakemake left running)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == folder or folder in cwd.parents:
            pids.append(int(entry.name))
    return pids


def _wait_for_extraction(proc: subprocess.Popen, work: Path, timeout: float = 600) -> str:
    """Return once an extraction is writing its temporary HDF5 file (or, failing that, once
    an extract job has started and k* jobs are about to follow)."""
    latents, logs = work / "results/latents", work / "results/logs"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended before any extraction: {proc.returncode}")
        temporary = list(latents.glob("*/.*.tmp.h5")) if latents.exists() else []
        if temporary:
            return f"temporary file {temporary[0].name}"
        if (logs / "kstar").exists():
            return "extract stage (no temporary file seen)"
        time.sleep(0.02)
    raise AssertionError("no extraction started")


def test_sigkill_mid_extraction_then_rerun(smoke_run, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    log = open(tmp_path / "interrupted.log", "w")  # noqa: SIM115
    cmd = [tool("snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(work)]
    cmd += ["--configfile", str(SMOKE), "--cores", "2"]
    proc = subprocess.Popen(
        cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        when = _wait_for_extraction(proc, work)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job it started
        proc.wait(timeout=60)
        log.close()
        for pid in _processes_in(work):  # a job in a session of its own, if any
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    print(f"killed during: {when}")

    # Whatever exists at a final path is a complete file, before Snakemake cleans anything.
    finals = [p for p in (work / "results/latents").rglob("*.h5") if not p.name.startswith(".")]
    for path in finals:
        with h5py.File(path, "r") as h5:
            assert h5["labels"].shape == (540,), path
            assert "logits" in h5, path
    assert (work / "results/logs/extract").exists()
    assert not (work / "results/kstar/summary.csv").exists()

    # The lock of the killed run is stale: `--unlock` once, then run to the end.
    snakemake("--unlock", workdir=work, configfile=SMOKE)
    snakemake("--cores", "2", workdir=work, configfile=SMOKE, timeout=1200)
    summary = "results/kstar/summary.csv"
    assert (work / summary).read_bytes() == (smoke_run / summary).read_bytes()
    # The killed writer's temporary file went with the rerun of its job: nothing partial
    # is left anywhere for DVC to version.
    assert not [p for p in (work / "results").rglob(".*") if ".tmp" in p.name]
    done = snakemake("-n", workdir=work, configfile=SMOKE)
    assert "Nothing to be done" in done.stdout + done.stderr
