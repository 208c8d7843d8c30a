"""The search: Optuna's ask-and-tell loop, each trial's runs submitted to an Executor.

Reproducible by construction: trials are asked in batches of a fixed size (``batch``, not
the number of workers), every run of the batch is submitted at once, and the trials are
told in trial order once their runs are in. The sampler therefore sees the same sequence of
asks and tells, with the same values (a run is a deterministic function of scenario, seed
and settings), on one process or on a cluster of any size: same seed, same trials.

A study kept in a storage (``sqlite:///tune.db``, or a journal file) is resumed: its
finished trials stay, trials left running by an interrupted study are marked failed and
asked again with the same settings, and the sampler is seeded with the sampler seed plus
the number of trials already in the study (so a resumed study is reproducible too).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import optuna
from optuna.trial import FrozenTrial, TrialState
from pydantic import ValidationError

from adaptive_stream.tune.runs import RunScores, run_scores
from adaptive_stream.tune.space import SearchSpace, settings_from_values

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings
    from adaptive_stream.simulation import Scenario

__all__ = [
    "Objective",
    "TuneConfig",
    "TuneError",
    "best_trial",
    "completed_trials",
    "counted_trials",
    "open_study",
    "run_study",
    "toml_value",
    "trial_settings",
]

Objective = Literal["mos", "pareto"]

#: Keys of the per-trial figures kept as user attributes, in CSV order.
FIGURES = ("mos", "r_factor", "latency_mean_ms", "loss_percent")


class TuneError(Exception):
    """A study that cannot go on: bad input, a failing scenario, an unreachable cluster.
    The message is one line for the user."""


class TuneConfig(NamedTuple):
    """What a study searches, and how.

    Attributes:
        base: the settings every trial starts from (the policy, a profile, flags).
        space: the parameters searched and fixed.
        scenarios: the scenarios every trial runs (their own seed is replaced).
        seeds: the seeds every scenario runs with.
        trials: how many finished trials the study should hold.
        objective: ``mos`` (maximise the mean MOS, TPE) or ``pareto`` (minimise mean
            latency and mean loss, NSGA-II).
        sampler_seed: the sampler's seed (``None``: not reproducible).
        batch: trials asked before any is told (fixed, so results do not depend on the
            number of workers).
        storage: an Optuna storage URL or a journal file path; ``None``: in memory.
        study_name: the study's name in the storage.
    """

    base: AdaptiveBufferSettings
    space: SearchSpace
    scenarios: tuple[Scenario, ...]
    seeds: tuple[int, ...]
    trials: int
    objective: Objective = "mos"
    sampler_seed: int | None = None
    batch: int = 4
    storage: str | None = None
    study_name: str = "adaptive-stream"

    def identity(self) -> dict[str, Any]:
        """What a resumed study must share with the one in the storage."""
        return {
            "policy": self.base.policy,
            "objective": self.objective,
            "scenarios": [s.name for s in self.scenarios],
            "seeds": list(self.seeds),
            "space": self.space.describe(),
        }


def toml_value(value: Any) -> Any:
    """A setting's value as a profile holds it (durations as ``"20ms"``)."""
    if isinstance(value, timedelta):
        return f"{value / timedelta(milliseconds=1):g}ms"
    return value


def _sampler(config: TuneConfig, already: int) -> optuna.samplers.BaseSampler:
    seed = None if config.sampler_seed is None else config.sampler_seed + already
    if config.objective == "mos":
        return optuna.samplers.TPESampler(seed=seed)
    population = max(4, min(50, config.trials // 4))
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)


def _storage(url: str | None) -> str | optuna.storages.BaseStorage | None:
    if url is None or "://" in url:
        return url
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(url))


def open_study(config: TuneConfig) -> optuna.Study:
    """Create the study, or resume the one of the same name in the storage.

    Raises:
        TuneError: the storage cannot be opened, or holds a study of that name made for a
            different policy, objective, scenarios, seeds or space.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions: list[Literal["minimize", "maximize"]] = (
        ["maximize"] if config.objective == "mos" else ["minimize", "minimize"]
    )
    try:
        storage = _storage(config.storage)
        study = optuna.create_study(
            storage=storage,
            study_name=config.study_name,
            directions=directions,
            load_if_exists=True,
        )
    except Exception as exc:  # OSError, ValueError, SQLAlchemy's errors (optuna lets them by)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TuneError(f"--storage {config.storage}: cannot open the study: {reason}") from None
    identity = config.identity()
    stored = study.user_attrs.get("identity")
    if stored is None:
        if study.trials:
            raise TuneError(
                f"--storage {config.storage}: study {config.study_name!r} was not made by "
                "adaptive-stream tune"
            )
        study.set_user_attr("identity", identity)
    elif stored != identity:
        differs = ", ".join(k for k in identity if stored.get(k) != identity[k])
        raise TuneError(
            f"--storage {config.storage}: study {config.study_name!r} differs in {differs}; "
            "resume it with the same arguments or name another study (--study-name)"
        )
    if [d.name.lower() for d in study.directions] != directions:
        raise TuneError(f"--storage {config.storage}: study {config.study_name!r} differs")
    study.sampler = _sampler(config, len(study.trials))
    _requeue_interrupted(study)
    return study


def _requeue_interrupted(study: optuna.Study) -> None:
    """Trials an interrupted study left running: marked failed, asked again as they were."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"requeued_from": trial.number})


def completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The study's finished trials, in trial order."""
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def counted_trials(study: optuna.Study) -> int:
    """Trials that count toward ``trials``: finished, or failed for invalid settings."""
    return sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.state == TrialState.COMPLETE or "invalid" in t.user_attrs
    )


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The trial with the best mean MOS (for ``pareto``: the best on the front)."""
    if len(study.directions) == 1:
        return study.best_trial if completed_trials(study) else None
    front = study.best_trials
    return max(front, key=lambda t: (t.user_attrs["mos"], -t.number), default=None)


def trial_settings(config: TuneConfig, trial: FrozenTrial) -> AdaptiveBufferSettings:
    """The settings ``trial`` ran with (the study's base with the trial's values)."""
    from adaptive_stream.settings import parse_duration

    recorded: dict[str, Any] = trial.user_attrs["settings"]
    values = {k: parse_duration(v) if isinstance(v, str) else v for k, v in recorded.items()}
    return settings_from_values(config.base, values)


def _values(objective: Objective, summary: dict[str, float]) -> list[float]:
    if objective == "mos":
        return [summary["mos"]]
    return [summary["latency_mean_ms"], summary["loss_percent"]]


def _summarise(
    scenarios: Sequence[Scenario], seeds: Sequence[int], scores: Sequence[RunScores]
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Means over every run, and per scenario (R, MOS, latency, loss) over its seeds."""
    per: dict[str, list[float]] = {}
    for i, scenario in enumerate(scenarios):
        runs = scores[i * len(seeds) : (i + 1) * len(seeds)]
        per[scenario.name] = [
            math.fsum(getattr(r, key) for r in runs) / len(runs)
            for key in ("r_factor", "mos", "latency_mean_ms", "loss_percent")
        ]
    summary = {key: math.fsum(getattr(r, key) for r in scores) / len(scores) for key in FIGURES}
    return summary, per


class _Pending(NamedTuple):
    trial: optuna.Trial
    settings: AdaptiveBufferSettings | None
    invalid: str | None
    futures: list[Future[RunScores]]


def run_study(
    study: optuna.Study,
    config: TuneConfig,
    executor: Executor,
    progress: Callable[[optuna.Study], None] | None = None,
) -> None:
    """Run trials until the study holds ``config.trials`` (finished or invalid ones).

    Each trial runs every scenario with every seed; ``progress`` is called after each
    trial is told.

    Raises:
        TuneError: a run failed (the trial is marked failed, the others of its batch are
            cancelled and left to be asked again on resume), or no trial had valid
            settings.
    """
    runs = [(s, seed) for s in config.scenarios for seed in config.seeds]
    while (done := counted_trials(study)) < config.trials:
        pending: list[_Pending] = []
        for _ in range(min(config.batch, config.trials - done)):
            trial = study.ask()
            values = config.space.suggest(trial)
            try:
                settings = settings_from_values(config.base, values)
            except ValidationError as exc:
                problem = "; ".join(str(e["msg"]) for e in exc.errors(include_url=False))
                pending.append(_Pending(trial, None, problem, []))
                continue
            futures = [
                executor.submit(run_scores, scenario.with_seed(seed), settings)
                for scenario, seed in runs
            ]
            pending.append(_Pending(trial, settings, None, futures))
        for index, item in enumerate(pending):
            _tell(study, config, item, runs, later=pending[index + 1 :])
            if progress is not None:
                progress(study)
    if not completed_trials(study):
        raise TuneError("no trial had valid settings: check the fixed values in --space")


def _tell(
    study: optuna.Study,
    config: TuneConfig,
    item: _Pending,
    runs: Sequence[tuple[Scenario, int]],
    later: Sequence[_Pending],
) -> None:
    trial = item.trial
    if item.settings is None:
        trial.set_user_attr("invalid", item.invalid)
        study.tell(trial, state=TrialState.FAIL)
        return
    scores: list[RunScores] = []
    for (scenario, seed), future in zip(runs, item.futures, strict=True):
        try:
            scores.append(future.result())
        except Exception as exc:
            study.tell(trial, state=TrialState.FAIL)
            for other in later:
                for pending_future in other.futures:
                    pending_future.cancel()
            where = scenario.source or scenario.name
            raise TuneError(
                f"scenario {where} (seed {seed}) failed in trial {trial.number}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
    summary, per = _summarise(config.scenarios, config.seeds, scores)
    settings = item.settings
    chosen = {name: toml_value(getattr(settings, name)) for name in config.space.tunable}
    trial.set_user_attr("settings", chosen)
    for key, value in summary.items():
        trial.set_user_attr(key, value)
    trial.set_user_attr("scenarios", per)
    study.tell(trial, _values(config.objective, summary))
