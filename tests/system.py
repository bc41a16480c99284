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
