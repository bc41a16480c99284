"""Stylization: real AdaIN with user-supplied weights, and a weight-free Fourier proxy.

**AdaIN** (Huang & Belongie 2017), the method behind Stylized-ImageNet: a VGG-19 encoder
up to relu4_1 in the layout of the released ``vgg_normalised.pth`` (53 modules, a leading
1×1 convolution that takes [0, 1] RGB), adaptive instance normalisation of the content
features to the style features' per-channel mean and std, blended by ``alpha``, and the
standard decoder (``decoder.pth``). Weights come from files the user already has and are
read with ``torch.load(weights_only=True)``; each sample's style image is drawn from a
folder by the sample's seed.

**style-fda** is *not* AdaIN: Fourier domain adaptation (Yang & Soatto 2020). The
low-frequency amplitude spectrum of each image (|k_y|, |k_x| ≤ ⌊beta·min(H, W)⌋) is
replaced by that of a style image, and the phase, which carries the content, is kept. The
style images ship with scikit-learn and scikit-image, so it needs no download and no weights.
"""

from __future__ import annotations

import hashlib
import math
import os
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.transforms.v2 import functional as F

from kstarlab.errors import InputError
from kstarlab.extras import require
from kstarlab.perturb.spec import FDA_IMAGES, FDA_RANDOM

# --------------------------------------------------------------------------- FDA proxy


def load_style_image(name: str) -> torch.Tensor:
    """A shipped style image as float (3, h, w) in [0, 1] (grey images repeated to RGB)."""
    return _load_style_image(name).clone()


@cache
def _load_style_image(name: str) -> torch.Tensor:
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        array = load_sample_image(f"{name}.jpg")
    elif name in FDA_IMAGES:
        skimage_data = require("skimage.data")

        array = getattr(skimage_data, name)()
    else:
        raise InputError(f"unknown style image {name!r}; available: {', '.join(FDA_IMAGES)}")
    array = np.asarray(array)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    array = array[:, :, :3]
    return torch.from_numpy(np.array(array, copy=True)).permute(2, 0, 1).float().div_(255.0)


def fit_image(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Center-crop ``image`` (C, h, w) to the aspect ratio of height×width, then resize."""
    h, w = image.shape[-2:]
    scale = min(h / height, w / width)
    crop_h, crop_w = max(1, round(height * scale)), max(1, round(width * scale))
    cropped = F.center_crop(image, [crop_h, crop_w])
    resized = F.resize(
        cropped, [height, width], interpolation=F.InterpolationMode.BILINEAR, antialias=True
    )
    return resized.clamp_(0.0, 1.0)


@lru_cache(maxsize=64)
def _style_amplitude(name: str, height: int, width: int) -> torch.Tensor:
    style = fit_image(_load_style_image(name), height, width)
    return torch.fft.rfft2(style).abs()


def low_frequency_mask(height: int, width: int, beta: float, real: bool = False) -> torch.Tensor:
    """True where |k_y| and |k_x| are at most ⌊beta·min(H, W)⌋ (unshifted FFT layout;
    ``real``: the half spectrum of ``rfft2``)."""
    b = math.floor(min(height, width) * beta)
    ky = torch.fft.fftfreq(height, d=1.0 / height).abs()
    kx = (torch.fft.rfftfreq if real else torch.fft.fftfreq)(width, d=1.0 / width).abs()
    return (ky[:, None] <= b) & (kx[None, :] <= b)


def fda_transfer(images: torch.Tensor, image: str, beta: float, seeds: np.ndarray) -> torch.Tensor:
    """Swap each image's low-frequency amplitude for the style image's; keep its phase.

    ``image`` is a shipped style name, or ``random`` for one drawn per sample by its seed.
    Each sample's (real) FFT is independent of the others in the batch.
    """
    n, channels, height, width = images.shape
    mask = low_frequency_mask(height, width, beta, real=True)
    if image == FDA_RANDOM:
        names = [FDA_IMAGES[int(seed) % len(FDA_IMAGES)] for seed in seeds.tolist()]
    else:
        names = [image] * n
    amplitudes = {name: _style_amplitude(name, height, width) for name in set(names)}
    if channels != 3:
        amplitudes = {
            k: v.mean(dim=0, keepdim=True).expand(channels, -1, -1) for k, v in amplitudes.items()
        }
    style = torch.stack([amplitudes[name] for name in names])
    result = swap_amplitude(images.detach().cpu().float(), style, mask)
    return result.clamp_(0.0, 1.0).to(images.dtype).to(images.device)


def swap_amplitude(images: torch.Tensor, amplitude: torch.Tensor, mask: torch.Tensor):
    """Images whose ``rfft2`` amplitude is ``amplitude`` where ``mask`` holds (unclipped)."""
    spectrum = torch.fft.rfft2(images)
    swapped = torch.where(mask, amplitude, spectrum.abs())
    return torch.fft.irfft2(torch.polar(swapped, spectrum.angle()), s=images.shape[-2:])


# --------------------------------------------------------------------------- AdaIN

ENCODER_LAYERS = 31  # modules 0..30 of vgg_normalised: up to and including relu4_1


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3)), nn.ReLU()]


def _pool() -> nn.Module:
    return nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)


def vgg_normalised() -> nn.Sequential:
    """VGG-19 in the layout of the released ``vgg_normalised.pth`` (53 modules to relu5_4)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 3, (1, 1))]
    layers += _conv(3, 64) + _conv(64, 64) + [_pool()]
    layers += _conv(64, 128) + _conv(128, 128) + [_pool()]
    layers += _conv(128, 256) + _conv(256, 256) + _conv(256, 256) + _conv(256, 256) + [_pool()]
    layers += _conv(256, 512) + _conv(512, 512) + _conv(512, 512) + _conv(512, 512) + [_pool()]
    layers += _conv(512, 512) + _conv(512, 512) + _conv(512, 512) + _conv(512, 512)
    return nn.Sequential(*layers)


def adain_decoder() -> nn.Sequential:
    """The standard AdaIN decoder (``decoder.pth`` layout): relu4_1 features → RGB."""
    up = nn.Upsample(scale_factor=2, mode="nearest")
    layers: list[nn.Module] = [*_conv(512, 256), up]
    layers += _conv(256, 256) + _conv(256, 256) + _conv(256, 256) + _conv(256, 128)
    layers += [nn.Upsample(scale_factor=2, mode="nearest")]
    layers += _conv(128, 128) + _conv(128, 64) + [nn.Upsample(scale_factor=2, mode="nearest")]
    layers += [*_conv(64, 64), nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(64, 3, (3, 3))]
    return nn.Sequential(*layers)


def encoder_to_relu4_1(vgg: nn.Sequential) -> nn.Sequential:
    """The first 31 modules of ``vgg_normalised``: the AdaIN encoder."""
    return nn.Sequential(*list(vgg.children())[:ENCODER_LAYERS])


def mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and std (unbiased variance + eps) of (N, C, H, W)."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    std = (flat.var(dim=2) + eps).sqrt().view(n, c, 1, 1)
    return flat.mean(dim=2).view(n, c, 1, 1), std


def adaptive_instance_norm(
    content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor, eps: float = 1e-5
) -> torch.Tensor:
    """Content features normalised per channel, then given the style's mean and std."""
    mean, std = mean_std(content, eps)
    return (content - mean) / std * style_std + style_mean


def adain_features(
    content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0, eps: float = 1e-5
) -> torch.Tensor:
    """``alpha``·AdaIN(content, style) + (1 − alpha)·content; alpha = 0 gives the content."""
    if alpha == 0:
        return content.clone()
    style_mean, style_std = mean_std(style, eps)
    target = adaptive_instance_norm(content, style_mean, style_std, eps)
    return target if alpha == 1 else alpha * target + (1 - alpha) * content


def _load_weights(module: nn.Module, path: Path, what: str, allow_extra: bool = False) -> None:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        message = " ".join(str(exc).split())[:200]
        raise InputError(f"cannot read AdaIN {what} weights {path}: {message}") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"AdaIN {what} weights {path} are not a state_dict of tensors")
    expected = module.state_dict()
    missing = [k for k in expected if k not in obj]
    extra = [k for k in obj if k not in expected]
    if missing or (extra and not allow_extra):
        detail = f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
        raise InputError(f"AdaIN {what} weights {path} do not fit the standard layout: {detail}")
    for key, value in expected.items():
        if obj[key].shape != value.shape:
            raise InputError(
                f"AdaIN {what} weights {path}: {key} has shape {tuple(obj[key].shape)}, "
                f"expected {tuple(value.shape)}"
            )
    module.load_state_dict({k: obj[k] for k in expected})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def style_folder_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files of a style folder, sorted (an empty or missing folder is an error)."""
    from kstarlab.names import IMAGE_SUFFIXES

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"AdaIN style folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"AdaIN style folder {root} holds no images")
    return files


class AdaIN:
    """AdaIN style transfer: encoder to relu4_1, decoder and a list of style images."""

    def __init__(
        self,
        encoder: nn.Sequential,
        decoder: nn.Sequential,
        styles: list[Path] | list[torch.Tensor],
        description: dict[str, Any] | None = None,
    ) -> None:
        self.encoder = encoder.eval().requires_grad_(False)
        self.decoder = decoder.eval().requires_grad_(False)
        self.styles = list(styles)
        if not self.styles:
            raise InputError("AdaIN needs at least one style image")
        self.description = description or {"n_styles": len(self.styles)}
        self._stats: dict[tuple[int, int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def from_files(
        cls,
        encoder: str | os.PathLike[str],
        decoder: str | os.PathLike[str],
        styles: str | os.PathLike[str],
    ) -> AdaIN:
        """Load ``vgg_normalised.pth`` and ``decoder.pth`` and list the style folder."""
        paths = {"encoder": Path(encoder), "decoder": Path(decoder)}
        for what, path in paths.items():
            if not path.is_file():
                raise InputError(f"AdaIN {what} weights not found: {path}")
        vgg = vgg_normalised()
        _load_weights(vgg, paths["encoder"], "encoder")
        dec = adain_decoder()
        _load_weights(dec, paths["decoder"], "decoder")
        files = style_folder_images(styles)
        description = {
            "encoder": str(paths["encoder"]),
            "encoder_sha256": _sha256(paths["encoder"]),
            "decoder": str(paths["decoder"]),
            "decoder_sha256": _sha256(paths["decoder"]),
            "styles": str(styles),
            "n_styles": len(files),
        }
        return cls(encoder_to_relu4_1(vgg), dec, files, description)

    @classmethod
    def from_config(cls, config: Any) -> AdaIN:
        """From a `PerturbConfig`'s ``adain_encoder``, ``adain_decoder``, ``adain_styles``."""
        for key in ("adain_encoder", "adain_decoder", "adain_styles"):
            if getattr(config, key) is None:
                raise InputError(
                    f"style-adain needs {key} in the perturbation config (encoder "
                    "vgg_normalised.pth, decoder decoder.pth, folder of style images); "
                    "style-fda-<image> needs no weights"
                )
        return cls.from_files(config.adain_encoder, config.adain_decoder, config.adain_styles)

    def describe(self) -> dict[str, Any]:
        return dict(self.description)

    def _style_image(self, index: int, height: int, width: int) -> torch.Tensor:
        style = self.styles[index]
        if isinstance(style, torch.Tensor):
            image = style
        else:
            from PIL import Image, UnidentifiedImageError

            try:
                with Image.open(style) as handle:
                    rgb = np.asarray(handle.convert("RGB"))
            except (OSError, UnidentifiedImageError, ValueError) as exc:
                raise InputError(f"cannot read style image {style}: {exc}") from None
            image = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div_(255.0)
        return fit_image(image, height, width)

    def style_stats(self, index: int, height: int, width: int):
        """Mean and std of style ``index``'s relu4_1 features at the content's size."""
        key = (index, height, width)
        if key not in self._stats:
            with torch.no_grad():
                features = self.encoder(self._style_image(index, height, width)[None])
            self._stats[key] = mean_std(features)
        return self._stats[key]

    def stylize(self, images: torch.Tensor, alpha: float, seeds: np.ndarray) -> torch.Tensor:
        """Each image in the style of the folder image its seed picks; output in [0, 1].

        Samples run one at a time, so results do not depend on the batch.
        """
        n, channels, height, width = images.shape
        if channels != 3:
            raise InputError(f"AdaIN needs RGB images, got {channels} channels")
        out = torch.empty_like(images)
        with torch.no_grad():
            for row in range(n):
                index = int(seeds[row]) % len(self.styles)
                content = self.encoder(images[row : row + 1].detach().cpu())
                if alpha == 0:
                    target = content
                else:
                    mean, std = self.style_stats(index, height, width)
                    target = adaptive_instance_norm(content, mean, std)
                    if alpha != 1:
                        target = alpha * target + (1 - alpha) * content
                decoded = self.decoder(target)
                if decoded.shape[-2:] != (height, width):
                    decoded = decoded[..., :height, :width]
                out[row] = decoded[0].clamp(0.0, 1.0).to(images.dtype)
        return out
