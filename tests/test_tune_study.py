"""The study: reproducible on any executor, resumable from its storage, and its written
profile reproduces the MOS it reports."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from concurrent.futures import Executor, Future
from datetime import timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
from tune_scenarios import tune_args, write_scenarios

pytest.importorskip("optuna")

from optuna.trial import TrialState

from adaptive_stream.cli import main
from adaptive_stream.settings import load_settings
from adaptive_stream.simulation import load_scenario
from adaptive_stream.tune.executors import InProcessExecutor, open_executor
from adaptive_stream.tune.runs import run_scores
from adaptive_stream.tune.space import policy_space
from adaptive_stream.tune.study import (
    TuneConfig,
    TuneError,
    best_trial,
    completed_trials,
    open_study,
    run_study,
)

P = ParamSpec("P")
T = TypeVar("T")


def _config(folder: Path, trials: int = 6, **kwargs: Any) -> TuneConfig:
    paths = write_scenarios(folder / "scenarios")
    base = load_settings(policy="feedback")
    return TuneConfig(
        base=base,
        space=policy_space("feedback", base),
        scenarios=tuple(load_scenario(p) for p in paths),
        seeds=(1, 2),
        trials=trials,
        sampler_seed=11,
        batch=2,
        **kwargs,
    )


def _history(study: Any) -> list[tuple[int, dict[str, Any], list[float]]]:
    return [(t.number, t.params, t.values) for t in completed_trials(study)]


def test_same_sampler_seed_same_trials_in_process_and_on_a_process_pool(tmp_path: Path) -> None:
    config = _config(tmp_path)
    histories = []
    for jobs in (1, 2):
        study = open_study(config)
        with open_executor(jobs) as executor:
            run_study(study, config, executor)
        histories.append(_history(study))
    assert len(histories[0]) == 6
    assert histories[0] == histories[1]


def test_a_different_sampler_seed_gives_different_trials(tmp_path: Path) -> None:
    studies = []
    for seed in (11, 12):
        config = _config(tmp_path, trials=2)._replace(sampler_seed=seed)
        study = open_study(config)
        run_study(study, config, InProcessExecutor())
        studies.append(_history(study))
    assert studies[0][0][1] != studies[1][0][1]


class _InterruptingExecutor(Executor):
    """Runs in-process, and raises KeyboardInterrupt (Ctrl-C) on the n-th submit."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.submitted = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        self.submitted += 1
        if self.submitted == self.at:
            raise KeyboardInterrupt
        future: Future[T] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_an_interrupted_study_resumes_from_its_storage(tmp_path: Path, kind: str) -> None:
    storage = str(tmp_path / "tune.journal") if kind == "journal" else f"sqlite:///{tmp_path}/t.db"
    config = _config(tmp_path, trials=6, storage=storage)
    study = open_study(config)
    runs_per_trial = 2 * 2
    # Ctrl-C during the second batch, after its first trial's runs were submitted.
    with pytest.raises(KeyboardInterrupt):
        run_study(study, config, _InterruptingExecutor(at=2 * runs_per_trial + 2))
    before = _history(study)
    assert [n for n, _, _ in before] == [0, 1]
    running = study.get_trials(states=(TrialState.RUNNING,))
    assert [t.number for t in running] == [2]

    resumed = open_study(config)
    assert _history(resumed) == before  # finished trials are kept as they were
    run_study(resumed, config, InProcessExecutor())
    after = completed_trials(resumed)
    assert len(after) == 6
    assert _history(resumed)[:2] == before
    # The interrupted trial is asked again with the settings it had.
    again = next(t for t in after if t.user_attrs.get("requeued_from") == 2)
    assert again.params == running[0].params
    failed = resumed.get_trials(states=(TrialState.FAIL,))
    assert [t.number for t in failed] == [2]


def test_resuming_with_other_arguments_is_refused(tmp_path: Path) -> None:
    storage = str(tmp_path / "tune.journal")
    config = _config(tmp_path, trials=2, storage=storage)
    run_study(open_study(config), config, InProcessExecutor())
    with pytest.raises(TuneError, match="differs in seeds"):
        open_study(config._replace(seeds=(1, 2, 3)))


def test_a_failing_run_fails_its_trial_and_keeps_the_finished_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = str(tmp_path / "tune.journal")
    config = _config(tmp_path, trials=4, storage=storage)
    calls = {"n": 0}

    def flaky(scenario: Any, settings: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 2 * 4 and scenario.name == "short-calm":
            raise RuntimeError("the recording ends early")
        return run_scores(scenario, settings)

    monkeypatch.setattr("adaptive_stream.tune.study.run_scores", flaky)
    study = open_study(config)
    with pytest.raises(TuneError, match=r"short-calm.toml \(seed 1\) failed in trial 2: "):
        run_study(study, config, InProcessExecutor())
    assert [t.number for t in completed_trials(study)] == [0, 1]
    assert study.trials[2].state == TrialState.FAIL


def test_the_written_profile_reproduces_the_reported_mos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenarios = write_scenarios(tmp_path / "scenarios")
    out = tmp_path / "results"
    # A setting given as a flag is the base of every trial, and part of the profile.
    assert main(tune_args(scenarios, out, "--jobs", "1", "--adaptation-interval", "400ms")) == 0
    captured = capsys.readouterr()
    printed = captured.out
    # Not a terminal: a progress line per trial here (every 5 % of the trials), on stderr.
    assert "tune: 6/6 trials, best MOS " in captured.err
    assert 'adaptation_interval = "400ms"' in (out / "best.toml").read_text()
    with (out / "trials.csv").open() as handle:
        trials = list(csv.DictReader(handle))
    assert len(trials) == 6
    best = max(trials, key=lambda row: (float(row["mos"]), -int(row["trial"])))
    assert f"Best trial {best['trial']}: mean MOS {float(best['mos']):.3f}" in printed

    settings = load_settings(out / "best.toml")
    assert settings.policy == "feedback"
    assert settings.adaptation_interval == timedelta(milliseconds=400)
    scores = [
        run_scores(load_scenario(path).with_seed(seed), settings)
        for path in scenarios
        for seed in (1, 2)
    ]
    mos = math.fsum(s.mos for s in scores) / len(scores)
    assert mos == pytest.approx(float(best["mos"]), rel=1e-12)
    with (out / "comparison.csv").open() as handle:
        rows = {(r["seed_set"], r["profile"], r["scenario"]): r for r in csv.DictReader(handle)}
    assert float(rows["training", "tuned", "all"]["mos"]) == pytest.approx(mos, rel=1e-12)
    assert {key[:2] for key in rows} == {
        (seed_set, profile)
        for seed_set in ("training", "held-out")
        for profile in ("tuned", "defaults", "best-fixed")
    }
    assert rows["held-out", "tuned", "all"]["seeds"] == "3,4"
    # The profile is a ready profile for the other commands too.
    assert (
        main(
            [
                "simulate",
                "--profile",
                str(out / "best.toml"),
                "--scenario",
                str(scenarios[0]),
                "--no-timeline",
            ]
        )
        == 0
    )


def test_pareto_writes_the_front_of_latency_against_loss(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenarios = write_scenarios(tmp_path / "scenarios")
    out = tmp_path / "results"
    assert main(tune_args(scenarios, out, "--jobs", "1", "--objective", "pareto")) == 0
    capsys.readouterr()
    with (out / "front.csv").open() as handle:
        front = [
            (float(r["latency_mean_ms"]), float(r["loss_percent"]), r["trial"])
            for r in csv.DictReader(handle)
        ]
    with (out / "trials.csv").open() as handle:
        every = [
            (float(r["latency_mean_ms"]), float(r["loss_percent"]), r["trial"])
            for r in csv.DictReader(handle)
        ]
    assert front
    for latency, loss, number in every:
        dominated = any(
            (la <= latency and lo <= loss) and (la < latency or lo < loss) for la, lo, _ in every
        )
        assert dominated == (number not in {n for _, _, n in front}), number
    best = load_settings(out / "best.toml")
    assert best.policy == "feedback"


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_best_trial_as_one_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    distributed = pytest.importorskip("distributed")
    scenarios = write_scenarios(tmp_path / "scenarios")
    assert main(tune_args(scenarios, tmp_path / "one", "--jobs", "1")) == 0
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert main(tune_args(scenarios, tmp_path / "dask", "--dask", address)) == 0
    capsys.readouterr()
    for name in ("best.toml", "trials.csv", "comparison.csv"):
        assert (tmp_path / "dask" / name).read_text() == (tmp_path / "one" / name).read_text()


def test_best_trial_is_none_before_any_trial(tmp_path: Path) -> None:
    assert best_trial(open_study(_config(tmp_path))) is None


def test_a_run_failing_in_the_comparison_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adaptive_stream.tune.compare import compare_profiles

    config = _config(tmp_path)

    def broken(scenario: Any, settings: Any) -> Any:
        if scenario.seed == 4:
            raise OSError("worker lost")
        return run_scores(scenario, settings)

    monkeypatch.setattr("adaptive_stream.tune.compare.run_scores", broken)
    with pytest.raises(TuneError, match=r"short-jitter.toml \(seed 4\) failed in the comparison"):
        compare_profiles(
            {"defaults": config.base},
            config.scenarios,
            {"training": (1, 2), "held-out": (3, 4)},
            InProcessExecutor(),
        )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_with_the_best_mos_on_a_terminal(tmp_path: Path) -> None:
    from adaptive_stream.tune.progress import Progress

    config = _config(tmp_path, trials=2)
    study = open_study(config)
    terminal = _Terminal()
    progress = Progress(config.trials, terminal)
    run_study(study, config, InProcessExecutor(), progress)
    progress.close()
    best = best_trial(study)
    assert best is not None
    assert "2/2" in terminal.getvalue()
    assert f"best MOS {best.user_attrs['mos']:.3f} (trial {best.number})" in terminal.getvalue()
