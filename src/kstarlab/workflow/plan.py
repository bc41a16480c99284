"""The workflow's plan: which jobs a config asks for, checked before any job runs.

This module is what ``workflow/rules/common.smk`` calls. It imports neither torch nor the
numeric code, so building the DAG stays fast. A config declares *studies* (the paper's
table pairs); the DAG is the union of their model × layer × transform × metric grids:

- one extraction per (model, transform), writing every layer any study needs from it;
- one k* job per (model, layer, transform, metric);
- tables and figures per study; geometry per model;
- Table XXI: k* of each configured embedding file (`EmbeddingSource`), then one table.

Transform strings are validated by `kstarlab.perturb.spec`, which the extraction uses too.
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kstarlab.errors import InputError
from kstarlab.names import (
    CLASS_MAP_GEOMETRY,
    EMBEDDING_SUFFIXES,
    IMAGE_SUFFIXES,
    METRICS,
    ZOO_ARCHS,
    looks_like_path,
)
from kstarlab.perturb.spec import check_style
from kstarlab.workflow.pruning_plan import PruningStudy, pruning_studies

# The workflow writes minkowski with its order (minkowski-3); the other metrics by name.
WORKFLOW_METRICS = tuple(m for m in METRICS if m != "minkowski")
MINKOWSKI = re.compile(r"^minkowski-(\d+(?:\.\d+)?)$")
AXES = ("model", "layer", "transform", "metric")

TREND_PARAMETER = {
    "crop": ("size", "crop size (px)"),
    "rot": ("degrees", "rotation angle (°)"),
    "noise": ("sigma", "noise σ"),
    "pgd": ("eps_255", "PGD ε (×1/255)"),
}


def parse(transform: str) -> Any:
    """The validated `TransformSpec` of a transform string in canonical form."""
    from kstarlab.perturb.spec import parse_spec

    spec = parse_spec(transform)
    if spec.name != transform:
        raise InputError(f"transform {transform!r} should be written {spec.name!r}")
    return spec


def transform_family(transform: str) -> str:
    """The family of a transform string (clean, crop, rot, noise, style-*, pgd, corrupt)."""
    return parse(transform).family


def transform_value(transform: str) -> float | None:
    """The numeric parameter of crop/rot/noise/pgd transforms (for trend plots).

    ``clean`` is the zero point of rotation, noise and PGD; it has no crop size (None).
    """
    spec = parse(transform)
    if spec.family in TREND_PARAMETER:
        return float(spec.params[TREND_PARAMETER[spec.family][0]])
    return None


def trend_family(transforms: Iterable[str]) -> str:
    """The one parametric family of a trend study's transforms (``clean`` may join it)."""
    families = {transform_family(t) for t in transforms} - {"clean"}
    if len(families) != 1 or next(iter(families)) not in TREND_PARAMETER:
        raise InputError(
            f"a trend needs transforms of one family among {', '.join(TREND_PARAMETER)} "
            f"(and clean), got {sorted(families)}"
        )
    return families.pop()


def trend_values(transforms: Iterable[str]) -> dict[str, float | None]:
    """Each transform's position on its trend's axis; clean is 0 except for crops."""
    transforms = list(transforms)
    family = trend_family(transforms)
    return {
        t: (None if family == "crop" else 0.0) if t == "clean" else transform_value(t)
        for t in transforms
    }


def trend_label(transforms: Iterable[str]) -> str:
    return TREND_PARAMETER[trend_family(transforms)][1]


def check_metric(metric: str) -> None:
    if metric in WORKFLOW_METRICS or MINKOWSKI.match(str(metric)):
        return
    raise InputError(
        f"unknown metric {metric!r}; choose from {', '.join(WORKFLOW_METRICS)}, minkowski-<p>"
    )


def metric_args(metric: str) -> dict[str, Any]:
    """``kstar_values`` keyword arguments for a metric name such as ``minkowski-3``."""
    check_metric(metric)
    match = MINKOWSKI.match(metric)
    if match:
        return {"metric": "minkowski", "p": float(match.group(1))}
    return {"metric": metric, "p": None}


@dataclass(frozen=True)
class Study:
    """One of the paper's table pairs: a grid, the classes shown and the table rows."""

    name: str
    models: tuple[str, ...]
    layers: tuple[str, ...]
    transforms: tuple[str, ...]
    metrics: tuple[str, ...]
    classes: tuple[str, ...]
    rows: tuple[str, ...]
    trend: bool

    def grid(self) -> list[tuple[str, str, str, str]]:
        return [
            (m, layer, t, metric)
            for m in self.models
            for layer in self.layers
            for t in self.transforms
            for metric in self.metrics
        ]


@dataclass
class Plan:
    """Every job the config asks for."""

    studies: dict[str, Study]
    extractions: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    kstar_jobs: list[tuple[str, str, str, str]] = field(default_factory=list)
    trained: tuple[str, ...] = ()
    geometry_models: tuple[str, ...] = ()
    embeddings: tuple[EmbeddingSource, ...] = ()
    pruning: dict[str, PruningStudy] = field(default_factory=dict)


@dataclass(frozen=True)
class EmbeddingSource:
    """One row of the other-domains table (the paper's Table XXI): an embedding file you
    provide (``file``) or a demonstration the workflow makes (``demo``)."""

    name: str
    domain: str
    model: str
    file: str | None = None
    demo: str | None = None

    def params(self) -> dict[str, Any]:
        """What the table jobs read of it."""
        return {
            "name": self.name,
            "domain": self.domain,
            "model": self.model,
            "demo": bool(self.demo),
        }


def embedding_sources(config: Mapping[str, Any]) -> tuple[EmbeddingSource, ...]:
    """The ``embeddings.sources`` of an enabled ``embeddings`` section, checked, in order."""
    section = config.get("embeddings") or {}
    if not section.get("enabled", False):
        return ()
    from kstarlab.kstar.embedding_demo import DEMO_MODEL, DEMOS

    try:
        check_metric(section.get("metric", "euclidean"))
    except InputError as exc:
        raise InputError(f"config: embeddings.metric: {exc}") from None
    entries = section.get("sources") or []
    if not entries:
        raise InputError("config: embeddings.sources: an enabled section needs at least one")
    sources: list[EmbeddingSource] = []
    for entry in entries:
        name = entry.get("name")
        where = f"config: embeddings.sources.{name}"
        if any(s.name == name for s in sources):
            raise InputError(f"{where}: the name is used twice")
        if ("file" in entry) == ("demo" in entry):
            raise InputError(f"{where}: give either a 'file' or a 'demo', not both or neither")
        demo = entry.get("demo")
        if demo is not None and demo not in DEMOS:
            raise InputError(f"{where}.demo: unknown {demo!r}; choose from {', '.join(DEMOS)}")
        for key in ("domain", "model"):
            if demo is None and not entry.get(key):
                raise InputError(f"{where}: an embedding file needs a '{key}' (its table label)")
        source = EmbeddingSource(
            name=name,
            domain=entry.get("domain") or (DEMOS[demo].domain if demo else ""),
            model=entry.get("model") or DEMO_MODEL,
            file=entry.get("file"),
            demo=demo,
        )
        for other in sources:
            if (other.domain, other.model, bool(other.demo)) == (
                source.domain,
                source.model,
                bool(source.demo),
            ):
                raise InputError(f"{where}: same domain and model as {other.name!r} (one row each)")
        sources.append(source)
    return tuple(sources)


def check_embedding_files(sources: Iterable[EmbeddingSource]) -> None:
    """Every embedding file exists and is ``.npz`` or ``.h5`` (its arrays are checked by the
    job that reads it, `kstarlab.kstar.embeddings.check_embedding`)."""
    from pathlib import Path

    for source in sources:
        if source.file is None:
            continue
        where = f"config: embeddings.sources.{source.name}.file"
        if not source.file.lower().endswith(EMBEDDING_SUFFIXES):
            raise InputError(f"{where}: {source.file} is not an .npz or .h5 embedding file")
        if not Path(source.file).is_file():
            raise InputError(f"{where}: file not found: {source.file}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, (str, int, float)) for v in value)
    ):
        raise InputError(f"{where} must be a non-empty list")
    return tuple(str(v) for v in value)


def _study(name: str, entry: Mapping[str, Any], models: Mapping[str, Any]) -> Study:
    where = f"config: studies.{name}"
    study = Study(
        name=name,
        models=_strings(entry.get("models"), f"{where}.models"),
        layers=_strings(entry.get("layers"), f"{where}.layers"),
        transforms=_strings(entry.get("transforms"), f"{where}.transforms"),
        metrics=_strings(entry.get("metrics"), f"{where}.metrics"),
        classes=_strings(entry.get("classes"), f"{where}.classes"),
        rows=tuple(entry.get("rows") or ()),
        trend=bool(entry.get("trend", False)),
    )
    for model in study.models:
        if model not in models:
            raise InputError(
                f"{where}.models: model {model!r} is not defined under 'models' "
                f"(defined: {', '.join(sorted(models))})"
            )
    for transform in study.transforms:
        try:
            transform_family(transform)
        except InputError as exc:
            raise InputError(f"{where}.transforms: {exc}") from None
    for metric in study.metrics:
        try:
            check_metric(metric)
        except InputError as exc:
            raise InputError(f"{where}.metrics: {exc}") from None
    bad = [r for r in study.rows if r not in AXES]
    if bad:
        raise InputError(f"{where}.rows: {bad[0]!r} is not one of {', '.join(AXES)}")
    if not study.rows:
        varied = [axis for axis in AXES if len(getattr(study, axis + "s")) > 1]
        study = Study(**{**study.__dict__, "rows": tuple(varied or ["model"])})
    if study.trend:
        try:
            trend_family(study.transforms)
        except InputError as exc:
            raise InputError(f"{where}.trend: {exc}") from None
    return study


def check_models(models: Mapping[str, Any]) -> None:
    """Each model is either trained here (zoo ``arch`` + ``regime``) or has ``weights``."""
    from kstarlab.kstar.layer_table import torchvision_archs

    for name, entry in models.items():
        where = f"config: models.{name}"
        if not isinstance(entry, Mapping) or "arch" not in entry:
            raise InputError(f"{where} needs an 'arch'")
        if entry["arch"] not in ZOO_ARCHS and entry["arch"] not in torchvision_archs():
            raise InputError(
                f"{where}.arch: unknown architecture {entry['arch']!r}; use a zoo arch "
                f"({', '.join(ZOO_ARCHS)}) or a torchvision classification model name"
            )
        if "regime" in entry and entry["arch"] not in ZOO_ARCHS:
            raise InputError(
                f"{where}: only zoo architectures ({', '.join(ZOO_ARCHS)}) are trained here; "
                f"give {entry['arch']!r} a 'weights' file instead of a 'regime'"
            )


def canonical(value: Any) -> Any:
    """``value`` with every mapping's keys sorted, recursively (lists keep their order).

    Snakemake compares a job's params with those of its last run by their text, in which a
    dict's key order shows. Params built from the config go through this, so reordering the
    keys of a YAML mapping (or a tool re-dumping it sorted) reruns nothing."""
    if isinstance(value, Mapping):
        return {key: canonical(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, tuple):
        return tuple(canonical(item) for item in value)
    return value


def check_layer(arch: str, layer: str, where: str) -> None:
    """``layer`` exists in ``arch`` (zoo and the paper's architectures; others are checked
    by the extraction job, which builds the model)."""
    from kstarlab.kstar.layer_table import layer_aliases, layer_names

    names = layer_names(arch)
    if names is not None and layer not in names:
        raise InputError(
            f"{where}: unknown layer {layer!r} for arch {arch!r}; aliases: "
            f"{', '.join(layer_aliases(arch))} (kstarlab layers {arch} lists every name)"
        )


def check_config(config: dict[str, Any], schema_path: str | os.PathLike[str]) -> Plan:
    """The one config check, run before any job: the JSON schema (shapes; its defaults are
    filled in, in place), then what a schema cannot say (`make_plan`, the style rule).

    Every problem is one `InputError` line naming the key.
    """
    _validate_schema(config, schema_path)
    plan = make_plan(config)
    for name, entry in (config.get("models") or {}).items():
        if "regime" in entry:
            check_style(entry["regime"], entry.get("style"), where=f"config: models.{name}")
    return plan


def _validate_schema(config: dict[str, Any], schema_path: str | os.PathLike[str]) -> None:
    """Validate against the schema, filling in its defaults (jsonschema's FAQ recipe, as
    ``snakemake.utils.validate`` does); the error names the key and the rule."""
    import jsonschema
    import yaml

    with open(schema_path) as fh:
        schema = yaml.safe_load(fh)
    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def with_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for key, value in properties.items():
                if "default" in value:
                    instance.setdefault(key, copy.deepcopy(value["default"]))
        yield from check_properties(validator, properties, instance, subschema)

    validator = jsonschema.validators.extend(base, {"properties": with_defaults})(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise InputError(f"config: {where}: {error.message}")


def make_plan(config: Mapping[str, Any]) -> Plan:
    """Validate the semantics the JSON schema cannot express and expand every grid."""
    models = config.get("models") or {}
    studies = {}
    for name, entry in (config.get("studies") or {}).items():
        if entry.get("enabled", True):
            studies[name] = _study(name, entry, models)
    plan = Plan(studies=studies)
    layers: dict[tuple[str, str], set[str]] = {}
    jobs: set[tuple[str, str, str, str]] = set()
    for study in studies.values():
        for model, layer, transform, metric in study.grid():
            layers.setdefault((model, transform), set()).add(layer)
            jobs.add((model, layer, transform, metric))
    geometry = config.get("geometry") or {}
    if geometry.get("enabled", False):
        geo_models = _strings(geometry.get("models"), "config: geometry.models")
        for model in geo_models:
            if model not in models:
                raise InputError(
                    f"config: geometry.models: model {model!r} is not defined under 'models'"
                )
            corrupted = corruption_transforms(geometry)
            if not geometry.get("corruption_jobs", False):
                corrupted = []  # extracted inside the model's geometry job
            for transform in ["clean", *corrupted]:
                layers.setdefault((model, transform), set()).add(geometry.get("layer", "avgpool"))
        plan.geometry_models = geo_models
    # A pruning study's dense model is checked as every other model first (the pruning
    # section's own checks follow the model, dataset and path checks).
    pruning = config.get("pruning") or {}
    dense = set()
    if pruning.get("enabled", False):
        entries = (pruning.get("studies") or {}).values()
        dense = {s.get("dense") for s in entries if s.get("dense") in models}
    used = {m for m, _ in layers} | dense
    check_models({m: models[m] for m in used})
    for model in sorted(used):
        dataset_of(config, model)  # an unknown dataset name stops here
    for model in plan.geometry_models:
        class_map = dataset_of(config, model).get("class_map")
        if class_map:
            raise InputError(
                f"config: geometry.models: {model} is evaluated on {dataset_key(config, model)} "
                f"with class map {class_map}: {CLASS_MAP_GEOMETRY}"
            )
    for study in studies.values():
        for model in study.models:
            for layer in study.layers:
                check_layer(models[model]["arch"], layer, f"config: studies.{study.name}.layers")
    for model in plan.geometry_models:
        check_layer(
            models[model]["arch"], geometry.get("layer", "avgpool"), "config: geometry.layer"
        )
    check_paths(config, used, {t for _, t in layers})
    benchmarks = corruption_transforms(geometry) if pruning.get("enabled", False) else []
    plan.pruning = pruning_studies(config, benchmarks)
    plan.embeddings = embedding_sources(config)
    check_embedding_files(plan.embeddings)
    plan.extractions = {key: tuple(sorted(v)) for key, v in sorted(layers.items())}
    plan.kstar_jobs = sorted(jobs)
    plan.trained = tuple(sorted(m for m in used if "regime" in models[m]))
    return plan


def _dataset_name(config: Mapping[str, Any], model: str) -> str | None:
    return (config.get("models") or {}).get(model, {}).get("dataset")


def dataset_of(config: Mapping[str, Any], model: str) -> Mapping[str, Any]:
    """The dataset ``model`` is evaluated on: ``datasets.<its dataset>``, else ``dataset``."""
    name = _dataset_name(config, model)
    if name is None:
        return config.get("dataset") or {}
    named = config.get("datasets") or {}
    if name not in named:
        known = ", ".join(sorted(named)) or "none"
        raise InputError(
            f"config: models.{model}.dataset: unknown dataset {name!r} "
            f"(defined under 'datasets': {known})"
        )
    return named[name]


def dataset_key(config: Mapping[str, Any], model: str) -> str:
    """Where ``model``'s dataset is defined in the config, for messages."""
    name = _dataset_name(config, model)
    return "dataset" if name is None else f"datasets.{name}"


def check_paths(
    config: Mapping[str, Any], models: Iterable[str], transforms: Iterable[str]
) -> None:
    """Every data and weights file the planned jobs read exists, before any job runs."""
    from pathlib import Path

    from kstarlab.resources import BUILTIN_CLASS_MAPS

    models = sorted(models)
    datasets = {dataset_key(config, m): dataset_of(config, m) for m in models}
    for where, dataset in sorted((datasets or {"dataset": config.get("dataset") or {}}).items()):
        if dataset.get("name") != "imagefolder":
            continue
        root = dataset.get("root")
        if not root:
            raise InputError(f"config: {where}.root is required for dataset 'imagefolder'")
        if not Path(root).is_dir():
            raise InputError(f"config: {where}.root: folder not found: {root}")
        class_map = dataset.get("class_map")
        if class_map and class_map not in BUILTIN_CLASS_MAPS and not Path(class_map).is_file():
            raise InputError(
                f"config: {where}.class_map: file not found: {class_map} "
                f"(or a built-in name: {', '.join(BUILTIN_CLASS_MAPS)})"
            )
    for name in sorted(models):
        weights = config["models"][name].get("weights")
        if isinstance(weights, str) and looks_like_path(weights) and not Path(weights).is_file():
            raise InputError(f"config: models.{name}.weights: file not found: {weights}")
    if any(t.startswith("style-adain") for t in transforms):
        style = config.get("style") or {}
        for key, kind in (("encoder", "file"), ("decoder", "file"), ("styles", "folder")):
            value = style.get(key)
            if not value:
                raise InputError(f"config: style.{key} is required by the style-adain transforms")
            ok = Path(value).is_file() if kind == "file" else Path(value).is_dir()
            if not ok:
                raise InputError(f"config: style.{key}: {kind} not found: {value}")


def corruption_transforms(geometry: Mapping[str, Any]) -> list[str]:
    """``corrupt-<name>-<severity>`` for every configured corruption and severity."""
    names = _strings(geometry.get("corruptions"), "config: geometry.corruptions")
    severities = _strings(
        geometry.get("severities", [1, 2, 3, 4, 5]), "config: geometry.severities"
    )
    out = []
    for name in names:
        for sev in severities:
            transform = f"corrupt-{name}-{sev}"
            try:
                transform_family(transform)
            except InputError as exc:
                raise InputError(f"config: geometry: {exc}") from None
            out.append(transform)
    return out


def select(plan: Plan, study: str) -> Iterable[tuple[str, str, str, str]]:
    """The (model, layer, transform, metric) jobs of one study."""
    return plan.studies[study].grid()


# ---------------------------------------------------------------------------------------
# Default job resources, scaled from the dataset size (the rules' `threads` and
# `resources`; a profile's `set-resources` overrides them per rule).
#
#   mem_mb  = (base + per_1k × n/1000) × attempt
#   runtime = (base + per_1k × n/1000 + per_1k² × (n/1000)²) × factor × attempt   [minutes]
#
# n is the number of images the jobs evaluate: 540 for the digits test split, 50,000 for
# ImageNet-1k val. The bases cover the interpreter with torch imported (~1 GB RSS) and
# startup; the per-sample terms are generous upper bounds for the paper's models. Extraction
# streams batches to HDF5, so its memory hardly grows with n or with a layer's width; k*
# streams an HDF5 layer tile by tile and holds a block of distances (memory linear, time
# quadratic in n). Flattened conv maps (401,408 features for ResNet-50's
# stage2.block4.conv3) cost far more disk and k* time than this model: docs/benchmarks.md. A PGD extraction costs
# 1 + 2 × steps forward passes per image; on CUDA, training and extraction get `gpu=1`
# and a fifth of the CPU runtime. `attempt` grows with Snakemake's `--retries`, so a job
# killed for memory or time is resubmitted with twice, then three times, the request.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """Resource model of one kind of job."""

    threads: int
    mem_mb: tuple[float, float]  # MB: base, per 1,000 images
    runtime: tuple[float, float, float]  # minutes: base, per 1,000 images, per (1,000 images)²
    gpu: bool = False  # uses the GPU when the config's device is CUDA


# Training runs on one torch thread (kstarlab.models.training: its bytes then do not depend on the
# core count), so a train job takes one core and two models train side by side on two.
COSTS = {
    "train": Cost(threads=1, mem_mb=(2000, 200), runtime=(10, 10, 0), gpu=True),
    "extract": Cost(threads=1, mem_mb=(2000, 20), runtime=(10, 2, 0), gpu=True),
    "kstar": Cost(threads=1, mem_mb=(1500, 100), runtime=(10, 0.5, 0.05)),
    "geometry": Cost(threads=1, mem_mb=(2000, 100), runtime=(15, 3, 0.02)),
    "projections": Cost(threads=1, mem_mb=(2000, 150), runtime=(10, 2, 0.02)),
    "aggregate": Cost(threads=1, mem_mb=(1000, 10), runtime=(10, 0.1, 0)),
}
CUDA_SPEEDUP = 5
DIGITS_SAMPLES = {"all": 1797, "train": 1257, "test": 540}  # kstarlab.latents.datasets: 70/30 split


_IMAGE_COUNTS: dict[str, int] = {}


def count_images(root: str) -> int:
    """Image files under an imagefolder's class folders (names only; no image is opened).
    Cached: a run counts once, and only when a job's resources are first needed."""
    import os

    root = str(root)
    if root not in _IMAGE_COUNTS:
        count, stack = 0, [root]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=True):
                    stack.append(entry.path)
                elif entry.name.lower().endswith(IMAGE_SUFFIXES):
                    count += 1
        _IMAGE_COUNTS[root] = count
    return _IMAGE_COUNTS[root]


def embedding_samples(path: str | os.PathLike[str]) -> int:
    """The number of samples of an embedding file (the length of its ``y``), for the job's
    resources; 0 when the file cannot be read (the job then names the fault)."""
    import numpy as np

    try:
        if str(path).lower().endswith(".npz"):
            with np.load(path, allow_pickle=False) as archive:
                return int(archive["y"].shape[0])
        import h5py

        with h5py.File(path, "r") as handle:
            return int(handle["y"].shape[0])
    except Exception:  # any unreadable file: the job names the fault
        return 0


def dataset_samples(dataset: Mapping[str, Any], split: str | None = None) -> int:
    """How many images a job over ``dataset`` evaluates (``split`` overrides the digits
    split: training reads ``train``)."""
    if dataset.get("name", "digits") == "digits":
        return DIGITS_SAMPLES[split or dataset.get("split", "test")]
    return count_images(dataset["root"]) if dataset.get("root") else 0


def job_resources(
    kind: str,
    n_samples: int,
    *,
    cuda: bool = False,
    attempt: int = 1,
    transform: str | None = None,
    pgd_steps: int = 10,
) -> dict[str, int]:
    """``threads``, ``mem_mb``, ``runtime`` (minutes) and ``gpu`` of one job of ``kind``."""
    cost = COSTS[kind]
    k = max(n_samples, 0) / 1000
    base, per_k = cost.mem_mb
    mem_mb = (base + per_k * k) * attempt
    base, per_k, per_k2 = cost.runtime
    minutes = base + per_k * k + per_k2 * k * k
    if kind == "extract" and transform and transform.startswith("pgd-"):
        minutes = base + (per_k * k) * (1 + 2 * pgd_steps)
    gpu = int(cost.gpu and cuda)
    if gpu:
        minutes /= CUDA_SPEEDUP
    return {
        "threads": cost.threads,
        "mem_mb": math.ceil(mem_mb),
        "runtime": math.ceil(minutes * attempt),
        "gpu": gpu,
    }
