"""DVC on the workflow's results: time of push, pull and status; cache size against results/.

In a temporary git repository made from this work tree (never in the work tree itself):

1. ``dvc repro`` on ``--config`` (``--seed-from DIR`` first copies a finished run's
   ``results/`` and ``.snakemake/metadata`` there, so Snakemake finds its jobs done and only
   DVC's own cost is left), then ``git commit`` of ``dvc.lock``;
2. ``dvc push`` to an empty local remote; ``dvc status`` and ``dvc status -c``;
3. ``git clone``, ``dvc pull``, ``kstarlab data touch`` (``snakemake --touch`` of the pulled
   state), ``dvc status`` after it (cold, then warm), ``snakemake -n``; then a second clone
   with ``kstarlab data pull`` (all of that in one command);
4. sizes: results/ as files (apparent bytes, logs and benchmarks excluded), the cache, the
   remote, and the disk the work tree really uses (hardlinks counted once).

Run: ``.venv/bin/python benchmarks/dvc_bench.py --seed-from /path/to/finished/run``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from kstarlab.paths import BENCHMARKS, LOGS, RESULTS

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@kstarlab.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@kstarlab.invalid",
}


def sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **env}, text=True, capture_output=True, check=False
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout + proc.stderr


def env_for(repo: Path, site: Path) -> dict[str, str]:
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(repo / "src"),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(site),
        "KSTARLAB_DVC_REMOTE": "",
        **GIT_ENV,
    }


def apparent(path: Path, skip: tuple[str, ...] = ()) -> tuple[int, int]:
    """(bytes, files) of the files under ``path``, each link counted."""
    total = count = 0
    for f in path.rglob("*"):
        if f.is_file() and not any(part in skip for part in f.relative_to(path).parts):
            total += f.stat().st_size
            count += 1
    return total, count


def disk(*paths: Path) -> int:
    """Bytes on disk of all ``paths`` together, a hardlinked file once (du)."""
    out = subprocess.run(
        ["du", "-sbc", *map(str, paths)], text=True, capture_output=True, check=True
    ).stdout
    return int(out.strip().splitlines()[-1].split()[0])


def make_origin(origin: Path, config: str) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    for rel in filter(None, listed.split("\0")):
        if (REPO / rel).is_file():
            (origin / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, origin / rel)
    spec = origin / "dvc.yaml"
    spec.write_text(spec.read_text().replace("- config: config/config.yaml", f"- config: {config}"))
    tracked = set()
    for stage in yaml.safe_load(spec.read_text())["stages"].values():
        for entry in stage["params"]:
            tracked.update(*entry.values())
    path = origin / config
    missing = tracked - set(yaml.safe_load(path.read_text()))
    path.write_text(path.read_text() + "".join(f"{k}: {{}}\n" for k in sorted(missing)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--seed-from", type=Path, help="a finished run of --config to start from")
    parser.add_argument("--work", type=Path, help="folder for the repositories (default: temp)")
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="dvc_bench."))
    origin, remote, site = work / "origin", work / "remote", work / "site-cache"
    make_origin(origin, args.config)
    env = env_for(origin, site)
    git = ["git", "-c", "init.defaultBranch=main"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        sh([*git, *cmd], origin, env)
    if args.seed_from:
        shutil.copytree(args.seed_from / RESULTS, origin / RESULTS, symlinks=True)
        shutil.copytree(args.seed_from / ".snakemake/metadata", origin / ".snakemake/metadata")
    dvc = str(BIN / "dvc")
    t: dict[str, float] = {}
    t["dvc repro (seeded)" if args.seed_from else "dvc repro"], _ = sh([dvc, "repro"], origin, env)
    t["dvc repro (nothing to do)"], _ = sh([dvc, "repro"], origin, env)
    sh([*git, "add", "dvc.lock"], origin, env)
    sh([*git, "commit", "-q", "-m", "lock"], origin, env)
    sh([dvc, "remote", "modify", "--local", "local", "url", str(remote)], origin, env)
    t["dvc push (empty remote)"], _ = sh([dvc, "push"], origin, env)
    t["dvc push (nothing new)"], _ = sh([dvc, "push"], origin, env)
    t["dvc status"], _ = sh([dvc, "status"], origin, env)
    t["dvc status -c (against the remote)"], _ = sh([dvc, "status", "-c"], origin, env)

    clone = work / "clone"
    sh(["git", "clone", "-q", str(origin), str(clone)], work, env)
    cenv = env_for(clone, site)
    sh([dvc, "remote", "modify", "--local", "local", "url", str(remote)], clone, cenv)
    t["dvc pull (fresh clone)"], _ = sh([dvc, "pull"], clone, cenv)
    t["dvc status (after pull)"], _ = sh([dvc, "status"], clone, cenv)
    kstarlab = str(BIN / "kstarlab")
    t["kstarlab data touch"], _ = sh([kstarlab, "data", "touch"], clone, cenv)
    t["dvc status (after touch, cold)"], out = sh([dvc, "status"], clone, cenv)
    assert "up to date" in out, out
    t["dvc status (warm)"], _ = sh([dvc, "status"], clone, cenv)
    snakemake = [str(BIN / "snakemake"), "-n", "--configfile", args.config]
    _, out = sh(snakemake, clone, cenv)
    assert "Nothing to be done" in out, out[-2000:]

    clone2 = work / "clone2"
    sh(["git", "clone", "-q", str(origin), str(clone2)], work, env)
    env2 = {**env_for(clone2, site), "KSTARLAB_DVC_REMOTE": str(remote)}
    t["kstarlab data pull (pull + checks + touch)"], _ = sh(
        [kstarlab, "data", "pull"], clone2, env2
    )

    unversioned = (Path(LOGS).name, Path(BENCHMARKS).name)
    results, files = apparent(origin / RESULTS, skip=unversioned)
    cache, objects = apparent(origin / ".dvc/cache")
    sizes = {
        f"{RESULTS}/ (versioned files)": (results, files),
        ".dvc/cache": (cache, objects),
        "remote": apparent(remote),
        f"{RESULTS}/ + cache on disk (hardlinks once)": (
            disk(origin / RESULTS, origin / ".dvc/cache")
            - disk(origin / LOGS, origin / BENCHMARKS),
            None,
        ),
    }
    print(f"config {args.config}; work folder {work}\n")
    print("| step | seconds |\n|---|---:|")
    for name, sec in t.items():
        print(f"| {name} | {sec:.1f} |")
    print("\n| what | MB | files |\n|---|---:|---:|")
    for name, (size, count) in sizes.items():
        print(f"| {name} | {size / 1e6:.1f} | {'' if count is None else count} |")
    if args.json:
        args.json.write_text(json.dumps({"seconds": t, "sizes": sizes}, indent=2))


if __name__ == "__main__":
    main()
