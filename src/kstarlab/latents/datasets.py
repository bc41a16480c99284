"""Datasets: images in [0, 1] with integer labels and class names, or ready-made embeddings.

Every image dataset yields float32 tensors of shape (3, H, W) in [0, 1]; normalisation
belongs to the model wrapper, so perturbations always act in pixel space.

- ``digits``: scikit-learn's 1,797 real 8×8 digits, bilinearly upsampled to 32×32 and
  repeated to 3 channels, with a stratified 70/30 train/test split (fixed seed). No download;
  read from the file the workflow's data rule writes, or made here (`kstarlab.latents.digits`).
- ``imagefolder``: a torchvision-style ``root/<class>/<image>`` tree, resized and
  center-cropped; an optional class map says which model outputs belong to each folder.
  `ImageData.raw_center_crop` gives the same tree with the k* paper's crop taken from the
  decoded image at its own resolution instead (see `ImageFolderImages`).
- ``embeddings``: an ``.npz`` or ``.h5`` of ``X`` and ``y`` (optional ``predictions`` and
  ``class_names``) that goes to the analysis without a model.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from kstarlab.errors import InputError
from kstarlab.io import Latents, open_latents
from kstarlab.latents.digits import build_digits, check_split, read_digits
from kstarlab.names import DATASETS, IMAGE_SUFFIXES
from kstarlab.resources import BUILTIN_CLASS_MAPS

DIGITS_SIZE = 32


@dataclass
class ImageData:
    """A labelled image set: a torch ``Dataset`` of ``(image, label)`` plus its description.

    ``output_groups[k]`` lists the model outputs that count as class k (from a class map);
    ``None`` means output k is class k. ``params`` is recorded in the HDF5 attributes.
    """

    name: str
    dataset: Dataset
    class_names: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    output_groups: list[list[int]] | None = None

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    @property
    def labels(self) -> np.ndarray:
        """Every label, in dataset order, without decoding any image."""
        return np.asarray(self.dataset.labels, dtype=np.int64)  # type: ignore[attr-defined]

    def raw_center_crop(self, size: int) -> ImageData | None:
        """These images with each decoded image center-cropped to ``size``×``size`` at its
        own resolution, then resized to this dataset's output size (its resize and crop are
        bypassed); ``None`` when the dataset does not resize or crop on load (the digits:
        their in-memory image is the raw image, so a crop acts on it directly)."""
        crop_raw = getattr(self.dataset, "raw_center_crop", None)
        if crop_raw is None:
            return None
        dataset = crop_raw(size)
        params = {**self.params, "raw_crop": int(size)}
        return ImageData(self.name, dataset, self.class_names, params, self.output_groups)


class TensorImages(Dataset):
    """Images already in memory: ``images`` (N, 3, H, W) float32 and ``labels`` (N,)."""

    def __init__(self, images: torch.Tensor, labels: Sequence[int]) -> None:
        self.images = images
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def load_dataset(
    name: str,
    *,
    root: str | os.PathLike[str] | None = None,
    split: str = "test",
    seed: int = 0,
    resize: int = 256,
    crop: int = 224,
    class_map: str | os.PathLike[str] | None = None,
    prepared: str | os.PathLike[str] | None = None,
) -> ImageData:
    """An image dataset by name: ``digits`` (``split``, ``seed``, optionally read from the
    ``prepared`` digits file, see `load_digits`) or ``imagefolder`` (``root``)."""
    if name == "digits":
        if root is not None:
            raise InputError("dataset 'digits' ships with scikit-learn and takes no root")
        if class_map is not None:
            raise InputError("dataset 'digits' is labelled by the outputs: it takes no class map")
        return load_digits(split=split, seed=seed, prepared=prepared)
    if prepared is not None:
        raise InputError(f"a prepared digits file is for dataset 'digits', not {name!r}")
    if name == "imagefolder":
        if root is None:
            raise InputError("dataset 'imagefolder' needs a root folder (--root)")
        return load_imagefolder(root, resize=resize, crop=crop, class_map=class_map)
    if name == "embeddings":
        raise InputError("dataset 'embeddings' holds latents, not images: use open_embeddings")
    raise InputError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")


def digits_images(pixels: np.ndarray, size: int = DIGITS_SIZE) -> torch.Tensor:
    """8×8 digits (pixels 0–16) as (N, 3, size, size) float32 in [0, 1]: bilinearly
    upsampled and repeated to 3 channels."""
    pixels_01 = torch.from_numpy(np.asarray(pixels).astype(np.float32) / 16.0).unsqueeze(1)
    up = torch.nn.functional.interpolate(
        pixels_01, size=(size, size), mode="bilinear", align_corners=False
    )
    return up.clamp_(0.0, 1.0).repeat(1, 3, 1, 1).contiguous()


def load_digits(
    split: str = "test", seed: int = 0, prepared: str | os.PathLike[str] | None = None
) -> ImageData:
    """scikit-learn's digits at 32×32×3 in [0, 1]; ``split`` is train, test or all of the
    stratified 70/30 split drawn by ``seed``.

    ``prepared`` is a digits file (`kstarlab.latents.digits.write_digits`, the workflow's data
    rule), which must hold ``seed``'s split; without one, the digits and the split are made
    here with scikit-learn (same arrays, about a second more).
    """
    check_split(split)
    digits = build_digits(seed) if prepared is None else read_digits(prepared, split_seed=seed)
    rows = digits.rows(split)
    images = digits_images(digits.pixels)[torch.from_numpy(rows)]
    params = {"split": split, "seed": seed, "size": DIGITS_SIZE}
    return ImageData(
        "digits", TensorImages(images, digits.labels[rows]), digits.class_names, params
    )


class ImageFolderImages(Dataset):
    """``root/<class>/<image>`` files, decoded to RGB, in [0, 1], of ``crop``×``crop`` pixels.

    By default each image is resized (shorter side to ``resize``) and center-cropped to
    ``crop``, the usual ImageNet evaluation. With ``raw_crop`` = s, the image is instead
    center-cropped to s×s at its own resolution, then resized to ``crop``×``crop``: the k*
    paper's crop transform ("center-cropped to a size ... then resized to the standard
    dimensions", Tables IX–X). An image smaller than s on a side is padded with zeros
    first, as torchvision's ``CenterCrop`` does.
    """

    def __init__(
        self,
        root: Path,
        classes: list[str],
        files: list[tuple[Path, int]],
        *,
        resize: int = 256,
        crop: int = 224,
        raw_crop: int | None = None,
    ) -> None:
        from torchvision import transforms as T

        self.root = root
        self.classes = classes
        self.files = files
        self.labels = np.array([label for _, label in files], dtype=np.int64)
        self.resize, self.crop, self.raw_crop = resize, crop, raw_crop
        bilinear = T.InterpolationMode.BILINEAR
        if raw_crop is None:
            steps = [T.Resize(resize, interpolation=bilinear, antialias=True), T.CenterCrop(crop)]
        else:
            steps = [T.CenterCrop(raw_crop), T.Resize((crop, crop), bilinear, antialias=True)]
        self.transform = T.Compose([*steps, T.ToTensor()])

    def raw_center_crop(self, size: int) -> ImageFolderImages:
        """The same files with the raw-image crop of ``size`` px (see the class)."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InputError(f"raw crop size must be a positive integer, got {size!r}")
        return ImageFolderImages(
            self.root, self.classes, self.files, resize=self.resize, crop=self.crop, raw_crop=size
        )

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image, UnidentifiedImageError

        path, label = self.files[index]
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise InputError(f"cannot read image {path}: {exc}") from None
        return self.transform(rgb), label


def load_imagefolder(
    root: str | os.PathLike[str],
    *,
    resize: int = 256,
    crop: int = 224,
    class_map: str | os.PathLike[str] | None = None,
) -> ImageData:
    """An ImageFolder tree: classes are the sorted sub-folders, images their sorted files."""
    root = Path(root)
    if not root.exists():
        raise InputError(f"dataset root does not exist: {root}")
    if not root.is_dir():
        raise InputError(f"dataset root is not a folder: {root}")
    for value, what in ((resize, "resize"), (crop, "crop")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{what} must be a positive integer, got {value!r}")
    if crop > resize:
        raise InputError(f"crop {crop} is larger than resize {resize}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise InputError(f"dataset root {root} has no class folders")
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        found = sorted(
            p
            for p in (root / name).rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not found:
            raise InputError(f"class folder {root / name} holds no images")
        files += [(p, label) for p in found]
    groups = None
    params: dict[str, Any] = {"root": str(root), "resize": resize, "crop": crop}
    if class_map is not None:
        groups = read_class_map(class_map, classes)
        params["class_map"] = str(class_map)
    dataset = ImageFolderImages(root, classes, files, resize=resize, crop=crop)
    return ImageData("imagefolder", dataset, classes, params, groups)


def read_class_map(source: str | os.PathLike[str], classes: Sequence[str]) -> list[list[int]]:
    """Model outputs per class from a JSON ``{folder: index or [indices]}``.

    ``source`` is a file or a built-in name (``imagenet16``: the 16-class-ImageNet WordNet
    groups of Geirhos et al.). Every class folder must be in the map.
    """
    mapping = _load_class_map_json(source)
    groups: list[list[int]] = []
    for name in classes:
        if name not in mapping:
            known = ", ".join(sorted(mapping))
            raise InputError(f"class folder {name!r} is not in class map {source} ({known})")
        value = mapping[name]
        indices = [value] if isinstance(value, int) else value
        if (
            not isinstance(indices, list)
            or not indices
            or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indices)
        ):
            raise InputError(
                f"class map {source}: entry {name!r} must be a non-negative index or a list of them"
            )
        groups.append(list(indices))
    return groups


def _load_class_map_json(source: str | os.PathLike[str]) -> dict[str, Any]:
    if str(source) in BUILTIN_CLASS_MAPS:
        text = (
            resources.files("kstarlab.resources")
            .joinpath(BUILTIN_CLASS_MAPS[str(source)])
            .read_text()
        )
        label = str(source)
    else:
        path = Path(source)
        if not path.is_file():
            builtin = ", ".join(BUILTIN_CLASS_MAPS)
            raise InputError(f"class map not found: {path} (built-in maps: {builtin})")
        text, label = path.read_text(), str(path)
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"class map {label} is not valid JSON: {exc}") from None
    if not isinstance(mapping, dict):
        raise InputError(f"class map {label} must be a JSON object {{folder: indices}}")
    classes = mapping.get("classes")
    return classes if isinstance(classes, dict) else mapping


@contextlib.contextmanager
def open_embeddings(path: str | os.PathLike[str]) -> Iterator[Latents]:
    """Bring-your-own latents (``.npz`` or ``.h5`` with ``X``, ``y``), checked for shape.

    ``X`` stays lazy for HDF5 inside the ``with`` block.
    """
    with open_latents(path) as data:
        shape = tuple(data.X.shape)
        if len(shape) != 2:
            raise InputError(f"{path}: X must be 2-D (samples × features), got shape {shape}")
        y = np.asarray(data.y)
        if y.ndim != 1 or y.shape[0] != shape[0]:
            raise InputError(f"{path}: y has shape {y.shape}, expected ({shape[0]},)")
        if not np.issubdtype(y.dtype, np.integer):
            raise InputError(f"{path}: y must hold integer labels, got {y.dtype}")
        if data.predictions is not None and np.asarray(data.predictions).shape != y.shape:
            raise InputError(
                f"{path}: predictions have shape {np.asarray(data.predictions).shape}, "
                f"expected {y.shape}"
            )
        yield data
