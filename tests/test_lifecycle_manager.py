"""1,000 start/stop cycles: no thread, subscription or timer left behind."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from adaptive_stream import AdaptiveBufferManager, AdaptiveBufferSettings, SystemMetrics

CYCLES = 1_000
CALM = SystemMetrics(5.0, 10.0)


class Sampler:
    def __init__(self) -> None:
        self.calls = 0

    def sample(self) -> SystemMetrics:
        self.calls += 1
        return CALM


def ticker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "adaptive-stream-ticker"]


def settle(baseline: int, timeout: float = 10.0) -> int:
    """The thread count, once it is back to ``baseline`` (or the deadline passed)."""
    deadline = time.monotonic() + timeout
    while threading.active_count() > baseline and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    return threading.active_count()


def test_a_thousand_real_start_stop_cycles_leave_no_thread_behind() -> None:
    # A 1 ms interval, so that many stops land while a tick is in flight.
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=1)),
        metrics=Sampler(),
    )
    decided: list[Any] = []
    manager.decisions.subscribe(decided.append)
    baseline = threading.active_count()
    peak = baseline
    for i in range(CYCLES):
        manager.start()
        if i % 100 == 0:  # now and then, wait for a real tick before stopping
            deadline = time.monotonic() + 10.0
            count = len(decided)
            while len(decided) == count and time.monotonic() < deadline:
                threading.Event().wait(0.001)
        peak = max(peak, threading.active_count())
        manager.stop()
        assert not manager.running
        assert ticker_threads() == [], f"cycle {i}: the ticker outlived stop()"
    assert peak == baseline + 1  # one ticker at a time, never a thread per tick
    assert settle(baseline) == baseline
    assert manager._summary.observers == []  # the pipeline's subscriptions are all gone
    assert len(decided) >= 10
    assert manager.stats()["subscriber_errors"] == 0


def test_a_thousand_virtual_cycles_leave_no_subscription_or_timer() -> None:
    scheduler = TestScheduler()
    metrics: Subject[SystemMetrics] = Subject()
    manager = AdaptiveBufferManager(metrics=metrics, scheduler=scheduler)
    sizes: list[Any] = []
    manager.sizes.subscribe(sizes.append)
    for i in range(CYCLES):
        manager.start()
        metrics.on_next(CALM)
        scheduler.advance_by(0.5)  # one tick per cycle
        manager.stop()
        assert metrics.observers == [], f"cycle {i}: the metrics source is still subscribed"
        assert manager._summary.observers == []
        # Every timer left in the queue is cancelled ...
        assert all(item.is_cancelled() for item, _ in scheduler._queue.items)
    # ... and once its time has passed, the queue is empty: nothing runs while stopped.
    scheduler.advance_by(3600.0)
    assert len(scheduler._queue) == 0
    assert manager.stats()["adaptation_count"] == 6  # 6 -> 19 in six steps, then none
    assert [s.input_size for s in sizes] == [6, 10, 13, 15, 17, 18, 19]


def test_cycles_with_a_failing_source_leave_no_pending_retry() -> None:
    scheduler = TestScheduler()
    manager = AdaptiveBufferManager(metrics=Subject(), scheduler=scheduler)
    for _ in range(100):
        manager.start()
        source: Any = manager._metrics_source
        source.on_error(RuntimeError("gone"))  # a retry is now scheduled ...
        manager.stop()  # ... and cancelled here
        manager._metrics_source = Subject()
    scheduler.advance_by(3600.0)
    assert len(scheduler._queue) == 0
    assert manager.stats()["source_restarts"] == 0
