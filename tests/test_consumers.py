"""The audio consumer's side: a queue that follows the sizes, from threads and asyncio."""

from __future__ import annotations

import asyncio
import threading

import pytest
from reactivex.subject import BehaviorSubject, Subject

from adaptive_stream.consumers import FollowingQueue, LatestSizes
from adaptive_stream.model import BufferSizes


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_queue_longer_than_three_quarters_drops_its_oldest_frame() -> None:
    async def scenario() -> tuple[list[int], int]:
        queue: FollowingQueue[int] = FollowingQueue(8)  # 3/4 of 8: at most 6 frames
        for frame in range(10):
            queue.put_nowait(frame)
        return [await queue.get() for _ in range(len(queue))], queue.dropped

    frames, dropped = asyncio.run(scenario())
    assert frames == [4, 5, 6, 7, 8, 9]
    assert dropped == 4


def test_shrinking_sheds_the_oldest_frames_at_once() -> None:
    async def scenario() -> list[int]:
        queue: FollowingQueue[int] = FollowingQueue(20)
        for frame in range(12):
            queue.put_nowait(frame)
        queue.resize(8)
        return [await queue.get() for _ in range(len(queue))]

    assert asyncio.run(scenario()) == [6, 7, 8, 9, 10, 11]


def test_queueing_delay_is_reported_as_latency() -> None:
    clock = Clock()
    reported: list[float] = []

    async def scenario() -> None:
        queue: FollowingQueue[str] = FollowingQueue(8, on_latency=reported.append, clock=clock)
        queue.put_nowait("a")
        clock.now = 0.020
        queue.put_nowait("b")
        clock.now = 0.050
        assert await queue.get() == "a"
        assert await queue.get() == "b"

    asyncio.run(scenario())
    assert reported == pytest.approx([0.050, 0.030])


def test_get_waits_for_a_frame() -> None:
    async def scenario() -> str:
        queue: FollowingQueue[str] = FollowingQueue(4)
        waiter = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)  # let it start waiting: the queue is empty
        assert not waiter.done()
        queue.put_nowait("frame")
        return await asyncio.wait_for(waiter, timeout=10)

    assert asyncio.run(scenario()) == "frame"


def test_sizes_from_another_thread_are_applied_on_the_loop_thread() -> None:
    sizes: Subject[BufferSizes] = Subject()
    applied_on: list[threading.Thread] = []

    async def scenario() -> int:
        queue: FollowingQueue[int] = FollowingQueue(6)
        original = queue.resize

        def resize(capacity: int) -> None:
            applied_on.append(threading.current_thread())
            original(capacity)

        queue.resize = resize  # type: ignore[method-assign]
        subscription = queue.follow(sizes)
        ticker = threading.Thread(target=sizes.on_next, args=(BufferSizes(13, 13),))
        ticker.start()
        ticker.join()
        for _ in range(1000):  # bounded: the hand-off is one loop iteration away
            if queue.capacity == 13:
                break
            await asyncio.sleep(0)
        subscription.dispose()
        return queue.capacity

    assert asyncio.run(scenario()) == 13
    assert applied_on == [threading.main_thread()]


def test_latest_sizes_is_readable_from_any_thread() -> None:
    sizes = BehaviorSubject(BufferSizes(6, 6))
    latest = LatestSizes(sizes)
    assert latest.current == BufferSizes(6, 6)
    worker = threading.Thread(target=sizes.on_next, args=(BufferSizes(10, 11),))
    worker.start()
    worker.join()
    assert latest.current == BufferSizes(10, 11)
    latest.close()
    sizes.on_next(BufferSizes(3, 3))
    assert latest.current == BufferSizes(10, 11)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1 frame"):
        FollowingQueue(0)


def test_the_asyncio_example_runs() -> None:
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).parent.parent / "examples" / "asyncio_audio_queue.py"
    done = subprocess.run(
        [sys.executable, str(example), "--seconds", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("done: ") and "frames played" in summary
