"""Transform strings: parsing, validation and canonical names.

Grammar (numbers are plain decimals, optionally with an exponent):

- ``clean``: the identity;
- ``crop-<s>``: center-crop s×s pixels, resize back (s a positive integer); on an image
  folder the crop is of the raw image, before its resize and crop (`Perturbation.bind`);
- ``rot-<deg>``: rotate counter-clockwise by deg degrees (negative: clockwise);
- ``noise-<sigma>``: additive Gaussian noise, sigma ≥ 0;
- ``style-fda-<image>[-<beta>]``: weight-free Fourier amplitude transfer from a shipped
  image (a proxy for stylization, not AdaIN); beta in (0, 0.5], default 0.1;
- ``style-adain[-<alpha>]``: real AdaIN with user-supplied weights, alpha in [0, 1];
- ``pgd-<eps>``: L∞ PGD with ε = eps/255, eps > 0;
- ``corrupt-<name>-<severity>``: an ImageNet-C corruption, severity 1–5.

The canonical name writes numbers in their shortest form (``noise-0.050`` → ``noise-0.05``)
and is what seeds, file names and HDF5 attributes use.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kstarlab.errors import InputError
from kstarlab.names import DEFAULT_STYLE, STYLIZED_REGIMES

FAMILIES = ("clean", "crop", "rot", "noise", "style-fda", "style-adain", "pgd", "corrupt")
GRAMMAR = (
    "clean, crop-<s>, rot-<deg>, noise-<sigma>, style-fda-<image>[-<beta>], "
    "style-adain[-<alpha>], pgd-<eps>, corrupt-<name>-<severity>"
)

#: The 15 ImageNet-C corruptions, then the 4 extra (validation) ones, as the package names them.
CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
    "speckle_noise",
    "gaussian_blur",
    "spatter",
    "saturate",
)

#: Style images shipped by scikit-learn (``china``, ``flower``) and scikit-image's ``data``;
#: ``random`` draws one of them per sample.
FDA_IMAGES = (
    "china",
    "flower",
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "colorwheel",
    "brick",
    "grass",
    "gravel",
)
FDA_RANDOM = "random"
FDA_DEFAULT_BETA = 0.1

_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class TransformSpec:
    """A validated transform: its family, canonical name and parameters (read-only)."""

    family: str
    name: str
    params: MappingProxyType = field(compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return self.name

    def params_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (for JSON and HDF5 attributes)."""
        return dict(self.params)


def format_number(value: float) -> str:
    """The shortest text of ``value``: ``2`` for 2.0, ``0.05`` for 0.050."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def parse_spec(text: str) -> TransformSpec:
    """Parse and validate a transform string; bad input raises `InputError`."""
    if isinstance(text, TransformSpec):
        return text
    if not isinstance(text, str):
        raise InputError(f"a transform must be a string, got {type(text).__name__}")
    if text == "clean":
        return _spec("clean", "clean", {})
    family, sep, arg = text.partition("-")
    if family == "style":
        return _parse_style(text, arg)
    parser = _PARSERS.get(family)
    if parser is None or not sep:
        if family in _PARSERS:
            raise InputError(f"malformed transform {text!r}: expected {_usage(family)}")
        raise InputError(f"unknown transform {text!r}; available: {GRAMMAR}")
    return parser(text, arg)


def _spec(family: str, name: str, params: dict[str, Any]) -> TransformSpec:
    return TransformSpec(family, name, MappingProxyType(dict(params)))


def _usage(family: str) -> str:
    return {
        "crop": "crop-<s>",
        "rot": "rot-<deg>",
        "noise": "noise-<sigma>",
        "pgd": "pgd-<eps>",
        "corrupt": "corrupt-<name>-<severity>",
    }[family]


def _number(text: str, value: str, what: str, family: str) -> float:
    if not _NUMBER.fullmatch(value):
        raise InputError(
            f"malformed transform {text!r}: {what} {value!r} is not a number "
            f"(expected {_usage(family)})"
        )
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"malformed transform {text!r}: {what} must be finite")
    return number


def _parse_crop(text: str, arg: str) -> TransformSpec:
    size = _number(text, arg, "crop size", "crop")
    if not size.is_integer():
        raise InputError(f"transform {text!r}: crop size must be a whole number of pixels")
    if size < 1:
        raise InputError(f"transform {text!r}: crop size must be at least 1 pixel")
    s = int(size)
    return _spec("crop", f"crop-{s}", {"size": s})


def _parse_rot(text: str, arg: str) -> TransformSpec:
    degrees = _number(text, arg, "angle", "rot")
    return _spec("rot", f"rot-{format_number(degrees)}", {"degrees": degrees})


def _parse_noise(text: str, arg: str) -> TransformSpec:
    sigma = _number(text, arg, "sigma", "noise")
    if sigma < 0:
        raise InputError(f"transform {text!r}: sigma must be ≥ 0, got {format_number(sigma)}")
    return _spec("noise", f"noise-{format_number(sigma)}", {"sigma": sigma})


def _parse_pgd(text: str, arg: str) -> TransformSpec:
    eps = _number(text, arg, "eps", "pgd")
    if eps <= 0:
        raise InputError(f"transform {text!r}: eps must be > 0, got {format_number(eps)}")
    return _spec(
        "pgd", f"pgd-{format_number(eps)}", {"eps_255": eps, "epsilon": eps / 255.0, "norm": "linf"}
    )


def _parse_corrupt(text: str, arg: str) -> TransformSpec:
    name, sep, severity = arg.rpartition("-")
    if not sep or not name:
        raise InputError(f"malformed transform {text!r}: expected corrupt-<name>-<severity>")
    name = name.replace("-", "_")
    if name not in CORRUPTIONS:
        raise InputError(
            f"transform {text!r}: unknown corruption {name!r}; available: {', '.join(CORRUPTIONS)}"
        )
    if not re.fullmatch(r"[1-5]", severity):
        raise InputError(f"transform {text!r}: severity must be an integer from 1 to 5")
    level = int(severity)
    return _spec("corrupt", f"corrupt-{name}-{level}", {"corruption": name, "severity": level})


def _parse_style(text: str, arg: str) -> TransformSpec:
    kind, _, rest = arg.partition("-")
    if kind == "fda":
        image, _, beta_text = rest.partition("-")
        if not image:
            raise InputError(f"malformed transform {text!r}: expected style-fda-<image>[-<beta>]")
        if image not in (*FDA_IMAGES, FDA_RANDOM):
            raise InputError(
                f"transform {text!r}: unknown style image {image!r}; available: "
                f"{', '.join(FDA_IMAGES)}, {FDA_RANDOM}"
            )
        beta = FDA_DEFAULT_BETA
        if beta_text:
            if not _NUMBER.fullmatch(beta_text):
                raise InputError(
                    f"malformed transform {text!r}: beta {beta_text!r} is not a number "
                    "(expected style-fda-<image>[-<beta>])"
                )
            beta = float(beta_text)
            if not 0 < beta <= 0.5:
                raise InputError(f"transform {text!r}: beta must be in (0, 0.5]")
        name = f"style-fda-{image}"
        if beta != FDA_DEFAULT_BETA:
            name += f"-{format_number(beta)}"
        params = {"method": "fourier-amplitude-transfer (proxy, not AdaIN)", "image": image}
        params["beta"] = beta
        return _spec("style-fda", name, params)
    if kind == "adain":
        alpha = 1.0
        if rest:
            if not _NUMBER.fullmatch(rest):
                raise InputError(
                    f"malformed transform {text!r}: alpha {rest!r} is not a number "
                    "(expected style-adain[-<alpha>])"
                )
            alpha = float(rest)
            if not 0 <= alpha <= 1:
                raise InputError(f"transform {text!r}: alpha must be in [0, 1]")
        name = "style-adain" if alpha == 1.0 else f"style-adain-{format_number(alpha)}"
        return _spec("style-adain", name, {"method": "adain", "alpha": alpha})
    raise InputError(
        f"unknown transform {text!r}: styles are style-fda-<image>[-<beta>] and "
        "style-adain[-<alpha>]"
    )


_PARSERS = {
    "crop": _parse_crop,
    "rot": _parse_rot,
    "noise": _parse_noise,
    "pgd": _parse_pgd,
    "corrupt": _parse_corrupt,
}


def paper_transforms(size: int = 224) -> dict[str, list[str]]:
    """The paper's transform grid, crops scaled to ``size`` px (digits: 32)."""
    crops = sorted({max(1, round(s * size / 224)) for s in (20, 60, 100, 140, 180, 220)})
    sigmas = ("0.05", "0.06", "0.08", "0.12", "0.18", "0.26", "0.38", "0.7", "1")
    return {
        "crop": [f"crop-{s}" for s in crops],
        "rot": [f"rot-{d}" for d in range(30, 331, 30)],
        "noise": [f"noise-{s}" for s in sigmas],
        "pgd": [f"pgd-{e}" for e in (2, 4, 8)],
        "corrupt": [f"corrupt-{c}-{s}" for c in CORRUPTIONS for s in range(1, 6)],
    }


def check_style(regime: str | None, style: str | None, where: str = "") -> str | None:
    """The canonical style transform of a stylized regime (None for the other regimes).

    The one rule for styles, used by training and by the config check: a style only goes
    with a stylized regime, and only the weight-free ``style-fda-*`` proxy (AdaIN needs
    weight files training does not take).
    """
    prefix = f"{where}: " if where else ""
    if regime not in STYLIZED_REGIMES:
        if style is not None:
            raise InputError(
                f"{prefix}style {style!r} applies only to the regimes "
                f"{', '.join(STYLIZED_REGIMES)}, not {regime!r}"
            )
        return None
    if not isinstance(style, (str, type(None))):
        raise InputError(f"{prefix}style must be a transform string, got {style!r}")
    try:
        spec = parse_spec(DEFAULT_STYLE if style is None else style)
    except InputError as exc:
        raise InputError(f"{prefix}{exc}") from None
    if spec.family != "style-fda":
        raise InputError(
            f"{prefix}style {spec.name!r}: the stylized regimes take the weight-free "
            "style-fda-<image>[-<beta>] transforms (e.g. style-fda-random)"
        )
    return spec.name
