"""Subscriber isolation: a subscriber that raises is logged and counted, never fatal.

An exception raised in a plain RxPY subscriber travels back up into whoever pushed the value:
it stops the fan-out of a ``Subject`` half-way (later subscribers miss the value) and, on an
``EventLoopScheduler`` thread, it kills the thread for good. :func:`isolate` wraps each
subscriber of an observable so that its exception stops at its own boundary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from loguru import logger
from reactivex import Observable, abc

__all__ = ["ErrorCounter", "isolate"]

_T = TypeVar("_T")


class ErrorCounter:
    """A thread-safe count of subscriber exceptions, logging each one (with traceback)."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self, error: BaseException) -> None:
        with self._lock:
            self.count += 1
            count = self.count
        logger.opt(exception=error).error(
            "a subscriber of {} raised {} (#{}); the pipeline and the other subscribers go on",
            self._what,
            type(error).__name__,
            count,
        )


def isolate(source: Observable[_T], on_error: Callable[[BaseException], Any]) -> Observable[_T]:
    """``source`` as seen by subscribers that cannot hurt it or each other.

    Exceptions raised by a subscriber's ``on_next``, ``on_error`` or ``on_completed`` go to
    ``on_error`` (a counter, a logger) instead of back into the source. The subscriber stays
    subscribed: one bad value should not silence a metrics sink for good.
    """

    def subscribe(
        observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        def on_next(value: _T) -> None:
            try:
                observer.on_next(value)
            except Exception as exc:  # a subscriber's bug must stay its own
                on_error(exc)

        def on_error_(error: Exception) -> None:
            try:
                observer.on_error(error)
            except Exception as exc:
                on_error(exc)

        def on_completed() -> None:
            try:
                observer.on_completed()
            except Exception as exc:
                on_error(exc)

        return source.subscribe(on_next, on_error_, on_completed, scheduler=scheduler)

    return Observable(subscribe)
