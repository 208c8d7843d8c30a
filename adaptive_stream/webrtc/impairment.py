"""An impaired link for the sender's RTP packets: each packet is released when a schedule
says, in order (a held packet holds back those behind it, as a stalled link does), or lost.

Schedules (seconds from the link's first RTP packet):

* :class:`PeriodicStalls`: packets sent during a stall (``stall_s`` long, one every
  ``every_s``, the first at ``every_s``) leave when it ends; the others at once.
* :class:`RecordedArrivals`: packet ``i`` leaves ``arrival_ms - capture_ms`` of row ``i``
  after it was sent (the recorded one-way delay, base delay included), or is lost where the
  row has no arrival; the log repeats when it ends.

:class:`ImpairedLink` applies a schedule to an aiortc ``RTCDtlsTransport``'s RTP (RTCP
passes untouched) by wrapping its ``_send_rtp``; runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiortc.rtp import is_rtcp

__all__ = ["ImpairedLink", "LinkSchedule", "PeriodicStalls", "RecordedArrivals"]


class LinkSchedule(Protocol):
    """When packet ``index`` (0, 1, ...), sent at ``sent_s``, leaves the link (seconds from
    the first packet), or ``None`` if it is lost. The link keeps the order itself."""

    def release_at(self, index: int, sent_s: float) -> float | None: ...


class PeriodicStalls:
    """A stall of ``stall_s`` every ``every_s`` (the first at ``every_s``)."""

    def __init__(self, every_s: float, stall_s: float) -> None:
        if not every_s > 0 or not 0 <= stall_s < every_s:
            raise ValueError(
                f"stalls: need 0 <= stall < every and every > 0 (got every {every_s} s, "
                f"stall {stall_s} s)"
            )
        self.every_s = every_s
        self.stall_s = stall_s

    def release_at(self, index: int, sent_s: float) -> float | None:
        k = int(sent_s // self.every_s)
        start = k * self.every_s
        if k >= 1 and sent_s < start + self.stall_s:
            return start + self.stall_s
        return sent_s

    def stalls_until(self, seconds: float) -> int:
        """How many stalls start before ``seconds``."""
        return max(0, int(seconds // self.every_s))


class RecordedArrivals:
    """Per-packet delays from an arrival log's rows ``(capture_ms, arrival_ms | None)``."""

    def __init__(self, rows: Sequence[tuple[float, float | None]]) -> None:
        self._delays = [None if a is None else max(0.0, a - c) / 1000 for c, a in rows]
        if all(d is None for d in self._delays):
            raise ValueError("arrivals: no row has an arrival")

    def release_at(self, index: int, sent_s: float) -> float | None:
        delay = self._delays[index % len(self._delays)]
        return None if delay is None else sent_s + delay


class ImpairedLink:
    """Applies ``schedule`` to the RTP a transport sends (see the module docstring).

    Attributes:
        sent: RTP packets offered. lost: packets the schedule lost. held: packets released
        later than they were sent (by more than 1 ms).
    """

    def __init__(self, schedule: LinkSchedule, clock: Callable[[], float] = time.monotonic):
        self._schedule = schedule
        self._clock = clock
        self._start: float | None = None
        self._last = 0.0
        self._queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._send: Callable[[bytes], Awaitable[None]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._transport: Any = None
        self.sent = 0
        self.lost = 0
        self.held = 0

    def attach(self, transport: Any) -> None:
        """Wrap ``transport._send_rtp`` (an aiortc ``RTCDtlsTransport``) on the running
        loop."""
        self._send = transport._send_rtp
        self._transport = transport
        transport._send_rtp = self._offer
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="adaptive-impaired-link"
        )

    async def close(self) -> None:
        """Stop releasing packets and restore the transport."""
        if self._transport is not None and self._send is not None:
            self._transport._send_rtp = self._send
            self._transport = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _offer(self, data: bytes) -> None:
        assert self._send is not None
        if is_rtcp(data):
            await self._send(data)
            return
        now = self._clock()
        if self._start is None:
            self._start = now
        sent = now - self._start
        release = self._schedule.release_at(self.sent, sent)
        self.sent += 1
        if release is None:
            self.lost += 1
            return
        release = max(release, self._last)
        self._last = release
        self.held += release - sent > 0.001
        self._queue.put_nowait((release, data))

    async def _run(self) -> None:
        while True:
            release, data = await self._queue.get()
            assert self._start is not None and self._send is not None
            wait = self._start + release - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            with contextlib.suppress(ConnectionError, OSError):
                await self._send(data)
