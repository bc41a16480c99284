"""The geometric analysis of one model and across models: what the workflow runs.

Per model (`analyse_model`): features of the clean samples, of every corrupted benchmark
and of every pruned model; per-sample corruption and pruning robustness; pruned
accuracies. Across models (`summarise_models`): correlation tables, the poster's layout,
entity embeddings and the figures.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import torch
from torch import nn

from kstarlab.errors import InputError
from kstarlab.geometry.correlations import correlation_table, poster_table
from kstarlab.geometry.features import (
    GeometricFeatures,
    geometric_features,
    head_inputs,
    linear_head,
)
from kstarlab.geometry.robustness import (
    corruption_robustness,
    global_magnitude_prune,
    pruning_robustness,
    weight_sparsity,
)
from kstarlab.io import H5_SUFFIXES, atomic_path, open_latents, write_csv
from kstarlab.names import CLASS_MAP_GEOMETRY

FEATURE_NAMES = ("angle", "length", "margin")


def _features_of(
    latents: str | os.PathLike[str], layer: str, W, b, head: str
) -> tuple[GeometricFeatures, np.ndarray, np.ndarray]:
    with open_latents(latents, layer=layer) as data:
        x = np.asarray(data.X[()], dtype=np.float64)
        y = np.asarray(data.y)
        preds = None if data.predictions is None else np.asarray(data.predictions)
    feats = geometric_features(x, W, b, y, layer=layer, head=head)
    return feats, y, preds


def _refuse_class_map(latents: str | os.PathLike[str], model: str) -> None:
    """Stop on latents of a class-mapped dataset (see `CLASS_MAP_GEOMETRY`)."""
    if Path(latents).suffix.lower() not in H5_SUFFIXES:
        return  # bring-your-own .npz latents carry no class map
    with h5py.File(latents, "r") as h5:
        class_map = json.loads(str(h5.attrs.get("class_map", "null")))
        params = json.loads(str(h5.attrs.get("dataset_params", "{}")))
    if class_map is not None:
        dataset = params.get("root", latents)
        raise InputError(
            f"geometry of {model} on {dataset} (class map {params.get('class_map', '?')}): "
            f"{CLASS_MAP_GEOMETRY}"
        )


def _module(net: nn.Module, name: str) -> nn.Module:
    return net.get_submodule(name) if name else net


def analyse_model(
    model: Any,
    images: torch.Tensor,
    clean_latents: str | os.PathLike[str],
    corrupted: Mapping[str, str | os.PathLike[str]],
    layer: str,
    sparsities: Sequence[float],
    out_features: str | os.PathLike[str],
    out_samples: str | os.PathLike[str],
    out_pruning: str | os.PathLike[str],
    *,
    batch_size: int = 256,
) -> None:
    """Features, robustness and pruned accuracy of one model (a `LoadedModel`).

    ``images`` are the evaluated [0, 1] images in the latents' row order (pruned models
    are re-run on them); ``corrupted`` maps ``corrupt-*`` transforms to their latents.
    """
    if not corrupted:
        raise InputError("geometry needs at least one corruption (geometry.corruptions is empty)")
    net = model.net
    head_name, W, b = linear_head(net)
    clean, y, preds = _features_of(clean_latents, layer, W, b, head_name)
    _refuse_class_map(clean_latents, model.name)
    if preds is not None and np.mean(clean.predictions == preds) < 0.99:
        raise InputError(
            f"features of layer {layer!r} do not reproduce the model's predictions through "
            f"{head_name!r}: is {layer!r} the input of the classifier?"
        )
    entities: dict[str, GeometricFeatures] = {}
    corrupt_preds = []
    for transform, path in corrupted.items():
        feats, y_c, preds_c = _features_of(path, layer, W, b, head_name)
        if not np.array_equal(y_c, y):
            raise InputError(f"{path} holds other samples than {clean_latents}")
        entities[f"corrupt/{transform}"] = feats
        corrupt_preds.append(preds_c if preds_c is not None else feats.predictions)
    dense_preds = clean.predictions
    pruned_preds, accuracy_rows = [], []
    for sparsity in sparsities:
        pruned = global_magnitude_prune(model.module, float(sparsity))
        p_head = _module(pruned.net, head_name)
        x_p, pred_p = head_inputs(pruned, p_head, images, batch_size)
        W_p = p_head.weight.detach().double().numpy()
        b_p = (
            p_head.bias.detach().double().numpy() if p_head.bias is not None else np.zeros(len(W_p))
        )
        entities[f"pruned/{sparsity:g}"] = geometric_features(
            x_p, W_p, b_p, y, layer=layer, head=head_name
        )
        pruned_preds.append(pred_p)
        accuracy_rows.append(
            {
                "model": model.name,
                "sparsity": float(sparsity),
                "achieved_sparsity": weight_sparsity(pruned),
                "accuracy": float(np.mean(pred_p == y)),
            }
        )
    samples = clean.as_frame()
    samples.insert(0, "label", y)
    samples["corruption_robustness"] = corruption_robustness(np.vstack(corrupt_preds), y)
    prune = pruning_robustness(dense_preds, np.vstack(pruned_preds), y, sparsities)
    samples = pd.concat([samples, prune], axis=1)
    write_csv(samples, out_samples, index=False, float_format="%.17g")
    dense = {
        "model": model.name,
        "sparsity": 0.0,
        "achieved_sparsity": weight_sparsity(model.module),
        "accuracy": float(np.mean(dense_preds == y)),
    }
    write_csv(pd.DataFrame([dense, *accuracy_rows]), out_pruning, index=False, float_format="%.17g")
    with atomic_path(out_features) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["model"] = model.name
        h5.attrs["layer"] = layer
        h5.attrs["head"] = head_name
        h5.create_dataset("labels", data=y, track_times=False)
        for name, feats in [("clean", clean), *entities.items()]:
            group = h5.create_group(name, track_order=True)
            for key in (*FEATURE_NAMES, "angles_all", "predictions"):
                group.create_dataset(key, data=getattr(feats, key), track_times=False)


def read_entities(path: str | os.PathLike[str]) -> dict[str, dict[str, np.ndarray]]:
    """Every entity of a features file: ``clean``, ``corrupt/<t>``, ``pruned/<s>``."""
    out = {}
    with h5py.File(path, "r") as h5:

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Group) and "angle" in obj:
                out[name] = {k: obj[k][()] for k in (*FEATURE_NAMES, "predictions")}

        h5.visititems(visit)
    return out


def summarise_models(
    models: Sequence[str],
    samples: Sequence[str],
    pruning: Sequence[str],
    features: Sequence[str],
    outputs: Mapping[str, str],
    *,
    class_names: Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Correlations, poster tables, embeddings and figures across the models.

    Each figure (``outputs[*_fig]``, a ``.png`` path) is written as PNG and as PDF beside it.
    """
    from kstarlab.figures import save_figure
    from kstarlab.geometry import plots
    from kstarlab.geometry.embedding import (
        embed_entities,
        embedding_vectors,
        entity_distances,
        similarity_order,
    )
    from kstarlab.kstar.tables import to_markdown

    tables, margins, accuracy = [], {}, []
    for model, path in zip(models, samples, strict=True):
        frame = pd.read_csv(path)
        measures = {
            "corruption": frame["corruption_robustness"],
            "pruning": frame["prune_correct_fraction"],
        }
        tables.append(correlation_table(model, frame, measures))
        margins[model] = frame["margin"].to_numpy()
    correlations = pd.concat(tables, ignore_index=True)
    write_csv(correlations, outputs["correlations"], index=False, float_format="%.17g")
    with atomic_path(outputs["poster"]) as tmp:
        text = [
            "## Correlation with corruption robustness (Pearson r)\n",
            to_markdown(poster_table(correlations, "corruption")),
            "\n## Correlation with pruning robustness (Pearson r)\n",
            to_markdown(poster_table(correlations, "pruning")),
        ]
        Path(tmp).write_text("\n".join(text))
    for path in pruning:
        accuracy.append(pd.read_csv(path))
    save_figure(plots.accuracy_vs_sparsity(pd.concat(accuracy)), outputs["sparsity_fig"])
    save_figure(plots.margin_histograms(margins), outputs["margins_fig"])

    entities, groups, per_benchmark = {}, {}, {}
    first = pd.read_csv(samples[0])
    for model, path in zip(models, features, strict=True):
        for name, feats in read_entities(path).items():
            label = model if name == "clean" else f"{model} " + name.split("/", 1)[1]
            if name.startswith("pruned/"):
                label = f"{model} pruned " + name.split("/", 1)[1]
            entities[label] = feats
            groups[label] = name.split("/", 1)[0] if name != "clean" else "model"
            if name.startswith("corrupt/"):
                per_benchmark.setdefault(name.split("/", 1)[1], {})[model] = feats
    embedding = embed_entities(entities, seed=seed)
    save_figure(
        plots.embedding_map(
            embedding["coords"],
            embedding["tree"],
            groups,
            "models, corrupted benchmarks and pruned models",
        ),
        outputs["embedding_fig"],
    )
    write_csv(
        embedding["coords"].assign(kind=[groups[n] for n in embedding["coords"].index]),
        outputs["embedding"],
        float_format="%.17g",
    )
    bench_vectors = {
        bench: {k: np.concatenate([by_model[m][k] for m in models]) for k in FEATURE_NAMES}
        for bench, by_model in sorted(per_benchmark.items())
    }
    names, vectors = embedding_vectors(bench_vectors)
    dist = pd.DataFrame(entity_distances(vectors), index=names, columns=names)
    save_figure(
        plots.similarity_heatmap(
            dist,
            similarity_order(dist.to_numpy()),
            "corrupted benchmarks: distance of geometric features",
        ),
        outputs["heatmap_fig"],
    )
    frames = {model: pd.read_csv(path) for model, path in zip(models, samples, strict=True)}
    names = list(class_names) if class_names else [str(c) for c in sorted(first["label"].unique())]
    save_figure(plots.angle_length_panels(frames, names), outputs["scatter_fig"])
    return {"correlations": correlations}
