"""``adaptive-stream run``: the controller live on this machine, callable from Python.

:func:`run_live` takes the settings and :class:`LiveOptions` (what to watch, how long,
where to serve metrics) and does what the command does: it watches processes (by pid, by
name, the whole system, or itself), decides every adaptation interval, prints one line per
decision, logs adjustments, optionally serves Prometheus metrics, and on exit
(``duration`` reached, SIGINT, SIGTERM or SIGHUP) prints a summary.

Threads: the manager's ticker thread samples psutil and runs every subscriber (the live
view, the logger, the Prometheus sink); the calling thread only waits for the end. Signal
handlers are installed only when called from the main thread.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from adaptive_stream.errors import EXIT_OK
from adaptive_stream.errors import fail as _fail
from adaptive_stream.model import BufferDecision

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = ["MAX_RUN_SECONDS", "LiveOptions", "LiveView", "metrics_url", "run_live", "wait_for_stop"]

#: The longest ``duration`` a run accepts: a year (longer is "until interrupted").
MAX_RUN_SECONDS = 366 * 86400.0

#: Signals that end a run with its summary: Ctrl-C, ``kill``, and a closed terminal.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """What ``run`` does besides deciding (the settings say how it decides).

    Args:
        pids: processes to watch by pid.
        names: process names to watch (matched again on every sample).
        system: whole-machine CPU and memory instead of processes (not with pids/names).
        duration: seconds to run, above 0 and at most :data:`MAX_RUN_SECONDS`; ``None``:
            until a stop signal.
        metrics_port: serve Prometheus metrics on this port (0: any free one); ``None``: no.
        metrics_addr: the address to serve on (default ``127.0.0.1``); only with a port.
        metrics_names: ``"adaptive_stream"`` or ``"jetkvm"`` (the firmware's metric names).
        log_json: log JSON lines to stderr.
        quiet: no line per decision, only the summary.

    Raises:
        ValueError: for options that contradict each other or are out of range.
    """

    pids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    system: bool = False
    duration: float | None = None
    metrics_port: int | None = None
    metrics_addr: str | None = None
    metrics_names: str = "adaptive_stream"
    log_json: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.system and (self.pids or self.names):
            raise ValueError(
                "--system watches the whole machine: it cannot go with --pid or --name"
            )
        if self.duration is not None and not 0 < self.duration <= MAX_RUN_SECONDS:
            raise ValueError(
                f"--duration: must be above 0 and at most {MAX_RUN_SECONDS:g} s "
                f"(got {self.duration})"
            )
        if self.metrics_addr is not None and self.metrics_port is None:
            raise ValueError("--metrics-addr needs --metrics-port (the port to serve on)")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"--metrics-port: must be within 0..65535 (got {self.metrics_port})")
        if self.metrics_names not in ("adaptive_stream", "jetkvm"):
            raise ValueError(
                f"--metrics-names: must be adaptive_stream or jetkvm (got {self.metrics_names!r})"
            )


class LiveView:
    """One compact line per decision, for people: time since start, sizes, the figures the
    tick used, the factor and why.

    A write that fails stops the view and calls ``on_closed`` once: a reader that went away
    (a broken pipe, ``run | head``) sets :attr:`closed`; anything else (a full disk, a
    closed descriptor) also sets :attr:`error`, the one line to report.
    """

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
        #: Whether the view stopped writing (its reader went away, or a write failed).
        self.closed = False
        #: Why a write failed (``cannot write output ...``); ``None`` for a closed pipe.
        self.error: str | None = None
        self.decisions = 0
        self.adjustments = 0
        self.sizes_seen: set[int] = set()
        self.first_decision_at: float | None = None  # monotonic seconds

    def write(self, text: str) -> None:
        """Write ``text`` and a line break, flushed; a failure closes the view (see above)."""
        if self.closed:
            return
        try:
            self._out.write(text + "\n")
            self._out.flush()
        except BrokenPipeError:
            self._close(None)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._close(f"cannot write output (standard output): {reason}")

    def _close(self, error: str | None) -> None:
        self.closed = True
        self.error = error
        if self._on_closed is not None:
            self._on_closed()

    def header(self) -> None:
        self.write(self.HEADER)

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
        self.write(
            f"{elapsed:7.1f}s {d.input_size:3d}{mark}{d.output_size:4d} "
            f"{d.cpu_percent:8.1f} {d.memory_percent:6.1f} {d.average_latency_ms:11.3f} "
            f"{d.combined_factor:+7.3f}  {d.reason}"
        )


def run_live(
    settings: AdaptiveBufferSettings,
    options: LiveOptions,
    *,
    out: TextIO | None = None,
) -> int:
    """Run the controller until ``options.duration`` passes or a stop signal arrives (SIGINT,
    SIGTERM, SIGHUP; only when called from the main thread), then print the summary.

    Args:
        settings: how to decide.
        options: what to watch and where to report.
        out: where the live view and the summary go (default: standard output).

    Returns:
        The exit code: 0, or 2 after one line on stderr (a process that cannot be watched,
        a metrics port that cannot be served, output that cannot be written).
    """
    stop = threading.Event()
    signals = _handle_signals(stop)  # first, so that an early Ctrl-C ends the run cleanly
    try:
        return _run(settings, options, out, stop)
    finally:
        _restore_signals(signals)


def _run(
    settings: AdaptiveBufferSettings,
    options: LiveOptions,
    out: TextIO | None,
    stop: threading.Event,
) -> int:
    from loguru import logger

    from adaptive_stream.manager import AdaptiveBufferManager
    from adaptive_stream.sinks.log import configure_logging, subscribe_logger
    from adaptive_stream.sources.processes import (
        MetricsSampler,
        ProcessAccessError,
        ProcessNotFoundError,
        ProcessSampler,
        SystemSampler,
    )

    stream = out if out is not None else sys.stdout
    if stream is None:
        return _fail("cannot write output (standard output): it is closed")
    level = settings.log_level or ("INFO" if options.log_json or options.quiet else "WARNING")
    configure_logging(level, json=options.log_json)

    sampler: MetricsSampler
    if options.system:
        sampler = SystemSampler()
        watching = "the whole system"
    else:
        try:
            process_sampler = ProcessSampler(options.pids, options.names)
        except (ProcessNotFoundError, ProcessAccessError) as exc:
            return _fail(str(exc))
        missing = process_sampler.missing_names()
        if missing:
            return _fail("no running process is named " + ", ".join(repr(n) for n in missing))
        sampler = process_sampler
        watching = process_sampler.describe()

    manager = AdaptiveBufferManager(settings, metrics=sampler)
    server = None
    addr = options.metrics_addr or "127.0.0.1"
    if options.metrics_port is not None:
        from adaptive_stream.sinks.prometheus import (
            MetricsServerError,
            PrometheusSink,
            serve_metrics,
        )

        sink = PrometheusSink(options.metrics_names, settings=settings.describe())  # type: ignore[arg-type]
        try:
            server = serve_metrics(sink.registry, options.metrics_port, addr)
        except MetricsServerError as exc:
            return _fail(str(exc.strerror or exc))
        sink.subscribe(manager.decisions)

    started = time.monotonic()
    view = LiveView(stream, start=datetime.now(UTC), quiet=options.quiet, on_closed=stop.set)
    try:
        interval_ms = settings.adaptation_interval.total_seconds() * 1000
        view.write(
            f"adaptive-stream run: watching {watching}; policy {settings.policy}, "
            f"interval {interval_ms:g} ms, sizes {settings.min_buffer_size}.."
            f"{settings.max_buffer_size} frames"
            + (f"; metrics on {metrics_url(addr, server.port)}" if server else "")
        )
        if not options.quiet:
            view.header()
        manager.decisions.subscribe(view.on_decision)
        subscribe_logger(manager.decisions)
        if not stop.is_set():
            manager.start()
            wait_for_stop(stop, options.duration)
        manager.stop()
        ran = time.monotonic() - started
    finally:
        manager.stop()
        if server is not None:
            server.close()
    first = (
        f"{view.first_decision_at - started:.2f} s after start"
        if view.first_decision_at is not None
        else "none"
    )
    if not view.closed:
        view.write(_summary(dict(manager.stats()), view, ran, first))
    if view.closed:  # nobody is left to read (`run | head`), or writing failed
        _discard(stream)
    logger.complete()
    if view.error is not None:
        return _fail(view.error)
    return EXIT_OK


def wait_for_stop(stop: threading.Event, duration: float | None) -> None:
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


def metrics_url(addr: str, port: int) -> str:
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
    """SIGINT, SIGTERM and SIGHUP end the run cleanly (main thread only; elsewhere, nothing)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    for signum in STOP_SIGNALS:
        previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
