"""Benchmark of the perturbations: their cost against the model they feed, on digits.

For one zoo model (random weights: timing does not depend on them) on the digits test split
(540 images, 32×32), in batches of ``--batch`` images:

- ``forward``  plain ``model(x)`` over every batch (inference mode);
- ``extract``  a clean ``kstarlab.latents.extraction.extract`` to HDF5 (layers ``logit`` and
               ``avgpool``), when the extraction module is installed;
- each transform family applied to every batch (``Perturbation.__call__``), reported per
  image and as a percentage of the forward pass and of the clean extraction: the
  perturbations' target is < 20% of a clean extraction (PGD excepted);
- PGD on the first ``--pgd-images`` images: gradient steps per second (images × steps /
  time) against forward passes per second;
- real AdaIN (random weights saved in the released layout: the cost does not depend on
  them) on the first 64 images, for reference; ``style-fda-*`` is the weight-free default;

Rounds are interleaved (every method once per round) so that load from other processes
hits them alike; the table reports the median over rounds.

Usage::

    .venv/bin/python benchmarks/perturb_bench.py                 # resnet, 3 rounds
    .venv/bin/python benchmarks/perturb_bench.py --model mlp --rounds 5
    .venv/bin/python benchmarks/perturb_bench.py --rounds 5 --threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from kstarlab.latents.datasets import load_digits
from kstarlab.models import load_model
from kstarlab.perturb import CORRUPTIONS, parse_transform

TRANSFORMS = [
    "crop-14",
    "rot-30",
    "noise-0.1",
    "style-fda-china",
    "style-fda-random",
    *[f"corrupt-{name}-3" for name in CORRUPTIONS],
]


def batches(images: torch.Tensor, labels: torch.Tensor, size: int):
    for start in range(0, images.shape[0], size):
        rows = torch.arange(start, min(start + size, images.shape[0]))
        yield images[rows], labels[rows], rows


def time_forward(model, images, labels, batch: int) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        for x, _, _ in batches(images, labels, batch):
            model(x)
    return time.perf_counter() - start


def time_transform(transform, model, images, labels, batch: int) -> float:
    start = time.perf_counter()
    for x, y, rows in batches(images, labels, batch):
        if transform.needs_grad:
            transform(x, labels=y, indices=rows, model=model)
        else:
            with torch.no_grad():
                transform(x, labels=y, indices=rows, model=model)
    return time.perf_counter() - start


def time_extract(loaded, data, batch: int, transform, folder: Path) -> float | None:
    try:
        from kstarlab.latents.extraction import extract
    except ImportError:
        return None
    out = folder / "bench.h5"
    start = time.perf_counter()
    extract(loaded, data, ["logit", "avgpool"], out, transform=transform, batch_size=batch)
    seconds = time.perf_counter() - start
    out.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet", help="zoo architecture (resnet, vit, mlp)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pgd-steps", type=int, default=10)
    parser.add_argument("--pgd-images", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_digits(split="test")
    images, labels = data.dataset.images, torch.as_tensor(data.labels)
    n = images.shape[0]
    loaded = load_model(args.model, seed=0)
    model = loaded.module.eval()
    transforms = {name: parse_transform(name, seed=0) for name in TRANSFORMS}
    pgd = parse_transform("pgd-8", config={"pgd_steps": args.pgd_steps})
    # warm-up: first calls pay for imports, numba compilation and file loading
    for transform in transforms.values():
        time_transform(transform, model, images[:8], labels[:8], args.batch)
    time_forward(model, images, labels, args.batch)
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        time_extract(loaded, data, args.batch, "clean", folder)
        for _ in range(args.rounds):
            times.setdefault("forward", []).append(time_forward(model, images, labels, args.batch))
            clean = time_extract(loaded, data, args.batch, "clean", folder)
            if clean is not None:
                times.setdefault("extract", []).append(clean)
            for name, transform in transforms.items():
                times.setdefault(name, []).append(
                    time_transform(transform, model, images, labels, args.batch)
                )
        m = args.pgd_images
        times["pgd"] = [time_transform(pgd, model, images[:m], labels[:m], args.batch)]
        adain_s = time_adain(folder, model, images[:64], labels[:64], args.batch)
    med = {k: statistics.median(v) for k, v in times.items()}
    forward, extract_s = med["forward"], med.get("extract")
    print(
        f"model {args.model} ({sum(p.numel() for p in model.parameters()):,} parameters), "
        f"digits test split: {n} images 32×32, batch {args.batch}, "
        f"{torch.get_num_threads()} torch threads, {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}; median of {args.rounds} rounds; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print()
    print(f"- plain forward: {forward:.3f} s ({1e3 * forward / n:.3f} ms/image)")
    if extract_s is not None:
        print(f"- clean extraction (logit, avgpool → HDF5): {extract_s:.3f} s")
    print()
    head = "| transform | ms / image | % of forward | % of clean extraction | < 20%? |"
    rule = "|---|---:|---:|---:|:-:|"
    print(head)
    print(rule)
    for name in TRANSFORMS:
        t = med[name]
        share = 100 * t / extract_s if extract_s else float("nan")
        ok = "yes" if share < 20 else "no"
        row = f"| `{name}` | {1e3 * t / n:.3f} | {100 * t / forward:.0f}% | {share:.0f}% | {ok} |"
        print(row)
    steps = args.pgd_steps
    pgd_s = med["pgd"]
    per_step = pgd_s / (m * steps)
    print()
    print(
        f"- PGD (`pgd-8`, {steps} steps, kstarlab linf_pgd, chunks of 32) on {m} images: "
        f"{pgd_s:.2f} s = {m * steps / pgd_s:,.0f} gradient steps/s against "
        f"{n / forward:,.0f} forward passes/s; one gradient step costs "
        f"{per_step / (forward / n):.1f} forward passes, so a {steps}-step PGD extraction "
        f"costs about {steps * per_step / (forward / n):.0f}× a forward pass."
    )
    print(
        f"- real AdaIN (`style-adain`, VGG-19 to relu4_1 + decoder, one sample at a time): "
        f"{1e3 * adain_s / 64:.1f} ms/image ({100 * adain_s / 64 / (forward / n):.0f}% of "
        "the forward pass)."
    )


def time_adain(folder: Path, model, images, labels, batch: int) -> float:
    import numpy as np
    from PIL import Image

    from kstarlab.perturb.style import adain_decoder, vgg_normalised

    torch.manual_seed(0)
    torch.save(vgg_normalised().state_dict(), folder / "vgg_normalised.pth")
    torch.save(adain_decoder().state_dict(), folder / "decoder.pth")
    styles = folder / "styles"
    styles.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(4):
        Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(styles / f"{k}.png")
    config = {
        "adain_encoder": str(folder / "vgg_normalised.pth"),
        "adain_decoder": str(folder / "decoder.pth"),
        "adain_styles": str(styles),
    }
    transform = parse_transform("style-adain", config=config)
    time_transform(transform, model, images[:4], labels[:4], batch)  # style statistics cached
    return time_transform(transform, model, images, labels, batch)


if __name__ == "__main__":
    main()
