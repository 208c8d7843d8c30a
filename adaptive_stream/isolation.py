"""Subscriber isolation: a subscriber that raises is logged and counted, never fatal.

An exception raised in a plain RxPY subscriber travels back up into whoever pushed the value:
it stops the fan-out of a ``Subject`` half-way (later subscribers miss the value) and, on an
``EventLoopScheduler`` thread, it kills the thread for good. :func:`isolate` wraps each
subscriber of an observable so that its exception stops at its own boundary.

What a subscriber may stop: nothing. ``SystemExit`` and ``KeyboardInterrupt`` raised by a
subscriber on any thread but the main one are counted and logged like any other exception
(there they could only end the thread that pushed, never the process). On the main thread
they go on up: there they are the process's own shutdown (``sys.exit``, Ctrl-C), which must
keep working.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from loguru import logger
from reactivex import Observable, abc

__all__ = ["ErrorCounter", "isolate"]

_T = TypeVar("_T")


class ErrorCounter:
    """A thread-safe count of subscriber exceptions, and a log that stays readable.

    Every exception is counted. The first of a kind (same type, raised from the same line)
    is logged with its traceback; the same kind again is logged at most once per ``every``
    seconds, saying how many were only counted since: a sink that fails on every tick must
    not fill the log with a traceback every 500 ms.

    Args:
        what: whose subscribers these are, for the log line.
        every: the shortest time between two log lines of one kind, in seconds.
        clock: monotonic seconds (injectable for tests).
    """

    _MAX_KINDS = 64  # kinds remembered; past that the memory is reset (and logs again)

    def __init__(
        self, what: str, *, every: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._what = what
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._logged_at: dict[tuple[str, str], float] = {}
        self._unlogged: dict[tuple[str, str], int] = {}
        self.count = 0

    def __call__(self, error: BaseException) -> None:
        kind = (type(error).__name__, _origin(error))
        with self._lock:
            self.count += 1
            count = self.count
            now = self._clock()
            last = self._logged_at.get(kind)
            if last is not None and now - last < self._every:
                self._unlogged[kind] = self._unlogged.get(kind, 0) + 1
                return
            if len(self._logged_at) >= self._MAX_KINDS:
                self._logged_at.clear()
                self._unlogged.clear()
            self._logged_at[kind] = now
            unlogged = self._unlogged.pop(kind, 0)
        since = f"; {unlogged} more like it since the last report" if unlogged else ""
        logger.opt(exception=error).error(
            "a subscriber of {} raised {} (#{}{}); the pipeline and the other subscribers go on",
            self._what,
            type(error).__name__,
            count,
            since,
        )


def _origin(error: BaseException) -> str:
    """Where ``error`` was raised: the innermost frame's file and line."""
    tb = error.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


def isolate(source: Observable[_T], on_error: Callable[[BaseException], Any]) -> Observable[_T]:
    """``source`` as seen by subscribers that cannot hurt it or each other.

    Exceptions raised by a subscriber's ``on_next``, ``on_error`` or ``on_completed`` go to
    ``on_error`` (a counter, a logger) instead of back into the source, ``SystemExit`` and
    ``KeyboardInterrupt`` too unless raised on the main thread (see the module's docstring).
    The subscriber stays subscribed: one bad value should not silence a metrics sink for good.
    """

    def subscribe(
        observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        def on_next(value: _T) -> None:
            try:
                observer.on_next(value)
            except BaseException as exc:  # a subscriber's bug must stay its own
                _contain(exc, on_error)

        def on_error_(error: Exception) -> None:
            try:
                observer.on_error(error)
            except BaseException as exc:
                _contain(exc, on_error)

        def on_completed() -> None:
            try:
                observer.on_completed()
            except BaseException as exc:
                _contain(exc, on_error)

        return source.subscribe(on_next, on_error_, on_completed, scheduler=scheduler)

    return Observable(subscribe)


def _contain(error: BaseException, on_error: Callable[[BaseException], Any]) -> None:
    """Hand ``error`` to ``on_error``; re-raise what is the process's own shutdown."""
    if not isinstance(error, Exception) and (
        not isinstance(error, SystemExit | KeyboardInterrupt)
        or threading.current_thread() is threading.main_thread()
    ):
        raise error
    on_error(error)
