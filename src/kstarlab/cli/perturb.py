"""``kstarlab perturb``: preview what a transform does to a few images of a dataset."""

from __future__ import annotations

import argparse

from kstarlab.cli.options import positive_int
from kstarlab.errors import InputError
from kstarlab.perturb.spec import GRAMMAR


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "perturb",
        parents=[parent],
        help="preview a perturbation (crop, rot, noise, style, pgd, corrupt) on a dataset",
        description=f"Write a grid of clean and perturbed images. Transforms: {GRAMMAR}.",
    )
    cmd.add_argument("--transform", required=True, metavar="T", help="transform string")
    cmd.add_argument("--dataset", default="digits", help="digits (default) or imagefolder")
    cmd.add_argument("--root", help="dataset root folder (imagefolder)")
    cmd.add_argument("--split", default="test", help="digits split: train, test or all")
    cmd.add_argument("--resize", type=positive_int, default=256, help="imagefolder resize (256)")
    cmd.add_argument("--crop", type=positive_int, default=224, help="imagefolder crop (224)")
    cmd.add_argument(
        "--class-map",
        help="imagefolder: JSON {folder: output indices}, or 'imagenet16'; PGD then attacks "
        "the true category and predictions are categories",
    )
    cmd.add_argument("--preview", required=True, metavar="OUT.png", help="grid image to write")
    cmd.add_argument("--n", type=int, default=8, help="number of images (default 8)")
    cmd.add_argument("--seed", type=int, default=0, help="global seed (default 0)")
    cmd.add_argument(
        "--model",
        help="model for pgd (and for predictions): a checkpoint from kstarlab train, "
        "a zoo arch or a torchvision name",
    )
    cmd.add_argument("--weights", help="weights file for --model")
    cmd.add_argument("--num-classes", type=positive_int, help="number of --model outputs")
    cmd.add_argument("--trusted", action="store_true", help="allow unpickling --weights")
    cmd.add_argument("--config", help="YAML file with a 'perturb:' mapping of settings")
    cmd.add_argument("--pgd-steps", type=int, help="PGD steps (default 10)")
    cmd.add_argument("--pgd-rel-stepsize", type=float, help="PGD step / eps (default 0.25)")
    cmd.add_argument(
        "--pgd-random-start",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="PGD random start (default on)",
    )
    cmd.add_argument("--adain-encoder", help="AdaIN encoder weights (vgg_normalised.pth)")
    cmd.add_argument("--adain-decoder", help="AdaIN decoder weights (decoder.pth)")
    cmd.add_argument("--adain-styles", help="folder of style images for AdaIN")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kstarlab.perturb.preview import preview_transform, read_perturb_config

    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    if args.seed < 0:
        raise InputError(f"--seed must be non-negative, got {args.seed}")
    settings = read_perturb_config(args.config)
    overrides = {
        "pgd_steps": args.pgd_steps,
        "pgd_rel_stepsize": args.pgd_rel_stepsize,
        "pgd_random_start": args.pgd_random_start,
        "adain_encoder": args.adain_encoder,
        "adain_decoder": args.adain_decoder,
        "adain_styles": args.adain_styles,
    }
    settings.update({k: v for k, v in overrides.items() if v is not None})
    result = preview_transform(
        args.transform,
        args.preview,
        dataset=args.dataset,
        root=args.root,
        split=args.split,
        resize=args.resize,
        crop=args.crop,
        class_map=args.class_map,
        n=args.n,
        seed=args.seed,
        model=args.model,
        weights=args.weights,
        num_classes=args.num_classes,
        trusted=args.trusted,
        settings=settings,
        source=args.config or "options",
    )
    line = f"{result.transform}: wrote {args.preview} ({result.n} {result.dataset} images"
    line += f", seed {args.seed})"
    if result.clean_accuracy is not None and result.accuracy is not None:
        line += f"; accuracy {result.clean_accuracy:.3f} clean, {result.accuracy:.3f} perturbed"
    if result.attack_success_rate is not None:
        line += f"; attack success rate {result.attack_success_rate:.3f}"
    print(line)
    return 0
