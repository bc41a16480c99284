"""A trend study's figure: μ, γ and pattern counts against the transform's parameter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kstarlab.workflow.jobs.summaries import study_summary


def study_trend(inputs: Sequence[str], study: Mapping[str, Any], out: str) -> None:
    """μ, γ and pattern counts against the transform's parameter, one line per model."""
    from kstarlab.figures import save_figure
    from kstarlab.kstar.plots import trend_plot
    from kstarlab.workflow.plan import trend_label, trend_values

    summary = study_summary(inputs, study)
    values = trend_values(summary["transform"].unique())
    summary["parameter"] = summary["transform"].map(values)
    summary = summary.dropna(subset=["parameter"])
    label = trend_label(values)
    varied = [k for k in ("model", "layer", "metric") if summary[k].nunique() > 1] or ["model"]
    summary["model"] = summary[varied].astype(str).agg(" ".join, axis=1)
    save_figure(trend_plot(summary, "parameter", label=label), out, formats=(".png",))
