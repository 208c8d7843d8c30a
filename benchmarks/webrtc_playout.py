"""CPU of ``AdaptivePlayoutTrack`` per stream, and how many streams one core plays out in real
time before the slots' deadlines slip.

Each stream: a synthetic remote track delivering one decoded 20 ms Opus-sized frame
(960 samples, s16 stereo, made once and reused) every 20 ms on the real clock, as aiortc's
remote track does, a playout track with its own (unstarted) manager, so ``update_latency``
and ``report_underrun`` are paid for, and a consumer awaiting ``recv()`` as a sound device
would. All streams share one event loop, so one thread: one core at most.

CPU per stream is the process's CPU time over wall time, with the playout tracks, minus the
same streams with the consumer reading the remote track directly (the baseline: producer and
consumer alone), divided by the streams. A slot has *slipped* when ``recv()`` returns more
than 5 ms after its deadline; the capacity is the largest stream count whose slipped share
stays under 1 %.

    .venv/bin/python benchmarks/webrtc_playout.py [--seconds 10] [--streams 1,50,100,200,400]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import time
from typing import Any

from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame

from adaptive_stream.manager import AdaptiveBufferManager
from adaptive_stream.settings import AdaptiveBufferSettings
from adaptive_stream.webrtc import AdaptivePlayoutTrack

FRAME_S = 0.02
SLIP_S = 0.005


def make_frame() -> AudioFrame:
    frame = AudioFrame(format="s16", layout="stereo", samples=960)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = 48_000
    frame.time_base = fractions.Fraction(1, 48_000)
    return frame


class Synthetic(MediaStreamTrack):
    """One frame every 20 ms on the real clock (pts advancing), like aiortc's remote track."""

    kind = "audio"

    def __init__(self, frame: AudioFrame, start: float) -> None:
        super().__init__()
        self._frame = frame
        self._start = start
        self._k = 0

    async def recv(self) -> AudioFrame:
        wait = self._start + self._k * FRAME_S - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._frame.pts = self._k * 960
        self._k += 1
        return self._frame


async def one_run(streams: int, seconds: float, with_playout: bool) -> dict[str, Any]:
    frame = make_frame()
    settings = AdaptiveBufferSettings(policy="feedback", default_buffer_size=4)
    start = time.monotonic() + 0.2
    slots = round(seconds / FRAME_S)
    slipped = [0]
    late_max = [0.0]
    tracks: list[AdaptivePlayoutTrack] = []

    async def consume(index: int) -> None:
        remote = Synthetic(frame, start + index * 0.0001)
        if not with_playout:
            for k in range(slots):
                await remote.recv()
                late = time.monotonic() - (start + k * FRAME_S)
                slipped[0] += late > SLIP_S
            return
        track = AdaptivePlayoutTrack(remote, AdaptiveBufferManager(settings, metrics=None))
        tracks.append(track)
        for _ in range(slots):
            await track.recv()
            # The slot's deadline: t0 + k x F on the track's clock.
            deadline = track._t0 + track._slot * FRAME_S  # type: ignore[operator]
            late = time.monotonic() - deadline
            late_max[0] = max(late_max[0], late)
            slipped[0] += late > SLIP_S
        await track.wait_stopped()

    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(consume(i) for i in range(streams)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return {
        "streams": streams,
        "playout": with_playout,
        "cpu_percent": 100 * cpu / wall,
        "slipped_percent": 100 * slipped[0] / (streams * slots),
        "late_max_ms": late_max[0] * 1000,
        "underruns": sum(t.stats()["underruns"] for t in tracks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--streams", default="1,50,100,200,400")
    args = parser.parse_args()
    rows = []
    for streams in [int(n) for n in args.streams.split(",")]:
        base = asyncio.run(one_run(streams, args.seconds, with_playout=False))
        full = asyncio.run(one_run(streams, args.seconds, with_playout=True))
        per_stream = (full["cpu_percent"] - base["cpu_percent"]) / streams
        row = {**full, "baseline_cpu_percent": base["cpu_percent"], "cpu_per_stream": per_stream}
        rows.append(row)
        print(json.dumps(row), flush=True)
    fits = [r["streams"] for r in rows if r["slipped_percent"] < 1.0]
    print(json.dumps({"max_streams_without_slips": max(fits, default=0)}))


if __name__ == "__main__":
    main()
