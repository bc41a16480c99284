"""Extraction overhead: plain ``model(x)`` forward passes against full extraction to HDF5.

Two cases, each timed alternately (forward, extraction, forward, ...) so that background
load hits both alike; the medians of wall time and of process CPU time, and their ratios,
are printed. On a shared machine the CPU time of a single-threaded run (``--threads 1``)
is the steadier measure of the work extraction adds; wall time is what a user waits.

- ``resnet50``: random weights, 512 random 224×224 images, layers
  ``logit, avgpool, stage4.block3.conv3`` (2,048 × 7 × 7 values per image);
- ``zoo resnet``: the zoo ResNet (random weights) on the 540 digits test images, layers
  ``logit, avgpool, stage4.block2.conv2``.

Extraction includes the DataLoader, hooks, copies, compression (``auto`` by default, as
the workflow: lzf + shuffle only for the layers where it pays) and the atomic HDF5 write. Target: extraction adds at most 15% to the forward
time. Run: ``.venv/bin/python benchmarks/extract_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from kstarlab.latents.datasets import ImageData, TensorImages, load_digits
from kstarlab.latents.extraction import extract
from kstarlab.models import load_model

TARGET = 1.15


def forward_seconds(model, images: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """Wall and CPU seconds of plain forward passes over ``images`` in batches."""
    start, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for lo in range(0, images.shape[0], batch_size):
            model.module(images[lo : lo + batch_size])
    return time.perf_counter() - start, time.process_time() - cpu


def extract_seconds(model, data, layers, batch_size, folder: Path, compression):
    """Wall and CPU seconds of a full extraction (the file is deleted afterwards)."""
    out = folder / "bench.h5"
    start, cpu = time.perf_counter(), time.process_time()
    extract(model, data, layers, out, batch_size=batch_size, compression=compression)
    seconds = time.perf_counter() - start, time.process_time() - cpu
    out.unlink()
    return seconds


def run_case(name, model, data, layers, batch_size, repeats, compression) -> dict:
    images = data.dataset.images
    forward, extraction = [], []
    with tempfile.TemporaryDirectory() as tmp:
        forward_seconds(model, images[:batch_size], batch_size)  # warm-up
        for _ in range(repeats):
            forward.append(forward_seconds(model, images, batch_size))
            extraction.append(
                extract_seconds(model, data, layers, batch_size, Path(tmp), compression)
            )
            print(
                f"  {name}: forward {forward[-1][0]:.2f} s (cpu {forward[-1][1]:.2f}), "
                f"extraction {extraction[-1][0]:.2f} s (cpu {extraction[-1][1]:.2f})"
            )
            sys.stdout.flush()
    f, e = (statistics.median(t[0] for t in forward), statistics.median(t[0] for t in extraction))
    fc, ec = (statistics.median(t[1] for t in forward), statistics.median(t[1] for t in extraction))
    return {
        "case": name,
        "images": int(images.shape[0]),
        "layers": layers,
        "batch_size": batch_size,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "forward_median_s": f,
        "extract_median_s": e,
        "ratio": e / f,
        "forward_median_cpu_s": fc,
        "extract_median_cpu_s": ec,
        "cpu_ratio": ec / fc,
        "verdict": "PASS" if e / f <= TARGET else "MISS",
        "cpu_verdict": "PASS" if ec / fc <= TARGET else "MISS",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=512, help="resnet50 images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--compression", default="auto", choices=("auto", "gzip", "lzf", "none"))
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--cases", default="resnet50,zoo", help="comma-separated: resnet50, zoo (both by default)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    generator = torch.Generator().manual_seed(0)
    images = torch.rand(args.images, 3, 224, 224, generator=generator)
    labels = torch.randint(0, 1000, (args.images,), generator=generator).tolist()
    random_set = ImageData("random", TensorImages(images, labels), [str(i) for i in range(1000)])
    cases = set(args.cases.split(","))
    if not cases <= {"resnet50", "zoo"}:
        parser.error(f"--cases: unknown case in {args.cases!r}; use resnet50, zoo")
    rows = []
    if "resnet50" in cases:
        rows.append(
            run_case(
                "resnet50",
                load_model("resnet50"),
                random_set,
                ["logit", "avgpool", "stage4.block3.conv3"],
                args.batch_size,
                args.repeats,
                args.compression,
            )
        )
    if "zoo" in cases:
        rows.append(
            run_case(
                "zoo resnet (digits)",
                load_model("resnet"),
                load_digits("test"),
                ["logit", "avgpool", "stage4.block2.conv2"],
                args.batch_size,
                max(args.repeats, 7),
                args.compression,
            )
        )
    print()
    print("medians; target: extraction / forward ≤ 1.15")
    print(
        f"{'case':<22}{'images':>7}{'forward s':>11}{'extract s':>11}{'ratio':>8}"
        f"{'fwd cpu s':>11}{'ext cpu s':>11}{'cpu ratio':>10}"
    )
    for r in rows:
        print(
            f"{r['case']:<22}{r['images']:>7}{r['forward_median_s']:>11.2f}"
            f"{r['extract_median_s']:>11.2f}{r['ratio']:>8.3f}"
            f"{r['forward_median_cpu_s']:>11.2f}{r['extract_median_cpu_s']:>11.2f}"
            f"{r['cpu_ratio']:>10.3f}  wall {r['verdict']}, cpu {r['cpu_verdict']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
