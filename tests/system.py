"""Helpers for tests that drive real programs: Snakemake, Debian packages, Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SMOKE = REPO / "config" / "smoke.yaml"


def tool(name: str) -> str:
    """A console script of this venv (snakemake, snakefmt, dvc, kstarlab)."""
    path = BIN / name
    return str(path) if path.exists() else name


def run(
    cmd: list[str],
    cwd: Path | str | None = None,
    timeout: float = 900,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing text output; on failure show its output in the assertion."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
            f"\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


def snakemake(
    *args: str,
    workdir: Path,
    configfile: Path | str,
    check: bool = True,
    timeout: float = 900,
    env: dict[str, str] | None = None,
    snakefile: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Snakemake on the repository's workflow, in ``workdir``, with ``configfile``."""
    cmd = [tool("snakemake"), "-s", str(snakefile or REPO / "Snakefile"), "-d", str(workdir)]
    cmd += ["--configfile", str(configfile), *args]
    return run(cmd, cwd=workdir, check=check, timeout=timeout, env=env)


def planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, first output) of every job in a ``snakemake -n`` listing, ``all`` excluded."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        head = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not head or head.group(1) == "all":
            continue
        out = re.search(r"^\s+output: ([^,\n]+)", block, flags=re.M)
        jobs.append((head.group(1), out.group(1).strip() if out else ""))
    return jobs


def ensure_debian_package(package: str, binary: str) -> str:
    """Install a Debian package when its binary is missing (the tests run as root)."""
    found = shutil.which(binary)
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(f"{binary} is missing and installing {package} needs root")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], timeout=900, env=env)
    run(["apt-get", "install", "-y", "-qq", package], timeout=1800, env=env)
    found = shutil.which(binary)
    if not found:
        raise RuntimeError(f"installing {package} did not provide {binary}")
    return found


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with no network chatter (this machine has no internet)."""
    binary = ensure_debian_package("chromium", "chromium")
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return run(cmd, timeout=300)


def rule_scripts() -> dict[str, tuple[str, str]]:
    """Each rule's script and the script its ``code`` param hashes (``code_of``), as
    written in workflow/rules/*.smk (relative to that folder)."""
    out = {}
    for smk in sorted((REPO / "workflow/rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text()):
            head = re.match(r"rule (\w+):", block)
            script = re.search(r'^\s+script:\s*\n\s+"([^"]+)"', block, flags=re.M)
            if head and script:
                code = re.search(r'^\s+code=code_of\("([^"]+)"\)', block, flags=re.M)
                out[head.group(1)] = (script.group(1), code.group(1) if code else "")
    return out


def job_modules(
    workdir: Path, configfile: Path | str, *targets: str
) -> dict[str, list[tuple[str, set[str]]]]:
    """For each rule, (log, the kstarlab modules the job loaded) of every finished job of
    a run (of ``targets``, default ``all``), read from the record that
    `kstarlab.workflow.jobs.runtime.job_log` writes at a job's end."""
    from kstarlab.workflow.jobs.runtime import MODULES_RECORD

    summary = snakemake("--summary", *targets, workdir=workdir, configfile=configfile).stdout
    rows = [line.split("\t") for line in summary.splitlines()]
    assert rows and rows[0][:4] == ["output_file", "date", "rule", "log-file(s)"], rows[:1]
    out: dict[str, list[tuple[str, set[str]]]] = {}
    for log, rule in sorted({(r[3], r[2]) for r in rows[1:] if len(r) > 3 and r[3] != "-"}):
        lines = [
            line.split(MODULES_RECORD, 1)[1]
            for line in (workdir / log).read_text().splitlines()
            if MODULES_RECORD in line
        ]
        assert len(lines) == 1, f"{log}: {len(lines)} records of the loaded modules"
        out.setdefault(rule, []).append((log, set(lines[0].split())))
    return out


def planned_reasons(output: str) -> list[tuple[str, str, str]]:
    """(rule, first output, reason) of every job in a ``snakemake -n`` listing."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        head = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not head or head.group(1) == "all":
            continue
        out = re.search(r"^\s+output: ([^,\n]+)", block, flags=re.M)
        reason = re.search(r"^\s+reason: (.+)$", block, flags=re.M)
        jobs.append(
            (head.group(1), out.group(1).strip() if out else "", reason.group(1) if reason else "")
        )
    return jobs


def check_code_sets(records: dict[str, list[tuple[str, set[str]]]]) -> None:
    """Each job loaded only modules of its rule's derived code set (kstarlab.workflow.codesets)."""
    from kstarlab.workflow.codesets import script_code

    scripts = rule_scripts()
    for rule, jobs in records.items():
        derived = set(script_code(REPO / "workflow/rules" / scripts[rule][0]).modules)
        for log, loaded in jobs:
            assert "kstarlab.workflow.jobs.runtime" in loaded, log
            assert loaded <= derived, f"{log}: {sorted(loaded - derived)} not in its code set"
