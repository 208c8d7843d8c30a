"""The final comparison: the tuned profile against the defaults and ``best-fixed``, on the
study's seeds and on held-out seeds the search never saw.

A tuned profile that wins only on the seeds it was tuned on is over-fitted; the held-out
rows say whether it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, NamedTuple

from adaptive_stream.tune.runs import RunScores, best_fixed_scores, run_scores
from adaptive_stream.tune.study import TuneError

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings
    from adaptive_stream.simulation import Scenario

__all__ = ["BEST_FIXED", "ComparisonRow", "compare_profiles"]

#: The name of the hindsight baseline's rows.
BEST_FIXED = "best-fixed"


class ComparisonRow(NamedTuple):
    """One profile on one scenario (or ``all``: the mean over scenarios), over a seed set.

    Attributes:
        seed_set: ``training`` (the study's seeds) or ``held-out``.
        seeds: the seeds, as text (``1..5``).
        profile: ``tuned``, ``defaults`` or ``best-fixed``.
        scenario: a scenario's name, or ``all``.
    """

    seed_set: str
    seeds: str
    profile: str
    scenario: str
    mos: float
    r_factor: float
    latency_mean_ms: float
    loss_percent: float


def seeds_text(seeds: Sequence[int]) -> str:
    """``1..5`` for a run of consecutive seeds, else ``1,3,7``."""
    ordered = sorted(seeds)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}..{ordered[-1]}"
    return ",".join(map(str, ordered))


def _mean(scores: Sequence[RunScores], key: str) -> float:
    return math.fsum(getattr(s, key) for s in scores) / len(scores)


def compare_profiles(
    profiles: Mapping[str, AdaptiveBufferSettings],
    scenarios: Sequence[Scenario],
    seed_sets: Mapping[str, Sequence[int]],
    executor: Executor,
    best_fixed_from: AdaptiveBufferSettings | None = None,
) -> list[ComparisonRow]:
    """Every profile on every scenario and seed of every seed set (all submitted at once),
    plus ``best-fixed`` (the best fixed size within ``best_fixed_from``'s limits, chosen
    per scenario and seed in hindsight) when ``best_fixed_from`` is given.

    Raises:
        TuneError: a run failed (naming the scenario, the seed and the profile).
    """
    jobs: dict[tuple[str, str, int], list[Future[RunScores]]] = {}
    runners: dict[str, tuple[Callable[..., RunScores], AdaptiveBufferSettings]] = {
        name: (run_scores, settings) for name, settings in profiles.items()
    }
    if best_fixed_from is not None:
        runners[BEST_FIXED] = (best_fixed_scores, best_fixed_from)
    for seed_set, seeds in seed_sets.items():
        for name, (runner, settings) in runners.items():
            for index, scenario in enumerate(scenarios):
                jobs[seed_set, name, index] = [
                    executor.submit(runner, scenario.with_seed(seed), settings) for seed in seeds
                ]
    rows: list[ComparisonRow] = []
    for seed_set, seeds in seed_sets.items():
        shown = seeds_text(seeds)
        for name in runners:
            everything: list[RunScores] = []
            for index, scenario in enumerate(scenarios):
                scores = _results(jobs[seed_set, name, index], seeds, scenario, name)
                everything.extend(scores)
                rows.append(_row(seed_set, shown, name, scenario.name, scores))
            rows.append(_row(seed_set, shown, name, "all", everything))
    return rows


def _results(
    futures: Sequence[Future[RunScores]], seeds: Sequence[int], scenario: Scenario, profile: str
) -> list[RunScores]:
    scores: list[RunScores] = []
    for seed, future in zip(seeds, futures, strict=True):
        try:
            scores.append(future.result())
        except Exception as exc:
            where = scenario.source or scenario.name
            raise TuneError(
                f"scenario {where} (seed {seed}) failed in the comparison ({profile}): "
                f"{type(exc).__name__}: {exc}"
            ) from None
    return scores


def _row(
    seed_set: str, seeds: str, profile: str, scenario: str, scores: Sequence[RunScores]
) -> ComparisonRow:
    return ComparisonRow(
        seed_set,
        seeds,
        profile,
        scenario,
        mos=_mean(scores, "mos"),
        r_factor=_mean(scores, "r_factor"),
        latency_mean_ms=_mean(scores, "latency_mean_ms"),
        loss_percent=_mean(scores, "loss_percent"),
    )
