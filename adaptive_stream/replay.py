"""Trace replay: a recorded CSV of metrics, latency samples and ticks, run through the same
:func:`~adaptive_stream.pipeline.buffer_decisions` pipeline in virtual time.

The trace format and the output format are the SPEC's replay contract:

* input header ``t,kind,cpu_percent,memory_percent,latency_ms``; kinds ``metrics``,
  ``latency`` (milliseconds, rounded to whole nanoseconds) and ``tick``;
* output header :data:`OUTPUT_HEADER`, one row per tick that had metrics, floats written as
  Go's ``strconv.FormatFloat(x, 'g', -1, 64)``.

A trace is checked as it is read; the first problem stops the replay with a
:class:`TraceError` that names the line. Nothing is written for a trace that has one.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from reactivex.scheduler import HistoricalScheduler
from reactivex.subject import Subject

from adaptive_stream.gonum import format_float, go_round
from adaptive_stream.model import BufferDecision, SystemMetrics
from adaptive_stream.pipeline import buffer_decisions
from adaptive_stream.policies import Policy, make_policy
from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "INPUT_HEADER",
    "OUTPUT_HEADER",
    "ReplayResult",
    "TraceError",
    "format_decision",
    "replay",
    "replay_decisions",
]

INPUT_HEADER = ("t", "kind", "cpu_percent", "memory_percent", "latency_ms")
OUTPUT_HEADER = (
    "t,input_buffer_size,output_buffer_size,cpu_percent,memory_percent,latency_ms,"
    "combined_factor,adjusted,adaptation_count"
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TraceError(ValueError):
    """A trace that cannot be replayed: ``line`` is its 1-based line number (0: no line)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay produced: each decision with the tick's ``t`` exactly as written."""

    rows: list[tuple[str, BufferDecision]]
    ticks: int
    latency_samples: int
    metrics_samples: int


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


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(lines)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise TraceError(reader.line_num, f"malformed CSV: {exc}") from None
    except UnicodeDecodeError as exc:
        raise TraceError(reader.line_num + 1, f"not UTF-8 text: {exc.reason}") from None


def replay_decisions(
    lines: Iterable[str],
    settings: AdaptiveBufferSettings | None = None,
    *,
    policy: Policy[Any, Any] | None = None,
) -> ReplayResult:
    """Replay a trace (an iterable of its lines) and collect the decisions.

    Raises:
        TraceError: for the first malformed line (header, kind, field, time order).
    """
    if policy is None:
        policy = make_policy(settings if settings is not None else AdaptiveBufferSettings())
    scheduler = HistoricalScheduler(initial_clock=EPOCH)
    metrics: Subject[SystemMetrics] = Subject()
    latency: Subject[float] = Subject()
    ticks: Subject[str] = Subject()

    rows: list[tuple[str, BufferDecision]] = []
    current_t = ""

    def record(decision: BufferDecision) -> None:
        rows.append((current_t, decision))

    def fail(error: Exception) -> None:
        raise error

    buffer_decisions(metrics, latency, ticks, policy=policy, scheduler=scheduler).subscribe(
        record, fail
    )

    push_latency, push_metrics, push_tick = latency.on_next, metrics.on_next, ticks.on_next
    n_ticks = n_latency = n_metrics = 0
    last_t = -math.inf
    source = _rows(lines)
    header = next(source, None)
    if header is None:
        raise TraceError(1, "empty trace: expected the header " + ",".join(INPUT_HEADER))
    if tuple(cell.strip() for cell in header[1]) != INPUT_HEADER:
        raise TraceError(
            header[0],
            "bad header: expected "
            + ",".join(INPUT_HEADER)
            + f", got {','.join(header[1])[:80]!r}",
        )
    for line, row in source:
        if not row:
            continue  # blank line
        if len(row) != 5:
            raise TraceError(line, f"expected 5 fields, got {len(row)}")
        t_text, kind = row[0], row[1]
        t = _number(t_text, "t", line)
        if t < last_t:
            raise TraceError(
                line, f"time goes backwards: t={t_text} after t={format_float(last_t)}"
            )
        last_t = t
        if kind == "latency":
            ms = _number(row[4], "latency_ms", line)
            if ms < 0:
                raise TraceError(line, f"latency_ms is negative: {row[4]}")
            # SPEC: milliseconds rounded to the nearest integer nanosecond.
            push_latency(go_round(ms * 1e6) / 1e9)
            n_latency += 1
        elif kind == "tick":
            current_t = t_text
            scheduler.advance_to(EPOCH + timedelta(seconds=t))
            push_tick(t_text)
            n_ticks += 1
        elif kind == "metrics":
            cpu = _number(row[2], "cpu_percent", line)
            mem = _number(row[3], "memory_percent", line)
            if cpu < 0 or not 0 <= mem <= 100:
                raise TraceError(
                    line,
                    f"metrics out of range: cpu_percent={row[2]}, memory_percent={row[3]}"
                    " (cpu must be >= 0, memory within 0..100)",
                )
            push_metrics(SystemMetrics(cpu, mem))
            n_metrics += 1
        else:
            raise TraceError(
                line, f"unknown kind {kind[:40]!r} (expected metrics, latency or tick)"
            )
    return ReplayResult(rows, n_ticks, n_latency, n_metrics)


def format_decision(t: str, decision: BufferDecision) -> str:
    """One output row of the replay contract."""
    return (
        f"{t},{decision.input_size},{decision.output_size},"
        f"{format_float(decision.cpu_percent)},{format_float(decision.memory_percent)},"
        f"{format_float(decision.average_latency_ns / 1e6)},"
        f"{format_float(decision.combined_factor)},{1 if decision.adjusted else 0},"
        f"{decision.adaptation_count}"
    )


def replay(
    lines: Iterable[str],
    out: IO[str],
    settings: AdaptiveBufferSettings | None = None,
) -> ReplayResult:
    """Replay a trace and write the SPEC's output CSV to ``out`` (nothing if the trace is bad)."""
    result = replay_decisions(lines, settings)
    text = [OUTPUT_HEADER]
    text.extend(format_decision(t, d) for t, d in result.rows)
    text.append("")
    out.write("\n".join(text))
    return result
