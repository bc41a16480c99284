"""Reading latent-space files and writing outputs atomically.

Inputs are ``.npz`` archives (arrays ``X``, ``y``, optional ``class_names`` and
``predictions``) or HDF5 files: either the extraction schema (``/latents/<layer>``,
``/labels``, ``/predictions``, attribute ``class_names``) or plain datasets ``X`` and ``y``.
HDF5 latents stay on disk and are streamed by the k* engine.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import h5py
import numpy as np

from kstarlab.errors import InputError

NPZ_SUFFIXES = (".npz",)
H5_SUFFIXES = (".h5", ".hdf5", ".hdf")


@dataclass
class Latents:
    """One latent space: features, labels and optional names and predictions."""

    X: Any  # numpy array or h5py.Dataset (read lazily)
    y: np.ndarray
    class_names: list[str] | None = None
    predictions: np.ndarray | None = None
    layer: str | None = None
    pooling: str = "none"  # extraction's pooling of the layer: none, spatial-mean, token-mean
    original_shape: tuple[int, ...] | None = None  # the layer's per-sample shape before it


@contextlib.contextmanager
def open_latents(path: str | os.PathLike[str], layer: str | None = None) -> Iterator[Latents]:
    """Open a latents file; HDF5 files stay open (and X lazy) inside the ``with`` block."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if not path.is_file():
        raise InputError(f"input is not a file: {path}")
    suffix = path.suffix.lower()
    if suffix in NPZ_SUFFIXES:
        if layer is not None:
            raise InputError(f"--layer applies to HDF5 latents files, not to {path.name}")
        yield _read_npz(path)
    elif suffix in H5_SUFFIXES:
        try:
            handle = h5py.File(path, "r")
        except OSError as exc:
            raise InputError(f"cannot read {path}: not a valid HDF5 file ({exc})") from None
        with handle:
            yield _read_h5(handle, path, layer)
    else:
        raise InputError(f"unsupported input {path}: expected .npz or .h5")


def _read_npz(path: Path) -> Latents:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"cannot read {path}: not a valid .npz archive ({exc})") from None
    for key in ("X", "y"):
        if key not in arrays:
            found = ", ".join(sorted(arrays)) or "nothing"
            raise InputError(f"{path} has no array {key!r} (found: {found})")
    names = arrays.get("class_names")
    return Latents(
        X=arrays["X"],
        y=arrays["y"],
        class_names=None if names is None else [str(s) for s in names.tolist()],
        predictions=arrays.get("predictions"),
    )


def _read_h5(handle: h5py.File, path: Path, layer: str | None) -> Latents:
    if "latents" in handle:
        group = handle["latents"]
        layers = sorted(group.keys())
        if layer is None:
            if len(layers) != 1:
                raise InputError(
                    f"{path} holds several layers; choose one with --layer: {', '.join(layers)}"
                )
            layer = layers[0]
        if layer not in group:
            raise InputError(
                f"layer {layer!r} not in {path}; available: {', '.join(layers) or 'none'}"
            )
        X = group[layer]
        y = _dataset(handle, path, "labels")[()]
        preds = handle["predictions"][()] if "predictions" in handle else None
        names = handle.attrs.get("class_names")
    else:
        if layer is not None:
            raise InputError(f"{path} has no /latents group, so --layer {layer!r} does not apply")
        X = _dataset(handle, path, "X")
        y = _dataset(handle, path, "y")[()]
        preds = handle["predictions"][()] if "predictions" in handle else None
        names = handle.attrs.get("class_names")
        if names is None and "class_names" in handle:
            names = handle["class_names"][()]
    if names is not None:
        names = [s.decode() if isinstance(s, bytes) else str(s) for s in np.asarray(names)]
    pooling = X.attrs.get("pooling", "none")
    shape = X.attrs.get("original_shape")
    return Latents(
        X=X,
        y=np.asarray(y),
        class_names=names,
        predictions=preds,
        layer=layer,
        pooling=pooling.decode() if isinstance(pooling, bytes) else str(pooling),
        original_shape=None if shape is None else tuple(int(v) for v in np.asarray(shape)),
    )


def _dataset(handle: h5py.File, path: Path, name: str) -> h5py.Dataset:
    obj = handle.get(name)
    if not isinstance(obj, h5py.Dataset):
        found = ", ".join(sorted(handle.keys())) or "nothing"
        raise InputError(f"{path} has no dataset {name!r} (found: {found})")
    return obj


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """A YAML config file, read with the safe loader; a missing or malformed file is one line."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise InputError(f"config file not found: {file}")
    try:
        return yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"config {file} is not valid YAML: {' '.join(str(exc).split())}") from None


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and rename it into place on success.

    A crash or exception leaves nothing at ``path`` (and removes the temporary file).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {path.parent}: {exc.strerror}") from None
    if not os.access(path.parent, os.W_OK):
        raise InputError(f"output folder is not writable: {path.parent}")
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _publish(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files an earlier, killed writer of ``path`` left beside it.

    A SIGKILL gives no chance to clean up, so the next writer of the same path does it.
    Only this path's own temporaries match (``.<stem>.<8 random>.tmp<suffix>`` and
    ``.<name>.<8 random>.tmp``), never those of a sibling being written at the same time;
    Snakemake runs at most one job per output.
    """
    path = Path(path)
    pattern = re.compile(
        rf"\.(?:{re.escape(path.stem)}\.[a-z0-9_]{{8}}\.tmp{re.escape(path.suffix)}"
        rf"|{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp)"
    )
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in path.parent.iterdir():
            if pattern.fullmatch(entry.name) and entry.is_file():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    removed.append(entry)
    return removed


def _publish(tmp: str | os.PathLike[str], path: Path) -> None:
    """Give the temporary file ordinary permissions (mkstemp makes it 0600), then rename."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], publish: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for writers that need a file name (h5py, savefig).

    The temporary file is renamed to ``path`` on success (``publish=False``: left for the
    caller to rename) and removed on failure.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {path.parent}: {exc.strerror}") from None
    if not os.access(path.parent, os.W_OK):
        raise InputError(f"output folder is not writable: {path.parent}")
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        if publish:
            _publish(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """Temporary paths for several outputs, renamed into place only when all were written.

    A command with several outputs publishes every one or none: an exception while writing
    the second leaves the first's path untouched too, and removes both temporaries.
    """
    targets = [Path(p) for p in paths]
    with contextlib.ExitStack() as stack:
        temps = [stack.enter_context(_unpublished(path)) for path in targets]
        yield temps
    for tmp, path in zip(temps, targets, strict=True):
        _publish(tmp, path)


@contextlib.contextmanager
def _unpublished(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path``; removed if the block fails, kept for publishing."""
    with atomic_path(path, publish=False) as tmp:
        yield tmp


def write_csvs(frames: dict[str | os.PathLike[str], tuple[Any, dict[str, Any]]]) -> None:
    """Write several DataFrames as CSV (``{path: (frame, to_csv kwargs)}``): all or none."""
    with atomic_paths(*frames) as temps:
        for tmp, (frame, kwargs) in zip(temps, frames.values(), strict=True):
            with open(tmp, "w", newline="") as fh:
                frame.to_csv(fh, **kwargs)


def write_csv(frame: Any, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write a pandas DataFrame to CSV atomically."""
    with atomic_write(path, newline="") as fh:
        frame.to_csv(fh, **kwargs)


def write_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed ``.npz`` archive of ``arrays``, atomically and byte-reproducibly.

    ``numpy.savez`` stamps each member with the current time; here every member carries a
    fixed date, so the same arrays give the same bytes (``numpy.load`` reads it as usual).
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asarray(array), allow_pickle=False)
