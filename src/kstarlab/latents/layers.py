"""Layer names (the paper's aliases and raw torchvision names) and one-pass capture.

Aliases, generated from the architecture's structure:

- ``logit``: the model output;
- ``avgpool`` (also ``penultimate``): the input of the final linear classifier, i.e. the
  penultimate features x with logits = W x + b (for ResNets, the flattened average pool);
- ResNets (``layer1..layer4`` of blocks): ``stage<s>`` → ``layer<s>``,
  ``stage<s>.block<b>`` → ``layer<s>.<b-1>`` and ``stage<s>.block<b>.conv<c>`` →
  ``layer<s>.<b-1>.conv<c>`` (blocks count from 1, as in the paper: ResNet-50's
  ``stage4.block3.conv3`` is ``layer4.2.conv3``, the last block's last convolution);
- ViTs: ``block<i>`` → ``encoder.layers.encoder_layer_<i-1>`` (every token);
- the zoo MLP: ``hidden<i>`` → ``relu<i>``.

Raw names are accepted too: any module name (captured with a forward hook; a module called
several times, like ResNet's shared ``relu``, gives its last call) and any node name of
``torchvision.models.feature_extraction`` (such as ``layer4.2.add``). Module hooks are used
whenever they suffice, so models that FX cannot trace still work; FX is used only when a
requested name is a graph node. Either way, one forward pass collects every layer.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from kstarlab.errors import InputError
from kstarlab.models.registry import Classifier, classifier_head

LOGIT = "logit"
POOLINGS = ("none", "spatial-mean", "token-mean")


@dataclass(frozen=True)
class LayerRef:
    """A requested layer: its name, the real module or node, and what is captured there.

    ``kind`` is ``"logit"`` (the model output), ``"output"`` (a module's output),
    ``"input"`` (a module's first input) or ``"node"`` (an FX graph node's value).
    """

    name: str
    target: str
    kind: str


def layer_aliases(net: nn.Module) -> dict[str, LayerRef]:
    """Paper-style aliases of ``net``, in network order."""
    aliases = {LOGIT: LayerRef(LOGIT, "", "logit")}
    head = classifier_head(net)
    if head is not None:
        for name in ("avgpool", "penultimate"):
            aliases[name] = LayerRef(name, head[0], "input")
    stage = 1
    while isinstance(getattr(net, f"layer{stage}", None), nn.Sequential):
        layer = getattr(net, f"layer{stage}")
        _add(aliases, f"stage{stage}", f"layer{stage}")
        for b, block in enumerate(layer, start=1):
            _add(aliases, f"stage{stage}.block{b}", f"layer{stage}.{b - 1}")
            for child, _ in block.named_children():
                if re.fullmatch(r"conv\d+", child):
                    _add(aliases, f"stage{stage}.block{b}.{child}", f"layer{stage}.{b - 1}.{child}")
        stage += 1
    encoder_layers = getattr(getattr(net, "encoder", None), "layers", None)
    if isinstance(encoder_layers, nn.Sequential):
        for i, (child, _) in enumerate(encoder_layers.named_children(), start=1):
            _add(aliases, f"block{i}", f"encoder.layers.{child}")
    for child, module in net.named_children():
        match = re.fullmatch(r"relu(\d+)", child)
        if match and isinstance(module, nn.ReLU):
            _add(aliases, f"hidden{match[1]}", child)
    return aliases


def _add(aliases: dict[str, LayerRef], name: str, target: str) -> None:
    aliases[name] = LayerRef(name, target, "output")


def module_names(net: nn.Module) -> list[str]:
    """Every named submodule of ``net`` (raw torchvision names)."""
    return [name for name, _ in net.named_modules() if name]


_NODE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def node_names(net: nn.Module) -> tuple[list[str] | None, str | None]:
    """FX graph node names (eval mode) of ``net``, or ``(None, reason)`` when tracing fails."""
    if net not in _NODE_CACHE:
        from torchvision.models.feature_extraction import get_graph_node_names

        try:
            _, eval_nodes = get_graph_node_names(net)
            _NODE_CACHE[net] = ([n for n in eval_nodes if n != "x"], None)
        except Exception as exc:  # FX fails on data-dependent control flow
            text = " ".join(str(exc).split())[:200]
            _NODE_CACHE[net] = (None, f"{type(exc).__name__}: {text}")
    return _NODE_CACHE[net]


def resolve_layers(
    net: nn.Module, names: Sequence[str], model_name: str = "model"
) -> list[LayerRef]:
    """`LayerRef` of each requested name; unknown names are an error listing what exists."""
    if isinstance(names, str):
        names = [names]
    if not names:
        raise InputError("no layers requested")
    duplicates = sorted({n for n in names if list(names).count(n) > 1})
    if duplicates:
        raise InputError(f"layer {duplicates[0]!r} is requested twice")
    aliases = layer_aliases(net)
    modules = set(module_names(net))
    refs = []
    for name in names:
        if name in aliases:
            refs.append(aliases[name])
        elif name in modules:
            refs.append(LayerRef(name, name, "output"))
        else:
            nodes, _ = node_names(net)
            if nodes is not None and name in nodes:
                refs.append(LayerRef(name, name, "node"))
            else:
                raise InputError(
                    f"unknown layer {name!r} for {model_name}; available: "
                    f"{_available_text(net, aliases)}"
                )
    return refs


def _available_text(net: nn.Module, aliases: dict[str, LayerRef], limit: int = 40) -> str:
    raw = module_names(net)
    shown = ", ".join(raw[:limit])
    more = f", … and {len(raw) - limit} more" if len(raw) > limit else ""
    return (
        f"aliases {', '.join(aliases)}; modules {shown}{more} "
        "(kstarlab layers MODEL lists every module and graph-node name)"
    )


class LayerCapture:
    """Collect several layers of a `Classifier` in one forward pass.

    Each captured tensor is flattened to (batch, features) and copied at once (so later
    in-place operations of the network cannot change it), optionally averaged over space
    (4-D conv outputs, ``spatial-mean``) or tokens (3-D outputs, ``token-mean``) first.
    ``pool`` names the layers to average; with ``pool_above``, every 4-D layer with more
    features than that is averaged too. After the first batch, ``shapes`` holds each
    layer's original per-sample shape and ``pooling`` what was done.
    """

    def __init__(
        self,
        model: Classifier,
        refs: Sequence[LayerRef],
        *,
        pool: Sequence[str] = (),
        pool_above: int | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.model = model
        self.refs = list(refs)
        self.pool = set(pool)
        unknown = self.pool - {r.name for r in self.refs}
        if unknown:
            raise InputError(f"cannot pool layer {sorted(unknown)[0]!r}: it is not extracted")
        self.pool_above = pool_above
        self.dtype = dtype
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.pooling: dict[str, str] = {}
        self._store: dict[str, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._fx: nn.Module | None = None
        self._fx_names: dict[str, str] = {}

    def __enter__(self) -> LayerCapture:
        net = self.model.net
        use_fx = any(r.kind == "node" for r in self.refs)
        if use_fx:
            self._build_fx(net)
        for ref in self.refs:
            if ref.kind == "input":
                module = net.get_submodule(ref.target)
                self._handles.append(module.register_forward_pre_hook(self._input_hook(ref.name)))
            elif ref.kind == "output" and not use_fx:
                module = net.get_submodule(ref.target)
                self._handles.append(module.register_forward_hook(self._output_hook(ref.name)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._fx = None

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and ``{layer name: (batch, features) tensor}`` for one batch (no gradients)."""
        with torch.no_grad():
            return self._forward(images)

    def _forward(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self._store = {}
        if self._fx is None:
            logits = self.model(images)
        else:
            normalised = (images - self.model.mean) / self.model.std
            values = self._fx(normalised)
            logits = values.pop("__logits__")
            for key, value in values.items():
                self._keep(self._fx_names[key], value)
        for ref in self.refs:
            if ref.kind == "logit":
                self._keep(ref.name, logits)
        missing = [r.name for r in self.refs if r.name not in self._store]
        if missing:
            raise InputError(f"layer {missing[0]!r} was not reached by the forward pass")
        features = {r.name: self._store[r.name] for r in self.refs}
        self._store = {}
        return logits.detach(), features

    def _build_fx(self, net: nn.Module) -> None:
        from torchvision.models.feature_extraction import create_feature_extractor

        nodes, reason = node_names(net)
        if nodes is None:
            raise InputError(f"graph-node layers need FX tracing, which failed: {reason}")
        return_nodes = {nodes[-1]: "__logits__"}
        for i, ref in enumerate(self.refs):
            if ref.kind in ("node", "output"):
                key = f"__layer{i}__"
                return_nodes[ref.target] = key
                self._fx_names[key] = ref.name
        self._fx = create_feature_extractor(net, return_nodes=return_nodes).eval()

    def _input_hook(self, name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            self._keep(name, args[0])

        return hook

    def _output_hook(self, name: str):
        def hook(module: nn.Module, args: tuple, output) -> None:
            if isinstance(output, (tuple, list)):
                output = output[0]
            self._keep(name, output)

        return hook

    def _keep(self, name: str, value: torch.Tensor) -> None:
        if not isinstance(value, torch.Tensor):
            raise InputError(f"layer {name!r} does not output a tensor ({type(value).__name__})")
        value = value.detach()
        if name not in self.shapes:
            self.shapes[name] = tuple(value.shape[1:])
            self.pooling[name] = self._decide_pooling(name, value)
        mode = self.pooling[name]
        if mode == "spatial-mean":
            value = value.mean(dim=(2, 3))
        elif mode == "token-mean":
            value = value.mean(dim=1)
        flat = value.reshape(value.shape[0], -1)
        self._store[name] = flat.to(self.dtype, copy=True)

    def _decide_pooling(self, name: str, value: torch.Tensor) -> str:
        features = int(value[0].numel())
        if name in self.pool:
            if value.ndim == 4:
                return "spatial-mean"
            if value.ndim == 3:
                return "token-mean"
            raise InputError(
                f"cannot pool layer {name!r}: shape {tuple(value.shape[1:])} has no spatial axes"
            )
        if self.pool_above is not None and value.ndim == 4 and features > self.pool_above:
            return "spatial-mean"
        return "none"
