"""Recorded networks: per-frame arrival logs, Mahimahi link traces, and the link's FIFO.

Two kinds of recording can replace the simulator's model of the network
(docs/yardstick.md says where to find them and how to record one):

* An **arrival log** (:func:`read_arrivals`): a CSV file with the header
  ``capture_ms,arrival_ms`` and one row per frame, in capture order, one frame duration
  apart; an empty ``arrival_ms`` is a frame lost in the network. Both times are on one clock,
  in milliseconds (decimals allowed), and no frame arrives before its capture.
* A **link trace** (:func:`read_link_trace`), in the Mahimahi (Saturator) format: one line
  per delivery opportunity, each a whole number of milliseconds from the start, in order, a
  value repeated for several opportunities in the same millisecond. Each opportunity
  carries up to :data:`MTU_BYTES`; the trace repeats with a period of its last value.

:func:`link_arrivals` runs packets through such a link as Mahimahi's ``mm-link`` does: one
FIFO, drained at each opportunity up to 1,500 bytes (a packet larger than what is left goes
on in the next opportunity; unused bytes are lost), with optional video cross traffic
sharing it, plus a constant propagation delay. Packets never overtake one another.

Readers raise :class:`RecordingError` naming the file, the line and the problem. Sizes are
bounded (:data:`MAX_ROWS`, :data:`MAX_OPPORTUNITIES`, :data:`MAX_LINE`).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "MAX_LINE",
    "MAX_OPPORTUNITIES",
    "MAX_ROWS",
    "MTU_BYTES",
    "VIDEO_PACKET_BYTES",
    "ArrivalLog",
    "LinkTrace",
    "RecordingError",
    "link_arrivals",
    "read_arrivals",
    "read_link_trace",
]

#: Bytes one delivery opportunity carries (Mahimahi's PACKET_SIZE).
MTU_BYTES = 1500
#: The size the cross traffic's video frames are cut into.
VIDEO_PACKET_BYTES = 1200
#: At most this many rows in an arrival log (24 hours of 20 ms frames).
MAX_ROWS = 4_320_000
#: At most this many lines in a link trace.
MAX_OPPORTUNITIES = 5_000_000
#: Lines longer than this many characters are errors.
MAX_LINE = 200
#: Times beyond this (ms, about 11.6 days) are errors.
MAX_MS = 1e9


class RecordingError(ValueError):
    """A recording that cannot be used: the message names the file, the line and why."""


class ArrivalLog(NamedTuple):
    """A per-frame arrival log (times in ms, as in the file; ``None``: lost)."""

    source: str
    capture_ms: tuple[float, ...]
    arrival_ms: tuple[float | None, ...]

    @property
    def step_ms(self) -> float:
        """The capture spacing (the frame duration the log was recorded at)."""
        return self.capture_ms[1] - self.capture_ms[0] if len(self.capture_ms) > 1 else 0.0

    @property
    def duration_ms(self) -> float:
        """How much audio the log covers: its frames times their spacing."""
        return len(self.capture_ms) * self.step_ms


class LinkTrace(NamedTuple):
    """A link trace: delivery opportunities in ms from the start, in order."""

    source: str
    opportunities_ms: tuple[int, ...]

    @property
    def period_ms(self) -> int:
        """The trace repeats after its last timestamp."""
        return self.opportunities_ms[-1]


def _lines(path: Path, limit: int, what: str) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                if len(line) > MAX_LINE:
                    raise RecordingError(f"{path}:{number}: line longer than {MAX_LINE} characters")
                if number > limit + 1:
                    raise RecordingError(f"{path}:{number}: more than {limit} {what}")
                yield number, line.strip()
    except FileNotFoundError:
        raise RecordingError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise RecordingError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _ms(text: str, where: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_MS:
        raise RecordingError(
            f"{where}: {name} must be a number of milliseconds from 0 to {MAX_MS:.0f} "
            f"(got {text!r})"
        )
    return value


def read_arrivals(path: str | Path) -> ArrivalLog:
    """Read an arrival log (module docstring). At least two frames, evenly spaced (each
    capture within 1 ms of the first plus a whole number of spacings).

    Raises:
        RecordingError: ``FILE:LINE: problem``.
    """
    path = Path(path)
    capture: list[float] = []
    arrival: list[float | None] = []
    header_seen = False
    step = 0.0
    for number, line in _lines(path, MAX_ROWS, "frames"):
        where = f"{path}:{number}"
        if not line:
            continue
        if not header_seen:
            if [c.strip() for c in line.split(",")] != ["capture_ms", "arrival_ms"]:
                raise RecordingError(f"{where}: the header must be capture_ms,arrival_ms")
            header_seen = True
            continue
        cells = line.split(",")
        if len(cells) != 2:
            raise RecordingError(
                f"{where}: expected 2 fields (capture_ms,arrival_ms), got {len(cells)}"
            )
        captured = _ms(cells[0].strip(), where, "capture_ms")
        arrived = cells[1].strip()
        came = None if arrived == "" else _ms(arrived, where, "arrival_ms")
        if came is not None and came < captured:
            raise RecordingError(
                f"{where}: arrival_ms {came:g} is before capture_ms {captured:g} "
                "(both must be on one clock)"
            )
        if len(capture) == 1:
            step = captured - capture[0]
            if step <= 0:
                raise RecordingError(f"{where}: capture_ms must grow from row to row")
        elif capture and abs(captured - (capture[0] + len(capture) * step)) > 1.0:
            raise RecordingError(
                f"{where}: capture_ms {captured:g} is not one frame ({step:g} ms, from the "
                "first two rows) after the previous row: one row per frame, in capture order"
            )
        capture.append(captured)
        arrival.append(came)
    if not header_seen:
        raise RecordingError(f"{path}: empty (expected the header capture_ms,arrival_ms)")
    if len(capture) < 2:
        raise RecordingError(f"{path}: at least two frames are needed (got {len(capture)})")
    return ArrivalLog(str(path), tuple(capture), tuple(arrival))


def read_link_trace(path: str | Path) -> LinkTrace:
    """Read a Mahimahi link trace (module docstring): whole milliseconds, in order, the last
    one above 0. Blank lines are skipped.

    Raises:
        RecordingError: ``FILE:LINE: problem``.
    """
    path = Path(path)
    times: list[int] = []
    for number, line in _lines(path, MAX_OPPORTUNITIES, "delivery opportunities"):
        if not line:
            continue
        where = f"{path}:{number}"
        if not line.isdigit() or int(line) > MAX_MS:
            raise RecordingError(
                f"{where}: expected a whole number of milliseconds from 0 to {MAX_MS:.0f} "
                f"(got {line!r})"
            )
        value = int(line)
        if times and value < times[-1]:
            raise RecordingError(
                f"{where}: {value} is before the previous line's {times[-1]} "
                "(timestamps must not decrease)"
            )
        times.append(value)
    if not times:
        raise RecordingError(f"{path}: no delivery opportunity (one timestamp per line)")
    if times[-1] <= 0:
        raise RecordingError(
            f"{path}:{len(times)}: the last timestamp must be above 0 (it is the period the "
            "trace repeats with)"
        )
    return LinkTrace(str(path), tuple(times))


class _Opportunities:
    """The trace's delivery opportunities in simulation time (µs), wrapping forever."""

    def __init__(self, times_ms: Sequence[int], start_ms: int) -> None:
        self.times = times_ms
        self.period = times_ms[-1]
        self.start = start_ms
        self.cycle = 0
        self.index = 0
        self.seek(0)

    def now_us(self) -> int:
        return (self.cycle * self.period + self.times[self.index] - self.start) * 1000

    def advance(self) -> None:
        self.index += 1
        if self.index == len(self.times):
            self.index = 0
            self.cycle += 1

    def seek(self, at_us: int) -> None:
        """Move to the first opportunity at or after ``at_us``."""
        trace_ms = -(-at_us // 1000) + self.start
        self.cycle, offset = divmod(trace_ms, self.period)
        self.index = bisect.bisect_left(self.times, offset)
        if self.index == len(self.times):
            self.index = 0
            self.cycle += 1


def link_arrivals(
    send_us: Sequence[int],
    trace: LinkTrace,
    *,
    packet_bytes: int = 160,
    cross_traffic_kbps: float = 0.0,
    cross_traffic_fps: float = 30.0,
    start_ms: int = 0,
    delay_us: int = 0,
) -> list[int]:
    """When each packet sent at ``send_us`` (non-decreasing µs) arrives across the link.

    Each audio packet is ``packet_bytes``; video cross traffic sends a frame of
    ``cross_traffic_kbps x 1000 / 8 / cross_traffic_fps`` bytes (cut into
    :data:`VIDEO_PACKET_BYTES` packets) every ``1 / cross_traffic_fps`` s from time 0. A
    packet queued at ``t`` can leave at an opportunity at ``t`` or later; on a tie, audio
    queues before video. The trace starts at ``start_ms`` into it (time 0 is that point);
    a packet arrives ``delay_us`` after the opportunity that carried its last byte.
    """
    count = len(send_us)
    arrivals = [0] * count
    if count == 0:
        return arrivals
    video_bytes = (
        round(cross_traffic_kbps * 1000 / 8 / cross_traffic_fps) if cross_traffic_kbps else 0
    )
    video_period_us = 1e6 / cross_traffic_fps
    queue: deque[list[int]] = deque()  # [bytes left, audio index or -1]
    opportunities = _Opportunities(trace.opportunities_ms, start_ms)
    audio = video = delivered = 0
    never = math.inf
    while delivered < count:
        now = opportunities.now_us()
        while True:
            next_audio = send_us[audio] if audio < count else never
            next_video = round(video * video_period_us) if video_bytes else never
            if min(next_audio, next_video) > now:
                break
            if next_audio <= next_video:
                queue.append([packet_bytes, audio])
                audio += 1
            else:
                full, rest = divmod(video_bytes, VIDEO_PACKET_BYTES)
                queue.extend([VIDEO_PACKET_BYTES, -1] for _ in range(full))
                if rest:
                    queue.append([rest, -1])
                video += 1
        if not queue:
            # Idle link: jump to the first opportunity after the next packet.
            opportunities.seek(int(min(next_audio, next_video)))
            continue
        budget = MTU_BYTES
        while budget > 0 and queue:
            head = queue[0]
            if head[0] <= budget:
                budget -= head[0]
                queue.popleft()
                if head[1] >= 0:
                    arrivals[head[1]] = now + delay_us
                    delivered += 1
            else:
                head[0] -= budget
                budget = 0
        opportunities.advance()
    return arrivals
