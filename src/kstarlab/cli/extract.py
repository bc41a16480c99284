"""``kstarlab extract``: a model's layers on a dataset, under a transform, into one HDF5.

torch-heavy modules are imported inside `run`, so other subcommands start fast.
"""

from __future__ import annotations

import argparse
import sys

from kstarlab.cli.options import (
    add_model_options,
    comma_list,
    model_from_args,
    positive_int,
    set_threads,
    terminate_as_interrupt,
)
from kstarlab.errors import InputError
from kstarlab.latents.digits import SPLITS
from kstarlab.names import DATASETS

COMPRESSIONS = ("auto", "gzip", "lzf", "none")


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "extract",
        parents=[parent],
        help="extract a model's layers on a dataset into HDF5",
        description="Run MODEL over a dataset (after a transform) and write labels, "
        "predictions, logits and the requested layers to one HDF5 file, atomically.",
    )
    data = cmd.add_argument_group("dataset")
    data.add_argument("--dataset", required=True, choices=DATASETS)
    data.add_argument("--root", help="imagefolder: the folder; embeddings: the .npz or .h5 file")
    data.add_argument("--split", default="test", choices=SPLITS, help="digits split (test)")
    data.add_argument("--split-seed", type=int, default=0, help="digits split seed (0)")
    data.add_argument("--resize", type=positive_int, default=256, help="imagefolder resize (256)")
    data.add_argument("--crop", type=positive_int, default=224, help="imagefolder crop (224)")
    data.add_argument(
        "--class-map",
        help="JSON {folder: output indices}, or 'imagenet16' (16-class-ImageNet groups)",
    )
    model = cmd.add_argument_group("model")
    model.add_argument("--model", help="zoo or torchvision arch, config entry or kstarlab .pt")
    add_model_options(model)
    out = cmd.add_argument_group("output")
    out.add_argument("--transform", default="clean", help="transform string (clean)")
    out.add_argument(
        "--layers",
        type=comma_list,
        default=None,
        help="comma-separated layer names, e.g. logit,avgpool (see kstarlab layers MODEL)",
    )
    out.add_argument("--out", required=True, metavar="OUT.h5", help="output HDF5 file")
    out.add_argument("--batch-size", type=positive_int, default=128)
    out.add_argument("--float16", action="store_true", help="store latents as float16")
    out.add_argument(
        "--pool",
        type=comma_list,
        default=[],
        help="layers to average over space or tokens (opt-in: by default every layer is "
        "flattened, as the k* paper does)",
    )
    out.add_argument(
        "--pool-above", type=positive_int, help="also average conv layers with more features"
    )
    out.add_argument(
        "--compression",
        default="auto",
        choices=COMPRESSIONS,
        help="auto (default: lzf per layer where it saves a quarter of the bytes), lzf, gzip, none",
    )
    out.add_argument("--workers", type=int, default=0, help="image-decoding worker processes")
    out.add_argument("--seed", type=int, default=0, help="seed of random init and transforms")
    out.add_argument("--threads", type=positive_int, help="torch threads (default: torch's)")
    out.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (cpu)")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kstarlab.latents.datasets import load_dataset
    from kstarlab.latents.extraction import extract

    set_threads(args.threads)
    with terminate_as_interrupt() as terminated:
        if args.dataset == "embeddings":
            return _embeddings(args)
        if not args.model:
            raise InputError("--model is required for image datasets")
        if not args.layers:
            raise InputError("--layers is required, e.g. --layers logit,avgpool")
        data = load_dataset(
            args.dataset,
            root=args.root,
            split=args.split,
            seed=args.split_seed,
            resize=args.resize,
            crop=args.crop,
            class_map=args.class_map,
        )
        model = model_from_args(args, seed=args.seed)
        result = extract(
            model,
            data,
            args.layers,
            args.out,
            transform=args.transform,
            batch_size=args.batch_size,
            float16=args.float16,
            pool=args.pool,
            pool_above=args.pool_above,
            compression=args.compression,
            num_workers=args.workers,
            seed=args.seed,
            progress=args.progress,
            stop=terminated.is_set,
            device=args.device,
        )
    shapes = ", ".join(f"{k} {list(v)}" for k, v in result.layer_shapes.items())
    print(
        f"{model.name}/{args.transform} on {data.name}: {result.n_samples} images, accuracy "
        f"{result.accuracy:.4f}, {result.images_per_second:.0f} images/s; layers {shapes} "
        f"→ {result.path}"
    )
    sys.stdout.flush()
    return 0


def _embeddings(args: argparse.Namespace) -> int:
    from kstarlab.latents.extraction import write_embeddings

    if not args.root:
        raise InputError("dataset 'embeddings' needs --root FILE (.npz or .h5 with X and y)")
    if args.model:
        raise InputError("dataset 'embeddings' holds latents already: drop --model")
    if args.transform != "clean":
        raise InputError("dataset 'embeddings' takes no transform (only clean)")
    layers = args.layers or ["embedding"]
    if len(layers) != 1:
        raise InputError("dataset 'embeddings' has one layer: give at most one --layers name")
    path = write_embeddings(
        args.root, args.out, layer=layers[0], float16=args.float16, compression=args.compression
    )
    print(f"embeddings {args.root} → {path} [{layers[0]}]")
    return 0
