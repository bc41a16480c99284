"""Scale of the full-paper DAG: wall time of ``snakemake -n`` on config/paper.yaml.

The data, weight and embedding paths of config/paper.yaml point at empty placeholder files
and folders in a temporary directory (as tests/test_workflow.py does), so Snakemake builds
the whole DAG of the paper's studies without the real data. Each round is a fresh
``snakemake -n`` process in an empty work folder, timed from start to exit (interpreter
start-up, parsing the Snakefile, config validation, the plan, the DAG and the dry-run
listing); the median of the rounds is compared with the target of 15 s.

    .venv/bin/python benchmarks/dag_bench.py [--rounds 3] [--profile] [--json out.json]

``--profile`` runs one more round under cProfile and prints the functions with the most
cumulative time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
TARGET = 15.0


def placeholder_config(folder: Path) -> Path:
    """config/paper.yaml with every data, weight and embedding path at an empty placeholder."""
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())

    def place(path: str, is_folder: bool = False) -> str:
        target = folder / "placeholders" / path.lstrip("/")
        if is_folder:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        return str(target)

    cfg["dataset"]["root"] = place(cfg["dataset"]["root"], is_folder=True)
    for dataset in cfg.get("datasets", {}).values():
        dataset["root"] = place(dataset["root"], is_folder=True)
    for entry in cfg["models"].values():
        if "/" in entry.get("weights", ""):
            entry["weights"] = place(entry["weights"])
    for source in cfg["embeddings"]["sources"]:  # Table XXI's embedding files
        if "file" in source:
            source["file"] = place(source["file"])
    style = cfg["style"]
    cfg["style"] = {
        "encoder": place(style["encoder"]),
        "decoder": place(style["decoder"]),
        "styles": place(style["styles"], is_folder=True),
    }
    out = folder / "paper.yaml"
    out.write_text(yaml.safe_dump(cfg))
    return out


def dry_run(config: Path, work: Path, prefix: tuple[str, ...] = ()) -> tuple[float, str]:
    cmd = [*prefix, "-s", str(REPO / "Snakefile"), "-d", str(work), "--configfile", str(config)]
    cmd += ["-n"]
    if not prefix:
        cmd.insert(0, str(SNAKEMAKE))
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"snakemake -n failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def job_count(listing: str) -> dict[str, int]:
    """The "Job stats" table of a dry run: rule -> jobs, and the total."""
    table = listing[listing.rindex("Job stats:") :]
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="one more round under cProfile")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dag_bench.") as tmp:
        tmp = Path(tmp)
        config = placeholder_config(tmp)
        times, stats = [], {}
        for i in range(args.rounds):
            work = tmp / f"work{i}"
            work.mkdir()
            seconds, listing = dry_run(config, work)
            times.append(seconds)
            stats = job_count(listing)
        if args.profile:
            work = tmp / "profiled"
            work.mkdir()
            prof = tmp / "dag.prof"
            prefix = (sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "snakemake")
            dry_run(config, work, prefix)
            import pstats

            pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(30)

    median = statistics.median(times)
    load = os.getloadavg()[0]
    result = {
        "command": "snakemake -n --configfile config/paper.yaml (placeholder data/weights)",
        "jobs": stats.get("total", 0),
        "jobs_per_rule": {k: v for k, v in stats.items() if k != "total"},
        "seconds": [round(t, 2) for t in times],
        "median_seconds": round(median, 2),
        "target_seconds": TARGET,
        "meets_target": median <= TARGET,
        "cpus": os.cpu_count(),
        "load_average": round(load, 1),
        "python": platform.python_version(),
    }
    print(f"jobs planned: {result['jobs']}")
    for rule, n in result["jobs_per_rule"].items():
        print(f"  {rule:<22}{n:>6}")
    print(
        f"snakemake -n: median {median:.2f} s of {args.rounds} rounds "
        f"({', '.join(f'{t:.2f}' for t in times)}); target <= {TARGET:.0f} s: "
        f"{'met' if result['meets_target'] else 'NOT met'} (load average {load:.1f})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
