"""Drives a policy through the real pipeline in virtual time, from a list of timed inputs.

Each input is ``(seconds, kind, value)`` with kind ``"metrics"`` (a :class:`SystemMetrics`),
``"latency"`` (seconds), ``"underruns"`` (a count) or ``"tick"``; they are pushed in list
order, each after moving a ``HistoricalScheduler`` to its time, so the decisions carry it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from reactivex.scheduler import HistoricalScheduler
from reactivex.subject import Subject

from adaptive_stream import BufferDecision, SystemMetrics, buffer_decisions
from adaptive_stream.inputs import InputChecks
from adaptive_stream.model import EPOCH

Event = tuple[float, str, Any]


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def drive(policy: Any, events: Iterable[Event]) -> list[BufferDecision]:
    clock = HistoricalScheduler(EPOCH)
    metrics: Subject[SystemMetrics] = Subject()
    latency: Subject[float] = Subject()
    underruns: Subject[int] = Subject()
    ticks: Subject[int] = Subject()
    out: list[BufferDecision] = []
    # The machine the samples describe has 4 cores (CPU up to 400 %), whatever runs the test.
    checks = InputChecks(cpu_cores=4, clock=lambda: clock.now)
    buffer_decisions(
        metrics, latency, ticks, policy=policy, scheduler=clock, underruns=underruns, checks=checks
    ).subscribe(out.append)
    subjects = {"metrics": metrics, "latency": latency, "underruns": underruns, "tick": ticks}
    for seconds, kind, value in events:
        clock.advance_to(at(seconds))
        subjects[kind].on_next(value)
    return out


def ticks(start: float, stop: float, step: float = 1.0) -> list[Event]:
    """Ticks at start, start + step, ... below stop."""
    out: list[Event] = []
    t = start
    while t < stop - 1e-9:
        out.append((round(t, 6), "tick", 0))
        t += step
    return out


def merged(*streams: Iterable[Event]) -> list[Event]:
    """Events of several lists in time order (stable: at equal times, earlier lists first)."""
    tagged = [(e[0], n, i, e) for n, s in enumerate(streams) for i, e in enumerate(s)]
    return [e for *_, e in sorted(tagged, key=lambda x: (x[0], x[1], x[2]))]


def sizes(decisions: Iterable[BufferDecision]) -> list[int]:
    return [d.input_size for d in decisions]
