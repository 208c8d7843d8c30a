"""One simulation run's scores, as the study needs them: the only place that asks the
simulator (:mod:`adaptive_stream.simulation.runs`) for figures.

Runs are submitted to a ``concurrent.futures.Executor`` (a process pool, a Dask cluster):
:func:`run_scores` is a plain top-level function, and its arguments (a scenario, settings)
pickle, so any executor can carry them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings
    from adaptive_stream.simulation import Scenario

__all__ = ["RunScores", "best_fixed_scores", "run_scores"]


class RunScores(NamedTuple):
    """What the study keeps of one run (scenario, seed, settings).

    Attributes:
        r_factor: the E-model's transmission rating R (0..100).
        mos: the mean opinion score R maps to (1..4.5).
        latency_mean_ms: mean capture-to-playout latency of the played frames.
        loss_percent: audible events (late, dropped, stretched, lost) per 100 slots.
    """

    r_factor: float
    mos: float
    latency_mean_ms: float
    loss_percent: float


def _scores(figures: dict[str, Any]) -> RunScores:
    return RunScores(
        r_factor=figures["r_factor"],
        mos=figures["mos"],
        latency_mean_ms=figures["latency_mean_ms"],
        loss_percent=figures["loss_percent"],
    )


def run_scores(scenario: Scenario, settings: AdaptiveBufferSettings) -> RunScores:
    """Simulate ``scenario`` (its seed as given) with ``settings``; deterministic: the
    same arguments give the same scores in any process."""
    from adaptive_stream.simulation.runs import run_figures

    return _scores(run_figures(scenario, settings))


def best_fixed_scores(scenario: Scenario, settings: AdaptiveBufferSettings) -> RunScores:
    """``best-fixed`` on ``scenario`` (its seed as given): the fixed size within the
    settings' ``min_buffer_size..max_buffer_size`` with the best R, chosen in hindsight."""
    from adaptive_stream.simulation.runs import best_fixed_figures

    return _scores(best_fixed_figures(scenario, settings))
