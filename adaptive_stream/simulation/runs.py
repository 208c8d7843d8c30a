"""Simulation runs as plain data, on any ``concurrent.futures.Executor``.

The importable runner behind ``simulate``/``compare`` and anything that needs many runs (a
tuner, a notebook):

* :func:`run_figures`: one policy on one scenario and seed, its figures as a dict (``fixed``
  by the direct playout of :mod:`.hindsight`, which gives the closed loop's figures).
* :func:`best_fixed_figures`: ``best-fixed``, the fixed size with the best R, chosen in
  hindsight (:mod:`.hindsight`); its figures and its ``size``.
* :func:`compare_runs`: every (scenario, policy, seed), plus ``best-fixed`` per scenario and
  seed, run in the caller's process or submitted to an ``Executor`` (a process pool, a Dask
  client's executor): a :class:`Comparison` of per-seed figures and their means.

Everything submitted is picklable data: :class:`~.scenario.Scenario` tuples (a recording's
data is inside them) and :class:`~adaptive_stream.settings.AdaptiveBufferSettings`, and the
task functions are module-level. Each run is deterministic, so the results are the same
whatever the executor and the number of workers.

Figures (the keys of every figures dict, :data:`FIGURE_KEYS`) are those of
:class:`~.figures.Figures`; a mean over seeds is the mean of each figure (so ``mos`` is the
mean of the per-seed MOS, not the MOS of the mean R).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from adaptive_stream.simulation.audio_path import AudioPath, plan_audio_path
from adaptive_stream.simulation.closed_loop import simulate
from adaptive_stream.simulation.figures import Figures, figures_of
from adaptive_stream.simulation.hindsight import best_fixed, fixed_run
from adaptive_stream.simulation.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "BEST_FIXED",
    "FIGURE_KEYS",
    "Comparison",
    "ScenarioLike",
    "as_scenario",
    "as_settings",
    "best_fixed_figures",
    "compare_runs",
    "mean_figures",
    "run_figures",
]

#: The name of the hindsight row (not a policy: it cannot run live).
BEST_FIXED = "best-fixed"
#: The figures of a run, in the order the JSON and CSV give them.
FIGURE_KEYS: tuple[str, ...] = Figures._fields

#: A scenario: loaded, or a file or bundled name to load.
ScenarioLike = Scenario | str | Path


def as_settings(
    settings: AdaptiveBufferSettings | Mapping[str, Any] | None, **overrides: Any
) -> AdaptiveBufferSettings:
    """Settings from an object or a mapping of values, with ``overrides`` on top (a ``None``
    override unsets that field: it takes its default).

    Raises:
        SettingsError: an invalid value (named, with what is allowed).
    """
    from adaptive_stream.settings import AdaptiveBufferSettings, load_settings

    if isinstance(settings, AdaptiveBufferSettings):
        if not overrides:
            return settings
        values = settings.model_dump()
    else:
        values = dict(settings or {})
    values.update(overrides)
    return load_settings(None, **values)


def as_scenario(scenario: ScenarioLike, seed: int | None = None) -> Scenario:
    """A scenario (loaded if given as a file or name), with ``seed`` if given.

    Raises:
        ScenarioError: naming the file and what is wrong.
    """
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return loaded if seed is None else loaded.with_seed(seed)


@functools.lru_cache(maxsize=4)
def _path(scenario: Scenario, frame_us: int) -> AudioPath:
    """The scenario's audio path, kept for the next run on the same scenario in this
    process (every policy faces the same frames)."""
    return plan_audio_path(scenario, frame_us)


def _frame_us(settings: AdaptiveBufferSettings) -> int:
    return round(settings.frame_duration.total_seconds() * 1e6)


def figures_dict(figures: Figures) -> dict[str, Any]:
    """The figures as a dict, keys in :data:`FIGURE_KEYS` order."""
    return figures._asdict()


def run_figures(
    scenario: ScenarioLike,
    settings: AdaptiveBufferSettings | Mapping[str, Any],
    seed: int | None = None,
    *,
    path: AudioPath | None = None,
) -> dict[str, Any]:
    """One closed-loop run of the policy the settings name: its figures (:data:`FIGURE_KEYS`).

    ``seed`` replaces the scenario's own; ``path``, if given, must be the scenario's audio
    path at that seed and the settings' frame duration (computed once, for many runs).
    Raises :class:`~.scenario.ScenarioError` for a scenario that cannot run,
    ``SettingsError`` for invalid settings.
    """
    resolved = as_settings(settings)
    loaded = as_scenario(scenario, seed)
    if path is None:
        path = _path(loaded, _frame_us(resolved))
    if resolved.policy == "fixed":
        # The same figures as the closed loop (tested), without its per-tick cost.
        run = fixed_run(loaded, path, resolved.default_buffer_size)
    else:
        run = simulate(loaded, resolved, path=path)
    return figures_dict(figures_of(run))


def best_fixed_figures(
    scenario: ScenarioLike,
    settings: AdaptiveBufferSettings | Mapping[str, Any],
    seed: int | None = None,
    *,
    path: AudioPath | None = None,
) -> dict[str, Any]:
    """``best-fixed`` on one scenario and seed: the figures of the fixed size from
    ``min_buffer_size`` to ``max_buffer_size`` with the best R, plus ``size`` and
    ``hindsight: True`` (chosen after the run: not a live policy)."""
    resolved = as_settings(settings)
    loaded = as_scenario(scenario, seed)
    if path is None:
        path = _path(loaded, _frame_us(resolved))
    size, figures = best_fixed(loaded, path, resolved.min_buffer_size, resolved.max_buffer_size)
    return {**figures_dict(figures), "size": size, "hindsight": True}


def mean_figures(per_seed: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each figure's mean over ``per_seed`` (non-empty); ``best-fixed``'s ``size`` is
    averaged too and its per-seed values kept as ``sizes`` (flags are kept as they are)."""
    out: dict[str, Any] = {}
    for key, first in per_seed[0].items():
        values = [figures[key] for figures in per_seed]
        out[key] = first if isinstance(first, bool) else sum(values) / len(values)
    if "size" in out:
        out["sizes"] = [figures["size"] for figures in per_seed]
    return out


class Comparison(NamedTuple):
    """The results of :func:`compare_runs`.

    Attributes:
        seeds: the seeds run, in order (``None``: each scenario's own seed).
        policies: the rows per scenario, in order (the policies, then ``best-fixed``).
        per_seed: ``{seed: {scenario: {policy: figures}}}``.
        scenarios: ``{scenario: {policy: figures}}``, each figure's mean over the seeds.
        scenario_seeds: ``{scenario: seed}`` when every scenario ran with its own seed.
    """

    seeds: tuple[int, ...] | None
    policies: tuple[str, ...]
    per_seed: dict[int, dict[str, dict[str, dict[str, Any]]]]
    scenarios: dict[str, dict[str, dict[str, Any]]]
    scenario_seeds: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``compare --format json`` (docs/yardstick.md)."""
        if self.seeds is None or len(self.seeds) == 1:
            seeds = set(self.scenario_seeds.values())
            seed: Any = seeds.pop() if len(seeds) == 1 else dict(self.scenario_seeds)
            return {"seed": seed, "scenarios": self.scenarios}
        return {
            "seeds": list(self.seeds),
            "scenarios": self.scenarios,
            "per_seed": {str(seed): runs for seed, runs in self.per_seed.items()},
        }


def _run_task(
    kind: str,
    scenario: Scenario,
    settings: AdaptiveBufferSettings,
    seed: int,
    path: AudioPath | None = None,
) -> dict[str, Any]:
    """One unit of work for an executor (module-level, so that it pickles)."""
    if kind == BEST_FIXED:
        return best_fixed_figures(scenario, settings, seed, path=path)
    return run_figures(scenario, settings, seed, path=path)


def compare_runs(
    scenarios: Sequence[ScenarioLike],
    policies: Sequence[str],
    seeds: Sequence[int] | None = None,
    settings: AdaptiveBufferSettings | Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    *,
    policy_settings: Mapping[str, AdaptiveBufferSettings | Mapping[str, Any]] | None = None,
    with_best_fixed: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Every policy on every scenario and seed (and ``best-fixed``), the same frames for all.

    Args:
        scenarios: scenarios, or files or bundled names to load (names must be unique).
        policies: policy names (``POLICIES``).
        seeds: the seeds to run each scenario with; ``None``: each scenario's own seed.
        settings: the settings every policy runs with (``policy`` is set per run).
        executor: where the runs go (``submit`` is called once per run, with picklable
            arguments); ``None``: one after another in this process.
        policy_settings: settings for a policy by name, instead of ``settings``.
        with_best_fixed: add the ``best-fixed`` row (with ``settings``' size limits).
        progress: called with ``"SCENARIO POLICY seed N"`` as each run's result comes in
            (on the caller's thread).

    Raises:
        ScenarioError: a scenario that cannot be loaded or run (the first one that fails).
        SettingsError: invalid settings, before anything runs.
    """
    loaded = [as_scenario(s) for s in scenarios]
    chosen = {
        name: as_settings((policy_settings or {}).get(name, settings), policy=name)
        for name in policies
    }
    # best-fixed takes the size limits and the frame duration; the override is feedback's.
    base = as_settings(settings, policy="fixed", buffer_size_override=None)
    rows = list(policies) + ([BEST_FIXED] if with_best_fixed else [])
    seed_list = list(seeds) if seeds is not None else None
    work: list[tuple[int, str, str, Scenario, AdaptiveBufferSettings]] = []
    for scenario in loaded:
        for seed in seed_list if seed_list is not None else [scenario.seed]:
            for row in rows:
                config = base if row == BEST_FIXED else chosen[row]
                work.append((seed, scenario.name, row, scenario, config))

    def done(i: int) -> None:
        if progress is not None:
            seed, name, row = work[i][:3]
            progress(f"{name} {row} seed {seed}")

    results: list[dict[str, Any]] = []
    if executor is None:
        for i, (seed, _, row, scenario, config) in enumerate(work):
            results.append(_run_task(row, scenario, config, seed))
            done(i)
    else:
        # Longest scenarios first, so that no worker is left with a long run at the end; each
        # audio path is computed once, here, and sent with its runs.
        order = sorted(range(len(work)), key=lambda i: -work[i][3].duration.total_seconds())
        paths: dict[tuple[str, int, int], AudioPath] = {}
        futures: dict[int, Future[dict[str, Any]]] = {}
        for i in order:
            seed, name, row, scenario, config = work[i]
            key = (name, seed, _frame_us(config))
            if key not in paths:
                paths[key] = plan_audio_path(scenario.with_seed(seed), key[2])
            futures[i] = executor.submit(_run_task, row, scenario, config, seed, paths[key])
        for i in range(len(work)):
            results.append(futures[i].result())
            done(i)
    per_seed: dict[int, dict[str, dict[str, dict[str, Any]]]] = {}
    for (seed, name, row, _, _), figures in zip(work, results, strict=True):
        per_seed.setdefault(seed, {}).setdefault(name, {})[row] = figures
    means: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario in loaded:
        runs = [
            by_scenario[scenario.name]
            for by_scenario in per_seed.values()
            if scenario.name in by_scenario
        ]
        means[scenario.name] = {row: mean_figures([r[row] for r in runs]) for row in rows}
        if len(runs) == 1:
            means[scenario.name] = runs[0]
    return Comparison(
        seeds=tuple(seed_list) if seed_list is not None else None,
        policies=tuple(rows),
        per_seed=per_seed,
        scenarios=means,
        scenario_seeds={s.name: s.seed for s in loaded},
    )
