"""Trace replay: a recorded CSV of metrics, latency samples and ticks, run through the same
:func:`~adaptive_stream.pipeline.buffer_decisions` pipeline in virtual time.

The trace format and the output format are the SPEC's replay contract:

* input header ``t,kind,cpu_percent,memory_percent,latency_ms``; kinds ``metrics``,
  ``latency`` (milliseconds, rounded to whole nanoseconds) and ``tick``;
* output header :data:`OUTPUT_HEADER`, one row per tick that had metrics, floats written as
  Go's ``strconv.FormatFloat(x, 'g', -1, 64)``.

A trace is checked as it is read; the first problem stops the replay with a
:class:`TraceError` that names the line. Nothing is written for a trace that has one.

What the original accepted, a replay accepts: it validated nothing, so a negative latency,
a negative CPU figure or memory above 100 % is replayed exactly as the firmware would have
decided on it (the live manager rejects such samples; a replay reproduces). Such rows are
counted in :attr:`ReplayResult.unusual`, with the first one described, so the command can
say so on stderr. Only what has no meaning in Go is an error: text that is not a number,
NaN or infinity, and magnitudes beyond a ``time.Duration`` or the virtual clock.
"""

from __future__ import annotations

import math
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TypeVar

from reactivex import Observable, abc, typing
from reactivex.disposable import Disposable
from reactivex.scheduler.scheduler import Scheduler

from adaptive_stream.gonum import format_float, go_round
from adaptive_stream.model import EPOCH, BufferDecision, SystemMetrics
from adaptive_stream.pipeline import NanosecondSamples, buffer_decisions
from adaptive_stream.policies import AnyPolicy, JetKVMPolicy, make_policy

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "INPUT_HEADER",
    "OUTPUT_HEADER",
    "ReplayResult",
    "TraceClock",
    "TraceError",
    "TraceReadError",
    "format_decision",
    "open_trace",
    "replay",
    "replay_csv",
    "replay_decisions",
]

INPUT_HEADER = ("t", "kind", "cpu_percent", "memory_percent", "latency_ms")
OUTPUT_HEADER = (
    "t,input_buffer_size,output_buffer_size,cpu_percent,memory_percent,latency_ms,"
    "combined_factor,adjusted,adaptation_count"
)
_T = TypeVar("_T")


class TraceError(ValueError):
    """A trace that cannot be replayed: ``line`` is its 1-based line number (0: no line)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


class TraceReadError(Exception):
    """A trace that cannot be read at all (no such file, permission, a closed stdin, an I/O
    error); the message is the reason, without the file's name."""


#: The largest trace read, in bytes: about three days of the benchmark's dense trace. A
#: replay keeps every decision in memory, so this bounds its memory as well.
MAX_TRACE_BYTES = 256 << 20
#: The longest line read from a pipe or device, in bytes (a trace row is under 100).
MAX_LINE_BYTES = 64 << 10


@contextmanager
def open_trace(path: str) -> Iterator[Iterable[str]]:
    """The lines of the trace at ``path`` (``-``: standard input), for :func:`replay_decisions`.

    A regular file is read as it is (the fast path: no wrapper per line) if it is at most
    :data:`MAX_TRACE_BYTES`; anything else (a pipe, a device such as ``/dev/zero``) is read
    line by line, each line at most :data:`MAX_LINE_BYTES` and all at most
    :data:`MAX_TRACE_BYTES`, so that memory stays bounded, and decoded line by line, so that
    a decode error names its own line. A read error inside the ``with`` block is raised as
    :class:`TraceReadError`.

    Raises:
        TraceReadError: the trace cannot be opened or read.
        TraceError: it is too large, or a line is too long or not UTF-8.
    """
    try:
        if path == "-":
            if sys.stdin is None:
                raise TraceReadError("standard input is closed")
            binary = getattr(sys.stdin, "buffer", None)
            if binary is None:  # not a real file (a test's StringIO): read it as it is
                yield sys.stdin
            else:
                yield _bounded_lines(binary)
            return
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                yield _bounded_lines(handle)
                return
            if info.st_size > MAX_TRACE_BYTES:
                raise TraceError(0, f"larger than {MAX_TRACE_BYTES >> 20} MiB: not replayed")
            import io

            text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            try:
                yield text
            except TraceError as exc:
                if exc.message.startswith("not UTF-8"):
                    # The text reader decodes ahead, in chunks: find the line it fails on.
                    handle.seek(0)
                    raise _first_undecodable(handle) or exc from None
                raise
            finally:
                text.detach()
    except OSError as exc:
        raise TraceReadError(exc.strerror or str(exc)) from None


def _bounded_lines(handle: Any) -> Iterator[str]:
    """Lines of a binary stream, each decoded alone, bounded in length and in total."""
    total = 0
    for number in range(1, 1 << 62):
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES:
            raise TraceError(number, f"longer than {MAX_LINE_BYTES >> 10} KiB: not a trace row")
        total += len(raw)
        if total > MAX_TRACE_BYTES:
            raise TraceError(number, f"the trace passes {MAX_TRACE_BYTES >> 20} MiB: not replayed")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TraceError(number, f"not UTF-8 text: {exc.reason}") from None


def _first_undecodable(handle: Any) -> TraceError | None:
    """The first line of a binary file that is not UTF-8, as a :class:`TraceError`."""
    for number, raw in enumerate(handle, 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return TraceError(number, f"not UTF-8 text: {exc.reason}")
    return None


class TraceClock(Scheduler):
    """The trace's virtual clock: the replay sets it from each tick's ``t``.

    It only tells time (decisions are stamped with it). A replay schedules nothing: every
    event is pushed in trace order, so this costs one attribute write per tick where
    ``HistoricalScheduler.advance_to`` would take a lock and convert times twice.
    """

    def __init__(self, start: datetime = EPOCH) -> None:
        super().__init__()
        self._now = start

    @property
    def now(self) -> datetime:
        return self._now

    def schedule(
        self, action: typing.ScheduledAction[Any], state: Any = None
    ) -> abc.DisposableBase:
        """Run ``action`` at once, on the replaying thread."""
        return self.invoke_action(action, state)

    def schedule_relative(
        self, duetime: typing.RelativeTime, action: typing.ScheduledAction[Any], state: Any = None
    ) -> abc.DisposableBase:
        raise NotImplementedError("a trace clock only tells time; it cannot schedule ahead")

    def schedule_absolute(
        self, duetime: typing.AbsoluteTime, action: typing.ScheduledAction[Any], state: Any = None
    ) -> abc.DisposableBase:
        raise NotImplementedError("a trace clock only tells time; it cannot schedule ahead")


def _ignore(value: Any) -> None:
    """A subscriber that wants no items (``subscribe()`` with no arguments)."""


class _Feed(Observable[_T]):
    """A hot source that the replay pushes into, for exactly one subscriber.

    A ``Subject`` without what a replay does not need (a lock, a copy of the observer list
    and a disposed check on every push): one thread pushes, one pipeline listens.
    """

    def __init__(self) -> None:
        super().__init__()
        self.push: Callable[[_T], None] = self._unsubscribed

    def _unsubscribed(self, value: _T) -> None:
        raise RuntimeError("nothing is subscribed to this feed")

    def subscribe(
        self,
        on_next: abc.ObserverBase[_T] | abc.OnNext[_T] | None = None,
        on_error: abc.OnError | None = None,
        on_completed: abc.OnCompleted | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        """Attach the one subscriber: a push calls its ``on_next`` directly.

        ``Observable.subscribe`` would wrap it in an ``AutoDetachObserver``, whose only work
        is to stop the calls after an error or completion; a feed sends neither, and
        disposing the subscription detaches it here. One call less per pushed item.
        """
        if self.push != self._unsubscribed:
            raise RuntimeError("a replay feed takes one subscriber")
        if isinstance(on_next, abc.ObserverBase) or callable(getattr(on_next, "on_next", None)):
            on_next = on_next.on_next  # type: ignore[union-attr]  # an observer, as rx takes it
        self.push = on_next or _ignore

        def detach() -> None:
            self.push = self._unsubscribed

        return Disposable(detach)


class ReplayResult(NamedTuple):
    """What a replay produced: each decision with the tick's ``t`` exactly as written.

    ``unusual`` counts rows whose values a live source never gives (a negative latency, a
    negative CPU figure, memory outside 0..100 %): replayed as the original would, and
    ``first_unusual`` describes the first of them (``"line 7: latency_ms is negative"``).
    """

    rows: list[tuple[str, BufferDecision]]
    ticks: int
    latency_samples: int
    metrics_samples: int
    unusual: int = 0
    first_unusual: str | None = None


_INF = math.inf
#: The largest |t| a trace may use, in seconds (about 317 years): the virtual clock is a
#: ``datetime`` from 1970, which ends at the year 9999.
_T_MAX = 1e10
#: The largest latency sample, in milliseconds: Go's ``time.Duration`` is an int64 of
#: nanoseconds (at most about 9.22e18 ns).
_MS_MAX = 9.2e12


def _number(text: str, column: str, line: int) -> float:
    if not text:
        raise TraceError(line, f"missing {column}")
    try:
        value = float(text)
    except ValueError:
        raise TraceError(line, f"{column} is not a number: {text[:40]!r}") from None
    if not math.isfinite(value):
        raise TraceError(line, f"{column} is not a finite number: {text[:40]!r}")
    return value


def _csv_row(text: str, line: int) -> list[str]:
    """One line with quotes, unquoted by the csv module (imported only when needed)."""
    import csv

    try:
        return next(csv.reader([text], strict=True), [""])
    except csv.Error as exc:
        raise TraceError(line, f"malformed CSV: {exc}") from None


def _fields(text: str, line: int) -> list[str]:
    """A line's fields, without its line break."""
    return text.rstrip("\r\n").split(",") if '"' not in text else _csv_row(text, line)


def _check_header(row: list[str]) -> None:
    cells = tuple(cell.strip() for cell in row)
    if cells and cells[0].startswith("\ufeff"):  # a byte-order mark from some editors
        cells = (cells[0][1:], *cells[1:])
    if cells != INPUT_HEADER:
        expected = ",".join(INPUT_HEADER)
        if cells == ("",):
            raise TraceError(1, f"empty trace: expected the header {expected}")
        got = ",".join(row)[:80]
        raise TraceError(1, f"bad header: expected {expected}, got {got!r}")


def _diagnose(line: int, row: list[str], last_t: float) -> TraceError:
    """The precise complaint about a row the fast path refused (the slow path: errors only)."""
    if len(row) != len(INPUT_HEADER):
        return TraceError(line, f"expected {len(INPUT_HEADER)} fields, got {len(row)}")
    t_text, kind, cpu_text, mem_text, latency_text = row
    try:
        t = _number(t_text, "t", line)
        if not -_T_MAX <= t <= _T_MAX:
            return TraceError(line, f"t out of range: {t_text.strip()[:40]} (|t| <= 1e10 s)")
        if t < last_t:
            return TraceError(
                line,
                f"time goes backwards: t={t_text.strip()[:40]} after t={format_float(last_t)}",
            )
        if kind == "latency":
            ms = _number(latency_text, "latency_ms", line)
            if not -_MS_MAX <= ms <= _MS_MAX:
                return TraceError(
                    line,
                    f"latency_ms out of range: {latency_text.strip()[:40]} "
                    "(|latency_ms| <= 9.2e12, an int64 of nanoseconds)",
                )
        elif kind == "metrics":
            _number(cpu_text, "cpu_percent", line)
            _number(mem_text, "memory_percent", line)
        elif kind != "tick":
            return TraceError(
                line, f"unknown kind {kind[:40]!r} (expected metrics, latency or tick)"
            )
    except TraceError as error:
        return error
    return TraceError(line, "malformed row")  # pragma: no cover - the fast path refused it


def _unusual_latency(line: int, ms: float) -> str:
    return f"line {line}: latency_ms {format_float(ms)} is negative"


def _unusual_metrics(line: int, cpu: float, mem: float) -> str:
    what = []
    if cpu < 0:
        what.append(f"cpu_percent {format_float(cpu)} is negative")
    if not 0 <= mem <= 100:
        what.append(f"memory_percent {format_float(mem)} is outside 0..100")
    return f"line {line}: " + " and ".join(what)


def replay_decisions(
    lines: Iterable[str],
    settings: AdaptiveBufferSettings | None = None,
    *,
    policy: AnyPolicy | None = None,
) -> ReplayResult:
    """Replay a trace (an iterable of its lines) and collect the decisions.

    Latency samples that arrive between two other events are pushed as one batch (the
    pipeline folds a batch in order), so Rx routes one item per tick, not one per sample;
    the decisions are the same, since only ticks read the average.

    Args:
        lines: the trace's lines (a text file opened with ``newline=""``, or a list).
        settings: the settings; by default the SPEC's JetKVM values.
        policy: a policy object, instead of the one the settings name.

    Raises:
        TraceError: for the first malformed line (header, kind, field, time order, a value
            that is not a finite number or beyond Go's ranges).
    """
    if policy is None:
        # No settings: the JetKVM defaults, without importing pydantic (replay start-up time).
        policy = JetKVMPolicy() if settings is None else make_policy(settings)
    clock = TraceClock()
    metrics: _Feed[SystemMetrics] = _Feed()
    latency: _Feed[NanosecondSamples] = _Feed()
    ticks: _Feed[str] = _Feed()

    rows: list[tuple[str, BufferDecision]] = []
    current_t = ""

    def record(decision: BufferDecision) -> None:
        rows.append((current_t, decision))

    def fail(error: Exception) -> None:
        raise error

    # validate_metrics=False: the trace's figures reach the policy as they are, as in the
    # original (the reader has already refused what is not a finite number).
    buffer_decisions(
        metrics, latency, ticks, policy=policy, scheduler=clock, validate_metrics=False
    ).subscribe(record, fail)

    push_latency, push_metrics, push_tick = latency.push, metrics.push, ticks.push
    epoch, seconds = EPOCH, timedelta  # the clock is set inline: one write per tick
    n_ticks = n_latency = n_metrics = n_unusual = 0
    first_unusual: str | None = None
    inf = _INF  # locals: read on every row
    t_max, ms_max = _T_MAX, _MS_MAX
    last_t = -t_max
    pending = NanosecondSamples()
    add_latency = pending.append
    line = 0
    rows_in = iter(lines)
    try:
        for text in rows_in:
            line = 1
            _check_header(_fields(text, line))
            break
        for line, text in enumerate(rows_in, 2):
            # Plain rows split on commas (fast); a row with quotes goes through csv. The line
            # break stays on the last field: only float() reads it, and float() ignores it.
            row = text.split(",") if '"' not in text else _csv_row(text, line)
            # The fast path takes valid rows only; anything odd goes to _diagnose.
            try:
                t_text, kind, cpu_text, mem_text, latency_text = row
                t = float(t_text)
                if not last_t <= t <= t_max:  # also false for NaN
                    raise ValueError
                if kind == "latency":
                    ms = float(latency_text)
                    if 0.0 <= ms <= ms_max:
                        # SPEC: milliseconds rounded to the nearest integer nanosecond,
                        # halves away from zero (go_round, inlined for x >= 0: per sample).
                        ns_float = ms * 1e6
                        ns = int(ns_float)
                        add_latency(ns + 1 if ns_float - ns >= 0.5 else ns)
                    elif -ms_max <= ms < 0.0:
                        # The original took a negative latency as it came (SPEC, last list).
                        add_latency(go_round(ms * 1e6))
                        n_unusual += 1
                        if first_unusual is None:
                            first_unusual = _unusual_latency(line, ms)
                    else:  # NaN, infinite, beyond an int64 of nanoseconds
                        raise ValueError
                elif kind == "tick":
                    if pending:
                        n_latency += len(pending)
                        push_latency(pending)
                        pending = NanosecondSamples()
                        add_latency = pending.append
                    current_t = t_text
                    clock._now = epoch + seconds(0, t)
                    push_tick(t_text)
                    n_ticks += 1
                elif kind == "metrics":
                    cpu, mem = float(cpu_text), float(mem_text)
                    if not (0.0 <= cpu < inf and 0.0 <= mem <= 100.0):
                        if not (-inf < cpu < inf and -inf < mem < inf):  # NaN too
                            raise ValueError
                        # Outside what psutil gives: replayed as the original would.
                        n_unusual += 1
                        if first_unusual is None:
                            first_unusual = _unusual_metrics(line, cpu, mem)
                    if pending:
                        n_latency += len(pending)
                        push_latency(pending)
                        pending = NanosecondSamples()
                        add_latency = pending.append
                    # The firmware aggregates from 0.0 (totalCPU := 0.0; totalCPU += cpu, and
                    # memory / count): for one process that is x + 0.0, which turns -0.0 into
                    # 0.0 (and changes nothing else).
                    push_metrics(SystemMetrics(cpu + 0.0, mem + 0.0))
                    n_metrics += 1
                else:
                    raise ValueError
                last_t = t
            except ValueError:
                row = _fields(text, line)
                if row == [""]:
                    continue  # a blank line
                raise _diagnose(line, row, last_t) from None
    except UnicodeDecodeError as exc:
        raise TraceError(line + 1, f"not UTF-8 text: {exc.reason}") from None
    if line == 0:
        raise TraceError(1, "empty trace: expected the header " + ",".join(INPUT_HEADER))
    if pending:
        n_latency += len(pending)
        push_latency(pending)
    return ReplayResult(rows, n_ticks, n_latency, n_metrics, n_unusual, first_unusual)


def format_decision(t: str, decision: BufferDecision) -> str:
    """One output row of the replay contract."""
    cpu, memory = decision.cpu_percent, decision.memory_percent
    latency_ms, combined = decision.average_latency_ns / 1e6, decision.combined_factor
    if (
        -1e6 < cpu < 1e6
        and -1e6 < memory < 1e6
        and -1e6 < latency_ms < 1e6
        and -1e6 < combined < 1e6
    ):
        # format_float's common case, for the four at once: below 1e6 Go writes what repr
        # does but for a trailing ".0"; in this text ".0," can only be a field's ".0" end.
        floats = f"{cpu!r},{memory!r},{latency_ms!r},{combined!r},".replace(".0,", ",")
    else:  # large, NaN or infinite: one by one
        floats = (
            f"{format_float(cpu)},{format_float(memory)},{format_float(latency_ms)},"
            f"{format_float(combined)},"
        )
    return (
        f"{t},{decision.input_size},{decision.output_size},{floats}"
        f"{1 if decision.adjusted else 0},{decision.adaptation_count}"
    )


def replay_csv(
    lines: Iterable[str], settings: AdaptiveBufferSettings | None = None
) -> tuple[ReplayResult, str]:
    """Replay a trace; the result and the SPEC's output CSV as one text."""
    result = replay_decisions(lines, settings)
    text = [OUTPUT_HEADER]
    text.extend(format_decision(t, d) for t, d in result.rows)
    text.append("")
    return result, "\n".join(text)


def replay(
    lines: Iterable[str],
    out: IO[str],
    settings: AdaptiveBufferSettings | None = None,
) -> ReplayResult:
    """Replay a trace and write the SPEC's output CSV to ``out`` (nothing if the trace is bad)."""
    result, text = replay_csv(lines, settings)
    out.write(text)
    return result
