"""Recorded links for the loopback demo, read by the simulator's readers
(:mod:`adaptive_stream.simulation.recorded`), so the demo and ``simulate`` take the same
files with the same checks.

* An arrival log (``capture_ms,arrival_ms``; an empty arrival is a frame lost): its rows.
* A Mahimahi link trace: one 160-byte audio packet per frame through the link's FIFO
  (no cross traffic, no propagation delay), as rows of the same shape.
"""

from __future__ import annotations

from pathlib import Path

from adaptive_stream.simulation.recorded import (
    RecordingError,
    link_arrivals,
    read_link_trace,
)
from adaptive_stream.simulation.recorded import read_arrivals as read_log

__all__ = ["TRACE_FRAMES", "RecordingError", "arrivals_from_link_trace", "read_arrivals"]

#: Frames a link trace is turned into (one hour at 20 ms); the demo's schedule repeats after.
TRACE_FRAMES = 180_000


def read_arrivals(path: str | Path, frame_ms: float) -> list[tuple[float, float | None]]:
    """The rows ``(capture_ms, arrival_ms | None)`` of an arrival log recorded at
    ``frame_ms`` per frame.

    Raises:
        RecordingError: what the simulator's reader finds wrong, or a frame spacing other
            than ``frame_ms``.
    """
    log = read_log(path)
    if len(log.capture_ms) > 1 and abs(log.step_ms - frame_ms) > 0.5:
        raise RecordingError(
            f"{path}: frames are {log.step_ms:g} ms apart; the demo plays {frame_ms:g} ms frames"
        )
    return list(zip(log.capture_ms, log.arrival_ms, strict=True))


def arrivals_from_link_trace(
    path: str | Path, frame_ms: float, frames: int = TRACE_FRAMES
) -> list[tuple[float, float | None]]:
    """``frames`` audio frames, one every ``frame_ms``, through the trace's link: rows as
    :func:`read_arrivals` gives them (none lost).

    Raises:
        RecordingError: what the simulator's reader finds wrong with the trace.
    """
    trace = read_link_trace(path)
    send_us = [round(k * frame_ms * 1000) for k in range(frames)]
    arrivals = link_arrivals(send_us, trace)
    return [(sent / 1000, arrived / 1000) for sent, arrived in zip(send_us, arrivals, strict=True)]
