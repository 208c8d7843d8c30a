"""``adaptive-stream tune``: the command, from parsed arguments to the files it writes.

Every input is checked before the first run (policy, settings, scenarios, seeds, space,
output folder, the Dask scheduler); a problem is one line on stderr and exit code 2, with
nothing written. Results are written at the end, all whole or none (see :mod:`.results`);
the study's storage, when given, keeps every finished trial whatever happens.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adaptive_stream.errors import EXIT_INTERRUPTED, EXIT_OK, SettingsError, fail
from adaptive_stream.simulation.report import parse_seeds

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from optuna.trial import FrozenTrial

    from adaptive_stream.simulation import Scenario
    from adaptive_stream.tune.compare import ComparisonRow
    from adaptive_stream.tune.study import TuneConfig

__all__ = ["run_tune", "scenarios_from"]


class _InputError(Exception):
    """Bad input found before the study starts."""


def scenarios_from(spec: str) -> tuple[Scenario, ...]:
    """``all`` (every bundled scenario), a folder (its ``*.toml``), or comma-separated
    scenario files or bundled names.

    Raises:
        ScenarioError: naming the file and the field that is wrong.
    """
    from adaptive_stream.simulation import ScenarioError, bundled_scenarios, load_scenario

    paths: Sequence[str | Path | Traversable]
    if spec == "all":
        paths = list(bundled_scenarios().values())
        if not paths:
            raise ScenarioError("--scenarios all: no scenario found under config/scenarios")
    elif Path(spec).is_dir():
        paths = sorted(Path(spec).glob("*.toml"))
        if not paths:
            raise ScenarioError(f"--scenarios {spec}: no *.toml scenario in this folder")
    else:
        paths = [part.strip() for part in spec.split(",") if part.strip()]
        if not paths:
            raise ScenarioError("--scenarios: no scenario named")
    scenarios = tuple(load_scenario(path) for path in paths)
    names = [s.name for s in scenarios]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ScenarioError(f"--scenarios: two scenarios are named {repeated[0]!r}")
    return scenarios


def _positive(value: int | None, flag: str) -> None:
    if value is not None and value < 1:
        raise _InputError(f"{flag}: must be 1 or more (got {value})")


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise _InputError(f"--out {out}: exists and is not a folder")
    parent = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise _InputError(f"--out {out}: cannot write in {parent}")


def _fail(message: str) -> int:
    return fail(f"tune: {message}")


def run_tune(args: argparse.Namespace) -> int:
    """Run the ``tune`` subcommand (see ``adaptive-stream tune --help``)."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        return _fail("needs the tune extra: pip install 'adaptive-stream[tune]'")
    from adaptive_stream.simulation import ScenarioError
    from adaptive_stream.tune.space import SpaceError
    from adaptive_stream.tune.study import TuneError

    try:
        return _run(args)
    except SettingsError as exc:
        return _fail(f"invalid settings: {exc}")
    except (_InputError, SpaceError, ScenarioError, TuneError, ValueError) as exc:
        return _fail(str(exc))


def _run(args: argparse.Namespace) -> int:
    from adaptive_stream.policies import POLICIES
    from adaptive_stream.settings import load_settings
    from adaptive_stream.tune.space import load_space_file, policy_space
    from adaptive_stream.tune.study import TuneConfig

    if args.policy not in POLICIES:
        raise _InputError(
            f"--policy: unknown policy {args.policy!r} (known: {', '.join(sorted(POLICIES))})"
        )
    for value, flag in ((args.trials, "--trials"), (args.jobs, "--jobs"), (args.batch, "--batch")):
        _positive(value, flag)
    if args.dask_timeout <= 0:
        raise _InputError(f"--dask-timeout: must be above 0 (got {args.dask_timeout:g})")
    seeds = parse_seeds(args.seeds)
    held_out = (
        parse_seeds(args.holdout_seeds, "--holdout-seeds")
        if args.holdout_seeds
        else tuple(range(max(seeds) + 1, max(seeds) + 1 + len(seeds)))
    )
    if set(held_out) & set(seeds):
        raise _InputError("--holdout-seeds: must not share a seed with --seeds")
    overrides: dict[str, Any] = dict(getattr(args, "setting_overrides", None) or {})
    if "policy" in overrides:
        raise _InputError("name the policy with --policy only")
    base = load_settings(args.profile, **overrides, policy=args.policy)
    scenarios = scenarios_from(args.scenarios)
    entries = load_space_file(args.space) if args.space else None
    space = policy_space(args.policy, base, entries, origin=args.space or "--space")
    out = Path(args.out)
    _check_out(out)
    config = TuneConfig(
        base=base,
        space=space,
        scenarios=scenarios,
        seeds=seeds,
        trials=args.trials,
        objective=args.objective,
        sampler_seed=args.sampler_seed,
        batch=args.batch,
        storage=args.storage,
        study_name=args.study_name or f"{args.policy}-{args.objective}",
    )
    jobs = args.jobs or os.cpu_count() or 1
    return _search(
        config, out, held_out=held_out, jobs=jobs, dask=args.dask, timeout=args.dask_timeout
    )


def _search(
    config: TuneConfig,
    out: Path,
    *,
    held_out: tuple[int, ...],
    jobs: int,
    dask: str | None,
    timeout: float,
) -> int:
    from adaptive_stream.output import write_files
    from adaptive_stream.tune.compare import compare_profiles
    from adaptive_stream.tune.executors import open_executor
    from adaptive_stream.tune.progress import Progress
    from adaptive_stream.tune.results import comparison_csv, profile_toml, trials_csv
    from adaptive_stream.tune.study import (
        best_trial,
        completed_trials,
        counted_trials,
        open_study,
        run_study,
        trial_settings,
    )

    with open_executor(jobs, dask, timeout) as executor:
        study = open_study(config)
        where = f"Dask scheduler {dask}" if dask else f"{jobs} local worker(s)"
        print(
            f"Tuning {config.base.policy} ({len(config.space.dimensions)} parameters) on "
            f"{len(config.scenarios)} scenario(s) x {len(config.seeds)} seed(s), "
            f"objective {config.objective}, on {where}; {counted_trials(study)} of "
            f"{config.trials} trials already in the study",
            file=sys.stderr,
        )
        progress = Progress(config.trials)
        try:
            run_study(study, config, executor, progress)
        except KeyboardInterrupt:
            progress.close()
            kept = len(completed_trials(study))
            print(
                f"adaptive-stream tune: interrupted; {kept} finished trial(s) "
                + ("kept in " + str(config.storage) if config.storage else "lost (no --storage)"),
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        progress.close()
        best = best_trial(study)
        assert best is not None  # run_study raises when no trial finished
        tuned = trial_settings(config, best)
        rows = compare_profiles(
            {"tuned": tuned, "defaults": config.base},
            config.scenarios,
            {"training": config.seeds, "held-out": held_out},
            executor,
            best_fixed_from=config.base,
        )
    files = {
        "best.toml": profile_toml(config, best),
        "trials.csv": trials_csv(config, completed_trials(study)),
        "comparison.csv": comparison_csv(rows),
    }
    if config.objective == "pareto":
        files["front.csv"] = trials_csv(config, sorted(study.best_trials, key=lambda t: t.number))
    try:
        written = [Path(p) for p in write_files(out, files)]
    except OSError as exc:
        raise _InputError(f"--out {out}: cannot write the results: {exc}") from None
    _report(config, best, rows, written)
    return EXIT_OK


def _report(
    config: TuneConfig, best: FrozenTrial, rows: Sequence[ComparisonRow], written: Sequence[Path]
) -> None:
    from adaptive_stream.tune.compare import seeds_text

    a = best.user_attrs
    print(
        f"Best trial {best.number}: mean MOS {a['mos']:.3f}, R {a['r_factor']:.1f}, "
        f"latency {a['latency_mean_ms']:.1f} ms, loss {a['loss_percent']:.2f} % "
        f"on {len(config.scenarios)} scenario(s), seeds {seeds_text(config.seeds)}"
    )
    print()
    print(f"{'seeds':<20} {'profile':<11} {'MOS':>6} {'R':>6} {'latency ms':>11} {'loss %':>7}")
    for row in rows:
        if row.scenario == "all":
            print(
                f"{row.seed_set + ' ' + row.seeds:<20} {row.profile:<11} {row.mos:6.3f} "
                f"{row.r_factor:6.1f} {row.latency_mean_ms:11.1f} {row.loss_percent:7.2f}"
            )
    print(
        "(means over scenarios and seeds; best-fixed is chosen in hindsight per scenario "
        "and seed: no live system can do it)"
    )
    print()
    print("Written: " + ", ".join(str(p) for p in written))
