"""Extraction: run a model over a dataset and stream labels, predictions, logits and the
requested layers into one HDF5 file per (model, transform).

Layout (``SCHEMA_VERSION`` 1):

- ``/labels`` (N,) int64, ground truth; ``/predictions`` (N,) int64, in label space (a
  class map turns model outputs into labels: the class whose outputs have the highest mean
  softmax probability, `kstarlab.models.classmap`); ``/logits`` (N, C) float32, the raw model
  outputs. A transform that uses the model (PGD) is given the same decision, so with a
  class map it attacks the true category and its success is a wrong mapped prediction.
- ``/latents/<layer>`` (N, D) float32 (or float16), each sample flattened, chunked by rows
  (a power of two up to 1,024 rows, about 1 MiB) and compressed: ``lzf`` with byte shuffle
  by default (about 4× faster than gzip level 1, which saves ~7% more on dense float32
  activations; ``gzip`` is there for readers without h5py's lzf filter). Dataset attributes:
  ``original_shape``, ``pooling`` (``none``, ``spatial-mean`` or ``token-mean``),
  ``target`` (the real module or node) and ``kind``.
- File attributes: ``schema_version``, ``model``, ``arch``, ``model_source``, ``weights``,
  ``weights_sha256``, ``transform``, ``transform_params``, ``dataset``, ``dataset_params``,
  ``n_samples``, ``class_names``, ``num_outputs``, ``class_map``, ``layers``,
  ``layer_shapes``, ``layer_pooling``, ``dtype``, ``accuracy``, ``seed``, ``batch_size``,
  ``compression`` and the versions of torch, torchvision, h5py and kstarlab. Mappings are
  JSON strings. Nothing time-dependent is stored: the same inputs give the same bytes.

The file is written batch by batch (never held in memory) to a temporary file beside the
output and renamed into place at the end, so an interrupted run leaves nothing at ``out``.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from kstarlab.errors import InputError
from kstarlab.io import atomic_path
from kstarlab.latents.datasets import ImageData, TensorImages
from kstarlab.latents.layers import LayerCapture, resolve_layers
from kstarlab.latents.transforms import Transform, bind_transform, resolve_transform
from kstarlab.models.classmap import check_groups, decision_model, mapped_predict
from kstarlab.models.device import resolve_device
from kstarlab.models.registry import LoadedModel

SCHEMA_VERSION = 1
CHUNK_BYTES = 1 << 20
MAX_CHUNK_ROWS = 1024
COMPRESSIONS = ("auto", "gzip", "lzf", "none")
# "auto": lzf + shuffle where a trial on the first rows saves at least this share of the
# bytes, else no filter. Dense float activations (pre-ReLU convolutions, logits) shrink by
# about a fifth under lzf at nine times the cost of writing them raw; sparse post-ReLU
# features shrink far more. Measured in docs/benchmarks.md (Extraction).
AUTO_MIN_SAVING = 0.25
AUTO_TRIAL_BYTES = 1 << 16


@dataclass
class ExtractionResult:
    """What an extraction wrote."""

    path: Path
    n_samples: int
    accuracy: float
    layer_shapes: dict[str, tuple[int, ...]]
    seconds: float

    @property
    def images_per_second(self) -> float:
        return self.n_samples / self.seconds if self.seconds > 0 else float("inf")


def extract(
    model: LoadedModel,
    data: ImageData,
    layers: Sequence[str],
    out: str | os.PathLike[str],
    *,
    transform: str | Transform = "clean",
    batch_size: int = 128,
    float16: bool = False,
    pool: Sequence[str] = (),
    pool_above: int | None = None,
    compression: str = "auto",
    num_workers: int = 0,
    seed: int = 0,
    progress: bool = False,
    stop: Callable[[], bool] | None = None,
    device: str | torch.device = "cpu",
) -> ExtractionResult:
    """Extract ``layers`` of ``model`` on ``data`` (after ``transform``) into HDF5 at ``out``.

    A transform may move into the dataset's loading (`kstarlab.latents.transforms.bind_transform`):
    ``crop-<s>`` on an image folder crops each raw image to s×s and resizes it to the
    dataset's crop size, bypassing its resize and crop (the k* paper's Tables IX–X); the
    file's ``dataset_params`` then hold ``raw_crop`` and ``transform_params`` say
    ``"applied_to": "raw image"``. Layers are flattened per sample unless pooled:
    ``pool`` lists layers to average over space (conv) or tokens (ViT); ``pool_above``
    also averages every conv layer with more features than that. Layers are checked before
    any file is created. ``stop`` is polled after every batch; when it returns true the run
    ends with KeyboardInterrupt and leaves no file. ``device`` (e.g. ``"cuda"``) runs the
    model and the transforms there; random draws stay on the CPU, so the images, and so the
    file, do not depend on it beyond the device's floating-point rounding.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch size must be a positive integer, got {batch_size!r}")
    if compression not in COMPRESSIONS:
        raise InputError(f"unknown compression {compression!r}; available: {COMPRESSIONS}")
    n = len(data)
    if n == 0:
        raise InputError(f"dataset {data.name} is empty")
    dev = resolve_device(device)
    refs = resolve_layers(model.net, list(layers), model.name)
    tf = resolve_transform(transform, seed=seed)
    tf, data = bind_transform(tf, data)
    _check_input_size(model, data)
    capture = LayerCapture(
        model.module,
        refs,
        pool=pool,
        pool_above=pool_above,
        dtype=torch.float16 if float16 else torch.float32,
    )
    labels = np.empty(n, dtype=np.int64)
    predictions = np.empty(n, dtype=np.int64)
    out = Path(out)
    model.module.eval()
    if any(t.device != dev for t in (*model.module.parameters(), *model.module.buffers())):
        model.module.to(dev)
    # Transforms see the dataset's decision: with a class map, a model whose outputs are
    # the categories, so PGD attacks the true category (`kstarlab.models.classmap`).
    decision = decision_model(model.module, data.output_groups, _map_name(data))
    start = time.perf_counter()
    with (
        atomic_path(out) as tmp,
        h5py.File(tmp, "w", rdcc_nbytes=0) as h5,  # whole chunks are written through
        capture,
        tqdm(
            total=n,
            unit="img",
            desc=f"extract {model.name}/{tf.name}",
            disable=not progress,
            dynamic_ncols=True,
        ) as bar,
    ):
        writers: dict[str, _RowWriter] = {}
        row = 0
        for images, batch_labels in _batches(data, batch_size, num_workers):
            b = int(images.shape[0])
            indices = torch.arange(row, row + b)
            images = _apply(tf, images.to(dev), batch_labels.to(dev), indices, decision)
            with torch.inference_mode():
                logits, features = capture(images)
            logits = logits.cpu()
            features = {name: value.cpu() for name, value in features.items()}
            if not writers:
                _check_outputs(data, logits.shape[1])
                writers = _create_datasets(
                    h5, n, logits.shape[1], features, capture, compression, logits.float().numpy()
                )
            logits = logits.float()
            labels[row : row + b] = batch_labels.numpy()
            predictions[row : row + b] = mapped_predict(logits, data.output_groups).numpy()
            writers["/logits"].write(logits.numpy())
            for name, value in features.items():
                writers[name].write(value.numpy())
            row += b
            bar.update(b)
            if stop is not None and stop():
                raise KeyboardInterrupt
        if row != n:
            raise InputError(f"dataset {data.name} yielded {row} samples, expected {n}")
        if stop is not None and stop():
            raise KeyboardInterrupt
        for writer in writers.values():
            writer.close()
        h5.create_dataset("labels", data=labels, track_times=False)
        h5.create_dataset("predictions", data=predictions, track_times=False)
        accuracy = float(np.mean(predictions == labels))
        _write_attrs(h5, model, data, tf, refs, capture, accuracy, float16, seed, batch_size)
        h5.attrs["compression"] = compression
    seconds = time.perf_counter() - start
    shapes = {r.name: capture.shapes[r.name] for r in refs}
    return ExtractionResult(out, n, accuracy, shapes, seconds)


def _batches(data: ImageData, batch_size: int, num_workers: int):
    """Batches in dataset order: slices of in-memory images, else a DataLoader's batches.

    An error from a worker process keeps only its own message.
    """
    if isinstance(data.dataset, TensorImages):
        images, labels = data.dataset.images, torch.from_numpy(data.dataset.labels)
        for lo in range(0, len(data), batch_size):
            yield images[lo : lo + batch_size], labels[lo : lo + batch_size]
        return
    loader = DataLoader(data.dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    iterator = iter(loader)
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except InputError as exc:
            text = str(exc)
            if "Original Traceback" not in text:
                raise
            last = text.strip().splitlines()[-1]
            raise InputError(last.split("InputError: ", 1)[-1]) from None


def _apply(
    tf: Transform,
    images: torch.Tensor,
    labels: torch.Tensor,
    indices: torch.Tensor,
    decision: torch.nn.Module,
) -> torch.Tensor:
    if tf.needs_grad:
        with torch.enable_grad():
            result = tf(images, labels=labels, indices=indices, model=decision)
    else:
        with torch.no_grad():
            result = tf(images, labels=labels, indices=indices, model=decision)
    if not isinstance(result, torch.Tensor) or result.shape != images.shape:
        raise InputError(f"transform {tf.name!r} must return images of shape {tuple(images.shape)}")
    return result.detach()


def _check_input_size(model: LoadedModel, data: ImageData) -> None:
    size = model.fixed_input_size
    if size is None:
        return
    image, _ = data.dataset[0]
    if tuple(image.shape[-2:]) != (size, size):
        raise InputError(
            f"model {model.name} needs {size}×{size} images, dataset {data.name} gives "
            f"{image.shape[-2]}×{image.shape[-1]} (set the crop size to {size})"
        )


def _map_name(data: ImageData) -> str:
    return f"class map of dataset {data.name}"


def _check_outputs(data: ImageData, num_outputs: int) -> None:
    if data.output_groups is not None:
        check_groups(data.output_groups, num_outputs, _map_name(data))
    elif num_outputs != len(data.class_names):
        warnings.warn(
            f"the model has {num_outputs} outputs and dataset {data.name} "
            f"{len(data.class_names)} classes, without a class map: predictions are raw "
            "output indices",
            stacklevel=3,
        )


class _RowWriter:
    """Buffers rows and writes whole chunks, so compressed chunks are written once."""

    def __init__(self, dataset: h5py.Dataset) -> None:
        self.dataset = dataset
        self.rows = dataset.chunks[0]
        self.buffer = np.empty((self.rows, dataset.shape[1]), dtype=dataset.dtype)
        self.fill = 0
        self.position = 0

    def write(self, block: np.ndarray) -> None:
        done = 0
        while done < block.shape[0]:
            take = min(self.rows - self.fill, block.shape[0] - done)
            if self.fill == 0 and take == self.rows:  # a whole chunk: write it directly
                self._flush(block[done : done + take])
            else:
                self.buffer[self.fill : self.fill + take] = block[done : done + take]
                self.fill += take
                if self.fill == self.rows:
                    self._flush(self.buffer)
                    self.fill = 0
            done += take

    def close(self) -> None:
        if self.fill:
            self._flush(self.buffer[: self.fill])
            self.fill = 0

    def _flush(self, rows: np.ndarray) -> None:
        stop = self.position + rows.shape[0]
        self.dataset[self.position : stop] = rows
        self.position = stop


def chunk_rows(n: int, width: int, itemsize: int) -> int:
    """Rows per chunk: the largest power of two ≤ 1,024 keeping a chunk near 1 MiB."""
    rows = max(1, CHUNK_BYTES // max(1, width * itemsize))
    rows = 1 << (min(rows, MAX_CHUNK_ROWS).bit_length() - 1)
    return max(1, min(rows, n))


def lzf_pays(rows: np.ndarray) -> bool:
    """Whether lzf + shuffle saves at least `AUTO_MIN_SAVING` of the bytes of ``rows``
    (a trial on its first `AUTO_TRIAL_BYTES`, in an in-memory HDF5 file)."""
    rows = np.ascontiguousarray(rows)
    if rows.size == 0:
        return False
    take = max(1, AUTO_TRIAL_BYTES // max(1, rows.shape[1] * rows.itemsize))
    trial = rows[:take]
    with h5py.File(f"kstarlab-trial-{id(trial)}", "w", driver="core", backing_store=False) as h5:
        ds = h5.create_dataset("x", data=trial, chunks=trial.shape, compression="lzf", shuffle=True)
        stored = ds.id.get_storage_size()
    return stored <= (1 - AUTO_MIN_SAVING) * trial.nbytes


def _create(
    h5: h5py.File | h5py.Group,
    name: str,
    n: int,
    width: int,
    dtype: Any,
    compression: str,
    sample: np.ndarray | None = None,
) -> h5py.Dataset:
    itemsize = np.dtype(dtype).itemsize
    if compression == "auto":
        pays = sample is not None and lzf_pays(np.asarray(sample, dtype=dtype))
        compression = "lzf" if pays else "none"
    options: dict[str, Any] = {}
    if compression == "gzip":
        options = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    elif compression == "lzf":
        options = {"compression": "lzf", "shuffle": True}
    return h5.create_dataset(
        name,
        shape=(n, width),
        dtype=dtype,
        chunks=(chunk_rows(n, width, itemsize), width),
        track_times=False,
        **options,
    )


def _create_datasets(
    h5: h5py.File,
    n: int,
    num_outputs: int,
    features: dict[str, torch.Tensor],
    capture: LayerCapture,
    compression: str,
    logits: np.ndarray | None = None,
) -> dict[str, _RowWriter]:
    writers = {
        "/logits": _RowWriter(
            _create(h5, "logits", n, num_outputs, "<f4", compression, sample=logits)
        )
    }
    group = h5.create_group("latents", track_order=True)
    for ref in capture.refs:
        value = features[ref.name]
        dtype = "<f2" if value.dtype == torch.float16 else "<f4"
        ds = _create(
            group, ref.name, n, int(value.shape[1]), dtype, compression, sample=value.numpy()
        )
        ds.attrs["original_shape"] = np.asarray(capture.shapes[ref.name], dtype=np.int64)
        ds.attrs["pooling"] = capture.pooling[ref.name]
        ds.attrs["target"] = ref.target or "output"
        ds.attrs["kind"] = ref.kind
        writers[ref.name] = _RowWriter(ds)
    return writers


def _write_attrs(
    h5: h5py.File,
    model: LoadedModel,
    data: ImageData,
    tf: Transform,
    refs: Sequence[Any],
    capture: LayerCapture,
    accuracy: float,
    float16: bool,
    seed: int,
    batch_size: int,
) -> None:
    attrs = h5.attrs
    attrs["schema_version"] = SCHEMA_VERSION
    attrs["model"] = model.name
    attrs["arch"] = model.arch
    attrs["model_source"] = model.source
    attrs["weights"] = model.weights
    attrs["weights_sha256"] = model.weights_sha256 or ""
    attrs["transform"] = tf.name
    attrs["transform_params"] = json.dumps(tf.params, sort_keys=True)
    for key, value in sorted(tf.summary().items()):
        attrs[f"transform_{key}"] = value
    attrs["dataset"] = data.name
    attrs["dataset_params"] = json.dumps(data.params, sort_keys=True)
    attrs["n_samples"] = len(data)
    attrs["class_names"] = list(data.class_names)
    attrs["num_outputs"] = h5["logits"].shape[1]
    attrs["class_map"] = json.dumps(
        None
        if data.output_groups is None
        else dict(zip(data.class_names, data.output_groups, strict=True))
    )
    attrs["layers"] = [r.name for r in refs]
    attrs["layer_shapes"] = json.dumps({r.name: list(capture.shapes[r.name]) for r in refs})
    attrs["layer_pooling"] = json.dumps({r.name: capture.pooling[r.name] for r in refs})
    attrs["dtype"] = "float16" if float16 else "float32"
    attrs["accuracy"] = accuracy
    attrs["seed"] = seed
    attrs["batch_size"] = batch_size
    attrs.update(versions())


def versions() -> dict[str, str]:
    """Versions of the libraries that determine the numbers."""
    import torchvision

    from kstarlab import __version__

    return {
        "torch_version": str(torch.__version__),
        "torchvision_version": str(torchvision.__version__),
        "h5py_version": str(h5py.__version__),
        "kstarlab_version": __version__,
    }


def write_embeddings(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    layer: str = "embedding",
    float16: bool = False,
    compression: str = "auto",
    block_rows: int = 4096,
) -> Path:
    """Copy bring-your-own latents (``X``, ``y``, optional ``predictions``) into the schema.

    The file has ``/latents/<layer>``, ``/labels`` and, when given, ``/predictions``; there
    are no logits (``num_outputs`` is 0) and ``model`` is ``none``.
    """
    from kstarlab.latents.datasets import open_embeddings

    if compression not in COMPRESSIONS:
        raise InputError(f"unknown compression {compression!r}; available: {COMPRESSIONS}")
    out = Path(out)
    with open_embeddings(source) as emb, atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        n, d = (int(s) for s in emb.X.shape)
        group = h5.create_group("latents")
        sample = np.asarray(emb.X[: min(n, block_rows)])
        ds = _create(group, layer, n, d, "<f2" if float16 else "<f4", compression, sample)
        ds.attrs["original_shape"] = np.asarray([d], dtype=np.int64)
        ds.attrs["pooling"] = "none"
        ds.attrs["target"] = "X"
        ds.attrs["kind"] = "embedding"
        writer = _RowWriter(ds)
        for lo in range(0, n, block_rows):
            writer.write(np.asarray(emb.X[lo : lo + block_rows], dtype=ds.dtype))
        writer.close()
        y = np.asarray(emb.y, dtype=np.int64)
        h5.create_dataset("labels", data=y, track_times=False)
        accuracy = float("nan")
        if emb.predictions is not None:
            preds = np.asarray(emb.predictions, dtype=np.int64)
            h5.create_dataset("predictions", data=preds, track_times=False)
            accuracy = float(np.mean(preds == y))
        names = emb.class_names or [str(c) for c in range(int(y.max()) + 1 if y.size else 0)]
        h5.attrs.update(
            {
                "schema_version": SCHEMA_VERSION,
                "model": "none",
                "arch": "none",
                "model_source": "embeddings",
                "weights": "none",
                "weights_sha256": "",
                "transform": "clean",
                "transform_params": "{}",
                "dataset": "embeddings",
                "dataset_params": json.dumps({"path": str(source)}),
                "n_samples": n,
                "class_names": names,
                "num_outputs": 0,
                "class_map": "null",
                "layers": [layer],
                "layer_shapes": json.dumps({layer: [d]}),
                "layer_pooling": json.dumps({layer: "none"}),
                "dtype": "float16" if float16 else "float32",
                "accuracy": accuracy,
                "compression": compression,
                **versions(),
            }
        )
    return out
