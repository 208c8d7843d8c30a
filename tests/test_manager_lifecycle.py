"""The manager's lifecycle: start/stop cycles leave no thread, subscription or timer behind;
what a subscriber may stop (nothing); ``running`` tells the truth if the ticker dies; a
started manager that is dropped ends its ticker."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from datetime import timedelta
from typing import Any

import pytest
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from adaptive_stream import AdaptiveBufferManager, AdaptiveBufferSettings, SystemMetrics
from adaptive_stream.policies import JetKVMPolicy

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
    assert len(decided) >= 10
    assert manager.stats()["subscriber_errors"] == 0


def test_a_thousand_virtual_cycles_leave_no_subscription_or_timer() -> None:
    scheduler = TestScheduler()
    metrics: Subject[SystemMetrics] = Subject()
    sampler = Sampler()
    manager = AdaptiveBufferManager(metrics=metrics, scheduler=scheduler)
    sampled = AdaptiveBufferManager(metrics=sampler, scheduler=scheduler)
    sizes: list[Any] = []
    decided: list[Any] = []
    manager.sizes.subscribe(sizes.append)
    sampled.decisions.subscribe(decided.append)
    for i in range(CYCLES):
        manager.start()
        sampled.start()
        metrics.on_next(CALM)
        scheduler.advance_by(0.5)  # one tick per cycle
        manager.stop()
        sampled.stop()
        assert metrics.observers == [], f"cycle {i}: the metrics source is still subscribed"
    # Nothing runs while stopped: no tick, no sample, however long.
    calls = sampler.calls
    scheduler.advance_by(3600.0)
    assert sampler.calls == calls == CYCLES and len(decided) == CYCLES
    assert manager.stats()["adaptation_count"] == 6  # 6 -> 19 in six steps, then none
    assert [s.input_size for s in sizes] == [6, 10, 13, 15, 17, 18, 19]


class FailingSource(Observable[SystemMetrics]):
    """A metrics source that fails at once, every time it is subscribed."""

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions = 0

    def _subscribe_core(
        self, observer: abc.ObserverBase[SystemMetrics], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        self.subscriptions += 1
        observer.on_error(RuntimeError("gone"))
        return Disposable()


def test_cycles_with_a_failing_source_leave_no_pending_retry() -> None:
    scheduler = TestScheduler()
    source = FailingSource()
    manager = AdaptiveBufferManager(metrics=source, scheduler=scheduler)
    for _ in range(100):
        manager.start()  # the source fails: a retry is now scheduled ...
        manager.stop()  # ... and cancelled here
    scheduler.advance_by(3600.0)
    assert source.subscriptions == 100  # no retry ran
    stats = manager.stats()
    assert (stats["source_errors"], stats["source_restarts"]) == (100, 0)


# -- what a subscriber may stop: nothing ------------------------------------------------------


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    """Wait (bounded, in small real waits) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        threading.Event().wait(0.005)
    return bool(condition())


@pytest.mark.parametrize("error", [SystemExit(3), KeyboardInterrupt()])
def test_a_subscriber_raising_systemexit_or_keyboardinterrupt_stops_nothing(
    error: BaseException,
) -> None:
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=10)), metrics=Sampler()
    )
    decided: list[Any] = []

    def hostile(_: Any) -> None:
        if threading.current_thread() is not threading.main_thread():  # the ticker's
            raise error

    manager.decisions.subscribe(hostile)
    manager.sizes.subscribe(hostile)
    manager.decisions.subscribe(decided.append)
    manager.start()
    try:
        assert wait_for(lambda: len(decided) >= 5), "the ticker stopped"
        assert manager.running and manager.stats()["running"]
        assert manager.stats()["subscriber_errors"] >= 5
    finally:
        manager.stop()
    assert not manager.running
    assert ticker_threads() == []


def test_on_the_main_thread_a_keyboardinterrupt_is_the_process_s_own_and_goes_on_up() -> None:
    """A subscriber on the main thread (an injected scheduler run there) may be where Ctrl-C
    lands: that must still end the program."""
    scheduler = TestScheduler()
    metrics: Subject[SystemMetrics] = Subject()
    manager = AdaptiveBufferManager(metrics=metrics, scheduler=scheduler)

    def interrupted(_: Any) -> None:
        raise KeyboardInterrupt

    manager.decisions.subscribe(interrupted)
    manager.start()
    metrics.on_next(CALM)
    with pytest.raises(KeyboardInterrupt):
        scheduler.advance_by(0.5)
    manager.stop()
    assert manager.stats()["subscriber_errors"] == 0


class DyingPolicy(JetKVMPolicy):
    """Ends the thread it decides on (as a ``sys.exit`` deep in a policy would)."""

    def decide(self, *args: Any) -> Any:
        raise SystemExit("policy gave up")


def test_running_tells_the_truth_when_the_ticker_thread_dies(log_lines: list[str]) -> None:
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=10)),
        metrics=Sampler(),
        policy=DyingPolicy(),
    )
    manager.start()
    try:
        assert wait_for(lambda: not manager.running), "running still says true"
        assert manager.stats()["running"] is False
        assert wait_for(lambda: ticker_threads() == [])
        assert any("ticker thread died (SystemExit)" in line for line in log_lines)
    finally:
        manager.stop()  # still fine after the thread died
    assert not manager.running


# -- a started manager that is dropped --------------------------------------------------------


def test_a_started_manager_that_is_dropped_ends_its_ticker() -> None:
    """The contract: the ticker holds the manager by a weak reference, so a manager dropped
    while running is collected, and its ticker thread ends."""
    before = set(ticker_threads())
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=10)), metrics=Sampler()
    )
    decided: list[Any] = []
    manager.decisions.subscribe(decided.append)
    manager.start()
    assert wait_for(lambda: len(decided) >= 2)
    (thread,) = set(ticker_threads()) - before
    collected = threading.Event()
    weakref.finalize(manager, collected.set)
    del manager
    gc.collect()
    assert collected.is_set(), "something still holds the manager"
    thread.join(10.0)
    assert not thread.is_alive()
    count = len(decided)
    threading.Event().wait(0.05)  # five intervals: nothing more is decided
    assert len(decided) == count
