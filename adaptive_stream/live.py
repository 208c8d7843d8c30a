"""``adaptive-stream run``: the controller live on this machine.

It watches processes (by pid, by name, the whole system, or itself), decides every
adaptation interval, prints one line per decision, logs adjustments, optionally serves
Prometheus metrics, and on exit (``--duration`` reached, Ctrl-C or SIGTERM) prints a summary.

Threads: the manager's ticker thread samples psutil and runs every subscriber (the live
view, the logger, the Prometheus sink); the main thread only waits for the end.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any, TextIO

from adaptive_stream.errors import EXIT_OK
from adaptive_stream.errors import fail as _fail
from adaptive_stream.model import BufferDecision

__all__ = ["LiveView", "add_run_parser", "run_live"]


def _pid(text: str) -> int:
    try:
        pid = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a pid: {text!r}") from None
    if pid <= 0:
        raise argparse.ArgumentTypeError(f"a pid is a positive integer, got {pid}")
    return pid


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is within 0..65535 (0: any free one), got {port}")
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < seconds < math.inf:  # also false for NaN
        raise argparse.ArgumentTypeError(
            f"a duration is a finite number of seconds above 0, got {text}"
            " (leave it out to run until interrupted)"
        )
    return seconds


def add_run_parser(
    sub: Any, add_settings_flags: Callable[[argparse.ArgumentParser], None], **kwargs: Any
) -> None:
    """Register the ``run`` subcommand."""
    run = sub.add_parser(
        "run",
        help="run the controller live on this machine",
        description=(
            "Watch processes (or the whole system), decide the buffer sizes every adaptation "
            "interval and print one line per decision; print a summary on exit (--duration, "
            "Ctrl-C or SIGTERM). Latency comes from audio code through update_latency(); a "
            "plain run has none, so its latency average stays 0."
        ),
        **kwargs,
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
        "--system",
        action="store_true",
        help="use whole-machine CPU and memory instead of processes",
    )
    run.add_argument(
        "--duration",
        type=_seconds,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until interrupted)",
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
        default="127.0.0.1",
        metavar="ADDR",
        help="address for --metrics-port (default: 127.0.0.1)",
    )
    out.add_argument(
        "--metrics-names",
        choices=("adaptive_stream", "jetkvm"),
        default="adaptive_stream",
        help="metric names: ours, or the JetKVM firmware's for existing dashboards",
    )
    out.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
    out.add_argument("--quiet", action="store_true", help="no line per decision, only the summary")
    add_settings_flags(run)


class LiveView:
    """One compact line per decision, for people: time since start, sizes, the figures the
    tick used, the factor and why."""

    HEADER = "    time   in  out    cpu %  mem %  latency ms  factor  why"

    def __init__(
        self,
        out: TextIO,
        start: datetime,
        *,
        quiet: bool = False,
        on_closed: Callable[[], object] | None = None,
    ) -> None:
        self._out = out
        self._start = start
        self._quiet = quiet
        self._on_closed = on_closed
        #: Whether the reader of ``out`` went away (a broken pipe): the view then stops
        #: printing and calls ``on_closed`` once (``run`` ends, as ``replay | head`` does).
        self.closed = False
        self.decisions = 0
        self.adjustments = 0
        self.sizes_seen: set[int] = set()
        self.first_decision_at: float | None = None  # monotonic seconds

    def header(self) -> None:
        print(self.HEADER, file=self._out, flush=True)

    def on_decision(self, d: BufferDecision) -> None:
        if self.first_decision_at is None:
            self.first_decision_at = time.monotonic()
        self.decisions += 1
        self.adjustments += d.adjusted
        self.sizes_seen.add(d.input_size)
        if self._quiet or self.closed:
            return
        elapsed = (d.time - self._start).total_seconds()
        mark = "*" if d.adjusted else " "
        try:
            print(
                f"{elapsed:7.1f}s {d.input_size:3d}{mark}{d.output_size:4d} "
                f"{d.cpu_percent:8.1f} {d.memory_percent:6.1f} {d.average_latency_ms:11.3f} "
                f"{d.combined_factor:+7.3f}  {d.reason}",
                file=self._out,
                flush=True,
            )
        except BrokenPipeError:
            self.closed = True
            if self._on_closed is not None:
                self._on_closed()


def run_live(
    args: argparse.Namespace,
    settings_from: Callable[[argparse.Namespace], Any],
    *,
    out: TextIO | None = None,
) -> int:
    """The ``run`` subcommand. Returns the exit code."""
    from loguru import logger

    from adaptive_stream.errors import SettingsError
    from adaptive_stream.manager import AdaptiveBufferManager
    from adaptive_stream.sinks.log import configure_logging, subscribe_logger
    from adaptive_stream.sources.processes import (
        MetricsSampler,
        ProcessAccessError,
        ProcessNotFoundError,
        ProcessSampler,
        SystemSampler,
    )

    out = out or sys.stdout
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        return _fail(f"invalid settings: {exc}")
    try:
        level = settings.log_level or ("INFO" if args.log_json or args.quiet else "WARNING")
        configure_logging(level, json=args.log_json)
    except ValueError as exc:
        return _fail(str(exc))
    if args.system and (args.pid or args.name):
        return _fail("--system watches the whole machine: it cannot go with --pid or --name")

    sampler: MetricsSampler
    if args.system:
        sampler = SystemSampler()
        watching = "the whole system"
    else:
        try:
            process_sampler = ProcessSampler(args.pid, args.name)
        except (ProcessNotFoundError, ProcessAccessError) as exc:
            return _fail(str(exc))
        missing = process_sampler.missing_names()
        if missing:
            return _fail("no running process is named " + ", ".join(repr(n) for n in missing))
        sampler = process_sampler
        watching = process_sampler.describe()

    manager = AdaptiveBufferManager(settings, metrics=sampler)
    server = None
    if args.metrics_port is not None:
        from adaptive_stream.sinks.prometheus import (
            MetricsServerError,
            PrometheusSink,
            serve_metrics,
        )

        sink = PrometheusSink(args.metrics_names, settings=settings.describe())
        try:
            server = serve_metrics(sink.registry, args.metrics_port, args.metrics_addr)
        except MetricsServerError as exc:
            return _fail(str(exc.strerror or exc))
        sink.subscribe(manager.decisions)

    stop = threading.Event()
    signals = _handle_signals(stop)
    try:
        interval_ms = settings.adaptation_interval.total_seconds() * 1000
        print(
            f"adaptive-stream run: watching {watching}; policy {settings.policy}, "
            f"interval {interval_ms:g} ms, sizes {settings.min_buffer_size}.."
            f"{settings.max_buffer_size} frames"
            + (f"; metrics on {_url(args.metrics_addr, server.port)}" if server else ""),
            file=out,
            flush=True,
        )
        view = LiveView(out, start=datetime.now(UTC), quiet=args.quiet, on_closed=stop.set)
        if not args.quiet:
            view.header()
        manager.decisions.subscribe(view.on_decision)
        subscribe_logger(manager.decisions)
        started = time.monotonic()
        manager.start()
        _wait(stop, args.duration)
        manager.stop()
        ran = time.monotonic() - started
    finally:
        _restore_signals(signals)
        if server is not None:
            server.close()
    first = (
        f"{view.first_decision_at - started:.2f} s after start"
        if view.first_decision_at is not None
        else "none"
    )
    if view.closed:  # the reader went away (`run | head`): nobody is left to read a summary
        _discard(out)
    else:
        print(_summary(dict(manager.stats()), view, ran, first), file=out, flush=True)
    logger.complete()
    return EXIT_OK


def _wait(stop: threading.Event, duration: float | None) -> None:
    """Wait for ``stop`` at most ``duration`` seconds (``None``: forever), in steps short
    enough for ``Event.wait`` (which overflows past ``threading.TIMEOUT_MAX``)."""
    if duration is None:
        while not stop.wait(3600.0):
            pass
        return
    deadline = time.monotonic() + duration
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stop.wait(min(left, 3600.0))


def _url(addr: str, port: int) -> str:
    """``http://ADDR:PORT/metrics``, with an IPv6 address in brackets."""
    host = f"[{addr}]" if ":" in addr else addr
    return f"http://{host}:{port}/metrics"


def _discard(out: TextIO) -> None:
    """Point ``out``'s file descriptor at /dev/null, so that the interpreter's last flush of
    a closed pipe is not an error either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests): nothing to do
        pass


def _summary(stats: dict[str, Any], view: LiveView, ran: float, first: str) -> str:
    sizes = sorted(view.sizes_seen)
    span = f"{sizes[0]}..{sizes[-1]}" if sizes else "-"
    lines = [
        f"Summary: ran {ran:.1f} s, {view.decisions} decisions, {view.adjustments} adjustments, "
        f"input sizes {span} frames, first decision {first}",
        "  "
        + ", ".join(
            f"{key} {_show(value)}"
            for key, value in stats.items()
            if key not in ("running", "policy")
        ),
    ]
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _handle_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGINT and SIGTERM end the run cleanly (main thread only; elsewhere, nothing)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
