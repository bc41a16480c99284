#!/usr/bin/env bash
# The whole workflow, timed: wall time, job count, and the share of time spent outside the
# jobs' own work, read from the rules' `benchmark:` files.
#
#   bash benchmarks/pipeline_bench.sh [CONFIG] [CORES]     # default: config/config.yaml, 2
#
# It runs `snakemake --cores CORES` on CONFIG in a fresh, empty work folder (the venv must
# exist: `make setup`), like `make run` on a fresh clone, then `snakemake --report`.
# Figures printed:
# - wall: the run from start to exit (Snakemake start-up, DAG, every job, scheduling);
# - jobs: the number of jobs run, by rule;
# - job seconds: the sum of the jobs' own wall times (each job's `benchmark:` file, which
#   covers its Python start-up, imports and work), and its CPU seconds;
# - outside: 1 - job seconds / (wall x cores), the share of the machine's capacity spent
#   outside any job (Snakemake itself, and cores idle while the DAG's dependencies wait);
# - baseline: the cost of a job's bare start (numpy, pandas, the jobs' runtime),
#   `python -c "from kstarlab.workflow.jobs import runtime, summaries"`, times the job count,
#   against the job seconds.
# The work folder is kept (its path is printed) so the figures can be looked at.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
CONFIG=${1:-config/config.yaml}
CORES=${2:-2}
PY="$REPO/.venv/bin/python"
SNAKEMAKE="$REPO/.venv/bin/snakemake"
[[ -x $SNAKEMAKE ]] || { echo "error: no .venv: run 'make setup' first" >&2; exit 2; }
[[ -f $CONFIG ]] || { echo "error: config not found: $CONFIG" >&2; exit 2; }
CONFIG=$(realpath "$CONFIG")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kstarlab-pipeline-bench.XXXXXX")
echo "work folder: $WORK"
echo "config: $CONFIG, cores: $CORES, $(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg)"

start=$(date +%s.%N)
"$SNAKEMAKE" -s "$REPO/Snakefile" -d "$WORK" --configfile "$CONFIG" --cores "$CORES" \
    >"$WORK/snakemake.log" 2>&1 || { tail -30 "$WORK/snakemake.log"; exit 1; }
end=$(date +%s.%N)
"$SNAKEMAKE" -s "$REPO/Snakefile" -d "$WORK" --configfile "$CONFIG" \
    --report "$WORK/results/report.html" >"$WORK/report.log" 2>&1
report_end=$(date +%s.%N)

# The bare start-up of one job script, median of 5.
starts=()
for _ in 1 2 3 4 5; do
    t0=$(date +%s.%N)
    "$PY" -c "from kstarlab.workflow.jobs import runtime, summaries"
    t1=$(date +%s.%N)
    starts+=("$t0:$t1")
done

"$PY" - "$WORK" "$start" "$end" "$report_end" "$CORES" "${starts[@]}" <<'EOF'
import statistics
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

work = Path(sys.argv[1])
start, end, report_end, cores = map(float, sys.argv[2:6])
startup = statistics.median(float(b) - float(a) for a, b in (x.split(":") for x in sys.argv[6:]))
wall = end - start
rows = []
for tsv in sorted((work / "results/benchmarks").rglob("*.tsv")):
    frame = pd.read_csv(tsv, sep="\t")
    rule = tsv.relative_to(work / "results/benchmarks").parts[0].removesuffix(".tsv")
    rows.append((rule, float(frame["s"].iloc[-1]), float(frame["cpu_time"].iloc[-1])))
jobs = pd.DataFrame(rows, columns=["rule", "s", "cpu"])
job_seconds = jobs["s"].sum()
print()
print(f"wall time of `snakemake --cores {cores:g}`: {wall:.1f} s ({wall / 60:.1f} min)")
print(f"`snakemake --report`: {report_end - end:.1f} s")
print(f"jobs: {len(jobs)}")
for rule, n in sorted(Counter(jobs["rule"]).items(), key=lambda kv: -kv[1]):
    part = jobs[jobs["rule"] == rule]
    print(f"  {rule:<22} {n:>4} jobs  {part['s'].sum():8.1f} s  (median {part['s'].median():.1f} s)")
print(f"job seconds: {job_seconds:.1f} s wall, {jobs['cpu'].sum():.1f} s CPU")
capacity = wall * cores
print(f"outside any job: {1 - job_seconds / capacity:.0%} of {capacity:.0f} core-seconds")
print(
    f"baseline, a job's bare start (`from kstarlab.workflow.jobs import runtime, summaries`,"
    f" median of 5): {startup:.2f} s;"
    f" x {len(jobs)} jobs = {startup * len(jobs):.0f} s = {startup * len(jobs) / job_seconds:.0%}"
    " of the job seconds"
)
EOF
