"""Score the recommended policy (``quality``, as the working tree has it) again on the
scenarios of committed ``compare --format json`` files, against the other policies' figures
in them: the measurement behind docs/policies.md's "tried, not kept" lists.

    python tools/rescore_quality.py [--scenarios DIR] [--profile P] [--jobs N] [--verbose] \\
        JSON [JSON ...]

Only ``quality`` runs again, on every scenario and seed the files hold; the other policies
and ``best-fixed`` are read from the files, so an experiment on the policy is measured in
seconds rather than in a full ``compare``. It prints one line: the set's wins (best of all,
``best-fixed`` included), the mean margin over the best of the others, as the files have
them and as they are now, the change in ``quality``'s mean MOS and the largest flap rate
(reversals within 5 s, per minute); ``--verbose`` adds a line per scenario. With the policy
unchanged the change is 0 exactly (the runs are deterministic).

A scenario named ``NAME`` in the files is read from ``DIR/NAME.toml`` or ``DIR/*/NAME.toml``;
without ``--scenarios``, ``NAME`` is a bundled scenario. ``--profile`` and the
``ADAPTIVE_STREAM_*`` environment give the settings, as for ``compare`` (which the files
came from). A file that cannot be read, a scenario not found or bad settings is one line
naming it, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

RECOMMENDED = "quality"
FRAME_S = 0.02  # the scenarios' frame duration (frames to minutes)


class Rescored(NamedTuple):
    """One scenario: ``quality``'s mean MOS in the files and now, the best of the others
    (best-fixed included) and which it is, and ``quality``'s flap rate now."""

    name: str
    before: float
    now: float
    best_other: float
    best_name: str
    flaps_per_minute: float


class ToolError(Exception):
    """A one-line error for the command line."""


def load_runs(files: list[Path]) -> dict[str, dict[int, dict[str, float]]]:
    """Per scenario and seed, every policy's MOS (``best-fixed`` included), from the files."""
    runs: dict[str, dict[int, dict[str, float]]] = {}
    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            per_seed = document["per_seed"]
            for seed, scenarios in per_seed.items():
                for name, policies in scenarios.items():
                    mos = {policy: float(figures["mos"]) for policy, figures in policies.items()}
                    if RECOMMENDED not in mos:
                        raise ToolError(f"{path}: scenario {name!r} has no {RECOMMENDED} row")
                    runs.setdefault(name, {})[int(seed)] = mos
        except OSError as error:
            raise ToolError(f"{path}: cannot read: {error.strerror}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ToolError(
                f"{path}: not the JSON of compare --format json ({type(error).__name__}: {error})"
            ) from None
    return runs


def scenario_file(name: str, directory: Path | None) -> str:
    """Where scenario ``name`` is read from: ``DIR/NAME.toml``, ``DIR/*/NAME.toml``, or the
    bundled name itself."""
    if directory is None:
        return name
    for candidate in (directory / f"{name}.toml", *sorted(directory.glob(f"*/{name}.toml"))):
        if candidate.is_file():
            return str(candidate)
    raise ToolError(f"{directory}: no {name}.toml (in it or one folder below)")


def _run(job: tuple[str, int, str | None]) -> tuple[float, float]:
    """One run of ``quality``: its MOS and its flaps per minute."""
    from adaptive_stream.settings import load_settings
    from adaptive_stream.simulation.runs import run_figures

    scenario, seed, profile = job
    figures = run_figures(scenario, load_settings(profile, policy=RECOMMENDED), seed)
    frames = figures["played"] + figures["late"] + figures["dropped"] + figures["lost"]
    minutes = frames * FRAME_S / 60
    return float(figures["mos"]), figures["flaps"] / minutes if minutes else 0.0


def rescore(
    runs: dict[str, dict[int, dict[str, float]]],
    directory: Path | None,
    profile: str | None,
    jobs: int,
) -> list[Rescored]:
    """``quality`` run again on every scenario and seed of ``runs``, against the rest."""
    # The policies on every seed of a scenario: the ones its means are taken over.
    shared = {
        name: set.intersection(*(set(mos) for mos in seeds.values()))
        for name, seeds in runs.items()
    }
    for name, policies in shared.items():
        if not policies - {RECOMMENDED}:
            raise ToolError(
                f"scenario {name!r}: no other policy on every seed in the files to compare with"
            )
    work = [
        (scenario_file(name, directory), seed, profile)
        for name, seeds in sorted(runs.items())
        for seed in sorted(seeds)
    ]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_run, work))
    else:
        results = [_run(job) for job in work]
    rows: list[Rescored] = []
    at = 0
    for name, seeds in sorted(runs.items()):
        done = results[at : at + len(seeds)]
        at += len(seeds)
        means = {
            policy: sum(mos[policy] for mos in seeds.values()) / len(seeds)
            for policy in shared[name]
        }
        others = {policy: value for policy, value in means.items() if policy != RECOMMENDED}
        best_name = max(others, key=lambda policy: (others[policy], policy))
        rows.append(
            Rescored(
                name,
                means[RECOMMENDED],
                sum(mos for mos, _ in done) / len(done),
                others[best_name],
                best_name,
                sum(rate for _, rate in done) / len(done),
            )
        )
    return rows


def summary(rows: list[Rescored]) -> str:
    """One line: wins and mean margin before and now, the change, the largest flap rate."""
    n = len(rows)
    wins_before = sum(row.before >= row.best_other for row in rows)
    wins_now = sum(row.now >= row.best_other for row in rows)
    margin_before = sum(row.before - row.best_other for row in rows) / n
    margin_now = sum(row.now - row.best_other for row in rows) / n
    change = sum(row.now - row.before for row in rows) / n
    flaps = max(row.flaps_per_minute for row in rows)
    return (
        f"{n} scenarios: best of all on {wins_before} -> {wins_now}; mean margin "
        f"{margin_before:+.4f} -> {margin_now:+.4f}; quality's mean MOS {change:+.4f}; "
        f"flaps at most {flaps:.2f} a minute"
    )


def detail(row: Rescored) -> str:
    """One scenario's line (``--verbose``)."""
    return (
        f"  {row.name}: quality {row.before:.3f} -> {row.now:.3f} ({row.now - row.before:+.3f});"
        f" best other {row.best_name} {row.best_other:.3f}, margin "
        f"{row.now - row.best_other:+.3f}; flaps {row.flaps_per_minute:.2f} a minute"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("json", nargs="+", type=Path, help="compare --format json files")
    parser.add_argument("--scenarios", type=Path, help="the folder of the scenario files")
    parser.add_argument("--profile", help="settings profile, as for compare")
    parser.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--verbose", action="store_true", help="a line per scenario")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs: must be 1 or more (got {args.jobs})")
    from adaptive_stream.errors import SettingsError
    from adaptive_stream.simulation.recorded import RecordingError
    from adaptive_stream.simulation.scenario import ScenarioError

    try:
        runs = load_runs(args.json)
        if not runs:
            raise ToolError(f"{args.json[0]}: no scenario in the files")
        rows = rescore(runs, args.scenarios, args.profile, args.jobs)
    except (ToolError, SettingsError, ScenarioError, RecordingError) as error:
        print(f"rescore_quality: {error}", file=sys.stderr)
        return 2
    if args.verbose:
        print("\n".join(detail(row) for row in rows))
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
