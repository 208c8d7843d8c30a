"""A metrics source that outlives its failures: subscribed again, with backoff, after it
errors or completes, so that the decision stream never sees the failure.

Failures and resubscriptions are counted in a :class:`SourceHealth` and logged at most once
per interval of its clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from loguru import logger
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable

from adaptive_stream.inputs import RateLimited

__all__ = ["MAX_RESTART_BACKOFF", "SourceHealth", "resubscribing"]

_T = TypeVar("_T")

#: The longest wait before resubscribing to a source that failed again and again (the wait
#: doubles from one interval up to this).
MAX_RESTART_BACKOFF = timedelta(seconds=30)


class SourceHealth:
    """Counts of a metrics source's failures and resubscriptions (thread-safe), and a log
    of them that says at most one thing per ``interval`` of ``clock``.

    Attributes:
        errors: how often the source erred or completed (or a sampler raised).
        restarts: how often it was subscribed again.
    """

    def __init__(self, interval: timedelta, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._log = RateLimited(interval)
        self.errors = 0
        self.restarts = 0

    def failed(self, what: str, error: BaseException | None) -> None:
        """Count one failure (``what``: "failed", "completed", "sampler raised", ...)."""
        with self._lock:
            self.errors += 1
            report = self._log.due(self._clock())
            total = self.errors
        if report is not None:
            detail = f" ({type(error).__name__}: {error})" if error is not None else ""
            logger.warning(
                "metrics source {}{}: {} failure(s) since the last report, {} in all",
                what,
                detail,
                report,
                total,
            )

    def restarted(self) -> None:
        """Count one resubscription."""
        with self._lock:
            self.restarts += 1


def resubscribing(
    source: Observable[_T],
    scheduler: abc.SchedulerBase,
    *,
    interval: timedelta,
    health: SourceHealth,
    max_backoff: timedelta = MAX_RESTART_BACKOFF,
) -> Observable[_T]:
    """``source``, subscribed again after it errors or completes: after ``interval``,
    doubling on each failure without an item in between, up to ``max_backoff`` (at least
    ``interval``). Items pass through as they are; the failure never reaches the observer,
    which never sees ``on_error`` or ``on_completed``. The waits run on ``scheduler``.
    """
    longest = max(max_backoff, interval)

    def subscribe(
        observer: abc.ObserverBase[_T], _: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        lock = threading.Lock()
        current = SerialDisposable()
        timer = SerialDisposable()
        state = {"stopped": False, "failures": 0}

        def on_next(item: _T) -> None:
            state["failures"] = 0
            observer.on_next(item)

        def failed(error: Exception | None) -> None:
            health.failed("failed" if error is not None else "completed", error)
            with lock:
                if state["stopped"]:
                    return
                state["failures"] += 1
                delay = min(interval * 2 ** min(state["failures"] - 1, 30), longest)
            try:
                timer.disposable = scheduler.schedule_relative(delay, resubscribe)
            except Exception:  # the scheduler was disposed by a concurrent stop()
                return
            logger.warning("metrics source: subscribing again in {:g} s", delay.total_seconds())

        def on_error(error: Exception) -> None:
            failed(error)

        def on_completed() -> None:
            failed(None)

        def resubscribe(_: abc.SchedulerBase, __: Any = None) -> None:
            with lock:
                if state["stopped"]:
                    return
            health.restarted()
            attach()

        def attach() -> None:
            try:
                current.disposable = source.subscribe(
                    on_next, on_error, on_completed, scheduler=scheduler
                )
            except Exception as exc:  # a source whose subscribe raises outright
                failed(exc)

        def stop() -> None:
            with lock:
                state["stopped"] = True

        attach()
        return CompositeDisposable(Disposable(stop), timer, current)

    return Observable(subscribe)
