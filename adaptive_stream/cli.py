"""The ``adaptive-stream`` command line: it parses arguments and calls the library.

Subcommands:
    run             the controller live on this machine (psutil, logger, Prometheus)
    replay TRACE    replay a recorded trace; prints the SPEC's decision CSV
    demo            replay the bundled sample trace, with a readable summary
    simulate        one policy in closed loop on a simulated audio path (a scenario)
    compare         every policy on the same scenarios and seed: a table of figures
    tune            search a policy's settings for the best MOS (the ``tune`` extra)
    settings        print the settings in force (defaults < profile < environment < flags)

Every subcommand takes ``--profile`` and one flag per setting (``--max-buffer-size 12``,
``--target-latency 15ms``). Errors in input, settings or output are one line on stderr and
exit code 2; Ctrl-C is one line and exit code 130.

Adding a subcommand: write ``_add_NAME(sub)``, which declares its parser with
:func:`add_subcommand` (the setting flags come with it), adds its own arguments and names
its handler with ``set_defaults(handler=...)``; then list ``_add_NAME`` in
:data:`SUBCOMMANDS`.
A handler takes the parsed arguments and returns the exit code; it raises
:class:`~adaptive_stream.errors.SettingsError`, :class:`~adaptive_stream.output.OutputError`
or :class:`CommandError` for what the user must fix, and :func:`main` reports them.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from adaptive_stream.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from adaptive_stream.setting_names import ENV_PREFIX, SETTING_NAMES

if TYPE_CHECKING:
    from adaptive_stream.replay import ReplayResult
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "SUBCOMMANDS",
    "CommandError",
    "add_subcommand",
    "build_parser",
    "entry",
    "main",
    "settings_flags",
]

_R = TypeVar("_R")

SAMPLE_TRACE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sample.trace.csv")


class CommandError(Exception):
    """What the user must fix, said in one line (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, and where help is) and exit
    code 2, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter; a setting flag's help is the setting's own documentation, read
    from the settings class when help is shown (so parsing never imports pydantic)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        name = action.dest.removeprefix("setting_")
        if action.dest.startswith("setting_") and name in SETTING_NAMES:
            return _setting_help(name)
        return action.help


def _setting_help(name: str) -> str:
    from adaptive_stream.settings import AdaptiveBufferSettings, describe_range

    field = AdaptiveBufferSettings.model_fields[name]
    default = field.default
    if hasattr(default, "total_seconds"):
        shown = f"{default.total_seconds() * 1000:g}ms"
    elif default is None:
        shown = "unset"
    else:
        shown = str(default)
    text = " ".join((field.description or "").replace("``", "").split())
    return f"{text} Allowed: {describe_range(name)}. (default: {shown})".replace("%", "%%")


@functools.cache
def settings_flags() -> argparse.ArgumentParser:
    """A parent parser (argparse's ``parents=``) with ``--profile`` and one ``--<setting>``
    flag per setting; the value is checked when the settings are loaded, with the profile
    and the environment. Built once and shared by every subcommand."""
    parent = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group(
        "settings",
        "Every setting is also a flag (--max-buffer-size 12, --target-latency=15ms). They "
        "override the profile, which ADAPTIVE_STREAM_* environment variables override. "
        "Durations take units: 20ms, 0.5s (a bare number is seconds).",
    )
    group.add_argument(
        "--profile",
        metavar="NAME|FILE",
        help="TOML settings profile: a file, or a bundled name (jetkvm, desktop, feedback; "
        "copies to start from are in config/)",
    )
    for name in SETTING_NAMES:
        group.add_argument(
            "--" + name.replace("_", "-"), dest=f"setting_{name}", metavar="VALUE", help=name
        )
    return parent


def _setting_flags(args: argparse.Namespace) -> dict[str, str]:
    """The setting flags given, by setting name."""
    return {
        key.removeprefix("setting_"): value
        for key, value in vars(args).items()
        if key.startswith("setting_") and value is not None
    }


def _wants_settings(args: argparse.Namespace) -> bool:
    """Whether anything but the defaults was asked for: a profile, a flag, the environment."""
    return bool(
        getattr(args, "profile", None)
        or _setting_flags(args)
        or any(key.startswith(ENV_PREFIX) for key in os.environ)
    )


def _settings_from(args: argparse.Namespace, **fixed: Any) -> AdaptiveBufferSettings:
    from adaptive_stream.settings import load_settings

    return load_settings(getattr(args, "profile", None), **{**_setting_flags(args), **fixed})


def build_parser() -> argparse.ArgumentParser:
    """The command line parser, with every subcommand of :data:`SUBCOMMANDS`."""
    parser = _Parser(
        prog="adaptive-stream",
        allow_abbrev=False,
        formatter_class=_HelpFormatter,
        description="Decide, live, how many frames an audio pipeline should buffer.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def add_subcommand(
    sub: Any, name: str, *, help: str, description: str, settings: bool = True
) -> argparse.ArgumentParser:
    """Declare the subcommand ``name`` (with the setting flags unless ``settings=False``);
    the caller adds its own arguments and ``set_defaults(handler=...)``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=description,
        parents=[settings_flags()] if settings else [],
        allow_abbrev=False,  # a setting flag must never be taken for a prefix of another
        formatter_class=_HelpFormatter,
    )
    return parser


def _version() -> str:
    from adaptive_stream import __version__

    return f"adaptive-stream {__version__}"


# --- replay and demo ------------------------------------------------------------------------


def _add_replay(sub: Any) -> None:
    replay = add_subcommand(
        sub,
        "replay",
        help="replay a trace CSV and print one decision row per tick",
        description=(
            "Replay a trace (header t,kind,cpu_percent,memory_percent,latency_ms) through the "
            "decision pipeline in virtual time, and print the decisions as CSV."
        ),
    )
    replay.add_argument("trace", help="trace CSV file, or - for standard input")
    replay.set_defaults(handler=_run_replay)


def _add_demo(sub: Any) -> None:
    demo = add_subcommand(
        sub,
        "demo",
        help="replay the bundled sample trace and summarise it",
        description=("Replay the bundled sample trace and print its decisions with a summary."),
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
    demo.set_defaults(handler=_run_demo)


def _read_trace(path: str, read: Callable[[Iterable[str]], _R]) -> _R:
    """``read`` applied to the lines of the trace at ``path`` (``-``: standard input).

    Raises:
        CommandError: the trace cannot be read or is invalid (naming the file and line).
    """
    from adaptive_stream.replay import TraceError, TraceReadError, open_trace

    try:
        with open_trace(path) as lines:
            return read(lines)
    except TraceError as exc:
        raise CommandError(f"{path}: {exc}") from None
    except TraceReadError as exc:
        raise CommandError(f"cannot read trace {path}: {exc}") from None


def _run_replay(args: argparse.Namespace) -> int:
    import gc

    from adaptive_stream.output import write_stdout

    # A replay makes a few hundred thousand short-lived objects; without this, each full
    # collection would walk every object made at import time again (measured: about 5 % of
    # a one-hour replay). Safe here: the process ends when the replay does.
    gc.freeze()
    from adaptive_stream.replay import replay_csv

    settings = _settings_from(args) if _wants_settings(args) else None
    result, text = _read_trace(args.trace, lambda lines: replay_csv(lines, settings))
    write_stdout(text)
    _note_unusual(args.trace, result)
    return EXIT_OK


def _note_unusual(trace: str, result: ReplayResult) -> None:
    """One line on stderr when a trace held values no live source gives (they were replayed
    as the original would have taken them; stdout is the decision CSV all the same)."""
    if result.unusual:
        rows = "row holds" if result.unusual == 1 else "rows hold"
        _say(
            f"note: {trace}: {result.unusual} {rows} values the live manager would reject "
            f"(first: {result.first_unusual}); replayed as the original takes them, unchecked"
        )


def _run_demo(args: argparse.Namespace) -> int:
    from adaptive_stream.output import write_stdout
    from adaptive_stream.replay import format_decision, replay_decisions

    settings = _settings_from(args)
    if args.webrtc:
        from adaptive_stream.webrtc.demo import run_webrtc_demo

        return run_webrtc_demo(args, settings)
    result = _read_trace(args.trace, lambda lines: replay_decisions(lines, settings))
    _note_unusual(args.trace, result)
    lines = [
        f"Replaying {args.trace} with the {settings.policy} policy",
        "t (s)    in  out   cpu %  mem %  latency ms  factor  why",
    ]
    for t, d in result.rows:
        if d.adjusted or d is result.rows[-1][1]:
            lines.append(
                f"{float(t):7.2f} {d.input_size:3d} {d.output_size:4d} {d.cpu_percent:7.2f} "
                f"{d.memory_percent:6.2f} {d.average_latency_ms:11.3f} "
                f"{d.combined_factor:+7.3f}  {d.reason}"
            )
    lines += ["", _summary(result, settings), ""]
    lines.append("First rows of the replay CSV (adaptive-stream replay prints them all):")
    lines += ["  " + format_decision(t, d) for t, d in result.rows[:3]]
    write_stdout("\n".join(lines) + "\n")
    return EXIT_OK


def _summary(result: ReplayResult, settings: AdaptiveBufferSettings) -> str:
    rows = [d for _, d in result.rows]
    if not rows:
        return "No tick had metrics: no decision was made."
    adjusted = sum(d.adjusted for d in rows)
    sizes = [d.input_size for d in rows]
    frame_ms = settings.frame_duration.total_seconds() * 1000
    last = rows[-1]
    lines = [
        f"Summary: {result.ticks} ticks, {len(rows)} decisions, {adjusted} adjustments, "
        f"{result.latency_samples} latency samples, {result.metrics_samples} metrics samples",
        "  input size over time: "
        + _sparkline(sizes, settings.min_buffer_size, settings.max_buffer_size),
        f"  input size: min {min(sizes)}, max {max(sizes)}, final {last.input_size} frames "
        f"(~{last.input_size * frame_ms:g} ms at {frame_ms:g} ms frames); "
        f"output final {last.output_size}",
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


# --- run ------------------------------------------------------------------------------------


def _pid(text: str) -> int:
    try:
        pid = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a pid: {text!r}") from None
    if not 0 < pid < 2**31:
        raise argparse.ArgumentTypeError(f"a pid is a positive integer, got {text}")
    return pid


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is within 0..65535 (0: any free one), got {port}")
    return port


def _run_duration(text: str) -> float:
    """``--duration``: a duration as every setting takes it (``90s``, ``2m``, ``500ms``, a
    bare number of seconds), above 0 and at most a year."""
    from adaptive_stream.live import MAX_RUN_SECONDS
    from adaptive_stream.settings import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not hasattr(value, "total_seconds"):
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (examples: 90s, 2m, 500ms; a bare number is seconds)"
        )
    seconds = float(value.total_seconds())
    if not 0 < seconds <= MAX_RUN_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be above 0 and at most {MAX_RUN_SECONDS / 86400:g} days, got {text}"
            " (leave it out to run until interrupted)"
        )
    return seconds


def _add_run(sub: Any) -> None:
    run = add_subcommand(
        sub,
        "run",
        help="run the controller live on this machine",
        description=(
            "Watch processes (or the whole system), decide the buffer sizes every adaptation "
            "interval and print one line per decision; print a summary on exit (--duration, "
            "Ctrl-C, SIGTERM or SIGHUP). Latency comes from audio code through update_latency(); "
            "a plain run has none, so its latency average stays 0."
        ),
    )
    what = run.add_argument_group("what to watch (default: this process)")
    what.add_argument(
        "--pid",
        type=_pid,
        action="append",
        default=[],
        metavar="PID",
        help="watch this process (repeatable)",
    )
    what.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="NAME",
        help="watch processes with this name, matched again on every sample so that a "
        "restarted process is picked up (repeatable)",
    )
    what.add_argument(
        "--system", action="store_true", help="use whole-machine CPU and memory instead"
    )
    run.add_argument(
        "--duration",
        type=_run_duration,
        metavar="DURATION",
        help="stop after this long (90s, 2m, 500ms; a bare number is seconds; default: run "
        "until interrupted)",
    )
    out = run.add_argument_group("output")
    out.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus metrics on this port (0: any free port, printed at start)",
    )
    out.add_argument(
        "--metrics-addr",
        metavar="ADDR",
        help="address for --metrics-port (default: 127.0.0.1); needs --metrics-port",
    )
    out.add_argument(
        "--metrics-names",
        choices=("adaptive_stream", "jetkvm"),
        default="adaptive_stream",
        help="metric names: ours, or the JetKVM firmware's for existing dashboards",
    )
    out.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
    out.add_argument("--quiet", action="store_true", help="no line per decision, only the summary")
    run.set_defaults(handler=_run_live)


def _run_live(args: argparse.Namespace) -> int:
    from adaptive_stream.live import LiveOptions, run_live

    try:
        options = LiveOptions(
            pids=tuple(args.pid),
            names=tuple(args.name),
            system=args.system,
            duration=args.duration,
            metrics_port=args.metrics_port,
            metrics_addr=args.metrics_addr,
            metrics_names=args.metrics_names,
            log_json=args.log_json,
            quiet=args.quiet,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return run_live(_settings_from(args), options)


# --- simulate and compare -------------------------------------------------------------------


def _add_progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress on stderr (default: when stderr is a terminal)",
    )


def _add_format_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), or json / csv for machines (schema in docs/yardstick.md)",
    )


def _add_simulate(sub: Any) -> None:
    simulate = add_subcommand(
        sub,
        "simulate",
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
        help="a scenario TOML file, or a bundled name (steady, cpu-spikes, ...)",
    )
    simulate.add_argument("--seed", type=int, help="random seed instead of the scenario's")
    simulate.add_argument(
        "--no-timeline", action="store_true", help="print the summary only, not the timeline"
    )
    _add_format_flag(simulate)
    _add_progress_flag(simulate)
    simulate.set_defaults(handler=_run_simulate)


def _add_compare(sub: Any) -> None:
    compare = add_subcommand(
        sub,
        "compare",
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
        metavar="NAME|FILE|DIR|all",
        help=(
            "a scenario file or name, a folder (every *.toml in it), or all (every bundled "
            "top-level scenario)"
        ),
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
    _add_progress_flag(compare)
    compare.set_defaults(handler=_run_compare)


class _Progress:
    """``[i/n] what (elapsed)`` on stderr, one line redrawn in place every second, when
    asked for or when stderr is a terminal; nothing otherwise. Drawn from a thread of its
    own, so a long single simulation shows it is alive too."""

    def __init__(self, total: int, wanted: bool | None) -> None:
        err = sys.stderr
        if wanted is None:
            wanted = err is not None and err.isatty()
        self._on = bool(wanted) and err is not None
        self._total = total
        self._done = 0
        self._what = ""
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self._on:
            self._thread = threading.Thread(target=self._redraw, name="progress", daemon=True)
            self._thread.start()

    def step(self, what: str) -> None:
        with self._lock:
            self._done += 1
            self._what = what
        self._show()

    def _redraw(self) -> None:
        while not self._stop.wait(1.0):
            self._show()

    def _show(self, final: bool = False) -> None:
        with self._lock:
            if not self._on:
                return
            elapsed = time.monotonic() - self._started
            text = "" if final else f"[{self._done}/{self._total}] {self._what} ({elapsed:.0f} s)"
            try:
                sys.stderr.write(f"\r\033[K{text}")
                sys.stderr.flush()
            except (OSError, ValueError, AttributeError):
                self._on = False  # stderr went away: progress is not worth failing for
            if final:
                self._on = False  # nothing is drawn after the line is cleared

    def close(self) -> None:
        """Clear the line and stop redrawing."""
        self._stop.set()
        self._show(final=True)
        if self._thread is not None:
            self._thread.join(timeout=5)


def _load_scenarios(names: Sequence[str], seed: int | None) -> list[Any]:
    """The scenarios named (or every bundled one for ``all``), with ``seed`` if given.

    Raises:
        CommandError: naming the file and the field that is wrong.
    """
    from adaptive_stream.simulation import ScenarioError, bundled_scenarios, load_scenario

    try:
        if seed is not None and not 0 <= seed < 2**32:
            raise ScenarioError(
                f"--seed: must be a whole number from 0 to {2**32 - 1} (got {seed})"
            )
        if list(names) == ["all"]:
            paths = list(bundled_scenarios().values())
            if not paths:
                raise ScenarioError("no bundled scenario found")
            scenarios = [load_scenario(path) for path in paths]
        else:
            scenarios = [
                load_scenario(path)
                for name in names
                for path in (
                    sorted(str(p) for p in Path(name).glob("*.toml"))
                    if Path(name).is_dir()
                    else [name]
                )
            ]
            if not scenarios:
                raise ScenarioError(f"--scenario {', '.join(names)}: no *.toml scenario in it")
    except ScenarioError as exc:
        raise CommandError(str(exc)) from None
    return [s.with_seed(seed) if seed is not None else s for s in scenarios]


#: The most frames one simulation may plan: 24 hours of 20 ms frames (the longest scenario at
#: the default frame) and about 600 MiB; a microsecond-scale frame on a long scenario would
#: otherwise take hours and gigabytes.
MAX_SIMULATED_FRAMES = 5_000_000


def _check_size(scenario: Any, settings: AdaptiveBufferSettings) -> None:
    """Raise :class:`CommandError` if ``scenario`` has too many frames to simulate."""
    frames = int(scenario.duration / settings.frame_duration)
    if frames > MAX_SIMULATED_FRAMES:
        frame_ms = settings.frame_duration.total_seconds() * 1e3
        raise CommandError(
            f"scenario {scenario.name}: {scenario.duration.total_seconds():g} s of "
            f"{frame_ms:g} ms frames is {frames:,} frames; at most {MAX_SIMULATED_FRAMES:,} "
            "can be simulated (use a longer frame_duration or a shorter scenario)"
        )


def _run_simulate(args: argparse.Namespace) -> int:
    from adaptive_stream.output import write_stdout
    from adaptive_stream.simulation import ScenarioError, figures_of, simulate
    from adaptive_stream.simulation.report import run_output, summary_lines, timeline_lines

    settings = _settings_from(args)
    if Path(args.scenario).is_dir():
        raise CommandError(f"--scenario {args.scenario}: a folder; simulate runs one scenario")
    [scenario] = _load_scenarios([args.scenario], args.seed)
    _check_size(scenario, settings)
    progress = _Progress(1, args.progress)
    try:
        progress.step(f"simulating {scenario.name} with {settings.policy}")
        run = simulate(scenario, settings)
    except ScenarioError as exc:
        raise CommandError(str(exc)) from None
    finally:
        progress.close()
    if args.format != "table":
        write_stdout(run_output(run, figures_of(run), args.format))
        return EXIT_OK
    interval = settings.adaptation_interval.total_seconds()
    lines = [
        f"Simulating {scenario.name} ({scenario.description or 'no description'}) with the "
        f"{run.policy} policy; seed {scenario.seed}, sizes {settings.min_buffer_size}.."
        f"{settings.max_buffer_size} frames of {settings.frame_duration.total_seconds() * 1e3:g}"
        f" ms, a decision every {interval:g} s"
    ]
    if not args.no_timeline:
        lines += [*timeline_lines(run), ""]
    lines += summary_lines(run, figures_of(run))
    write_stdout("\n".join(lines) + "\n")
    return EXIT_OK


def _run_compare(args: argparse.Namespace) -> int:
    from adaptive_stream.output import write_stdout
    from adaptive_stream.policies import POLICIES
    from adaptive_stream.simulation import ScenarioError
    from adaptive_stream.simulation.report import default_jobs, parse_seeds, run_compare

    if args.setting_policy is not None:
        raise CommandError("compare: name the policies with --policies A,B (not --policy)")
    names = [n.strip() for n in (args.policies or ",".join(POLICIES)).split(",") if n.strip()]
    unknown = [n for n in names if n not in POLICIES]
    if unknown or not names:
        known = ", ".join(POLICIES)
        what = f"unknown policy {unknown[0]!r}" if unknown else "no policy named"
        raise CommandError(f"--policies: {what} (known: {known})")
    # Every policy's settings are checked before anything runs: a bad flag fails at once.
    settings = {name: _settings_from(args, policy=name) for name in names}
    base = settings[names[0]]  # best-fixed takes its size limits (compare_runs drops the rest)
    try:
        seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        raise CommandError(f"--jobs: must be a whole number from 1 (got {jobs})")
    scenarios = _load_scenarios([args.scenario], args.seed)
    for scenario in scenarios:
        for policy_settings in settings.values():
            _check_size(scenario, policy_settings)
    runs = len(scenarios) * len(seeds or [0]) * (len(names) + 1)
    progress = _Progress(runs, args.progress)
    try:
        text = run_compare(
            scenarios,
            names,
            settings,
            base,
            seeds=seeds,
            jobs=jobs,
            output=args.format,
            progress=progress.step,
        )
    except ScenarioError as exc:
        raise CommandError(str(exc)) from None
    finally:
        progress.close()
    write_stdout(text)
    return EXIT_OK


# --- tune -----------------------------------------------------------------------------------


def _add_tune(sub: Any) -> None:
    """``tune``: the search itself lives in :mod:`adaptive_stream.tune` (the ``tune`` extra)."""
    tune = add_subcommand(
        sub,
        "tune",
        help="search a policy's settings for the best MOS on scenarios (the tune extra)",
        description=(
            "Search the settings a policy reads (each within its validated range) for the best "
            "mean MOS over scenarios and seeds, or the front of mean latency against loss, "
            "with Optuna; runs go to local worker processes or a Dask cluster. Writes "
            "best.toml (a profile for --profile), trials.csv, comparison.csv (tuned against "
            "the defaults and best-fixed, on the seeds searched and on held-out seeds) and, "
            "for pareto, front.csv. --policy names the policy to tune (required); --profile "
            "and the setting flags give the settings every trial starts from."
        ),
    )
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
    tune.set_defaults(handler=_run_tune)


def _run_tune(args: argparse.Namespace) -> int:
    flags = _setting_flags(args)
    policy = flags.pop("policy", None)
    if policy is None:
        raise CommandError("tune: --policy NAME is required (the policy to tune)")
    from adaptive_stream.tune.command import run_tune

    args.policy = policy
    args.setting_overrides = flags
    return run_tune(args)


# --- settings -------------------------------------------------------------------------------


def _add_settings(sub: Any) -> None:
    settings = add_subcommand(
        sub,
        "settings",
        help="print the settings in force",
        description=(
            "Print every setting in force, from the defaults, the profile, the environment and "
            "the flags (later ones win)."
        ),
    )
    settings.set_defaults(handler=_run_settings)


def _run_settings(args: argparse.Namespace) -> int:
    from adaptive_stream.output import write_stdout

    described = _settings_from(args).describe()
    width = max(len(k) for k in described)
    write_stdout("".join(f"{key:<{width}}  {value}\n" for key, value in described.items()))
    return EXIT_OK


#: The subcommands, in the order ``--help`` lists them: each adds its parser and handler.
SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (
    _add_replay,
    _add_demo,
    _add_run,
    _add_simulate,
    _add_compare,
    _add_tune,
    _add_settings,
)


# --- main -----------------------------------------------------------------------------------


def _say(message: str) -> None:
    """One line on stderr (nothing if stderr is gone: there is nobody to tell)."""
    try:
        if sys.stderr is not None:
            print(f"adaptive-stream: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the subcommand, return the exit code."""
    from adaptive_stream.errors import SettingsError
    from adaptive_stream.output import OutputError, ReaderGone

    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except SettingsError as exc:
        _say(f"invalid settings: {exc}")
        return EXIT_USAGE
    except CommandError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except ReaderGone:
        # `adaptive-stream replay trace.csv | head`: the reader left; that is not an error.
        _quiet_stdout()
        return EXIT_OK
    except OutputError as exc:
        _quiet_stdout()
        _say(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush of what is
    left in its buffer cannot fail again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def entry() -> int:
    """The ``adaptive-stream`` console script (and ``python -m adaptive_stream``)."""
    return main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(entry())
