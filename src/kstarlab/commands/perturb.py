"""``kstarlab perturb``: preview what a transform does to a few images of a dataset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from kstarlab.commands._options import positive_int
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


def read_perturb_config(path: str | None) -> dict[str, Any]:
    """The ``perturb:`` mapping of a YAML config (safe loader); empty without a file."""
    if path is None:
        return {}
    import yaml

    file = Path(path)
    if not file.is_file():
        raise InputError(f"config file not found: {file}")
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"config {file} is not valid YAML: {' '.join(str(exc).split())}") from None
    section = data.get("perturb") if isinstance(data, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise InputError(f"config {file}: 'perturb' must be a mapping")
    return dict(section)


def run(args: argparse.Namespace) -> int:
    from kstarlab.data import load_dataset
    from kstarlab.perturb import PerturbConfig, parse_transform
    from kstarlab.perturb.preview import save_preview
    from kstarlab.transforms import bind_transform

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
    config = PerturbConfig.from_dict(settings, args.config or "options")
    transform = parse_transform(args.transform, seed=args.seed, config=config)
    if transform.needs_grad and not args.model:
        raise InputError(
            f"transform {transform.name} needs --model (a checkpoint from kstarlab train, "
            "a zoo arch or a torchvision name)"
        )
    data = load_dataset(
        args.dataset,
        root=args.root,
        split=args.split,
        seed=0,
        resize=args.resize,
        crop=args.crop,
        class_map=args.class_map,
    )
    n = min(args.n, len(data))
    samples = [data.dataset[i] for i in range(n)]
    images = torch.stack([image for image, _ in samples])
    labels = torch.tensor([label for _, label in samples], dtype=torch.long)
    indices = torch.arange(n)
    model = None
    if args.model:
        from kstarlab.classmap import decision_model
        from kstarlab.models import load_model

        loaded = load_model(
            args.model, weights=args.weights, trusted=args.trusted, num_classes=args.num_classes
        )
        # The dataset's decision: with a class map, outputs are categories (kstarlab.classmap).
        model = decision_model(loaded.module, data.output_groups, f"class map {args.class_map}")
    _, bound = bind_transform(transform, data)
    if bound is not data:  # done while loading: a crop of an image folder's raw images
        perturbed, info = torch.stack([bound.dataset[i][0] for i in range(n)]), {}
    elif transform.needs_grad:
        perturbed, info = transform.apply(images, labels=labels, indices=indices, model=model)
    else:
        with torch.no_grad():
            perturbed, info = transform.apply(images, labels=labels, indices=indices, model=model)
    perturbed = perturbed.detach()
    clean_pred = pred = None
    if model is not None:
        with torch.no_grad():
            clean_pred = model(images).argmax(dim=1)
            pred = model(perturbed).argmax(dim=1)
    title = transform.name
    if transform.spec.family == "style-fda":
        title += " (Fourier proxy, not AdaIN)"
    if bound is not data:
        title += " (of the raw image)"
    save_preview(
        images,
        perturbed,
        args.preview,
        title=title,
        labels=labels.tolist(),
        clean_predictions=None if clean_pred is None else clean_pred.tolist(),
        predictions=None if pred is None else pred.tolist(),
        class_names=data.class_names,
    )
    line = f"{transform.name}: wrote {args.preview} ({n} {data.name} images, seed {args.seed})"
    if clean_pred is not None and pred is not None:
        clean_acc = float((clean_pred == labels).float().mean())
        acc = float((pred == labels).float().mean())
        line += f"; accuracy {clean_acc:.3f} clean, {acc:.3f} perturbed"
    if "attack_success_rate" in info:
        line += f"; attack success rate {info['attack_success_rate']:.3f}"
    print(line)
    return 0
