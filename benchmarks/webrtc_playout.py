"""CPU of ``AdaptivePlayoutTrack`` per stream, and how many streams one core plays out in real
time before the slots' deadlines slip.

Each stream: a synthetic remote track delivering one decoded 20 ms Opus-sized frame
(960 samples, s16 stereo, made once and reused) every 20 ms on the real clock, as aiortc's
remote track does, a playout track with its own (unstarted) manager, so ``update_latency``
and ``report_underrun`` are paid for, and a consumer awaiting ``recv()`` as a sound device
would. All streams share one event loop, so one thread: one core at most.

The track's own code per slot (taking a frame in, with its ``update_latency``; the slot's
decision; the frame out) is also timed alone in a tight loop: what a stream costs without
the event loop's wake-ups, which dominate a lone stream's share on a busy machine.

CPU per stream is the process's CPU time over wall time, with the playout tracks, minus the
same streams with the consumer reading the remote track directly (the baseline: producer and
consumer alone), divided by the streams. A slot has *slipped* when ``recv()`` returns more
than 5 ms after its deadline; the capacity is the largest stream count whose slipped share
stays under 1 %. On a machine shared with other work, slips also come from the process not
getting the CPU (its CPU share stays far below 100 % while slots slip), so the capacity is
also estimated from CPU alone: ``100 / (CPU % per stream, all in)`` at the largest count
that kept up (under 10 % slipped).

    .venv/bin/python benchmarks/webrtc_playout.py [--seconds 10] [--streams 1,20,100,200,400] \
        [--json FILE] [--markdown FILE]

``--json`` writes the rows; ``--markdown`` rewrites the block between
``<!-- webrtc-playout-cost:begin -->`` and ``<!-- webrtc-playout-cost:end -->`` of a file
with a table made from them; ``--from-json FILE`` makes the table from saved rows only.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import time
from pathlib import Path
from typing import Any

from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame
from docblock import rewrite_block

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


def code_cost(slots: int = 50_000) -> float:
    """Microseconds of the track's own code per slot (no event loop)."""
    frame = make_frame()
    manager = AdaptiveBufferManager(AdaptiveBufferSettings(policy="feedback"), metrics=None)
    track = AdaptivePlayoutTrack(Synthetic(frame, 0.0), manager)
    start = time.perf_counter()
    for k in range(slots):
        frame.pts = k * 960
        track._take(frame, k * FRAME_S)
        slot = track.buffer.tick(k * FRAME_S + 0.1)
        track._output(slot)
    return (time.perf_counter() - start) / slots * 1e6


def table(result: dict[str, Any]) -> str:
    lines = [
        "| streams | CPU % of a core | baseline CPU % | playout CPU % per stream "
        "| slots slipped (> 5 ms) % | latest slot ms | underruns |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['streams']} | {r['cpu_percent']:.1f} | {r['baseline_cpu_percent']:.1f} "
            f"| {r['cpu_per_stream']:.2f} | {r['slipped_percent']:.1f} | {r['late_max_ms']:.0f} "
            f"| {r['underruns']} |"
        )
    lines += [
        "",
        f"The track's own code: {result['code_us_per_slot']:.1f} us per slot, "
        f"{result['code_us_per_slot'] * 50 / 1e4:.3f} % of a core per stream.",
        "",
        f"Most streams with under 1 % of slots slipped: {result['max_streams_without_slips']}. "
        f"Load average during the run: {result['load_average']}. By CPU alone, one core "
        f"would play about {result['streams_per_core_by_cpu']} streams.",
        "",
        f"Command: `{result['command']}`",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--streams", default="1,20,100,200,400")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--markdown", help="rewrite the cost block of this file")
    parser.add_argument("--from-json", help="run nothing: the table from these rows")
    args = parser.parse_args()
    if args.from_json:
        if args.markdown:
            rewrite_block(
                Path(args.markdown),
                "webrtc-playout-cost",
                table(json.loads(Path(args.from_json).read_text())),
            )
        return
    rows = []
    for streams in [int(n) for n in args.streams.split(",")]:
        base = asyncio.run(one_run(streams, args.seconds, with_playout=False))
        full = asyncio.run(one_run(streams, args.seconds, with_playout=True))
        per_stream = (full["cpu_percent"] - base["cpu_percent"]) / streams
        row = {**full, "baseline_cpu_percent": base["cpu_percent"], "cpu_per_stream": per_stream}
        rows.append(row)
        print(json.dumps(row), flush=True)
    fits = [r["streams"] for r in rows if r["slipped_percent"] < 1.0]
    kept_up = [r for r in rows if r["slipped_percent"] < 10.0] or rows[:1]
    largest = max(kept_up, key=lambda r: r["streams"])
    result = {
        "streams_per_core_by_cpu": int(100 / (largest["cpu_percent"] / largest["streams"])),
        "rows": rows,
        "code_us_per_slot": code_cost(),
        "max_streams_without_slips": max(fits, default=0),
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "command": f"python benchmarks/webrtc_playout.py --seconds {args.seconds:g} "
        f"--streams {args.streams}",
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.markdown:
        rewrite_block(Path(args.markdown), "webrtc-playout-cost", table(result))


if __name__ == "__main__":
    main()
