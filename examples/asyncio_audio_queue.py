"""A small asyncio audio pipeline whose input queue follows the adaptive buffer sizes.

A producer puts one 20 ms frame in the queue every 20 ms (as a capture callback would); a
consumer takes frames out and "encodes" them, sometimes slowly (a load spike every few
seconds). The queue's capacity follows ``manager.sizes`` (decided on the manager's ticker
thread, applied on the loop thread); past 3/4 full it drops its oldest frame, as the JetKVM
firmware's input queue did; each frame's time in the queue goes back to the manager through
``update_latency``, so the latency factor sees what the listener hears.

Run: ``.venv/bin/python examples/asyncio_audio_queue.py --seconds 10``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import timedelta

from adaptive_stream import (
    AdaptiveBufferManager,
    AdaptiveBufferSettings,
    BufferDecision,
    FollowingQueue,
)
from adaptive_stream.sources.processes import ProcessSampler

FRAME = 0.020  # seconds of audio per frame (48 kHz, 960 samples)


async def produce(queue: FollowingQueue[float], until: float) -> None:
    """One frame every 20 ms, never waiting on the queue."""
    next_at = time.monotonic()
    while next_at < until:
        queue.put_nowait(next_at)
        next_at += FRAME
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def consume(queue: FollowingQueue[float], until: float, rng: random.Random) -> int:
    """Take frames out; for one second in every three a load spike makes encoding slower
    than real time, so frames pile up (and the oldest are dropped past 3/4 full)."""
    handled = 0
    while time.monotonic() < until:
        try:
            await asyncio.wait_for(queue.get(), timeout=max(0.001, until - time.monotonic()))
        except TimeoutError:
            break
        handled += 1
        spike = (time.monotonic() % 3.0) < 1.0
        await asyncio.sleep(rng.uniform(0.035, 0.060) if spike else rng.uniform(0.0, 0.010))
    return handled


async def main(seconds: float, seed: int) -> None:
    settings = AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=250))
    manager = AdaptiveBufferManager(settings, metrics=ProcessSampler())
    queue: FollowingQueue[float] = FollowingQueue(
        settings.default_buffer_size, on_latency=manager.update_latency
    )
    subscription = queue.follow(manager.sizes)

    def show(d: BufferDecision) -> None:
        if d.adjusted:
            print(
                f"  resize -> {d.input_size:2d} frames ({d.input_size * 20} ms); "
                f"latency avg {d.average_latency_ms:6.2f} ms; {d.reason}",
                flush=True,
            )

    manager.decisions.subscribe(show)
    manager.start()
    until = time.monotonic() + seconds
    try:
        _, handled = await asyncio.gather(
            produce(queue, until), consume(queue, until, random.Random(seed))
        )
    finally:
        manager.stop()
        subscription.dispose()
    stats = manager.stats()
    print(
        f"done: {handled} frames played, {queue.dropped} dropped, capacity now "
        f"{queue.capacity} frames, {stats['adaptation_count']} adjustments, latency average "
        f"{stats['average_latency_ms']:.2f} ms over {stats['latency_samples']} samples"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the load")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.seed))
