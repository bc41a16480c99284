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
# - start-up and work by rule: each job's log records (kstarlab.workflow.jobs.runtime.job_log)
#   its start-up (interpreter, Snakemake's script preamble, every import, lazy ones
#   included) and its work (the rest); they are summed by rule;
# - baseline: the cost of a job's bare start (numpy, pandas, the jobs' runtime),
#   `python -c "from kstarlab.workflow.jobs import runtime, summaries"`, times the job count,
#   against the job seconds;
# - X @ X.T (10,000 x 2,048 float32, benchmarks/kstar_bench.py's matmul, 3 rounds) just
#   before and just after the run, and the wall time normalised to 2.4 s per product (the
#   machine the issues' budgets assume): wall x 2.4 / (the mean of the two medians).
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

# X @ X.T on this machine now: the median of 3 rounds, in seconds.
matmul_seconds() {
    "$PY" benchmarks/kstar_bench.py --sizes 10000 --dims 2048 --metrics euclidean \
        --methods matmul --repeats 3 2>/dev/null |
        awk -F'|' '$2 ~ /matmul/ && $3 ~ /10000/ {gsub(/ /, "", $7); print $7}'
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kstarlab-pipeline-bench.XXXXXX")
echo "work folder: $WORK"
echo "config: $CONFIG, cores: $CORES, $(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg)"

matmul_before=$(matmul_seconds)
echo "X @ X.T before the run: $matmul_before s"
start=$(date +%s.%N)
"$SNAKEMAKE" -s "$REPO/Snakefile" -d "$WORK" --configfile "$CONFIG" --cores "$CORES" \
    >"$WORK/snakemake.log" 2>&1 || { tail -30 "$WORK/snakemake.log"; exit 1; }
end=$(date +%s.%N)
"$SNAKEMAKE" -s "$REPO/Snakefile" -d "$WORK" --configfile "$CONFIG" \
    --report "$WORK/results/report.html" >"$WORK/report.log" 2>&1
report_end=$(date +%s.%N)
matmul_after=$(matmul_seconds)

# The bare start-up of one job script, median of 5.
starts=()
for _ in 1 2 3 4 5; do
    t0=$(date +%s.%N)
    "$PY" -c "from kstarlab.workflow.jobs import runtime, summaries"
    t1=$(date +%s.%N)
    starts+=("$t0:$t1")
done

"$PY" - "$WORK" "$start" "$end" "$report_end" "$CORES" "$matmul_before" "$matmul_after" \
    "${starts[@]}" <<'EOF'
import re
import statistics
import sys
from pathlib import Path

import pandas as pd

from kstarlab.workflow.jobs.runtime import TIMING_RECORD

work = Path(sys.argv[1])
start, end, report_end, cores, matmul_before, matmul_after = map(float, sys.argv[2:8])
startup = statistics.median(float(b) - float(a) for a, b in (x.split(":") for x in sys.argv[8:]))
wall = end - start
results = work / "results"
# Each job's rule, by its benchmark file, from Snakemake's log of the run.
rule_of, rule = {}, None
for line in (work / "snakemake.log").read_text().splitlines():
    if m := re.match(r"(?:local)?rule (\w+):", line):
        rule = m.group(1)
    elif (m := re.match(r"\s+benchmark: (\S+)", line)) and rule:
        rule_of[m.group(1)] = rule
rows = []
for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
    frame = pd.read_csv(tsv, sep="\t")
    relative = tsv.relative_to(results / "benchmarks")
    log = (results / "logs" / relative).with_suffix(".log")
    timing = [line for line in log.read_text().splitlines() if TIMING_RECORD in line]
    split = re.findall(r"start-up ([\d.]+) work ([\d.]+)", timing[-1]) if timing else []
    up, done = map(float, split[0]) if split else (float("nan"), float("nan"))
    name = rule_of.get(str(tsv.relative_to(work)), relative.parts[0])
    rows.append((name, float(frame["s"].iloc[-1]), float(frame["cpu_time"].iloc[-1]), up, done))
jobs = pd.DataFrame(rows, columns=["rule", "s", "cpu", "startup", "work"])
job_seconds = jobs["s"].sum()
matmul = (matmul_before + matmul_after) / 2
print()
print(f"wall time of `snakemake --cores {cores:g}`: {wall:.1f} s ({wall / 60:.1f} min)")
print(
    f"X @ X.T (10,000 x 2,048): {matmul_before:.2f} s before, {matmul_after:.2f} s after;"
    f" normalised to 2.4 s: {wall * 2.4 / matmul:.0f} s ({wall * 2.4 / matmul / 60:.1f} min)"
)
print(f"`snakemake --report`: {report_end - end:.1f} s")
print(f"jobs: {len(jobs)}")
print(f"  {'rule':<24} {'jobs':>4} {'seconds':>8} {'median':>7} {'start-up':>9} {'work':>8}")
by_rule = jobs.groupby("rule").agg(
    n=("s", "size"), s=("s", "sum"), median=("s", "median"), up=("startup", "sum"),
    work=("work", "sum"),
)
for name, row in by_rule.sort_values("s", ascending=False).iterrows():
    print(
        f"  {name:<24} {row.n:>4} {row.s:8.1f} {row['median']:7.1f} {row.up:9.1f} {row.work:8.1f}"
    )
print(
    f"job seconds: {job_seconds:.1f} s wall, {jobs['cpu'].sum():.1f} s CPU;"
    f" start-up {jobs['startup'].sum():.1f} s, work {jobs['work'].sum():.1f} s"
    " (the rest: Snakemake's job wrapper before the script)"
)
capacity = wall * cores
print(f"outside any job: {1 - job_seconds / capacity:.0%} of {capacity:.0f} core-seconds")
print(
    f"baseline, a job's bare start (`from kstarlab.workflow.jobs import runtime, summaries`,"
    f" median of 5): {startup:.2f} s;"
    f" x {len(jobs)} jobs = {startup * len(jobs):.0f} s = {startup * len(jobs) / job_seconds:.0%}"
    " of the job seconds"
)
EOF
