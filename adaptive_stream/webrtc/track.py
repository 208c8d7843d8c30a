"""``AdaptivePlayoutTrack``: an aiortc ``MediaStreamTrack`` that plays a remote audio track
out on its own clock, through a playout buffer whose size the adaptive manager decides.

Threads: everything runs on the event loop that first calls :meth:`recv` (or
:meth:`AdaptivePlayoutTrack.start`). The manager's sizes come from its ticker thread and are
handed to that loop with ``AsyncIOThreadSafeScheduler``; the manager's ``update_latency`` and
``report_underrun`` are called on the loop (they are thread-safe and never block).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import fractions
import io
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from reactivex import operators as ops
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from adaptive_stream.output import write_file
from adaptive_stream.webrtc.playout import PlayoutBuffer, PlayoutCounts, Slot

if TYPE_CHECKING:
    from reactivex import abc

    from adaptive_stream.manager import AdaptiveBufferManager
    from adaptive_stream.model import BufferSizes

__all__ = ["AdaptivePlayoutTrack", "LoopClock", "PlayoutClock", "WrongFrameError"]


class WrongFrameError(ValueError):
    """The remote track delivered a frame of another kind, size or rate than the track
    was built for."""


class PlayoutClock(Protocol):
    """The track's clock: ``now()`` in seconds (monotonic), ``sleep_until(t)`` returns once
    ``now() >= t`` (at once if it already is)."""

    def now(self) -> float: ...

    def sleep_until(self, deadline: float) -> Awaitable[None]: ...


class LoopClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class AdaptivePlayoutTrack(MediaStreamTrack):
    """Plays ``remote_track`` out one frame per frame duration, holding the playout delay at
    the size ``manager`` decides (its ``sizes``' ``input_size``, in frames).

    A task drains ``remote_track`` as fast as frames come (aiortc's queue is unbounded),
    stamps each frame's arrival, pushes its relative arrival delay with
    ``manager.update_latency`` and keeps it in a :class:`~.playout.PlayoutBuffer`. Each
    :meth:`recv` waits for the next slot on the track's absolute clock (slot ``k`` at
    ``t0 + k x F``, ``t0`` the first frame's arrival; a late caller is served at once and
    catches up) and returns the slot's frame, or silence for concealment; a slot with an
    underrun also calls ``manager.report_underrun()``. Returned frames carry the track's own
    pts (``k x samples``), so lost packets never show as jumps.

    Args:
        remote_track: an audio ``MediaStreamTrack`` (aiortc's remote track).
        manager: the adaptive manager deciding the size (only its public API is used).
        clock: a :class:`PlayoutClock` (default: the real one); tests pass a virtual one.
        sample_rate: the decoded audio's rate (Hz); 48 000 for aiortc's Opus.
        samples_per_frame: samples per frame; ``sample_rate x settings.frame_duration``.
        record_arrivals: keep the arrival log (:meth:`write_arrivals`).

    Raises:
        ValueError: ``remote_track`` is not audio, or ``samples_per_frame / sample_rate``
            is not the manager's ``settings.frame_duration``. (A frame of another size or
            rate arriving later ends the playout: ``recv()`` raises ``MediaStreamError``
            and :attr:`remote_error` is a :class:`WrongFrameError` saying what came.)
    """

    kind = "audio"

    def __init__(
        self,
        remote_track: MediaStreamTrack,
        manager: AdaptiveBufferManager,
        *,
        clock: PlayoutClock | None = None,
        sample_rate: int = 48_000,
        samples_per_frame: int = 960,
        record_arrivals: bool = False,
    ) -> None:
        kind = getattr(remote_track, "kind", None)
        if kind != "audio":
            raise ValueError(f"remote_track: must be an audio track (got kind {kind!r})")
        frame_duration = manager.settings.frame_duration.total_seconds()
        if sample_rate <= 0 or samples_per_frame <= 0:
            raise ValueError(
                f"sample_rate, samples_per_frame: must be above 0 "
                f"(got {sample_rate}, {samples_per_frame})"
            )
        if abs(samples_per_frame / sample_rate - frame_duration) > 1e-9:
            raise ValueError(
                f"samples_per_frame / sample_rate: must equal settings.frame_duration "
                f"({frame_duration * 1000:g} ms); got {samples_per_frame} / {sample_rate} Hz "
                f"= {samples_per_frame / sample_rate * 1000:g} ms"
            )
        super().__init__()
        self._remote = remote_track
        self._manager = manager
        self._clock: PlayoutClock = clock if clock is not None else LoopClock()
        self._rate = sample_rate
        self._samples = samples_per_frame
        self._time_base = fractions.Fraction(1, sample_rate)
        self.buffer: PlayoutBuffer[AudioFrame] = PlayoutBuffer(
            samples_per_frame, self._time_base, max(1, manager.input_buffer_size)
        )
        self._record = record_arrivals
        self._arrivals: dict[int, float] = {}
        self._origin: float | None = None  # arrival - media of the first frame
        self._first_pts: int | None = None
        self._t0: float | None = None
        self._slot = 0
        self._started = False
        self._drain: asyncio.Task[None] | None = None
        self._sizes: abc.DisposableBase | None = None
        self._first = asyncio.Event()
        self._ended = False
        self._deadline_misses = 0
        self._layout = "stereo"
        self._format = "s16"
        self.latest_delay_s = 0.0
        self.remote_error: Exception | None = None
        """What ended the playout early: what the remote track raised (anything but
        ``MediaStreamError``), or a :class:`WrongFrameError` for a frame it cannot play. The
        playout then ends as if the remote track had ended."""
        self.on_slot: Callable[[Slot[AudioFrame], float], None] | None = None
        """Called on the loop with each slot and its time (``clock.now()`` scale), before the
        frame is returned (its ``pts`` still the sender's); must not raise or block."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start draining the remote track and following the manager's sizes (on the running
        loop). :meth:`recv` calls it; calling it again is a no-op."""
        if self._started:
            return
        self._started = True
        loop = asyncio.get_running_loop()
        self._sizes = self._manager.sizes.pipe(
            ops.observe_on(AsyncIOThreadSafeScheduler(loop))
        ).subscribe(self._on_sizes)
        self._drain = loop.create_task(self._run_drain(), name="adaptive-playout-drain")

    def stop(self) -> None:
        """End the track: cancel the drain task, stop following the sizes. Idempotent."""
        super().stop()
        if self._sizes is not None:
            self._sizes.dispose()
            self._sizes = None
        if self._drain is not None:
            self._drain.cancel()
        self._first.set()

    async def wait_stopped(self) -> None:
        """Stop, then wait until the drain task has ended."""
        self.stop()
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain

    def _on_sizes(self, sizes: BufferSizes) -> None:
        self.buffer.set_target(max(1, sizes.input_size))

    async def _run_drain(self) -> None:
        try:
            while True:
                frame = await self._remote.recv()
                self._take(frame, self._clock.now())
        except MediaStreamError:
            self._ended = True
        except Exception as exc:  # a broken remote track ends the stream, not the loop
            self._ended = True
            self.remote_error = exc
        finally:
            self._first.set()

    def _take(self, frame: Any, arrival: float) -> None:
        if not isinstance(frame, AudioFrame) or frame.pts is None:
            raise WrongFrameError(f"remote track: expected audio frames with a pts, got {frame!r}")
        if frame.samples != self._samples or frame.sample_rate != self._rate:
            raise WrongFrameError(
                f"remote track: a frame of {frame.samples} samples at {frame.sample_rate} Hz; "
                f"this track plays {self._samples} at {self._rate} Hz (settings.frame_duration)"
            )
        pts = frame.pts
        time_base = frame.time_base
        if time_base is not None and time_base != self._time_base:
            pts = round(pts * time_base / self._time_base)
        self._format = frame.format.name
        self._layout = frame.layout.name
        delay = self.buffer.push(frame, pts, arrival)
        self.latest_delay_s = delay
        self._manager.update_latency(delay)
        if self._origin is None:
            self._origin = arrival - float(pts * self._time_base)
            self._first_pts = pts
            self._t0 = arrival
            self._first.set()
        if self._record:
            self._arrivals.setdefault(pts, arrival)

    # -- playout -----------------------------------------------------------------------------

    async def recv(self) -> AudioFrame:
        """The next slot's frame (module and class docstrings); waits for the first frame,
        then for each slot's time.

        Raises:
            MediaStreamError: the track was stopped, or the remote track ended.
        """
        if self.readyState != "live":
            raise MediaStreamError
        self.start()
        if self._t0 is None:
            await self._first.wait()
            if self._t0 is None or self.readyState != "live":
                raise MediaStreamError
        self._slot += 1
        deadline = self._t0 + self._slot * self.buffer.frame_s
        await self._clock.sleep_until(deadline)
        if self.readyState != "live":
            raise MediaStreamError
        now = self._clock.now()
        if now - deadline > self.buffer.frame_s:
            self._deadline_misses += 1
        if self._ended and self.buffer.depth == 0:
            self.stop()
            raise MediaStreamError
        slot = self.buffer.tick(deadline)
        if slot.kind == "late":
            self._manager.report_underrun()
        if self.on_slot is not None:
            self.on_slot(slot, deadline)
        return self._output(slot)

    def _output(self, slot: Slot[AudioFrame]) -> AudioFrame:
        pts = (self._slot - 1) * self._samples
        frame = slot.frame
        if frame is None:
            frame = AudioFrame(format=self._format, layout=self._layout, samples=self._samples)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate = self._rate
        frame.pts = pts
        frame.time_base = self._time_base
        return frame

    # -- figures and recording ---------------------------------------------------------------

    def counts(self) -> PlayoutCounts:
        """What the slots so far played (the simulator's figure names)."""
        return self.buffer.counts()

    def stats(self) -> dict[str, Any]:
        """The counts, plus ``underruns`` (= late), ``target`` (frames), ``depth`` (frames
        waiting) and
        ``deadline_misses`` (slots served more than a frame after their time: the caller or
        the loop was too slow)."""
        counts = self.buffer.counts()
        return {
            **counts._asdict(),
            "underruns": counts.underruns,
            "target": self.buffer.target,
            "depth": self.buffer.depth,
            "deadline_misses": self._deadline_misses,
        }

    def arrival_rows(self) -> list[tuple[float, float | None]]:
        """The arrival log: ``(capture_ms, arrival_ms)`` per frame from the first to the last
        that arrived, in capture order; ``None`` for a frame that never arrived (lost).
        Capture time is media time from the first frame; arrival is on the same scale (the
        first frame arrived at its capture time), so ``arrival - capture`` is the one-way
        delay up to a constant. Needs ``record_arrivals=True``."""
        if self._origin is None or self._first_pts is None or not self._arrivals:
            return []
        first, last = self._first_pts, max(self._arrivals)
        rows: list[tuple[float, float | None]] = []
        tb = self._time_base
        for pts in range(first, last + 1, self._samples):
            capture = float((pts - first) * tb) * 1000
            arrival = self._arrivals.get(pts)
            if arrival is None:
                rows.append((capture, None))
            else:
                rows.append((capture, (arrival - self._origin - float(first * tb)) * 1000))
        return rows

    def write_arrivals(self, path: str | os.PathLike[str]) -> int:
        """Write the arrival log as CSV (``capture_ms,arrival_ms``; empty arrival = lost),
        whole or not at all (:func:`adaptive_stream.output.write_file`). Returns the rows
        written.

        Raises:
            OSError: the file cannot be written (an
                :class:`~adaptive_stream.output.OutputError`).
        """
        rows = self.arrival_rows()
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(["capture_ms", "arrival_ms"])
        for capture, arrival in rows:
            writer.writerow([f"{capture:.3f}", "" if arrival is None else f"{arrival:.3f}"])
        write_file(path, out.getvalue())
        return len(rows)
