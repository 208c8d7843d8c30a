"""The playout logic of :class:`~adaptive_stream.webrtc.track.AdaptivePlayoutTrack`, free of
aiortc, asyncio and the wall clock: every time is an argument (float seconds on the
receiver's monotonic clock), so tests drive it by hand.

Two pieces:

* :class:`ArrivalDelay`: a frame's *relative one-way arrival delay*: its arrival time minus
  its media time (``pts x time_base``), minus the minimum of that difference over a sliding
  window (10 s). The two ends' clocks have an unknown offset, which the minimum removes;
  a drift between them moves the minimum along, so the delay stays bounded (by the window
  times the drift, 50 ms for 0.5 % over 10 s) instead of growing for ever.
* :class:`PlayoutBuffer`: frames wait here from their arrival to their slot. One slot per
  frame duration; at each slot :meth:`PlayoutBuffer.tick` says what to play. The *playout
  delay* ``x`` (in frames) of the frame due is ``(slot time - media time - minimum) / F``:
  how long, beyond the fastest recent arrival, a frame waits before it is played. The buffer
  holds ``x`` at the target ``B``:

  - ``x < B - 1/2``: the slot plays concealment and the frame waits (``stretched``; before
    the first played frame this is the pre-fill, counted ``prefill``): ``x`` grows by one;
  - ``x >= B + 1``: the frame due is skipped (``dropped``) and the next one is due in this
    slot: ``x`` shrinks by one. At most one frame per slot either way.
  - Then the frame due is played (``played``) if it has arrived. If it has not, but a later
    one has, it was lost in the network (``lost``: arrivals are in order, so it will never
    come); if nothing later has come either, it is late (``late``: an underrun). Either way
    concealment fills the slot and the frame is discarded if it comes afterwards, so a pts
    gap never reaches the listener as a jump, and the latency stays what the target says.

  The band ``[B - 1/2, B + 1)`` is 1.5 frames wide, so after a correction ``x`` lies at
  least half a frame inside it: a delay hovering at one edge cannot flap.

This is the simulator's playout model (``adaptive_stream.simulation.closed_loop``) with one
difference: the simulator counts the delay from capture, this buffer from the fastest
recent arrival (the receiver cannot know the sender's clock), so the network's base delay is
not part of ``B`` here. The names of the counts are the simulator's figures.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Generic, NamedTuple, TypeVar

__all__ = ["DELAY_WINDOW_S", "ArrivalDelay", "PlayoutBuffer", "PlayoutCounts", "Slot"]

#: The sliding window of the minimum the relative arrival delay is measured from (seconds).
DELAY_WINDOW_S = 10.0

FrameT = TypeVar("FrameT")


class ArrivalDelay:
    """Relative one-way arrival delays (module docstring).

    Args:
        window_s: the sliding window of the minimum, in seconds (> 0).

    Not thread-safe: one instance per stream, fed in arrival order.
    """

    def __init__(self, window_s: float = DELAY_WINDOW_S) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s: must be above 0 (got {window_s!r})")
        self._window = window_s
        # (arrival, arrival - media), increasing in the second field: the sliding minimum.
        self._minima: deque[tuple[float, float]] = deque()

    def observe(self, arrival_s: float, media_s: float) -> float:
        """The relative delay (seconds, >= 0) of a frame of media time ``media_s`` that
        arrived at ``arrival_s``; arrivals must not go back in time."""
        raw = arrival_s - media_s
        minima = self._minima
        while minima and minima[-1][1] >= raw:
            minima.pop()
        minima.append((arrival_s, raw))
        while minima[0][0] < arrival_s - self._window:
            minima.popleft()
        return raw - minima[0][1]

    @property
    def minimum(self) -> float | None:
        """The current minimum of ``arrival - media`` (seconds), ``None`` before any frame."""
        return self._minima[0][1] if self._minima else None


class Slot(NamedTuple, Generic[FrameT]):
    """What one slot plays.

    Attributes:
        kind: ``"played"`` (``frame`` is played), or, with concealment in the slot,
            ``"late"`` (underrun), ``"lost"``, ``"stretched"`` or ``"prefill"``.
        frame: the frame played, ``None`` for concealment.
        dropped: frames skipped in this slot before it (0 or 1).
        delay_frames: the playout delay ``x`` of the frame due, after any skip.
    """

    kind: str
    frame: FrameT | None
    dropped: int
    delay_frames: float


class PlayoutCounts(NamedTuple):
    """How many slots played what (the simulator's figure names). ``underruns == late``."""

    played: int
    late: int
    lost: int
    stretched: int
    prefill: int
    dropped: int
    discarded: int

    @property
    def underruns(self) -> int:
        return self.late


class PlayoutBuffer(Generic[FrameT]):
    """Frames from arrival to slot (module docstring).

    Args:
        frame_pts: one frame's duration in ``time_base`` units (960 for 20 ms Opus at 48 kHz).
        time_base: the unit of ``pts`` (seconds).
        target: the target playout delay in frames (>= 1); :meth:`set_target` changes it.
        window_s: the sliding window of the arrival-delay minimum (seconds).

    Not thread-safe: push and tick from one thread (the track's event loop).
    """

    def __init__(
        self,
        frame_pts: int,
        time_base: Fraction,
        target: int,
        window_s: float = DELAY_WINDOW_S,
    ) -> None:
        if frame_pts <= 0:
            raise ValueError(f"frame_pts: must be above 0 (got {frame_pts})")
        self._step = frame_pts
        self._seconds_per_pts = float(time_base)  # floats: Fraction arithmetic per frame is slow
        self._frame_s = float(frame_pts * time_base)
        self._target = _checked_target(target)
        self.delays = ArrivalDelay(window_s)
        self._frames: dict[int, FrameT] = {}
        self._next: int | None = None  # pts of the frame due at the next slot
        self._newest: int | None = None  # the largest pts that arrived
        self._played = self._late = self._lost = self._stretched = 0
        self._prefill = self._dropped = self._discarded = 0

    @property
    def target(self) -> int:
        """The target playout delay (frames)."""
        return self._target

    def set_target(self, target: int) -> None:
        """Aim for ``target`` frames (>= 1) from the next slot on."""
        self._target = _checked_target(target)

    @property
    def started(self) -> bool:
        """Whether a frame has arrived (slots before that play nothing)."""
        return self._next is not None

    @property
    def depth(self) -> int:
        """Frames waiting (arrived, not yet due)."""
        return len(self._frames)

    @property
    def frame_s(self) -> float:
        """One frame's duration (seconds)."""
        return self._frame_s

    def counts(self) -> PlayoutCounts:
        """What the slots so far played."""
        return PlayoutCounts(
            self._played,
            self._late,
            self._lost,
            self._stretched,
            self._prefill,
            self._dropped,
            self._discarded,
        )

    def push(self, frame: FrameT, pts: int, arrival_s: float) -> float:
        """Take a frame that arrived at ``arrival_s``; return its relative arrival delay (s).

        A frame whose slot has passed (late, or skipped) or that is already waiting
        (duplicate) is discarded (counted ``discarded``), but its delay still counts: a late
        frame is exactly what the policy must hear of.
        """
        delay = self.delays.observe(arrival_s, pts * self._seconds_per_pts)
        if self._next is None:
            self._next = pts
        if pts < self._next or pts in self._frames:
            self._discarded += 1
        else:
            self._frames[pts] = frame
        if self._newest is None or pts > self._newest:
            self._newest = pts
        return delay

    def delay_frames(self, now_s: float) -> float:
        """The playout delay ``x`` (frames) of the frame due if it played at ``now_s``."""
        minimum = self.delays.minimum
        if self._next is None or minimum is None:
            return 0.0
        media = self._next * self._seconds_per_pts
        return (now_s - media - minimum) / self._frame_s

    def tick(self, now_s: float) -> Slot[FrameT]:
        """The slot at ``now_s``: what it plays (module docstring)."""
        if self._next is None:
            self._prefill += 1
            return Slot("prefill", None, 0, 0.0)
        x = self.delay_frames(now_s)
        target = self._target
        if x < target - 0.5:
            if self._played == 0:
                self._prefill += 1
                return Slot("prefill", None, 0, x)
            self._stretched += 1
            return Slot("stretched", None, 0, x)
        dropped = 0
        if x >= target + 1:
            self._frames.pop(self._next, None)
            self._next += self._step
            self._dropped += 1
            dropped = 1
            x -= 1
        due = self._next
        self._next = due + self._step
        frame = self._frames.pop(due, None)
        if frame is not None:
            self._played += 1
            return Slot("played", frame, dropped, x)
        if self._newest is not None and self._newest > due:
            self._lost += 1
            return Slot("lost", None, dropped, x)
        self._late += 1
        return Slot("late", None, dropped, x)


def _checked_target(target: int) -> int:
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise ValueError(f"target: must be a whole number of frames >= 1 (got {target!r})")
    return target
