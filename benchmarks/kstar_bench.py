"""Benchmark of the k* engine: time and peak memory against the naive algorithm and sklearn.

One run of this script times, on the same seeded data (100 classes of clustered Gaussian
data, float32):

- ``naive``   (a) the reference algorithm written plainly: the full ``torch.cdist`` N x N
              matrix, ``argsort`` of every row, position of the first other-class label
              (self at position 0);
- ``sklearn`` (b) ``NearestNeighbors(algorithm="brute")`` with ``n_neighbors`` = largest
              class size + 1, then the first other-class position among the neighbours;
- ``kstar``   (c) ``kstarlab.kstar_values(X, y, metric=..., dtype="float32")``;
- ``faiss``   a peer (issue 16 §2): FAISS's exact flat indexes, ``IndexFlatL2`` for
              euclidean and ``IndexFlatIP`` on L2-normalised rows for cosine, searched for
              largest class size + 1 neighbours (`faiss_kstar`); skipped for other metrics
              and, with one printed line, when FAISS is not installed (the ``[bench]`` extra);

and the floors:

- ``matmul``     the bare ``X @ X.T`` (torch, float32), the floor for euclidean;
- ``tiles_tri``  ``torch.cdist`` over the upper-triangle square tiles that ``kstar_values``
                 visits (tile side from ``kstarlab.kstar.engine.auto_block_size``), results
                 discarded: "the blockwise distance computation alone", the floor for
                 cityblock, chebyshev and cosine (for cosine the tiles are 1 - the dot
                 products of the rows normalised once beforehand);
- ``tiles_full`` the same over all tiles (for reference).

Every measurement runs in a fresh subprocess (``--worker``) whose peak RSS is read from
``os.wait4``; a worker that only builds the data gives the baseline that is subtracted
("over data"). Methods are interleaved round by round so that load from other processes
affects them alike; the table reports the median over rounds.

Usage::

    .venv/bin/python benchmarks/kstar_bench.py --quick
    .venv/bin/python benchmarks/kstar_bench.py --json results/kstar_bench.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

N_CLASSES = 100
METRIC_P = {"euclidean": 2.0, "cityblock": 1.0, "chebyshev": math.inf}  # cosine: no p
FLOOR = {
    "euclidean": "matmul",
    "cityblock": "tiles_tri",
    "chebyshev": "tiles_tri",
    "cosine": "tiles_tri",
}
ORDER = ("matmul", "tiles_tri", "kstar", "tiles_full", "naive", "sklearn", "faiss")
KSTAR_METHODS = ("naive", "sklearn", "faiss", "kstar")
FAISS_METRICS = ("euclidean", "sqeuclidean", "cosine")  # what faiss_kstar computes
FAISS_SKIP = "skipped: FAISS's exact flat indexes cover euclidean and cosine only"
FAISS_MISSING = "faiss is not installed: pip install -e '.[bench]' (skipping method faiss)"
GIB = 1 << 30
MIB = 1 << 20


# --------------------------------------------------------------------------- data


def make_data(n: int, d: int, seed: int, sep: float) -> tuple[np.ndarray, np.ndarray]:
    """100 balanced classes, shuffled: centre ~ N(0, (sep / d^(1/4))^2 I) plus N(0, I) noise.

    The d^(-1/4) scaling keeps the class overlap (and so the k* distribution) roughly
    independent of d. Built in chunks so that the peak memory is about the data itself.
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % N_CLASSES)
    centres = rng.standard_normal((N_CLASSES, d), dtype=np.float32)
    centres *= np.float32(sep * d**-0.25)
    X = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 4096):
        e = min(s + 4096, n)
        rng.standard_normal((e - s, d), dtype=np.float32, out=X[s:e])
        X[s:e] += centres[y[s:e]]
    return X, y


def naive_memory_bytes(n: int) -> int:
    """What the naive algorithm allocates at its peak, per N x N element.

    cdist matrix (4 B) kept alive, sort values (4 B) and int64 indices (8 B) from argsort,
    the gathered int64 labels (8 B), the bool comparison (1 B) and its uint8 copy (1 B).
    """
    return n * n * (4 + 4 + 8 + 8 + 1 + 1)


# --------------------------------------------------------------------------- methods


def pairwise(a: Any, b: Any, metric: str) -> Any:
    """torch distances between the rows of a and b; for cosine, a and b are unit rows."""
    import torch

    if metric == "cosine":
        return (a @ b.T).neg_().add_(1.0)  # 1 - cos similarity
    return torch.cdist(a, b, p=METRIC_P[metric])


def unit_rows(Xt: Any) -> Any:
    """The rows divided by their L2 norms (cosine only; the bench's data has no zero row)."""
    import torch

    return Xt / torch.linalg.vector_norm(Xt, dim=1, keepdim=True)


def run_naive(X: Any, y: Any, metric: str) -> Any:
    """(a) The notebook's algorithm, plainly: full matrix, sort rows, first other label."""
    import torch

    if metric == "cosine":
        X = unit_rows(X)
    dist = pairwise(X, X, metric)  # N x N
    order = torch.argsort(dist, dim=1)  # self first (distance 0)
    labels = y[order]
    other = labels != y[:, None]
    return other.to(torch.uint8).argmax(dim=1)  # k* = position of first other-class label


def run_sklearn(X: np.ndarray, y: np.ndarray, metric: str) -> np.ndarray:
    """(b) brute-force kNN with enough neighbours to always reach another class."""
    from sklearn.neighbors import NearestNeighbors

    k = int(np.bincount(y).max()) + 1
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=metric).fit(X)
    idx = nn.kneighbors(X, return_distance=False)  # self included (query = fit data)
    other = y[idx] != y[:, None]
    return other.argmax(axis=1)


def faiss_kstar(
    X: np.ndarray,
    y: np.ndarray,
    *,
    metric: str = "euclidean",
    normalize: bool = True,
    threads: int | None = None,
) -> np.ndarray:
    """k* of every row from FAISS's exact flat indexes, as ``kstar_values`` defines it.

    euclidean and sqeuclidean: ``IndexFlatL2`` (squared distances: the same order);
    cosine: ``IndexFlatIP`` on L2-normalised rows (inner product = cos similarity). FAISS
    works in float32. Every row is searched for k = largest class size + 1 neighbours:
    besides itself a row has at most (largest class - 1) same-class samples, so its
    nearest other-class sample is always among them. The row itself is dropped by index
    (wherever a tie at distance 0 placed it), and with d_o the distance of the first
    other-class neighbour, k* = 1 + #{same-class neighbours j != i with d(i, j) < d_o}:
    the first other-class rank, except that a same-class neighbour at exactly d_o does
    not count (the engine's strict rule). ``normalize`` divides by the row's class size;
    the result is float64 then, else int64 (as ``kstar_values``). ``threads`` sets
    ``faiss.omp_set_num_threads``.
    """
    import faiss

    if metric not in FAISS_METRICS:
        raise ValueError(f"faiss_kstar: metric {metric!r} is not one of {FAISS_METRICS}")
    if threads is not None:
        faiss.omp_set_num_threads(int(threads))
    xb = np.array(X, dtype=np.float32, order="C", copy=True)  # faiss: float32, C order
    y = np.asarray(y)
    n, d = xb.shape
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    if counts.size < 2:
        raise ValueError("faiss_kstar: k* needs at least 2 classes")
    if metric == "cosine":
        if not np.all(np.linalg.norm(xb, axis=1) > 0):
            raise ValueError("faiss_kstar: cosine distance is undefined for an all-zero row")
        faiss.normalize_L2(xb)
        index = faiss.IndexFlatIP(d)
    else:
        index = faiss.IndexFlatL2(d)
    index.add(xb)
    k = int(counts.max()) + 1
    dist, idx = index.search(xb, k)  # each row sorted: nearest first
    if metric == "cosine":
        dist = -dist  # similarity -> an increasing transform of 1 - similarity
    rows = np.arange(n)
    same = codes[idx] == codes[:, None]
    other = ~same
    if not other.any(axis=1).all():  # cannot happen with k = largest class + 1
        raise RuntimeError("faiss_kstar: a row has no other-class sample among its neighbours")
    first = other.argmax(axis=1)  # the first other-class neighbour: d_o
    d_o = dist[rows, first]
    closer = same & (idx != rows[:, None]) & (dist < d_o[:, None])
    kstar = closer.sum(axis=1).astype(np.int64) + 1
    return kstar / counts[codes].astype(np.float64) if normalize else kstar


def run_faiss(X: np.ndarray, y: np.ndarray, metric: str, threads: int) -> np.ndarray:
    return faiss_kstar(X, y, metric=metric, normalize=False, threads=threads)


def run_kstar(X: np.ndarray, y: np.ndarray, metric: str) -> np.ndarray:
    from kstarlab import kstar_values

    return kstar_values(X, y, metric=metric, dtype="float32", normalize=False)


def run_matmul(Xt: Any, strip_limit: int) -> str:
    """Bare X @ X.T; in row strips (same flops, output discarded) if N^2 floats > limit."""
    n = Xt.shape[0]
    if n * n * 4 <= strip_limit:
        _ = Xt @ Xt.T
        return "full"
    rows = max(1, strip_limit // (8 * n))  # strips of <= limit/2 bytes
    for s in range(0, n, rows):
        _ = Xt[s : s + rows] @ Xt.T
    return f"row strips of {rows}"


def run_tiles(Xt: Any, metric: str, triangle: bool) -> str:
    """torch.cdist over the square tiles kstar_values uses, results discarded."""
    import torch

    from kstarlab.kstar.engine import auto_block_size

    n, d = Xt.shape
    b = auto_block_size(n, d, torch.float32, torch.device("cpu"))
    if metric == "cosine":
        Xt = unit_rows(Xt)  # once, as the engine's row norms are computed once
    for i0 in range(0, n, b):
        a = Xt[i0 : i0 + b]
        for j0 in range(i0 if triangle else 0, n, b):
            pairwise(a, Xt[j0 : j0 + b], metric)
    return f"tile {b}"


def worker(args: argparse.Namespace) -> None:
    """Build the data, run one method (after a warm-up if it is quick), write JSON."""
    import sklearn.neighbors  # noqa: F401
    import torch

    import kstarlab  # noqa: F401  (same imports in every worker: same baseline RSS)

    if args.import_faiss:  # a run that times faiss loads it in every worker (about 20 MiB)
        import faiss  # noqa: F401

    method, n, d, metric = args.worker
    n, d = int(n), int(d)
    t0 = time.perf_counter()
    X, y = make_data(n, d, args.seed, args.sep)
    data_s = time.perf_counter() - t0
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    info = ""
    k = None

    def once() -> Any:
        nonlocal info
        if method == "data":
            return None
        if method == "matmul":
            info = run_matmul(Xt, int(args.strip_gib * GIB))
            return None
        if method in ("tiles_tri", "tiles_full"):
            info = run_tiles(Xt, metric, method == "tiles_tri")
            return None
        if method == "naive":
            return run_naive(Xt, yt, metric).numpy()
        if method == "sklearn":
            return run_sklearn(X, y, metric)
        if method == "kstar":
            return run_kstar(X, y, metric)
        if method == "faiss":
            # the thread count every other method gets: torch's
            info = f"{torch.get_num_threads()} OpenMP threads"
            return run_faiss(X, y, metric, torch.get_num_threads())
        raise SystemExit(f"unknown method {method}")

    gc.collect()
    t = time.perf_counter()
    k = once()
    seconds = time.perf_counter() - t
    warm = False
    if method != "data" and seconds < args.warmup_below:
        warm = True  # the first call paid thread start-up and page faults: time a second
        k = None
        gc.collect()
        t = time.perf_counter()
        k = once()
        seconds = time.perf_counter() - t
    if k is not None and args.save_k:
        np.save(args.save_k, np.asarray(k, dtype=np.int64))
    out = {
        "seconds": seconds,
        "data_seconds": data_s,
        "warmed_up": warm,
        "info": info,
        "threads": torch.get_num_threads(),
        "self_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    Path(args.result).write_text(json.dumps(out))


# --------------------------------------------------------------------------- driver


@dataclass
class Cell:
    n: int
    d: int
    metric: str
    methods: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    rss_kib: dict[str, list[int]] = field(default_factory=dict)
    rounds: dict[str, list[int]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    load: dict[str, list[float]] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    agreement: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"N={self.n} D={self.d} {self.metric}"

    def median(self, method: str) -> float | None:
        ts = self.times.get(method)
        return statistics.median(ts) if ts else None

    def paired_ratio(self, num: str, den: str) -> tuple[float, int] | None:
        """Median over rounds where both ran of t_num / t_den (robust to load drifting)."""
        den_at = dict(zip(self.rounds.get(den, []), self.times.get(den, []), strict=True))
        pairs = [
            t / den_at[r]
            for r, t in zip(self.rounds.get(num, []), self.times.get(num, []), strict=True)
            if r in den_at
        ]
        return (statistics.median(pairs), len(pairs)) if pairs else None


def run_worker(
    args: argparse.Namespace, method: str, n: int, d: int, metric: str, tmp: Path
) -> dict[str, Any]:
    """Run one worker subprocess; return its JSON plus its peak RSS from wait4."""
    result = tmp / f"{method}_{n}_{d}_{metric}.json"
    save_k = tmp / f"k_{method}_{n}_{d}_{metric}.npy"
    log = tmp / f"{method}_{n}_{d}_{metric}.log"
    result.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        method,
        str(n),
        str(d),
        metric,
        "--result",
        str(result),
        "--save-k",
        str(save_k),
        "--seed",
        str(args.seed),
        "--sep",
        str(args.sep),
        "--strip-gib",
        str(args.strip_gib),
        "--warmup-below",
        str(args.warmup_below),
    ]
    if "faiss" in args.methods:
        cmd.append("--import-faiss")
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    load1 = os.getloadavg()[0]
    start = time.monotonic()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > args.timeout:
            os.kill(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            return {"error": f"timeout (> {args.timeout:.0f} s)"}
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not result.exists():
        tail = log.read_text()[-600:].strip().replace("\n", " | ")
        why = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        return {"error": f"failed ({why}): {tail}"}
    out = json.loads(result.read_text())
    out["maxrss_kib"] = usage.ru_maxrss
    out["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    out["load1"] = load1
    out["k_path"] = str(save_k) if save_k.exists() else None
    return out


def plan(args: argparse.Namespace) -> list[Cell]:
    cells = []
    for metric in args.metrics:
        for n in args.sizes:
            for d in args.dims:
                if metric == "chebyshev" and n > args.chebyshev_max_n:
                    continue
                cell = Cell(n, d, metric)
                for m in ORDER:
                    if m not in args.methods:
                        continue
                    if m == "tiles_full" and metric == "euclidean":
                        continue  # euclidean's floor is the matmul
                    if m == "matmul" and metric != args.metrics[0]:
                        continue  # metric-independent: measured once per (N, D)
                    if m == "naive" and naive_memory_bytes(n) > args.mem_limit_gib * GIB:
                        need = naive_memory_bytes(n) / GIB
                        cell.skipped[m] = (
                            f"skipped: needs {need:.1f} GiB "
                            f"(> --mem-limit-gib {args.mem_limit_gib:g})"
                        )
                        continue
                    if m == "sklearn" and n > args.sklearn_max_n:
                        cell.skipped[m] = f"skipped: N > --sklearn-max-n {args.sklearn_max_n}"
                        continue
                    if m == "faiss" and metric not in FAISS_METRICS:
                        cell.skipped[m] = FAISS_SKIP
                        continue
                    cell.methods.append(m)
                cells.append(cell)
    # cheap cells first, so a partial log is already informative
    return sorted(cells, key=lambda c: (c.n * c.n * c.d, args.metrics.index(c.metric)))


def predicted_too_slow(cell: Cell, method: str, limit: float) -> str | None:
    """Skip all-tile cdist and naive cdist when twice the measured triangle is hopeless."""
    tri = cell.median("tiles_tri")
    slow = tri is not None and 2 * tri > limit
    if method in ("tiles_full", "naive") and cell.metric != "euclidean" and slow:
        return f"skipped: predicted ≈ 2 × tiles_tri = {2 * tri:.0f} s > {limit:.0f} s"
    return None


def measure_cell(args: argparse.Namespace, cell: Cell, data_rss: dict, tmp: Path) -> None:
    if (cell.n, cell.d) not in data_rss:
        r = run_worker(args, "data", cell.n, cell.d, cell.metric, tmp)
        data_rss[(cell.n, cell.d)] = r.get("maxrss_kib")
    for rnd in range(args.repeats):
        for m in cell.methods:
            if m in cell.failed or m in cell.skipped:
                continue
            ts = cell.times.get(m, [])
            if rnd > 0 and sum(ts) + ts[-1] > args.budget:
                continue  # enough time spent on this method in this cell
            reason = predicted_too_slow(cell, m, args.hopeless)
            if reason:
                cell.skipped[m] = reason
                continue
            r = run_worker(args, m, cell.n, cell.d, cell.metric, tmp)
            if "error" in r:
                cell.failed[m] = r["error"]
                print(f"  {cell.key} {m}: {r['error']}", flush=True)
                continue
            cell.times.setdefault(m, []).append(r["seconds"])
            cell.rss_kib.setdefault(m, []).append(r["maxrss_kib"])
            cell.rounds.setdefault(m, []).append(rnd)
            cell.cpu.setdefault(m, []).append(r["cpu_seconds"])
            cell.load.setdefault(m, []).append(r["load1"])
            cell.info[m] = r.get("info", "")
            cell.info.setdefault("threads", str(r.get("threads")))
            print(
                f"  {cell.key} round {rnd + 1} {m}: {r['seconds']:.3f} s, "
                f"peak RSS {r['maxrss_kib'] / 1024:.0f} MiB, worker CPU {r['cpu_seconds']:.1f} s "
                f"(incl. start-up), load avg at start {r['load1']:.2f}",
                flush=True,
            )
            if r.get("k_path"):
                os.replace(r["k_path"], tmp / f"k_{m}_{cell.n}_{cell.d}_{cell.metric}.keep.npy")
    check_agreement(args, cell, tmp)


def check_agreement(args: argparse.Namespace, cell: Cell, tmp: Path) -> None:
    """Compare k* of naive / sklearn / faiss with kstar; classify disagreements by float64
    gap."""
    ks = {}
    for m in KSTAR_METHODS:
        f = tmp / f"k_{m}_{cell.n}_{cell.d}_{cell.metric}.keep.npy"
        if f.exists():
            ks[m] = np.load(f)  # position of the first other-class label (self at 0) = k*
    if "kstar" not in ks:
        return
    X = y = None
    for m in KSTAR_METHODS:
        if m == "kstar" or m not in ks:
            continue
        bad = np.flatnonzero(ks[m] != ks["kstar"])
        if not bad.size:
            cell.agreement.append(f"{m} = kstar on all {cell.n} samples")
            continue
        if X is None:
            X, y = make_data(cell.n, cell.d, args.seed, args.sep)
        gaps, right = [], {"kstar": 0, m: 0}
        for i in bad[:2000]:
            dist = float64_row(X, i, cell.metric)
            same = (y == y[i]) & (np.arange(cell.n) != i)
            d_o = dist[y != y[i]].min()
            gaps.append(np.min(np.abs(dist[same] - d_o)) / d_o)
            exact = 1 + int(np.sum(dist[same] < d_o))
            right["kstar"] += ks["kstar"][i] == exact
            right[m] += ks[m][i] == exact
        gaps_a = np.asarray(gaps)
        near = int(np.sum(gaps_a < args.tie_tol))
        cell.agreement.append(
            f"{m} ≠ kstar on {bad.size}/{cell.n} samples; {near} of {gaps_a.size} checked are "
            f"float32 near-ties (float64 |d_same − d_o|/d_o < {args.tie_tol:g}, largest gap "
            f"{gaps_a.max():.1e}); float64 strict rule agrees with kstar on {right['kstar']}, "
            f"with {m} on {right[m]}"
        )


def float64_row(X: np.ndarray, i: int, metric: str) -> np.ndarray:
    if metric == "cosine":
        wide = X.astype(np.float64)
        cos = wide @ wide[i] / (np.linalg.norm(wide, axis=1) * np.linalg.norm(wide[i]))
        return 1.0 - cos
    diff = X.astype(np.float64) - X[i].astype(np.float64)
    if metric == "euclidean":
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))
    if metric == "cityblock":
        return np.abs(diff).sum(axis=1)
    return np.abs(diff).max(axis=1)


# --------------------------------------------------------------------------- report


def fmt_s(t: float | None) -> str:
    if t is None:
        return "—"
    return f"{t:.3f}" if t < 10 else f"{t:.1f}"


def table(cells: list[Cell], data_rss: dict) -> str:
    head = (
        "| method | N | D | metric | runs | median s | peak RSS MiB | over data MiB "
        "| × floor | t / t_kstar | note |"
    )
    lines = [head, "|" + "---|" * 11]
    matmul = {}
    for c in cells:
        if c.median("matmul") is not None:
            matmul[(c.n, c.d)] = c.median("matmul")
    for c in cells:
        floor = matmul.get((c.n, c.d)) if FLOOR[c.metric] == "matmul" else c.median("tiles_tri")
        tk = c.median("kstar")
        base = data_rss.get((c.n, c.d))
        lines.append(
            f"| data only | {c.n} | {c.d} | {c.metric} | 1 | — | "
            f"{base / 1024:.0f} | 0 | — | — | baseline RSS |"
            if base
            else f"| data only | {c.n} | {c.d} | {c.metric} | — | — | — | — | — | — | |"
        )
        for m in ORDER:
            if m in c.skipped:
                lines.append(
                    f"| {m} | {c.n} | {c.d} | {c.metric} | 0 | — | — | — | — | — | {c.skipped[m]} |"
                )
                continue
            if m in c.failed:
                lines.append(
                    f"| {m} | {c.n} | {c.d} | {c.metric} | 0 | — | — | — | — | — | "
                    f"{c.failed[m][:120]} |"
                )
                continue
            t = c.median(m)
            if t is None:
                continue
            peak = max(c.rss_kib[m])
            over = f"{(peak - base) / 1024:.0f}" if base else "—"
            xf = f"{t / floor:.2f}" if floor else "—"
            xk = f"{t / tk:.2f}" if tk else "—"
            metric = "any" if m == "matmul" else c.metric
            lines.append(
                f"| {m} | {c.n} | {c.d} | {metric} | {len(c.times[m])} | {fmt_s(t)} | "
                f"{peak / 1024:.0f} | {over} | {xf} | {xk} | {c.info.get(m, '')} |"
            )
    return "\n".join(lines)


def paired(c: Cell, num: str, den: str) -> str:
    pr = c.paired_ratio(num, den)
    return f"median of per-round ratios {pr[0]:.2f} over {pr[1]} rounds" if pr else "unpaired"


def targets(cells: list[Cell], data_rss: dict) -> list[str]:
    """PASS/MISS lines; verdicts use the ratio of medians, the paired ratio is shown too."""
    by = {(c.n, c.d, c.metric): c for c in cells}
    out = []
    c = by.get((10000, 2048, "euclidean"))
    if c and c.median("kstar"):
        tk, tn, tm = c.median("kstar"), c.median("naive"), c.median("matmul")
        if tn:
            ok = tn / tk >= 5
            out.append(
                f"{'PASS' if ok else 'MISS'}: euclidean N=10000 D=2048: kstar is "
                f"{tn / tk:.2f}× faster than naive (target ≥ 5×; {tk:.2f} s vs {tn:.2f} s; "
                f"{paired(c, 'naive', 'kstar')})"
            )
        else:
            out.append("MISS: euclidean N=10000 D=2048: naive not measured")
        if tm:
            ok = tk <= tm
            out.append(
                f"{'PASS' if ok else 'MISS'}: euclidean N=10000 D=2048: kstar / (X @ X.T) = "
                f"{tk / tm:.2f} (target ≤ 1; {tk:.2f} s vs {tm:.2f} s; "
                f"{paired(c, 'kstar', 'matmul')})"
            )
    else:
        out.append("n/a: euclidean N=10000 D=2048 not in this run")
    c = by.get((50000, 2048, "euclidean"))
    if c and "kstar" in c.rss_kib:
        peak = max(c.rss_kib["kstar"]) * 1024
        base = data_rss.get((c.n, c.d), 0) * 1024
        ok = peak < 3 * GIB
        out.append(
            f"{'PASS' if ok else 'MISS'}: euclidean N=50000 D=2048 completes in "
            f"{c.median('kstar'):.1f} s with peak RSS {peak / GIB:.2f} GiB (target < 3 GiB; "
            f"{(peak - base) / GIB:.2f} GiB over the data-only worker)"
        )
    elif c and "kstar" in c.failed:
        out.append(f"MISS: euclidean N=50000 D=2048: {c.failed['kstar']}")
    else:
        out.append("n/a: euclidean N=50000 D=2048 not in this run")
    for metric in ("cityblock", "chebyshev"):
        ratios = [
            (c.median("kstar") / c.median("tiles_tri"), c)
            for c in cells
            if c.metric == metric and c.median("kstar") and c.median("tiles_tri")
        ]
        if not ratios:
            out.append(f"n/a: {metric} not in this run")
            continue
        for r, c in ratios:
            out.append(
                f"{'PASS' if r <= 1.5 else 'MISS'}: {metric} N={c.n} D={c.d}: kstar / "
                f"blockwise cdist (triangle) = {r:.2f} (target ≤ 1.5; "
                f"{paired(c, 'kstar', 'tiles_tri')})"
            )
    # issue 16: at small D (the logit layer's), euclidean and cosine within 1.5× of the
    # triangle tiles' distances alone, and at least 1.5× faster than FAISS everywhere
    for c in cells:
        if c.metric not in ("euclidean", "cosine") or not c.median("kstar"):
            continue
        tk, tt, tf = c.median("kstar"), c.median("tiles_tri"), c.median("faiss")
        if c.d in (10, 64, 1000) and tt:
            out.append(
                f"{'PASS' if tk / tt <= 1.5 else 'MISS'}: {c.metric} N={c.n} D={c.d}: kstar / "
                f"triangle tiles' distances = {tk / tt:.2f} (target ≤ 1.5; "
                f"{paired(c, 'kstar', 'tiles_tri')})"
            )
        if tf:
            out.append(
                f"{'PASS' if tf / tk >= 1.5 else 'MISS'}: {c.metric} N={c.n} D={c.d}: kstar is "
                f"{tf / tk:.2f}× faster than FAISS (target ≥ 1.5×, aim 2×; {tk:.2f} s vs "
                f"{tf:.2f} s)"
            )
    return out


def machine() -> dict[str, Any]:
    import sklearn
    import torch

    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    try:
        import faiss

        faiss_version = faiss.__version__
    except ImportError:
        faiss_version = None
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sklearn": sklearn.__version__,
        "faiss": faiss_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "git_commit": commit,
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
    }


# --------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints = lambda s: [int(v) for v in s.split(",")]  # noqa: E731
    names = lambda s: s.split(",")  # noqa: E731
    ap.add_argument("--sizes", type=ints, default=[2000, 10000, 50000], help="N values")
    ap.add_argument("--dims", type=ints, default=[64, 512, 2048], help="D values")
    ap.add_argument("--metrics", type=names, default=["euclidean", "cityblock", "chebyshev"])
    ap.add_argument("--methods", type=names, default=list(ORDER), help=",".join(ORDER))
    ap.add_argument("--repeats", type=int, default=5, help="rounds (median reported)")
    ap.add_argument(
        "--budget",
        type=float,
        default=200.0,
        help="per cell and method: start another round only if the total stays below this (s)",
    )
    ap.add_argument(
        "--hopeless",
        type=float,
        default=1200.0,
        help="skip tiles_full / naive for L1, L-inf when predicted to take longer (s)",
    )
    ap.add_argument("--timeout", type=float, default=3600.0, help="per worker (s)")
    ap.add_argument("--mem-limit-gib", type=float, default=16.0, help="skip naive above")
    ap.add_argument("--strip-gib", type=float, default=2.0, help="matmul in strips above")
    ap.add_argument("--sklearn-max-n", type=int, default=10000)
    ap.add_argument("--chebyshev-max-n", type=int, default=10000)
    ap.add_argument("--warmup-below", type=float, default=2.0, help="warm up if faster (s)")
    ap.add_argument("--tie-tol", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sep", type=float, default=2.5, help="class separation")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small grid for development: N 1000,3000, D 64, 2 rounds",
    )
    ap.add_argument("--json", type=Path, help="write all results here")
    ap.add_argument("--worker", nargs=4, metavar=("METHOD", "N", "D", "METRIC"))
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--save-k", help=argparse.SUPPRESS)
    ap.add_argument("--import-faiss", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    unknown = sorted(set(args.metrics) - set(FLOOR))
    if unknown:
        ap.error(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(FLOOR)}")
    if args.quick:
        args.sizes, args.dims = [1000, 3000], [64]
        args.repeats = min(args.repeats, 2)
    return args


def drop_missing_faiss(args: argparse.Namespace) -> None:
    """FAISS is no runtime dependency: without it, say how to get it (one line) and skip it."""
    if "faiss" not in args.methods:
        return
    try:
        import faiss  # noqa: F401
    except ImportError:
        print(f"# {FAISS_MISSING}", flush=True)
        args.methods = [m for m in args.methods if m != "faiss"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    drop_missing_faiss(args)
    info = machine()
    print(
        f"# k* benchmark, {info['date']}: {info['cpu']}, {info['cores']} cores, torch "
        f"{info['torch']} ({info['torch_threads']} threads), sklearn {info['sklearn']}, "
        f"faiss {info['faiss'] or 'not installed'}, commit {info['git_commit']}\n"
        f"# {info['command']}",
        flush=True,
    )
    cells = plan(args)
    skipped = [m for m in args.metrics if "faiss" in args.methods and m not in FAISS_METRICS]
    if skipped:
        print(f"# faiss {FAISS_SKIP[len('skipped: ') :]}: not run for {', '.join(skipped)}")
    data_rss: dict = {}
    with tempfile.TemporaryDirectory(prefix="kstar_bench_") as tmpdir:
        tmp = Path(tmpdir)
        for cell in cells:
            print(f"cell {cell.key}: {', '.join(cell.methods)}", flush=True)
            measure_cell(args, cell, data_rss, tmp)
            for line in cell.agreement:
                print(f"  agreement: {line}", flush=True)
            if args.json:
                write_json(args.json, info, cells, data_rss)
    print()
    print(table(cells, data_rss))
    print()
    print("Floors: euclidean → matmul (bare X @ X.T); cityblock, chebyshev, cosine → tiles_tri.")
    print("Agreement of k* with kstar_values:")
    for c in cells:
        for line in c.agreement:
            print(f"- {c.key}: {line}")
    print()
    print("Targets:")
    for line in targets(cells, data_rss):
        print(f"- {line}")
    if args.json:
        write_json(args.json, info, cells, data_rss)
    return 0


def write_json(path: Path, info: dict, cells: list[Cell], data_rss: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for c in cells:
        rows.append(
            {
                "n": c.n,
                "d": c.d,
                "metric": c.metric,
                "data_maxrss_kib": data_rss.get((c.n, c.d)),
                "times": c.times,
                "maxrss_kib": c.rss_kib,
                "rounds": c.rounds,
                "worker_cpu_seconds": c.cpu,
                "load1_at_start": c.load,
                "skipped": c.skipped,
                "failed": c.failed,
                "info": c.info,
                "agreement": c.agreement,
            }
        )
    path.write_text(json.dumps({"machine": info, "cells": rows}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
