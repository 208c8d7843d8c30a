"""Recorded links for the loopback demo: an arrival log (``capture_ms,arrival_ms``, an empty
arrival is a frame lost) and a Mahimahi link trace (one delivery opportunity of up to 1,500
bytes per line, a whole-millisecond timestamp; the trace repeats), turned into per-frame
arrivals by a FIFO drained at those opportunities (one 160-byte packet per frame; frames
never overtake). Both as the yardstick issue defines them.

A minimal reader of its own until ``adaptive_stream.simulation.recorded`` exists; errors name
the file, the line and the problem.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

__all__ = ["RecordingError", "arrivals_from_link_trace", "read_arrivals"]

#: The link model's packet sizes (bytes): an audio frame's packet, an opportunity's capacity.
AUDIO_PACKET_BYTES = 160
OPPORTUNITY_BYTES = 1500
#: Frames a link trace is turned into (60 s at 20 ms): the demo runs at most this long
#: before the schedule repeats.
TRACE_FRAMES = 3000


class RecordingError(ValueError):
    """A recording that cannot be used: the message names the file, the line and why."""


def read_arrivals(path: str | Path, frame_ms: float) -> list[tuple[float, float | None]]:
    """The rows ``(capture_ms, arrival_ms | None)`` of an arrival log.

    Raises:
        RecordingError: unreadable file, wrong header, a bad number, capture times not one
            frame apart, no rows.
    """
    rows: list[tuple[float, float | None]] = []
    try:
        with open(path, newline="", encoding="utf-8") as source:
            reader = csv.reader(source)
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != ["capture_ms", "arrival_ms"]:
                raise RecordingError(f"{path}:1: expected the header capture_ms,arrival_ms")
            for number, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != 2:
                    raise RecordingError(f"{path}:{number}: expected 2 fields, got {len(row)}")
                capture = _number(path, number, "capture_ms", row[0])
                if rows and abs(capture - rows[-1][0] - frame_ms) > 0.5:
                    raise RecordingError(
                        f"{path}:{number}: capture_ms must advance by one frame "
                        f"({frame_ms:g} ms) per row (got {rows[-1][0]:g} then {capture:g})"
                    )
                text = row[1].strip()
                arrival = None if not text else _number(path, number, "arrival_ms", text)
                rows.append((capture, arrival))
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: not a text file ({exc.reason})") from exc
    if not any(arrival is not None for _, arrival in rows):
        raise RecordingError(f"{path}: no row with an arrival")
    return rows


def _number(path: str | Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise RecordingError(f"{path}:{line}: {field} must be a number >= 0 (got {text!r})")
    return value


def _opportunities(path: str | Path) -> list[int]:
    times: list[int] = []
    try:
        with open(path, encoding="utf-8") as source:
            for number, line in enumerate(source, start=1):
                text = line.strip()
                if not text:
                    continue
                if not text.isdigit():
                    raise RecordingError(
                        f"{path}:{number}: expected a whole number of milliseconds (got {text!r})"
                    )
                value = int(text)
                if times and value < times[-1]:
                    raise RecordingError(
                        f"{path}:{number}: timestamps must not decrease ({times[-1]} then {value})"
                    )
                times.append(value)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: not a text file ({exc.reason})") from exc
    if not times or times[-1] <= 0:
        raise RecordingError(f"{path}: no delivery opportunity after 0 ms")
    return times


def arrivals_from_link_trace(
    path: str | Path, frame_ms: float, frames: int = TRACE_FRAMES
) -> list[tuple[float, float | None]]:
    """``frames`` audio frames (one every ``frame_ms``) through the trace's link: rows as
    :func:`read_arrivals` gives them (none lost).

    Raises:
        RecordingError: unreadable file, a line that is not a whole number, decreasing
            timestamps, an empty trace.
    """
    times = _opportunities(path)
    period = times[-1]
    per_opportunity = OPPORTUNITY_BYTES // AUDIO_PACKET_BYTES
    rows: list[tuple[float, float | None]] = []
    frame = 0
    lap = 0
    while frame < frames:
        for at in times:
            now = lap * period + at
            served = 0
            while frame < frames and served < per_opportunity and frame * frame_ms <= now:
                rows.append((frame * frame_ms, float(now)))
                frame += 1
                served += 1
        lap += 1
    return rows
