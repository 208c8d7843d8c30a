"""AdaptivePlayoutTrack on a virtual clock: a fake remote track delivers decoded frames at
virtual times, the track's slots run on the same clock, so every run is exact and instant.
Also its bad input, its arrival log and its clean stop."""

from __future__ import annotations

import asyncio
import csv
import fractions
import heapq
import itertools
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiortc")

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame
from reactivex.subject import BehaviorSubject

from adaptive_stream.manager import AdaptiveBufferManager
from adaptive_stream.model import BufferSizes
from adaptive_stream.settings import AdaptiveBufferSettings
from adaptive_stream.webrtc import AdaptivePlayoutTrack, WrongFrameError
from adaptive_stream.webrtc.recordings import read_arrivals

F = 0.02
TB = fractions.Fraction(1, 48_000)


class VirtualClock:
    """A ``PlayoutClock`` whose time moves only in :meth:`run_until`, to the next waiter."""

    def __init__(self) -> None:
        self.t = 0.0
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.t

    def sleep_until(self, deadline: float) -> Awaitable[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (deadline, next(self._order), future))
        return future

    async def settle(self) -> None:
        for _ in range(30):  # every ready task runs on until it waits on the clock again
            await asyncio.sleep(0)

    async def run_until(self, end: float) -> None:
        while True:
            await self.settle()
            if not self._waiters or self._waiters[0][0] > end:
                self.t = max(self.t, end)
                return
            deadline, _, future = heapq.heappop(self._waiters)
            self.t = max(self.t, deadline)
            if not future.done():
                future.set_result(None)


def audio_frame(pts: int, samples: int = 960, rate: int = 48_000) -> AudioFrame:
    frame = AudioFrame(format="s16", layout="stereo", samples=samples)
    for plane in frame.planes:
        plane.update(b"\x01" * plane.buffer_size)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, rate)
    return frame


class FakeRemote(MediaStreamTrack):
    """Delivers frame ``k`` at ``arrivals[k]`` on the clock (``None``: never, lost); then
    waits for ever (or ends, with ``end=True``)."""

    kind = "audio"

    def __init__(self, clock: VirtualClock, arrivals: list[float | None], end: bool = False):
        super().__init__()
        self._clock = clock
        self._items = [(t, k) for k, t in enumerate(arrivals) if t is not None]
        self._end = end

    async def recv(self) -> AudioFrame:
        if not self._items:
            if self._end:
                raise MediaStreamError
            await asyncio.get_running_loop().create_future()
        at, k = self._items.pop(0)
        await self._clock.sleep_until(at)
        return audio_frame(k * 960)


class FakeManager:
    """The manager's public surface the track uses, recording the calls."""

    def __init__(self, size: int = 3, frame: timedelta = timedelta(milliseconds=20)) -> None:
        self.settings = AdaptiveBufferSettings(frame_duration=frame)
        self.subject = BehaviorSubject(BufferSizes(size, size))
        self.sizes = self.subject
        self.input_buffer_size = size
        self.latencies: list[float] = []
        self.underruns = 0

    def update_latency(self, sample: float) -> None:
        self.latencies.append(sample)

    def report_underrun(self, count: int = 1) -> None:
        self.underruns += count


def stalled(frames: int, at: float, length: float) -> list[float | None]:
    return [(at + length if at <= k * F < at + length else k * F) + 0.001 for k in range(frames)]


async def play(
    track: AdaptivePlayoutTrack,
    clock: VirtualClock,
    slots: int,
    before_slot: Callable[[int], None] | None = None,
) -> list[AudioFrame]:
    out: list[AudioFrame] = []

    async def consume() -> None:
        for j in range(slots):
            if before_slot is not None:
                before_slot(j)
            out.append(await track.recv())

    consumer = asyncio.ensure_future(consume())
    while not consumer.done():
        await clock.run_until(clock.t + F)
    await consumer
    await track.wait_stopped()
    return out


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def recorded(arrivals: list[float | None], size: int, slots: int) -> AdaptivePlayoutTrack:
    """A track that recorded its arrival log, after ``slots`` slots of ``arrivals``."""

    async def main() -> AdaptivePlayoutTrack:
        clock = VirtualClock()
        track = AdaptivePlayoutTrack(
            FakeRemote(clock, arrivals),
            FakeManager(size),  # type: ignore[arg-type]
            clock=clock,
            record_arrivals=True,
        )
        await play(track, clock, slots)
        return track

    return run(main())


async def play_to_end(track: AdaptivePlayoutTrack, clock: VirtualClock) -> int:
    """Call ``recv()`` until it raises ``MediaStreamError``; the frames it returned."""
    returned = 0

    async def consume() -> None:
        nonlocal returned
        with pytest.raises(MediaStreamError):
            while True:
                await track.recv()
                returned += 1

    consumer = asyncio.ensure_future(consume())
    while not consumer.done():
        await clock.run_until(clock.t + F)
    await consumer
    return returned


# -- bad input ---------------------------------------------------------------------------


def test_a_video_track_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="must be an audio track \\(got kind 'video'\\)"):
        AdaptivePlayoutTrack(VideoStreamTrack(), FakeManager())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rate", "samples", "frame_ms"),
    [(48_000, 480, 20), (44_100, 960, 20), (48_000, 960, 10)],
)
def test_a_frame_size_other_than_the_settings_is_refused(
    rate: int, samples: int, frame_ms: int
) -> None:
    manager = FakeManager(frame=timedelta(milliseconds=frame_ms))
    remote = FakeRemote(VirtualClock(), [])
    with pytest.raises(ValueError, match=f"must equal settings.frame_duration \\({frame_ms} ms\\)"):
        AdaptivePlayoutTrack(
            remote,
            manager,  # type: ignore[arg-type]
            sample_rate=rate,
            samples_per_frame=samples,
        )


# -- playout on the virtual clock --------------------------------------------------------


def test_a_stall_longer_than_the_target_is_reported_as_underruns() -> None:
    async def main() -> tuple[AdaptivePlayoutTrack, FakeManager, list[AudioFrame]]:
        clock = VirtualClock()
        manager = FakeManager(size=3)
        track = AdaptivePlayoutTrack(
            FakeRemote(clock, stalled(300, 2.0, 0.2)), manager, clock=clock
        )  # type: ignore[arg-type]
        return track, manager, await play(track, clock, 250)

    track, manager, frames = run(main())
    stats = track.stats()
    assert 6 <= stats["late"] <= 8
    assert manager.underruns == stats["underruns"] == stats["late"]
    # Every arrival's relative delay reached the manager; the held ones up to the stall.
    assert len(manager.latencies) >= 250
    assert max(manager.latencies) == pytest.approx(0.2, abs=F)
    # The output is continuous: the track's own pts, one frame per slot, silence filling in.
    assert [f.pts for f in frames] == [j * 960 for j in range(250)]
    assert all(f.samples == 960 and f.time_base == TB for f in frames)
    silent = [j for j, f in enumerate(frames) if not any(bytes(f.planes[0]))]
    assert len(silent) == stats["late"] + stats["prefill"]


def test_a_lost_frame_is_filled_in_and_costs_nothing_after() -> None:
    arrivals: list[float | None] = [k * F + 0.001 for k in range(200)]
    arrivals[60] = None

    async def main() -> AdaptivePlayoutTrack:
        clock = VirtualClock()
        track = AdaptivePlayoutTrack(FakeRemote(clock, arrivals), FakeManager(4), clock=clock)  # type: ignore[arg-type]
        await play(track, clock, 150)
        return track

    stats = run(main()).stats()
    assert (stats["lost"], stats["late"], stats["dropped"], stats["stretched"]) == (1, 0, 0, 0)


def test_the_target_follows_sizes_pushed_from_another_thread() -> None:
    manager = FakeManager(size=3)

    def push(j: int) -> None:
        if j == 100:  # the manager's ticker thread decides 8 frames
            thread = threading.Thread(target=manager.subject.on_next, args=(BufferSizes(8, 8),))
            thread.start()
            thread.join()

    async def main() -> AdaptivePlayoutTrack:
        clock = VirtualClock()
        remote = FakeRemote(clock, [k * F + 0.001 for k in range(400)])
        track = AdaptivePlayoutTrack(remote, manager, clock=clock)  # type: ignore[arg-type]
        await play(track, clock, 300, before_slot=push)
        return track

    track = run(main())
    stats = track.stats()
    assert stats["target"] == 8
    assert stats["stretched"] == 5  # 3 -> 8, one concealment frame per slot
    assert stats["late"] == 0


def test_a_real_manager_hears_the_delays_and_the_underruns() -> None:
    manager = AdaptiveBufferManager(AdaptiveBufferSettings(default_buffer_size=3))

    async def main() -> AdaptivePlayoutTrack:
        clock = VirtualClock()
        track = AdaptivePlayoutTrack(
            FakeRemote(clock, stalled(300, 2.0, 0.2)), manager, clock=clock
        )
        await play(track, clock, 250)
        return track

    track = run(main())
    stats = manager.stats()
    assert stats["underruns"] == track.stats()["late"] > 0
    assert stats["latency_samples"] >= 250


def test_the_remote_track_ending_ends_the_playout() -> None:
    async def main() -> tuple[int, AdaptivePlayoutTrack]:
        clock = VirtualClock()
        remote = FakeRemote(clock, [k * F for k in range(20)], end=True)
        track = AdaptivePlayoutTrack(remote, FakeManager(3), clock=clock)  # type: ignore[arg-type]
        return await play_to_end(track, clock), track

    played, track = run(main())
    assert track.stats()["played"] == 20
    assert played == 22  # two pre-fill slots, then every frame
    assert track.readyState == "ended"


def test_stop_leaves_no_task_behind() -> None:
    async def main() -> list[asyncio.Task[Any]]:
        clock = VirtualClock()
        track = AdaptivePlayoutTrack(FakeRemote(clock, [0.0]), FakeManager(3), clock=clock)  # type: ignore[arg-type]
        track.start()
        await clock.run_until(0.1)
        await track.wait_stopped()
        with pytest.raises(MediaStreamError):
            await track.recv()
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert run(main()) == []


# -- the arrival log ---------------------------------------------------------------------


def test_the_arrival_log_round_trips_through_the_recording_reader(tmp_path: Path) -> None:
    arrivals: list[float | None] = [5.0 + k * F + (0.03 if k == 10 else 0.0) for k in range(50)]
    arrivals[20] = None
    track = recorded(arrivals, size=3, slots=60)
    path = tmp_path / "arrivals.csv"
    assert track.write_arrivals(path) == 50
    with path.open() as source:
        rows = list(csv.reader(source))
    assert rows[0] == ["capture_ms", "arrival_ms"]
    assert rows[21] == ["400.000", ""]  # frame 20: lost
    log = read_arrivals(path, 20.0)
    delays = [None if a is None else a - c for c, a in log]
    assert delays[0] == pytest.approx(0.0)
    assert delays[10] == pytest.approx(30.0)
    assert delays[11] == pytest.approx(10.0)  # held behind frame 10: arrivals are in order
    assert delays[20] is None
    others = [d for k, d in enumerate(delays) if k not in (10, 11, 20)]
    assert others == pytest.approx([0.0] * 47, abs=1e-3)


class BrokenRemote(FakeRemote):
    async def recv(self) -> AudioFrame:
        if not self._items:
            raise RuntimeError("decoder gone")
        return await super().recv()


def test_a_remote_track_failing_ends_the_playout_and_keeps_the_error() -> None:
    async def main() -> AdaptivePlayoutTrack:
        clock = VirtualClock()
        remote = BrokenRemote(clock, [k * F for k in range(5)])
        track = AdaptivePlayoutTrack(remote, FakeManager(2), clock=clock)  # type: ignore[arg-type]
        await play_to_end(track, clock)
        await track.wait_stopped()
        return track

    track = run(main())
    assert isinstance(track.remote_error, RuntimeError)
    assert track.stats()["played"] == 5


def test_an_arrival_log_that_cannot_be_written_leaves_nothing_behind(tmp_path: Path) -> None:
    track = recorded([k * F for k in range(10)], size=2, slots=12)
    occupied = tmp_path / "log.csv"
    occupied.mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError):
        track.write_arrivals(occupied)
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]
    with pytest.raises(OSError):
        track.write_arrivals(tmp_path / "missing" / "log.csv")


class HalfFrames(FakeRemote):
    """Good frames, then one of 10 ms (480 samples): a decoder set up for another size."""

    async def recv(self) -> AudioFrame:
        if len(self._items) == 1:
            at, k = self._items.pop(0)
            await self._clock.sleep_until(at)
            return audio_frame(k * 960, samples=480)
        return await super().recv()


def test_a_frame_of_another_size_ends_the_playout_loudly_not_in_silence() -> None:
    async def main() -> tuple[int, AdaptivePlayoutTrack]:
        clock = VirtualClock()
        remote = HalfFrames(clock, [k * F for k in range(10)])
        track = AdaptivePlayoutTrack(remote, FakeManager(2), clock=clock)  # type: ignore[arg-type]
        return await play_to_end(track, clock), track

    returned, track = run(main())
    assert isinstance(track.remote_error, WrongFrameError)
    assert "a frame of 480 samples at 48000 Hz; this track plays 960" in str(track.remote_error)
    assert track.stats()["played"] == 9
    assert returned == 10  # one pre-fill slot, then the nine good frames
