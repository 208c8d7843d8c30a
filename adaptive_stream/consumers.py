"""What audio code uses to follow the decided buffer sizes (consumers, not sinks).

Which thread calls what:

* The manager's ticker thread emits ``manager.sizes``.
* :class:`LatestSizes` stores each new value with one attribute write, so a real-time audio
  callback on any thread reads ``.current`` without a lock and without ever blocking.
* :class:`FollowingQueue` belongs to an asyncio loop: :meth:`FollowingQueue.follow` hops the
  sizes onto the loop with ``observe_on(AsyncIOThreadSafeScheduler(loop))`` (a
  ``call_soon_threadsafe`` underneath), so the queue is only ever touched on the loop thread
  and the loop is never blocked.
* Latency goes back with ``manager.update_latency(seconds)``: thread-safe, never raises.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from adaptive_stream.model import BufferSizes

__all__ = ["FollowingQueue", "LatestSizes"]

_T = TypeVar("_T")


class LatestSizes:
    """The latest sizes of a ``sizes`` observable, readable from any thread at any time.

    Example:
        >>> from reactivex.subject import BehaviorSubject
        >>> latest = LatestSizes(BehaviorSubject(BufferSizes(6, 6)))
        >>> latest.current.input_size
        6
    """

    def __init__(self, sizes: Observable[BufferSizes]) -> None:
        self.current = BufferSizes(0, 0)
        self._subscription = sizes.subscribe(self._store)

    def _store(self, sizes: BufferSizes) -> None:
        self.current = sizes  # one reference swap: atomic for readers on other threads

    def close(self) -> None:
        """Stop following."""
        self._subscription.dispose()


class FollowingQueue(Generic[_T]):
    """An asyncio queue of audio frames whose capacity follows the decided input size.

    As the JetKVM firmware's input queue does, a queue longer than 3/4 of its capacity drops
    its oldest frame: under load it sheds stale audio instead of adding latency. Each frame's
    time in the queue is reported to ``on_latency`` (e.g. ``manager.update_latency``) when
    it is taken out. All methods must be called on the loop's thread.

    Args:
        capacity: the starting capacity, in frames.
        on_latency: called with each frame's queueing delay, in seconds.
        clock: monotonic seconds (injected in tests).
    """

    def __init__(
        self,
        capacity: int,
        *,
        on_latency: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 frame (got {capacity})")
        self._capacity = capacity
        self._frames: deque[tuple[float, _T]] = deque()
        self._ready = asyncio.Event()
        self._on_latency = on_latency
        self._clock = clock
        self.dropped = 0
        self.resizes = 0

    @property
    def capacity(self) -> int:
        """The capacity in force, in frames."""
        return self._capacity

    def __len__(self) -> int:
        return len(self._frames)

    def resize(self, capacity: int) -> None:
        """Take a new capacity; frames over the new 3/4 limit are dropped, oldest first."""
        if capacity < 1 or capacity == self._capacity:
            return
        self._capacity = capacity
        self.resizes += 1
        self._shed()

    def put_nowait(self, frame: _T) -> None:
        """Queue one frame; never blocks (an audio producer must not wait)."""
        self._frames.append((self._clock(), frame))
        self._shed()
        self._ready.set()

    def _shed(self) -> None:
        limit = self._capacity * 3 / 4
        while len(self._frames) > limit:
            self._frames.popleft()
            self.dropped += 1

    async def get(self) -> _T:
        """The oldest frame, waiting for one if the queue is empty."""
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        queued_at, frame = self._frames.popleft()
        if self._on_latency is not None:
            self._on_latency(self._clock() - queued_at)
        return frame

    def follow(
        self, sizes: Observable[BufferSizes], loop: asyncio.AbstractEventLoop | None = None
    ) -> abc.DisposableBase:
        """Follow ``sizes`` (e.g. ``manager.sizes``), whatever thread emits them: each value
        is handed to ``loop`` (default: the running loop) and applied there."""
        scheduler = AsyncIOThreadSafeScheduler(loop or asyncio.get_running_loop())
        return sizes.pipe(ops.observe_on(scheduler)).subscribe(lambda s: self.resize(s.input_size))
