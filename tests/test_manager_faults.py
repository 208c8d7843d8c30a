"""Faults: metrics sources that fail or go quiet, subscribers that raise, stop() from inside a
subscriber. Virtual time where the fault is about time; the real ticker thread where the
fault is about that thread (bounded waits, never a sleep)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import reactivex as rx
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.testing import TestScheduler

from adaptive_stream import AdaptiveBufferManager, AdaptiveBufferSettings, SystemMetrics
from adaptive_stream.model import BufferDecision, BufferSizes

CALM = SystemMetrics(5.0, 10.0)
WAIT = 10.0  # seconds: the bound on every real-thread wait


class ControlledSource(Observable[SystemMetrics]):
    """A metrics source the test drives: emit, fail or complete the current subscription."""

    def __init__(self) -> None:
        super().__init__()
        self.observers: list[abc.ObserverBase[SystemMetrics]] = []
        self.subscriptions = 0

    def _subscribe_core(
        self, observer: abc.ObserverBase[SystemMetrics], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        self.subscriptions += 1
        self.observers.append(observer)
        return Disposable(lambda: self.observers.remove(observer))

    def emit(self, sample: SystemMetrics = CALM) -> None:
        for observer in list(self.observers):
            observer.on_next(sample)

    def fail(self, error: Exception | None = None) -> None:
        for observer in list(self.observers):
            observer.on_error(error or RuntimeError("sensor gone"))

    def complete(self) -> None:
        for observer in list(self.observers):
            observer.on_completed()


def make(
    source: Observable[SystemMetrics] | Any, **overrides: Any
) -> tuple[AdaptiveBufferManager, TestScheduler, list[BufferDecision]]:
    scheduler = TestScheduler()
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(**overrides), metrics=source, scheduler=scheduler
    )
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    return manager, scheduler, decisions


def at(scheduler: TestScheduler, seconds: float, action: Any) -> None:
    scheduler.schedule_absolute(seconds, lambda *_: action())


def times(decisions: list[BufferDecision]) -> list[float]:
    return [d.time.timestamp() for d in decisions]


def test_an_erroring_source_goes_stale_is_resubscribed_and_decisions_resume(
    log_lines: list[str],
) -> None:
    source = ControlledSource()
    manager, scheduler, decisions = make(source)  # stale_after: 3 x 500 ms
    manager.start()
    at(scheduler, 0.1, source.emit)
    at(scheduler, 1.2, source.fail)  # resubscribed 500 ms later, at 1.7
    at(scheduler, 3.1, source.emit)  # samples return
    scheduler.advance_to(1.5)
    assert times(decisions) == [0.5, 1.0, 1.5]  # last sample 1.4 s old: still fresh
    scheduler.advance_to(2.0)
    stats = manager.stats()
    assert stats["metrics_stale"] is True
    assert abs(stats["metrics_age_s"] - 1.9) < 1e-9
    assert (stats["source_errors"], stats["source_restarts"]) == (1, 1)
    assert source.subscriptions == 2
    scheduler.advance_to(3.0)
    assert times(decisions) == [0.5, 1.0, 1.5]  # stale: ticks at 2.0, 2.5 and 3.0 decided nothing
    scheduler.advance_to(4.0)
    assert times(decisions) == [0.5, 1.0, 1.5, 3.5, 4.0]
    assert manager.stats()["metrics_stale"] is False
    assert manager.running
    text = "\n".join(log_lines)
    assert "metrics source failed (RuntimeError: sensor gone)" in text
    assert "subscribing again in 0.5 s" in text
    assert "metrics are stale: the last sample is 1.900 s old" in text
    assert "metrics are fresh again" in text


def test_a_completing_source_is_resubscribed_too() -> None:
    source = ControlledSource()
    manager, scheduler, decisions = make(source)
    manager.start()
    at(scheduler, 0.1, source.emit)
    at(scheduler, 0.2, source.complete)
    at(scheduler, 1.0, source.emit)
    scheduler.advance_to(2.0)
    assert source.subscriptions == 2
    assert times(decisions) == [0.5, 1.0, 1.5, 2.0]  # never stale: no decision lost
    assert manager.stats()["source_errors"] == 1


def test_backoff_doubles_up_to_its_cap_and_resets_after_a_sample() -> None:
    attempts: list[float] = []
    scheduler = TestScheduler()
    healthy = threading.Event()

    def subscribe(observer: abc.ObserverBase[SystemMetrics], _: Any = None) -> Disposable:
        attempts.append(scheduler.clock)
        if healthy.is_set():
            observer.on_next(CALM)
            observer.on_error(RuntimeError("again"))  # one sample, then fail again
        else:
            observer.on_error(RuntimeError("down"))
        return Disposable()

    manager = AdaptiveBufferManager(metrics=Observable(subscribe), scheduler=scheduler)
    manager.start()
    scheduler.advance_to(200.0)
    # Right at start, then after 0.5, 1, 2, 4, 8, 16 s, then every 30 s (the cap).
    assert attempts == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 61.5, 91.5, 121.5, 151.5, 181.5]
    assert manager.stats()["source_restarts"] == 11
    healthy.set()
    scheduler.advance_to(212.0)
    # A sample resets the backoff: after a sample the next wait is one interval again.
    assert attempts[-2:] == [211.5, 212.0]
    assert manager.running


def test_a_source_that_fails_at_subscription_never_ends_the_decisions() -> None:
    def explode(observer: abc.ObserverBase[SystemMetrics], _: Any = None) -> Disposable:
        raise RuntimeError("cannot even subscribe")

    manager, scheduler, decisions = make(Observable(explode))
    manager.start()
    scheduler.advance_to(5.0)
    assert decisions == []
    assert manager.running
    assert manager.stats()["source_errors"] >= 3


def test_rx_throw_and_rx_empty_sources_are_survived() -> None:
    for source in (rx.throw(RuntimeError("x")), rx.empty()):
        manager, scheduler, decisions = make(source)
        manager.start()
        scheduler.advance_to(10.0)
        assert decisions == [] and manager.running
        manager.stop()


def test_a_sampler_that_raises_is_counted_and_staleness_applies(log_lines: list[str]) -> None:
    class Sampler:
        def __init__(self) -> None:
            self.broken = False

        def sample(self) -> SystemMetrics:
            if self.broken:
                raise OSError("psutil gave up")
            return CALM

    sampler = Sampler()
    manager, scheduler, decisions = make(sampler)
    manager.start()
    scheduler.advance_to(1.0)
    sampler.broken = True
    scheduler.advance_to(3.0)
    # The last sample (1.0) stays usable for stale_after = 1.5 s: ticks 1.5, 2.0 and 2.5.
    assert times(decisions) == [0.5, 1.0, 1.5, 2.0, 2.5]
    sampler.broken = False
    scheduler.advance_to(4.0)
    assert times(decisions)[-2:] == [3.5, 4.0]
    assert manager.stats()["source_errors"] == 4  # ticks 1.5, 2.0, 2.5, 3.0
    assert sum("sampler raised (OSError: psutil gave up)" in line for line in log_lines) == 4


def test_a_sampler_with_nothing_to_measure_decides_nothing_on_that_tick() -> None:
    """SPEC step 2: no process sample, no decision, even if an older sample exists."""

    class Sampler:
        def __init__(self) -> None:
            self.value: SystemMetrics | None = CALM

        def sample(self) -> SystemMetrics | None:
            return self.value

    sampler = Sampler()
    manager, scheduler, decisions = make(sampler)
    manager.start()
    scheduler.advance_to(1.0)
    sampler.value = None
    scheduler.advance_to(2.0)
    sampler.value = CALM
    scheduler.advance_to(2.5)
    assert times(decisions) == [0.5, 1.0, 2.5]


def test_stale_after_is_a_setting() -> None:
    source = ControlledSource()
    manager, scheduler, decisions = make(source, stale_after="5s")
    manager.start()
    at(scheduler, 0.1, source.emit)
    scheduler.advance_to(10.0)
    assert times(decisions)[-1] == 5.0  # age 4.9 s decides; 5.5 s does not


def test_stopping_disposes_the_source_and_any_pending_resubscription() -> None:
    source = ControlledSource()
    manager, scheduler, _ = make(source)
    manager.start()
    source.fail()
    manager.stop()
    scheduler.advance_to(100.0)
    assert source.subscriptions == 1  # the pending retry was cancelled
    assert source.observers == []


# -- the real EventLoopScheduler thread -----------------------------------------------------


class FixedSampler:
    def sample(self) -> SystemMetrics:
        return CALM


def real_manager() -> AdaptiveBufferManager:
    return AdaptiveBufferManager(
        AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=5)),
        metrics=FixedSampler(),
    )


def wait_until(condition: Any, timeout: float = WAIT) -> bool:
    """Bounded polling for a condition another thread makes true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        threading.Event().wait(0.005)
    return bool(condition())


def test_raising_subscribers_on_the_ticker_thread_harm_nothing() -> None:
    manager = real_manager()
    seen: list[BufferDecision] = []
    sizes: list[BufferSizes] = []
    enough = threading.Event()

    def broken(_: object) -> None:
        raise RuntimeError("sink bug")

    def good(decision: BufferDecision) -> None:
        seen.append(decision)
        if len(seen) >= 20:
            enough.set()

    manager.decisions.subscribe(broken)
    manager.sizes.subscribe(broken)  # raises at once (replayed value) and on every change
    manager.decisions.subscribe(good)
    manager.sizes.subscribe(sizes.append)
    manager.decisions.subscribe(on_next=lambda _: None, on_error=broken)
    manager.start()
    try:
        assert enough.wait(WAIT), "the ticker stopped deciding"
        assert manager.running
        ticker = [t for t in threading.enumerate() if t.name == "adaptive-stream-ticker"]
        assert len(ticker) == 1 and ticker[0].is_alive()
    finally:
        manager.stop()
    stats = manager.stats()
    # Every decision reached the raising subscriber (one error each), plus the size changes.
    assert stats["subscriber_errors"] >= len(seen) + len(sizes)
    assert [s.input_size for s in sizes] == [6, 10, 13, 15, 17, 18, 19]


def test_stop_from_inside_a_subscriber_does_not_deadlock() -> None:
    for stream in ("decisions", "sizes"):
        manager = real_manager()
        returned = threading.Event()

        def stop_here(
            _: object,
            manager: AdaptiveBufferManager = manager,
            returned: threading.Event = returned,
        ) -> None:
            if manager.running and threading.current_thread().name == "adaptive-stream-ticker":
                manager.stop()
                returned.set()

        getattr(manager, stream).subscribe(stop_here)
        before = threading.active_count()
        manager.start()
        assert returned.wait(WAIT), f"stop() inside a {stream} subscriber did not return"
        assert not manager.running
        manager.stop()  # idempotent, from the test thread, while the ticker winds down
        assert wait_until(lambda b=before: threading.active_count() <= b), "ticker lingers"
        assert manager.stats()["subscriber_errors"] == 0
        # And it starts again afterwards, on a new thread.
        decided = threading.Event()
        manager.decisions.subscribe(lambda _, d=decided: d.set())
        manager.start()
        assert decided.wait(WAIT) or not manager.running
        manager.stop()


def test_stop_from_another_thread_while_a_subscriber_is_slow() -> None:
    manager = real_manager()
    inside = threading.Event()
    release = threading.Event()

    def slow(_: object) -> None:
        inside.set()
        release.wait(WAIT)

    manager.decisions.subscribe(slow)
    manager.start()
    assert inside.wait(WAIT)
    stopper = threading.Thread(target=manager.stop)
    stopper.start()
    release.set()
    stopper.join(WAIT)
    assert not stopper.is_alive(), "stop() deadlocked with a tick in flight"
    assert not manager.running


def test_stop_gives_up_on_a_subscriber_that_blocks(
    monkeypatch: pytest.MonkeyPatch, log_lines: list[str]
) -> None:
    from adaptive_stream import manager as manager_module

    monkeypatch.setattr(manager_module, "STOP_TIMEOUT", timedelta(milliseconds=200))
    manager = real_manager()
    inside = threading.Event()
    release = threading.Event()
    seen: list[BufferDecision] = []

    def stuck(decision: BufferDecision) -> None:
        seen.append(decision)
        inside.set()
        release.wait(WAIT)

    manager.decisions.subscribe(stuck)
    manager.start()
    assert inside.wait(WAIT)
    started = time.monotonic()
    manager.stop()  # returns although the tick is still blocked
    assert time.monotonic() - started < WAIT / 2
    assert not manager.running
    assert any("a tick is still running after 0.2 s" in line for line in log_lines)
    release.set()
    assert wait_until(lambda: not ticker_alive()), "the ticker thread did not end"
    assert len(seen) == 1  # nothing published after stop()


def ticker_alive() -> bool:
    return any(t.name == "adaptive-stream-ticker" for t in threading.enumerate())
