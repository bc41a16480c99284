"""Extraction memory with a flattened wide layer: streamed to HDF5, never held.

``config/paper.yaml`` flattens ResNet-50's conv maps as the k* paper does (401,408, 200,704
and 100,352 features per image), so an extraction of the 50,000 ImageNet-1k val images
writes 140 GB of float32 latents. Extraction must stream them batch by batch. This
benchmark measures it at a size this machine holds: N images (default 2,000) through a
real torchvision architecture with random weights, a layer of about 200k features
flattened (``mobilenet_v3_small`` ``features.0``: 16 × 112 × 112 = 200,704, as many as
ResNet-50's ``stage3.block6.conv3``; ``--arch resnet50 --layer stage3.block6.conv3`` runs
that layer itself, about 40× slower). Random 224 px images are made per sample (seeded by
its index) and go through a DataLoader, as an image folder's do.

Each case is a fresh worker process; its peak RSS is ``ru_maxrss`` taken right after the
extraction:

- ``baseline``: the same extraction of the ``logit`` layer only (torch, the model, the
  data loader, one batch's activations);
- ``wide``: ``logit`` and the wide layer, flattened, written with the workflow's defaults;
- ``held``: the same, then the wide layer read back whole into memory: what holding it
  would cost, and a check that the measure sees a held layer.

The parent then checks the wide file: shape, chunking, and rows recomputed by an
independent forward pass (torchvision's feature extractor) at the start, the middle and
the end. Then, each in a fresh worker: one pass reading the wide layer in the k* engine's
row blocks (``read``: the HDF5 read rate), k* of the wide layer streamed from the file
(``kstar``: its time, the FLOPs of the tiles it computes, its peak RSS), and the bare
``X @ X.T`` of the same matrix in memory (``matmul``), the floor the k* benchmark uses;
docs/benchmarks.md estimates k* of Table IV's flattened layers from these rates.

Run: ``.venv/bin/python benchmarks/extract_memory_bench.py`` (options ``--threads``,
``--n``, ``--batch-size``, ``--arch``, ``--layer``, ``--image-size``, ``--float16``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = ("baseline", "wide", "held")
KSTAR_CASES = ("read", "kstar", "matmul")


def random_images(n: int, size: int):
    """An `ImageData` of n random [0, 1] images, each drawn from its index when read."""
    import numpy as np
    import torch
    from torch.utils.data import Dataset

    from kstarlab.latents.datasets import ImageData

    class RandomImages(Dataset):
        def __init__(self) -> None:
            self.labels = np.arange(n, dtype=np.int64) * 10 // n  # sorted, as in a folder

        def __len__(self) -> int:
            return n

        def __getitem__(self, index: int):
            generator = torch.Generator().manual_seed(index)
            image = torch.rand(3, size, size, generator=generator)
            return image, int(self.labels[index])

    return ImageData("random", RandomImages(), [str(c) for c in range(10)], {"size": size})


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def kstar_worker(args: argparse.Namespace) -> None:
    """k* of the wide layer streamed from ``args.out``, or the bare ``X @ X.T`` in memory."""
    import h5py
    import numpy as np
    import torch

    from kstarlab.kstar.engine import auto_block_size, kstar_values

    torch.set_num_threads(args.threads)
    with h5py.File(args.out, "r") as f:
        X = f["latents"][args.layer]
        y = f["labels"][()]
        n, d = X.shape
        before = peak_rss_mib()
        block = auto_block_size(n, d, torch.float32, torch.device("cpu"), lazy=True)
        if args.worker == "read":
            flops = 0.0
            start = time.perf_counter()
            for lo in range(0, n, block):
                np.ascontiguousarray(X[lo : lo + block])
            seconds = time.perf_counter() - start
            rate = n * d * X.dtype.itemsize / seconds / 1e9
            note = f"one pass in blocks of {block} rows: {rate:.2f} GB/s"
        elif args.worker == "kstar":
            m = -(-n // block)
            flops = 2.0 * m * (m + 1) / 2 * block * block * d  # pass 1's tiles (upper bound)
            start = time.perf_counter()
            k = kstar_values(X, y)
            seconds = time.perf_counter() - start
            note = f"tiles of {block} rows, streamed; mean k* {float(np.mean(k)):.4f}"
        else:
            data = torch.from_numpy(np.asarray(X[()], dtype=np.float32))
            before = peak_rss_mib()
            flops = 2.0 * n * n * d
            start = time.perf_counter()
            _ = data @ data.T
            seconds = time.perf_counter() - start
            note = "full product, in memory"
    record = {
        "case": args.worker,
        "rss_before_mib": before,
        "peak_rss_mib": peak_rss_mib(),
        "seconds": seconds,
        "gflop": flops / 1e9,
        "gflop_per_s": flops / 1e9 / seconds if flops else 0.0,
        "note": note,
    }
    print(json.dumps(record))


def worker(args: argparse.Namespace) -> None:
    """One case in this process; prints one JSON line."""
    if args.worker in KSTAR_CASES:
        kstar_worker(args)
        return
    import h5py
    import numpy as np
    import torch

    from kstarlab.latents.extraction import extract
    from kstarlab.models import load_model

    torch.set_num_threads(args.threads)
    model = load_model(args.arch, seed=0, num_classes=10)
    data = random_images(args.n, args.image_size)
    layers = ["logit"] if args.worker == "baseline" else ["logit", args.layer]
    before = peak_rss_mib()
    start = time.perf_counter()
    extract(model, data, layers, args.out, batch_size=args.batch_size, float16=args.float16)
    seconds = time.perf_counter() - start
    after = peak_rss_mib()
    held_mib = None
    if args.worker == "held":
        with h5py.File(args.out, "r") as f:
            values = np.asarray(f["latents"][args.layer][()])
        held_mib = values.nbytes / 2**20
    record = {
        "case": args.worker,
        "layers": layers,
        "rss_before_mib": before,
        "peak_rss_mib": peak_rss_mib() if args.worker == "held" else after,
        "seconds": seconds,
        "file_mib": Path(args.out).stat().st_size / 2**20,
        "held_mib": held_mib,
    }
    print(json.dumps(record))


def run_worker(case: str, args: argparse.Namespace, out: Path) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        case,
        "--out",
        str(out),
        *("--arch", args.arch, "--layer", args.layer, "--n", str(args.n)),
        *("--batch-size", str(args.batch_size), "--threads", str(args.threads)),
        *("--image-size", str(args.image_size)),
        *(["--float16"] if args.float16 else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"worker {case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_file(path: Path, args: argparse.Namespace) -> dict:
    """Shape, chunks and three rows of the wide layer against an independent forward."""
    import h5py
    import numpy as np
    import torch
    from torchvision.models.feature_extraction import create_feature_extractor

    from kstarlab.latents.layers import resolve_layers
    from kstarlab.models import load_model

    torch.set_num_threads(args.threads)
    model = load_model(args.arch, seed=0, num_classes=10)
    (ref,) = resolve_layers(model.net, [args.layer], model.name)
    extractor = create_feature_extractor(model.net, return_nodes={ref.target: "x"}).eval()
    data = random_images(args.n, args.image_size)
    rows = sorted({0, args.n // 2, args.n - 1})
    images = torch.stack([data.dataset[i][0] for i in rows])
    with torch.inference_mode():
        normalised = (images - model.module.mean) / model.module.std
        expected = extractor(normalised)["x"].reshape(len(rows), -1).numpy()
    with h5py.File(path, "r") as f:
        ds = f["latents"][args.layer]
        got = ds[rows]
        info = {
            "shape": list(ds.shape),
            "dtype": str(ds.dtype),
            "chunks": list(ds.chunks),
            "compression": ds.compression or "none",
            "pooling": ds.attrs["pooling"],
            "original_shape": ds.attrs["original_shape"].tolist(),
        }
    scale = float(np.abs(expected).max())
    info["max_abs_diff"] = float(np.abs(got.astype(np.float64) - expected).max())
    info["rows_match"] = bool(np.allclose(got, expected, rtol=1e-3, atol=1e-3 * scale))
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="mobilenet_v3_small")
    parser.add_argument("--layer", default="features.0")
    parser.add_argument("--n", type=int, default=2000, help="images (default 2,000)")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=128, help="as config/paper.yaml")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--float16", action="store_true")
    parser.add_argument("--worker", choices=CASES + KSTAR_CASES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    print(
        f"{args.arch} {args.layer}, {args.n} random {args.image_size} px images, batch "
        f"{args.batch_size}, {args.threads} torch threads, {'float16' if args.float16 else 'float32'}; "
        f"{os.cpu_count()} cores, {platform.machine()}, load average {os.getloadavg()[0]:.1f}"
    )
    records = {}
    with tempfile.TemporaryDirectory(prefix="kstarlab-extract-memory-") as tmp:
        for case in CASES:
            out = Path(tmp) / f"{case}.h5"
            records[case] = run_worker(case, args, out)
            print(f"  {case}: {json.dumps(records[case])}", flush=True)
            if case == "wide":
                check = check_file(out, args)
                for kcase in KSTAR_CASES:
                    records[kcase] = run_worker(kcase, args, out)
                    print(f"  {kcase}: {json.dumps(records[kcase])}", flush=True)
            out.unlink()
    width = check["shape"][1]
    item = 2 if args.float16 else 4
    layer_mib = args.n * width * item / 2**20
    base = records["baseline"]["peak_rss_mib"]
    print()
    print(
        f"wide layer: {check['shape'][0]:,} × {width:,} {check['dtype']} = {layer_mib:,.0f} MiB; "
        f"chunks {check['chunks']}, compression {check['compression']}, pooling "
        f"{check['pooling']} (original shape {check['original_shape']}); rows 0, n/2, n-1 "
        f"against an independent forward: {'equal' if check['rows_match'] else 'DIFFERENT'} "
        f"(max |diff| {check['max_abs_diff']:.2e})"
    )
    print()
    print("| case | layers | peak RSS MiB | over baseline MiB | extraction s | file MiB |")
    print("|---|---|---:|---:|---:|---:|")
    for case in CASES:
        r = records[case]
        print(
            f"| {case} | {', '.join(r['layers'])} | {r['peak_rss_mib']:,.0f} | "
            f"{r['peak_rss_mib'] - base:,.0f} | {r['seconds']:.1f} | {r['file_mib']:,.0f} |"
        )
    over = records["wide"]["peak_rss_mib"] - base
    print()
    print(
        f"streaming: the wide layer's {layer_mib:,.0f} MiB cost {over:,.0f} MiB of peak RSS "
        f"over the baseline ({100 * over / layer_mib:.0f}% of the layer); held in memory "
        f"it costs {records['held']['peak_rss_mib'] - base:,.0f} MiB."
    )
    print()
    print("| k* of the wide layer | s | GFLOP | GFLOP/s | peak RSS MiB | RSS before MiB | note |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for case in KSTAR_CASES:
        r = records[case]
        print(
            f"| {case} | {r['seconds']:.2f} | {r['gflop']:,.0f} | {r['gflop_per_s']:.1f} | "
            f"{r['peak_rss_mib']:,.0f} | {r['rss_before_mib']:,.0f} | {r['note']} |"
        )
    ratio = records["kstar"]["gflop_per_s"] / records["matmul"]["gflop_per_s"]
    print(f"\nk* runs at {ratio:.2f}× the bare product's rate (streamed from HDF5).")


if __name__ == "__main__":
    main()
