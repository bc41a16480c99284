"""The ``pruning:`` section of the config: which pruned models each study compares.

A study names a dense model of ``models`` and either prunes it here (``approaches`` ×
``sparsities``, each one training job; the dense model must be a zoo model the workflow
trains) or compares pruned checkpoints trained elsewhere (``checkpoints``), or both. Its
corrupted benchmarks are the geometry section's (``geometry.corruptions`` ×
``geometry.severities``). Checked here once, before any job runs: every problem is one
`InputError` line naming the key. Torch-free (every Snakemake start runs it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kstarlab import paths
from kstarlab.errors import InputError
from kstarlab.names import APPROACHES, CLASS_MAP_GEOMETRY, PRUNED_FORMS, ZOO_ARCHS


@dataclass(frozen=True)
class PrunedEntry:
    """One pruned model of a study: trained here (``checkpoint`` None) or a user's file."""

    entity: str
    approach: str
    sparsity: float
    checkpoint: str | None = None
    form: str = "plain"

    def params(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "approach": self.approach,
            "sparsity": self.sparsity,
            "form": self.form,
        }


@dataclass(frozen=True)
class PruningStudy:
    """A dense model and the pruned models compared with it."""

    name: str
    dense: str
    arch: str
    entries: tuple[PrunedEntry, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    compare: str | None = None
    caption: str = ""

    @property
    def entities(self) -> tuple[str, ...]:
        """The dense model first, then every pruned model, in the config's order."""
        return (paths.DENSE, *(e.entity for e in self.entries))

    def entry(self, entity: str) -> PrunedEntry:
        for e in self.entries:
            if e.entity == entity:
                return e
        raise KeyError(entity)

    @property
    def trained(self) -> tuple[PrunedEntry, ...]:
        """The pruned models the workflow trains (one prune_model job each)."""
        return tuple(e for e in self.entries if e.checkpoint is None)


def _sparsity(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: a sparsity must be a number in [0, 1), got {value!r}")
    if not (math.isfinite(value) and 0 <= value < 1):
        raise InputError(f"{where}: a sparsity must lie in [0, 1), got {value!r}")
    return float(value)


def _approach(value: Any, where: str) -> str:
    if value not in APPROACHES:
        raise InputError(f"{where}: unknown approach {value!r}; available: {', '.join(APPROACHES)}")
    return str(value)


def pruning_studies(config: Mapping[str, Any], benchmarks: list[str]) -> dict[str, PruningStudy]:
    """The enabled ``pruning`` section's studies, checked (``benchmarks``: the geometry
    section's corrupted benchmarks, which every study evaluates)."""
    section = config.get("pruning") or {}
    if not section.get("enabled", False):
        return {}
    models = config.get("models") or {}
    studies = section.get("studies") or {}
    if not studies:
        raise InputError("config: pruning.studies: an enabled section needs at least one study")
    if not benchmarks:
        raise InputError(
            "config: pruning: the studies evaluate the geometry section's corrupted benchmarks, "
            "and geometry.corruptions is empty"
        )
    out = {}
    for name, entry in studies.items():
        out[name] = _study(name, entry, models, config)
    return out


def _study(
    name: str, entry: Mapping[str, Any], models: Mapping[str, Any], config: Mapping[str, Any]
) -> PruningStudy:
    where = f"config: pruning.studies.{name}"
    dense = entry.get("dense")
    if dense not in models:
        raise InputError(f"{where}.dense: model {dense!r} is not defined under 'models'")
    model = models[dense]
    arch = model.get("arch", "")
    dataset = (config.get("datasets") or {}).get(model.get("dataset", ""), config.get("dataset"))
    if (dataset or {}).get("class_map"):
        raise InputError(f"{where}.dense: {dense} has a class-mapped dataset: {CLASS_MAP_GEOMETRY}")
    entries: list[PrunedEntry] = []
    approaches = entry.get("approaches") or []
    if approaches:
        if "regime" not in model or arch not in ZOO_ARCHS:
            raise InputError(
                f"{where}.approaches: the approaches prune a zoo model the workflow trains "
                f"({', '.join(ZOO_ARCHS)} with a regime), and {dense!r} is not one; list "
                "pruned models trained elsewhere under 'checkpoints'"
            )
        sparsities = entry.get("sparsities") or []
        if not sparsities:
            raise InputError(f"{where}.sparsities: the approaches need at least one sparsity")
        for approach in approaches:
            approach = _approach(approach, f"{where}.approaches")
            for sparsity in sparsities:
                s = _sparsity(sparsity, f"{where}.sparsities")
                entries.append(PrunedEntry(paths.pruned_entity(approach, s), approach, s))
    for i, item in enumerate(entry.get("checkpoints") or []):
        here = f"{where}.checkpoints.{i}"
        approach = _approach(item.get("approach"), f"{here}.approach")
        s = _sparsity(item.get("sparsity"), f"{here}.sparsity")
        form = item.get("form", "plain")
        if form not in PRUNED_FORMS:
            raise InputError(f"{here}.form: unknown {form!r}; available: {', '.join(PRUNED_FORMS)}")
        path = str(item.get("path", ""))
        if not Path(path).is_file():
            raise InputError(f"{here}.path: file not found: {path}")
        entity = item.get("name") or paths.pruned_entity(approach, s)
        entries.append(PrunedEntry(entity, approach, s, checkpoint=path, form=form))
    if not entries:
        raise InputError(f"{where}: list 'approaches' and 'sparsities', or 'checkpoints'")
    seen: set[str] = set()
    for e in entries:
        if e.entity in seen or e.entity == paths.DENSE:
            raise InputError(f"{where}: the pruned model {e.entity!r} is listed twice")
        seen.add(e.entity)
    compare = entry.get("compare")
    if compare is not None and compare not in seen:
        raise InputError(
            f"{where}.compare: {compare!r} is none of the study's pruned models "
            f"({', '.join(sorted(seen))})"
        )
    settings = dict(entry.get("settings") or {})
    if settings:
        from kstarlab.pruning.settings import PruneSettings

        try:
            PruneSettings(**settings).checked()
        except TypeError as exc:
            raise InputError(f"{where}.settings: {exc}") from None
        except InputError as exc:
            raise InputError(f"{where}.settings: {exc}") from None
    return PruningStudy(
        name=name,
        dense=dense,
        arch=arch,
        entries=tuple(entries),
        settings=settings,
        compare=compare,
        caption=entry.get("caption", ""),
    )
