"""Sparsity schedules: Zhu & Gupta's cubic ramp (gradual) and the lottery's rounds."""

from __future__ import annotations

from kstarlab.pruning.masks import check_sparsity


def cubic_sparsity(
    step: int, *, final: float, initial: float = 0.0, start: int, count: int, interval: int
) -> float:
    """Zhu & Gupta (2017): s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³, pruning at
    t0, t0 + Δt, …, t0 + nΔt; constant in between (the last pruning step's value), s_i
    before t0 and s_f from t0 + nΔt on.

    ``step`` is t, ``start`` t0, ``count`` n, ``interval`` Δt.
    """
    if step < start:
        return initial
    last = start + ((step - start) // interval) * interval
    progress = min(1.0, (last - start) / (count * interval))
    return final + (initial - final) * (1.0 - progress) ** 3


def lottery_sparsities(sparsity: float, rounds: int) -> list[float]:
    """The sparsity after each of ``rounds`` rounds of iterative magnitude pruning: every
    round prunes the same share p of the remaining weights, (1 − p)^rounds = 1 − s, and
    the last round hits s exactly."""
    sparsity = check_sparsity(sparsity)
    levels = [1.0 - (1.0 - sparsity) ** (r / rounds) for r in range(1, rounds + 1)]
    levels[-1] = sparsity
    return levels
