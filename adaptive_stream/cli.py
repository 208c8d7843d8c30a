"""The ``adaptive-stream`` command line.

Subcommands:
    run             the controller live on this machine (psutil, logger, Prometheus)
    replay TRACE    replay a recorded trace; prints the SPEC's decision CSV
    demo            replay the bundled sample trace, with a readable summary
    simulate        one policy in closed loop on a simulated audio path (a scenario)
    compare         every policy on the same scenarios and seed: a table of figures
    tune            search a policy's settings for the best MOS (the ``tune`` extra)
    settings        print the settings in force (defaults < profile < environment < flags)

Every subcommand takes ``--profile`` and one flag per setting (``--max-buffer-size 12``,
``--target-latency 15ms``). Errors in input or settings are one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from adaptive_stream.errors import EXIT_OK, EXIT_USAGE
from adaptive_stream.errors import fail as _fail

if TYPE_CHECKING:
    from adaptive_stream.replay import ReplayResult
    from adaptive_stream.settings import AdaptiveBufferSettings

#: The settings' environment prefix (``settings.ENV_PREFIX``; kept here so that checking for
#: it does not import pydantic).
ENV_PREFIX = "ADAPTIVE_STREAM_"

SAMPLE_TRACE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sample.trace.csv")


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil.

    The same rules: ``COLUMNS`` when it is a positive integer, else the terminal on
    ``sys.__stdout__``, else 80. argparse asks for it in every ``add_argument`` call, and
    importing shutil for it (with fnmatch, zlib, bz2 and lzma) cost about 5 % of a replay's
    start-up.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
    return size.columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, at the width shutil would give it (see :func:`_terminal_columns`)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2  # as argparse does with shutil's figure
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, and where help is) and exit
    code 2, like every other error of the command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_HELP_FLAGS = frozenset({"-h", "--help"})
_documented_settings = False  # whether setting flags are declared (only for --help)


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """``--profile``, plus one flag per setting.

    Setting flags are declared (with their docs) only when help is asked for: otherwise they
    are collected by :func:`main` from the arguments argparse does not know, and validated
    by the settings class, so that a plain ``replay`` never imports pydantic.
    """
    group = parser.add_argument_group(
        "settings",
        "Every setting is also a flag (--max-buffer-size 12, --target-latency=15ms). They "
        "override the profile, which ADAPTIVE_STREAM_* environment variables override. "
        "Durations take units: 20ms, 0.5s (a bare number is seconds).",
    )
    group.add_argument(
        "--profile",
        metavar="NAME|FILE",
        help="TOML settings profile: a file, or a name under config/ (jetkvm, desktop)",
    )
    if not _documented_settings:
        return
    from adaptive_stream.settings import AdaptiveBufferSettings

    for name, field in AdaptiveBufferSettings.model_fields.items():
        default = field.default
        shown = default
        if hasattr(default, "total_seconds"):
            shown = f"{default.total_seconds() * 1000:g}ms"
        elif default is None:
            shown = "unset"
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"setting_{name}",
            metavar="VALUE",
            help=f"{(field.description or '').replace('``', '')} (default: {shown})",
        )


def _setting_overrides(extra: Sequence[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs that argparse left over, as settings.

    Raises:
        ValueError: for a stray token or a flag without its value.
    """
    overrides: dict[str, str] = {}
    items = list(extra)
    while items:
        token = items.pop(0)
        if not token.startswith("--") or token == "--":
            raise ValueError(f"unrecognized argument: {token}")
        name, eq, value = token[2:].partition("=")
        if not eq:
            if not items or items[0].startswith("--"):
                raise ValueError(f"{token} expects a value")
            value = items.pop(0)
        overrides[name.replace("-", "_")] = value
    return overrides


def _wants_settings(args: argparse.Namespace) -> bool:
    """Whether anything but the defaults was asked for: a profile, a flag, the environment."""
    return bool(
        getattr(args, "profile", None)
        or getattr(args, "setting_overrides", None)
        or any(key.startswith(ENV_PREFIX) for key in os.environ)
    )


def _settings_from(args: argparse.Namespace) -> AdaptiveBufferSettings:
    from adaptive_stream.settings import load_settings

    overrides: dict[str, Any] = {
        key.removeprefix("setting_"): value
        for key, value in vars(args).items()
        if key.startswith("setting_") and key != "setting_overrides" and value is not None
    }
    overrides.update(getattr(args, "setting_overrides", None) or {})
    return load_settings(getattr(args, "profile", None), **overrides)


#: The subcommands, in the order ``--help`` lists them.
_COMMANDS = ("replay", "demo", "run", "simulate", "compare", "tune", "settings")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line parser, with every subcommand, or with ``only`` that one.

    :func:`main` passes ``only`` when the first argument names the subcommand: argparse then
    hands every later argument to that subcommand's parser, so the others cannot matter,
    and ``replay`` neither imports ``adaptive_stream.live`` nor declares ``run``'s options.
    """
    parser = _Parser(
        prog="adaptive-stream",
        allow_abbrev=False,
        description="Decide, live, how many frames an audio pipeline should buffer.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    # No prefix matching: unknown --flags are settings, and must not be taken for others.
    sub_kwargs: dict[str, Any] = {"allow_abbrev": False}

    if only in (None, "replay"):
        _add_replay_parser(sub, **sub_kwargs)
    if only in (None, "demo"):
        _add_demo_parser(sub, **sub_kwargs)
    if only in (None, "run"):
        from adaptive_stream.live import add_run_parser

        add_run_parser(sub, _add_settings_flags, **sub_kwargs)
    _add_simulation_parsers(sub, only, **sub_kwargs)
    if only in (None, "tune"):
        _add_tune_parser(sub, **sub_kwargs)
    if only in (None, "settings"):
        settings = sub.add_parser("settings", help="print the settings in force", **sub_kwargs)
        _add_settings_flags(settings)
    return parser


def _add_replay_parser(sub: Any, **sub_kwargs: Any) -> None:
    replay = sub.add_parser(
        "replay",
        **sub_kwargs,
        help="replay a trace CSV and print one decision row per tick",
        description=(
            "Replay a trace (header t,kind,cpu_percent,memory_percent,latency_ms) through the "
            "decision pipeline in virtual time, and print the decisions as CSV."
        ),
    )
    replay.add_argument("trace", help="trace CSV file, or - for standard input")
    _add_settings_flags(replay)


def _add_demo_parser(sub: Any, **sub_kwargs: Any) -> None:
    demo = sub.add_parser(
        "demo",
        **sub_kwargs,
        help="replay the bundled sample trace and summarise it",
        description="Replay the bundled sample trace and print its decisions with a summary.",
    )
    demo.add_argument("--trace", default=SAMPLE_TRACE, help="trace to replay instead")
    webrtc = demo.add_argument_group(
        "webrtc",
        "--webrtc: a real WebRTC call instead (needs the extra: pip install "
        "'adaptive-stream[webrtc]'): two peer connections over loopback, Opus from a tone, "
        "the sender's RTP through an impaired link, played out at the policy's size",
    )
    webrtc.add_argument("--webrtc", action="store_true", help="run the loopback WebRTC call")
    webrtc.add_argument("--link-trace", metavar="FILE", help="Mahimahi link trace to impair by")
    webrtc.add_argument("--arrivals", metavar="FILE", help="arrival log (capture_ms,arrival_ms)")
    webrtc.add_argument("--stall-every", metavar="DURATION", help="a stall every (default 5s)")
    webrtc.add_argument("--stall", metavar="DURATION", help="each stall's length (default 200ms)")
    webrtc.add_argument("--duration", default="30s", help="seconds of playout (default 30s)")
    webrtc.add_argument("--format", choices=("table", "json"), default="table")
    webrtc.add_argument("--record-arrivals", metavar="FILE", help="write the arrival log here")
    _add_settings_flags(demo)


def _add_simulation_parsers(sub: Any, only: str | None, **sub_kwargs: Any) -> None:
    """``simulate`` and ``compare`` (the closed-loop simulator)."""
    if only in (None, "simulate"):
        simulate = sub.add_parser(
            "simulate",
            **sub_kwargs,
            help="run a policy in closed loop on a simulated audio path",
            description=(
                "Run the decision pipeline in virtual time against a simulated audio path (frames "
                "arriving with jitter, CPU and memory stalls, a consumer playing one frame per "
                "slot), feeding latency, underruns and metrics back. Prints a timeline and the "
                "figures. Choose the policy with --policy (a setting)."
            ),
        )
        simulate.add_argument(
            "--scenario",
            required=True,
            metavar="NAME|FILE",
            help="a scenario TOML file, or a name under config/scenarios (steady, cpu-spikes, ...)",
        )
        simulate.add_argument("--seed", type=int, help="random seed instead of the scenario's")
        simulate.add_argument(
            "--no-timeline", action="store_true", help="print the summary only, not the timeline"
        )
        _add_format_flag(simulate)
        _add_settings_flags(simulate)
    if only in (None, "compare"):
        compare = sub.add_parser(
            "compare",
            **sub_kwargs,
            help="compare policies on the same scenarios and seed",
            description=(
                "Run every policy (or those named) on the same scenarios with the same seed and "
                "print a table: underruns (total, per minute, at start-up), latency (mean, p95), "
                "mean size, size changes, flaps, the longest recovery, loss, and the E-model's R "
                "and MOS; plus best-fixed, the fixed size with the best R chosen in hindsight."
            ),
        )
        compare.add_argument(
            "--scenario",
            default="all",
            metavar="NAME|FILE|all",
            help="a scenario file or name, or all (every scenario under config/scenarios)",
        )
        compare.add_argument(
            "--policies",
            metavar="A,B,...",
            help="comma-separated policy names (default: every registered policy)",
        )
        seeds = compare.add_mutually_exclusive_group()
        seeds.add_argument("--seed", type=int, help="random seed instead of each scenario's")
        seeds.add_argument(
            "--seeds",
            metavar="A..B|A,B,...",
            help="run every seed (1..5, or a list 1,2,7) and report each figure's mean",
        )
        compare.add_argument(
            "--jobs",
            type=int,
            metavar="N",
            help="worker processes for the runs (default: the number of cores; 1: in process)",
        )
        _add_format_flag(compare)
        _add_settings_flags(compare)


def _add_format_flag(parser: Any) -> None:
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), or json / csv for machines (schema in docs/yardstick.md)",
    )


def _add_tune_parser(sub: Any, **sub_kwargs: Any) -> None:
    """``tune``: the search itself lives in :mod:`adaptive_stream.tune` (the ``tune`` extra)."""
    tune = sub.add_parser(
        "tune",
        **sub_kwargs,
        help="search a policy's settings for the best MOS on scenarios (the tune extra)",
        description=(
            "Search the settings a policy reads (each within its validated range) for the best "
            "mean MOS over scenarios and seeds, or the front of mean latency against loss, "
            "with Optuna; runs go to local worker processes or a Dask cluster. Writes "
            "best.toml (a profile for --profile), trials.csv, comparison.csv (tuned against "
            "the defaults and best-fixed, on the seeds searched and on held-out seeds) and, "
            "for pareto, front.csv. Other settings: --profile, ADAPTIVE_STREAM_* variables, "
            "or flags as for simulate (--frame-duration 10ms)."
        ),
    )
    tune.add_argument("--policy", required=True, metavar="NAME", help="the policy to tune")
    tune.add_argument(
        "--scenarios",
        required=True,
        metavar="FILE|DIR|all",
        help="scenario files or names (comma-separated), a folder of them, or all",
    )
    tune.add_argument("--seeds", default="1..5", help="seeds searched: A..B or A,B,C (1..5)")
    tune.add_argument(
        "--holdout-seeds",
        metavar="SEEDS",
        help="seeds for the final check, never searched (default: as many after --seeds)",
    )
    tune.add_argument("--trials", type=int, default=200, help="trials in the study (200)")
    tune.add_argument(
        "--objective",
        choices=("mos", "pareto"),
        default="mos",
        help="mos: best mean MOS (TPE); pareto: mean latency against loss (NSGA-II)",
    )
    tune.add_argument("--sampler-seed", type=int, help="the sampler's seed: a reproducible study")
    tune.add_argument(
        "--batch", type=int, default=4, help="trials asked at once, then told in order (4)"
    )
    where = tune.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, help="local worker processes (default: the cores)")
    where.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler (tcp://HOST:8786)")
    tune.add_argument(
        "--dask-timeout", type=float, default=5.0, help="seconds to reach the scheduler (5)"
    )
    tune.add_argument(
        "--storage",
        metavar="URL|FILE",
        help="keep and resume the study: sqlite:///tune.db, or a journal file",
    )
    tune.add_argument("--study-name", help="the study's name in the storage (POLICY-OBJECTIVE)")
    tune.add_argument("--space", metavar="FILE.toml", help="narrow or fix parameters")
    tune.add_argument("--out", default="results", help="folder for the results (results/)")
    tune.add_argument(
        "--profile",
        metavar="NAME|FILE",
        help="settings every trial starts from (a file, or a name under config/)",
    )


def _version() -> str:
    from adaptive_stream import __version__

    return f"adaptive-stream {__version__}"


def _open_trace(path: str) -> Any:
    if path == "-":
        return sys.stdin
    return open(path, encoding="utf-8", newline="")


def _run_replay(args: argparse.Namespace) -> int:
    import gc

    from adaptive_stream.replay import TraceError, replay

    # A replay makes a few hundred thousand short-lived objects; without this, each full
    # collection would walk every object made at import time again (measured: about 5 % of
    # a one-hour replay). Safe here: the process ends when the replay does.
    gc.freeze()

    settings = _settings_from(args) if _wants_settings(args) else None
    try:
        source = _open_trace(args.trace)
    except OSError as exc:
        return _fail(f"cannot read trace {args.trace}: {exc.strerror or exc}")
    try:
        with source:
            result = replay(source, sys.stdout, settings)
    except TraceError as exc:
        return _fail(f"{args.trace}: {exc}")
    except OSError as exc:
        return _fail(f"cannot read trace {args.trace}: {exc.strerror or exc}")
    _note_unusual(args.trace, result)
    return EXIT_OK


def _note_unusual(trace: str, result: ReplayResult) -> None:
    """One line on stderr when a trace held values no live source gives (they were replayed
    as the original would have taken them; stdout is the decision CSV all the same)."""
    if result.unusual:
        rows = "row holds" if result.unusual == 1 else "rows hold"
        print(
            f"adaptive-stream: note: {trace}: {result.unusual} {rows} values the live manager "
            f"would reject (first: {result.first_unusual}); replayed as the original takes "
            "them, unchecked",
            file=sys.stderr,
        )


def _run_demo(args: argparse.Namespace) -> int:
    from adaptive_stream.replay import TraceError, format_decision, replay_decisions

    settings = _settings_from(args)
    if args.webrtc:
        from adaptive_stream.webrtc.demo import run_webrtc_demo

        return run_webrtc_demo(args, settings)
    try:
        with _open_trace(args.trace) as source:
            result = replay_decisions(source, settings)
    except TraceError as exc:
        return _fail(f"{args.trace}: {exc}")
    except OSError as exc:
        return _fail(f"cannot read trace {args.trace}: {exc.strerror or exc}")
    _note_unusual(args.trace, result)
    print(f"Replaying {args.trace} with the {settings.policy} policy")
    print("t (s)    in  out   cpu %  mem %  latency ms  factor  why")
    for t, d in result.rows:
        if d.adjusted or d is result.rows[-1][1]:
            print(
                f"{float(t):7.2f} {d.input_size:3d} {d.output_size:4d} {d.cpu_percent:7.2f} "
                f"{d.memory_percent:6.2f} {d.average_latency_ms:11.3f} "
                f"{d.combined_factor:+7.3f}  {d.reason}"
            )
    print()
    print(_summary(result, settings))
    print("\nFirst rows of the replay CSV (adaptive-stream replay prints them all):")
    for t, d in result.rows[:3]:
        print("  " + format_decision(t, d))
    return EXIT_OK


def _summary(result: ReplayResult, settings: AdaptiveBufferSettings) -> str:
    rows = [d for _, d in result.rows]
    if not rows:
        return "No tick had metrics: no decision was made."
    adjusted = sum(d.adjusted for d in rows)
    sizes = [d.input_size for d in rows]
    frame_ms = 20
    last = rows[-1]
    lines = [
        f"Summary: {result.ticks} ticks, {len(rows)} decisions, {adjusted} adjustments, "
        f"{result.latency_samples} latency samples, {result.metrics_samples} metrics samples",
        "  input size over time: "
        + _sparkline(sizes, settings.min_buffer_size, settings.max_buffer_size),
        f"  input size: min {min(sizes)}, max {max(sizes)}, final {last.input_size} frames "
        f"(~{last.input_size * frame_ms} ms at 20 ms frames); output final {last.output_size}",
        f"  final latency average {last.average_latency_ms:.3f} ms, "
        f"adaptation_count {last.adaptation_count}",
    ]
    return "\n".join(lines)


def _sparkline(values: Sequence[int], low: int, high: int, width: int = 60) -> str:
    bars = "▁▂▃▄▅▆▇█"
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    span = max(high - low, 1)
    return "".join(bars[min(len(bars) - 1, (v - low) * len(bars) // (span + 1))] for v in values)


def _run_live(args: argparse.Namespace) -> int:
    from adaptive_stream.live import run_live

    return run_live(args, _settings_from)


def _load_scenarios(names: Sequence[str], seed: int | None) -> list[Any]:
    """The scenarios named (or every bundled one for ``all``), with ``seed`` if given.

    Raises:
        ScenarioError: naming the file and the field that is wrong.
    """
    from adaptive_stream.simulation import ScenarioError, bundled_scenarios, load_scenario

    if seed is not None and not 0 <= seed < 2**32:
        raise ScenarioError(f"--seed: must be a whole number from 0 to {2**32 - 1} (got {seed})")
    if list(names) == ["all"]:
        paths = list(bundled_scenarios().values())
        if not paths:
            raise ScenarioError("no scenario found under config/scenarios")
        scenarios = [load_scenario(path) for path in paths]
    else:
        scenarios = [load_scenario(name) for name in names]
    return [s.with_seed(seed) if seed is not None else s for s in scenarios]


def _run_simulate(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    from adaptive_stream.simulation import ScenarioError, figures_of, simulate
    from adaptive_stream.simulation.report import (
        run_output,
        summary_lines,
        timeline_lines,
        write_output,
    )

    try:
        [scenario] = _load_scenarios([args.scenario], args.seed)
        run = simulate(scenario, settings)
    except ScenarioError as exc:
        return _fail(str(exc))
    if args.format != "table":
        write_output(run_output(run, figures_of(run), args.format))
        return EXIT_OK
    interval = settings.adaptation_interval.total_seconds()
    print(
        f"Simulating {scenario.name} ({scenario.description or 'no description'}) with the "
        f"{run.policy} policy; seed {scenario.seed}, sizes {settings.min_buffer_size}.."
        f"{settings.max_buffer_size} frames of {settings.frame_duration.total_seconds() * 1e3:g}"
        f" ms, a decision every {interval:g} s"
    )
    if not args.no_timeline:
        print("\n".join(timeline_lines(run)))
        print()
    print("\n".join(summary_lines(run, figures_of(run))))
    return EXIT_OK


def _run_compare(args: argparse.Namespace) -> int:
    from adaptive_stream.policies import POLICIES
    from adaptive_stream.settings import load_settings
    from adaptive_stream.simulation import ScenarioError
    from adaptive_stream.simulation.report import (
        default_jobs,
        parse_seeds,
        run_compare,
        write_output,
    )

    overrides = dict(getattr(args, "setting_overrides", None) or {})
    if "policy" in overrides or getattr(args, "setting_policy", None):
        return _fail("compare: name the policies with --policies A,B (not --policy)")
    names = [n.strip() for n in (args.policies or ",".join(POLICIES)).split(",") if n.strip()]
    unknown = [n for n in names if n not in POLICIES]
    if unknown or not names:
        known = ", ".join(POLICIES)
        what = f"unknown policy {unknown[0]!r}" if unknown else "no policy named"
        return _fail(f"--policies: {what} (known: {known})")
    # Every policy's settings are checked before anything runs: a bad flag fails at once.
    settings = {
        name: load_settings(getattr(args, "profile", None), **overrides, policy=name)
        for name in names
    }
    base = settings[names[0]]  # best-fixed takes its size limits (compare_runs drops the rest)
    try:
        seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    except ValueError as exc:
        return _fail(f"--seeds: {exc}")
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        return _fail(f"--jobs: must be a whole number from 1 (got {jobs})")
    try:
        scenarios = _load_scenarios([args.scenario], args.seed)
        text = run_compare(
            scenarios, names, settings, base, seeds=seeds, jobs=jobs, output=args.format
        )
    except ScenarioError as exc:
        return _fail(str(exc))
    write_output(text)
    return EXIT_OK


def _run_tune(args: argparse.Namespace) -> int:
    from adaptive_stream.tune.command import run_tune

    return run_tune(args)


def _run_settings(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    width = max(len(k) for k in settings.describe())
    for key, value in settings.describe().items():
        print(f"{key:<{width}}  {value}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``adaptive-stream`` console script."""
    global _documented_settings
    arguments = list(sys.argv[1:] if argv is None else argv)
    _documented_settings = not _HELP_FLAGS.isdisjoint(arguments)
    # The first argument is the subcommand (the top level takes only --help and --version):
    # declare that one alone. Help, and anything unusual, get the whole parser.
    first = arguments[0] if arguments else None
    only = first if first in _COMMANDS and not _documented_settings else None
    parser = build_parser(only)
    args, extra = parser.parse_known_args(arguments)
    try:
        args.setting_overrides = _setting_overrides(extra)
    except ValueError as exc:
        parser.exit(EXIT_USAGE, f"adaptive-stream {args.command}: error: {exc}\n")
    from adaptive_stream.errors import SettingsError

    handlers = {
        "replay": _run_replay,
        "demo": _run_demo,
        "settings": _run_settings,
        "run": _run_live,
        "simulate": _run_simulate,
        "compare": _run_compare,
        "tune": _run_tune,
    }
    try:
        return handlers[args.command](args)
    except SettingsError as exc:
        return _fail(f"invalid settings: {exc}")
    except BrokenPipeError:
        # `adaptive-stream replay trace.csv | head`: the reader left; that is not an error.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _import_asyncio_without_ssl() -> None:
    """Import asyncio so that it finds no ``ssl`` module; ``ssl`` stays importable after.

    reactivex imports asyncio (for its typing), and asyncio imports ``ssl`` when it can:
    about 15 ms and 4 MiB of RSS (libssl and libcrypto) in a process where no command uses
    TLS through asyncio. A ``None`` entry in ``sys.modules`` makes that optional import fail
    the documented way; asyncio then runs without TLS support in this process only. A later
    ``import ssl`` (the Prometheus exporter's) loads it normally.
    """
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]
    try:
        import asyncio  # noqa: F401
    finally:
        del sys.modules["ssl"]


def entry() -> int:
    """The ``adaptive-stream`` console script: :func:`main` in a process of its own.

    The one thing it adds to :func:`main` is :func:`_import_asyncio_without_ssl`, which is
    only right in a process this command owns; code calling :func:`main` in its own process
    (tests, notebooks) keeps its asyncio as it is.
    """
    _import_asyncio_without_ssl()
    return main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(entry())
