"""``kstarlab layers MODEL``: the layer names a model offers (aliases and raw names)."""

from __future__ import annotations

import argparse

from kstarlab.cli.options import add_model_options, model_from_args


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "layers",
        parents=[parent],
        help="list the layer names a model offers",
        description="List a model's layer aliases (the paper's names), its module names and "
        "its torchvision graph-node names. Random weights are used unless --weights is given.",
    )
    cmd.add_argument("model", metavar="MODEL", help="zoo or torchvision arch, config entry or .pt")
    add_model_options(cmd)
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kstarlab.latents.layers import layer_aliases, module_names, node_names

    model = model_from_args(args)
    net = model.net
    print(f"{model.name} ({model.source} {model.arch}, {model.num_classes} outputs)")
    print("aliases:")
    for name, ref in layer_aliases(net).items():
        where = {"logit": "model output", "input": f"input of {ref.target}"}.get(
            ref.kind, ref.target
        )
        print(f"  {name:<28} {where}")
    print("modules (forward hooks):")
    for name in module_names(net):
        print(f"  {name}")
    nodes, reason = node_names(net)
    if nodes is None:
        print(f"graph nodes: unavailable, FX tracing failed ({reason})")
    else:
        print("graph nodes (torchvision.models.feature_extraction):")
        for name in nodes:
            print(f"  {name}")
    return 0
