"""Pruned checkpoints: writing ours, and reading the forms users bring (`PRUNED_FORMS`).

- ``plain``: a state dict whose pruned weights are zeros (what `save_pruned` writes, as
  ``{"state_dict", "kstarlab": metadata}`` like the zoo's checkpoints);
- ``torch-prune``: ``torch.nn.utils.prune``'s pairs, ``<layer>.weight_orig`` and
  ``<layer>.weight_mask``; the weight is their product;
- ``edge-popup``: ``<layer>.weight`` frozen weights and ``<layer>.scores``; the weight is
  ``weight ⊙ mask`` with the mask keeping the top (1 − s) of |scores| in each layer
  (``round(s · n)`` zeros), so the sparsity must be given.

Files are read tensors-only (`kstarlab.models.checkpoints.read_checkpoint`). A model whose
measured sparsity of conv and linear weights differs from the declared one by more than
one weight per layer is refused in one line naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from kstarlab.errors import InputError
from kstarlab.io import atomic_write
from kstarlab.models.checkpoints import (
    apply_state_dict,
    extract_state_dict,
    file_sha256,
    read_checkpoint,
)
from kstarlab.models.zoo import build_zoo_model
from kstarlab.names import PRUNED_FORMS
from kstarlab.paths import checkpoint_record
from kstarlab.pruning.approaches import PrunedResult, check_arch
from kstarlab.pruning.masks import check_sparsity, layer_masks, prunable_parameters

#: Metadata that varies between identical runs, kept out of the checkpoint's bytes.
TIMING_KEYS = ("train_seconds", "dense_seconds")


def save_pruned(result: PrunedResult, out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write the pruned model at ``out`` (plain state dict with zeros and the metadata
    without timings) and its JSON record beside it, each atomically."""
    out = Path(out)
    stable = {k: v for k, v in result.metadata.items() if k not in TIMING_KEYS}
    # A file object, not a name: torch.save would put the temporary name inside.
    with atomic_write(out, "wb") as fh:
        torch.save({"state_dict": result.model.state_dict(), "kstarlab": stable}, fh)
    record = {**result.metadata, "checkpoint": out.name, "checkpoint_sha256": file_sha256(out)}
    meta_path = Path(checkpoint_record(out))
    with atomic_write(meta_path) as fh:
        json.dump(record, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return out, meta_path


def load_pruned(
    arch_or_model: str | nn.Module,
    path: str | os.PathLike[str],
    *,
    form: str = "plain",
    sparsity: float,
    num_classes: int = 10,
) -> nn.Module:
    """The pruned checkpoint at ``path`` in ``form``, loaded into ``arch_or_model`` (a zoo
    architecture's name, or a network of the checkpoint's architecture), in eval mode."""
    if form not in PRUNED_FORMS:
        raise InputError(
            f"unknown pruned checkpoint form {form!r}; available: {', '.join(PRUNED_FORMS)}"
        )
    sparsity = check_sparsity(sparsity)
    if isinstance(arch_or_model, str):
        net = build_zoo_model(check_arch(arch_or_model), num_classes=num_classes)
    else:
        net = arch_or_model
    source = str(path)
    state = extract_state_dict(read_checkpoint(path), source)
    if form == "torch-prune":
        state = _merge_prune_pairs(state, source)
    elif form == "edge-popup":
        state = _apply_scores(state, sparsity, source)
    apply_state_dict(net, state, source)
    check_declared_sparsity(net, sparsity, source)
    return net.eval()


def check_declared_sparsity(net: nn.Module, sparsity: float, source: str) -> None:
    """Refuse ``net`` if its zeros differ from ``s · N`` by more than one per layer."""
    params = prunable_parameters(net)
    zeros = sum(int((m.weight == 0).sum()) for m, _ in params)
    total = sum(m.weight.numel() for m, _ in params)
    if abs(zeros - sparsity * total) > len(params):
        raise InputError(
            f"{source}: measured sparsity {zeros / total:.4f} of its conv and linear weights "
            f"does not match the declared {sparsity:.4f}"
        )


def _merge_prune_pairs(state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    merged = {}
    pairs = 0
    for key, value in state.items():
        if key.endswith("_mask"):
            if key[: -len("_mask")] + "_orig" not in state:
                raise InputError(f"{source}: {key} has no matching _orig entry")
            continue
        if key.endswith("_orig"):
            base = key[: -len("_orig")]
            mask = state.get(base + "_mask")
            if mask is None:
                raise InputError(f"{source}: {key} has no matching _mask entry")
            if not bool(((mask == 0) | (mask == 1)).all()):
                raise InputError(f"{source}: {base}_mask holds values other than 0 and 1")
            merged[base] = value * mask.to(value.dtype)
            pairs += 1
        else:
            merged[key] = value
    if not pairs:
        raise InputError(f"{source}: no weight_orig/weight_mask pairs (form torch-prune)")
    return merged


def _apply_scores(
    state: dict[str, torch.Tensor], sparsity: float, source: str
) -> dict[str, torch.Tensor]:
    scores = {k[: -len(".scores")]: v for k, v in state.items() if k.endswith(".scores")}
    if not scores:
        raise InputError(f"{source}: no '<layer>.scores' entries (form edge-popup)")
    masks = layer_masks(scores, sparsity)
    merged = {k: v for k, v in state.items() if not k.endswith(".scores")}
    for layer, mask in masks.items():
        weight = merged.get(f"{layer}.weight")
        if weight is None or weight.shape != mask.shape:
            raise InputError(f"{source}: {layer}.scores has no weight of the same shape")
        merged[f"{layer}.weight"] = weight * mask.to(weight.dtype)
    return merged
