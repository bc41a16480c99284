"""Benchmark of the bootstrap interval of γ: what it adds to `kstar_summary`.

For each shape of one k* cell (classes x samples per class; k*-like values, seeded), the
median over rounds of:

- ``paper``   ``kstar_summary(k, y, resamples=None)``: the paper's columns only;
- ``vector``  ``kstar_summary(k, y, resamples=R, seed=0)``: one skew over a
              resamples x n matrix per class (what the workflow runs);
- ``loop``    the same intervals with one resample at a time (``rng.integers`` and the
              summary's own ``_skew`` per resample, ``np.percentile`` at the end): the
              plain way, for comparison (``--loop-limit`` skips it for large cells).

Usage::

    .venv/bin/python benchmarks/bootstrap_bench.py
    .venv/bin/python benchmarks/bootstrap_bench.py --rounds 3 --resamples 1000
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from kstarlab.kstar.summary import _skew, kstar_summary

# (label, classes, samples per class): the digits test split (the default run's cells),
# a CIFAR-10-sized test set, ImageNet-1k val (the paper's pattern-average tables).
CASES = [
    ("digits test (default run)", 10, 54),
    ("CIFAR-10 test", 10, 1000),
    ("ImageNet-1k val", 1000, 50),
]


def cell(classes: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(classes), per_class)
    k = rng.integers(1, per_class + 1, size=y.size) / per_class
    return k, y


def loop_intervals(k: np.ndarray, y: np.ndarray, resamples: int, seed: int = 0) -> list:
    out = []
    for position, label in enumerate(np.unique(y)):
        v = k[y == label]
        rng = np.random.default_rng([seed, position])
        skews = [_skew(v[rng.integers(0, v.size, size=v.size)]) for _ in range(resamples)]
        s = np.asarray(skews)
        out.append(np.percentile(s[~np.isnan(s)], [2.5, 97.5]))
    return out


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument(
        "--loop-limit", type=int, default=20_000, help="skip the loop above this many samples"
    )
    args = parser.parse_args()
    print(
        f"Setup: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
        f"{args.resamples} resamples, median of {args.rounds} rounds, "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| cell | samples | paper s | vector s | added s | loop s | loop / vector |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, classes, per_class in CASES:
        k, y = cell(classes, per_class)
        loop = k.size <= args.loop_limit
        times: dict[str, list[float]] = {"paper": [], "vector": [], "loop": []}
        for _ in range(args.rounds):  # interleaved, so that load affects all alike
            times["paper"].append(timed(kstar_summary, k, y, resamples=None))
            times["vector"].append(timed(kstar_summary, k, y, resamples=args.resamples, seed=0))
            if loop:
                times["loop"].append(timed(loop_intervals, k, y, args.resamples))
        med = {name: statistics.median(t) for name, t in times.items() if t}
        if loop:  # the loop computes the same intervals
            got = kstar_summary(k, y, resamples=args.resamples, seed=0)
            ref = np.array(loop_intervals(k, y, args.resamples))
            np.testing.assert_allclose(got[["skew_lo", "skew_hi"]], ref, rtol=1e-9)
        loop_cells = f"{med['loop']:.3f} | {med['loop'] / med['vector']:.0f}×" if loop else "— | —"
        print(
            f"| {label}: {classes} × {per_class} | {k.size:,} | {med['paper']:.4f} | "
            f"{med['vector']:.4f} | {med['vector'] - med['paper']:.4f} | {loop_cells} |"
        )


if __name__ == "__main__":
    main()
