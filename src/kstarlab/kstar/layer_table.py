"""Layer and architecture names known without building a model.

The workflow checks a config before any job runs, and that check must not import torch
(every Snakemake start, and every cluster job's, would pay for it). So the layer names of
the zoo and of the paper's torchvision architectures (aliases, module names and FX graph
node names, exactly what `kstarlab.latents.layers.resolve_layers` accepts) and the list of
torchvision classification models are shipped as ``resources/layer_names.json``.
``tests/unit/test_layers.py`` rebuilds the table from the pinned torchvision and checks that it
equals the shipped file; ``python -m kstarlab.kstar.layer_table`` rewrites it.

Other torchvision architectures are not tabled: their layer names are checked when the
extraction job builds the model.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from kstarlab.names import ZOO_ARCHS

TABLE = "layer_names.json"
PAPER_ARCHS = ("resnet50", "resnext101_32x8d", "wide_resnet50_2", "efficientnet_b0", "vit_b_16")


@functools.cache
def _table() -> dict[str, Any]:
    return json.loads(resources.files("kstarlab.resources").joinpath(TABLE).read_text())


def torchvision_archs() -> frozenset[str]:
    """Every torchvision classification model name (of the pinned torchvision)."""
    return frozenset(_table()["torchvision"])


def layer_names(arch: str) -> frozenset[str] | None:
    """Every layer name ``arch`` accepts, or ``None`` when the architecture is not tabled."""
    entry = _table()["layers"].get(arch)
    return None if entry is None else frozenset(entry["aliases"] + entry["names"])


def layer_aliases(arch: str) -> list[str]:
    """The paper-style aliases of a tabled ``arch``, in network order (for messages)."""
    return list(_table()["layers"][arch]["aliases"])


def build_table() -> dict[str, Any]:
    """The table, computed from the installed torch and torchvision (slow: builds models)."""
    from kstarlab.latents.layers import layer_aliases as aliases_of
    from kstarlab.latents.layers import module_names, node_names
    from kstarlab.models.pretrained import build_torchvision, torchvision_names
    from kstarlab.models.zoo import build_zoo_model

    layers = {}
    for arch in (*ZOO_ARCHS, *PAPER_ARCHS):
        net = build_zoo_model(arch) if arch in ZOO_ARCHS else build_torchvision(arch)
        aliases = list(aliases_of(net))
        nodes, _ = node_names(net)
        raw = set(module_names(net)) | set(nodes or ())
        layers[arch] = {"aliases": aliases, "names": sorted(raw - set(aliases))}
    return {"torchvision": sorted(torchvision_names()), "layers": layers}


def main() -> None:
    """Rewrite the shipped table from the installed torchvision."""
    from kstarlab.io import atomic_write

    path = resources.files("kstarlab.resources").joinpath(TABLE)
    with atomic_write(str(path), "w") as fh:
        json.dump(build_table(), fh, indent=0, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
