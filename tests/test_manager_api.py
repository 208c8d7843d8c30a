"""AdaptiveBufferManager in virtual time: lifecycle, sizes, stats, latency from threads."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import reactivex as rx
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

import adaptive_stream
from adaptive_stream import (
    AdaptiveBufferManager,
    AdaptiveBufferSettings,
    BufferDecision,
    BufferSizes,
    SystemMetrics,
)
from adaptive_stream.model import EPOCH

CALM = SystemMetrics(5.0, 10.0)


class FixedSampler:
    """A metrics sampler that returns whatever the test sets, and counts its calls."""

    def __init__(self, sample: SystemMetrics | None = CALM) -> None:
        self.value = sample
        self.calls = 0

    def sample(self) -> SystemMetrics | None:
        self.calls += 1
        return self.value


def make(
    sampler: FixedSampler | None = None, **settings: object
) -> tuple[AdaptiveBufferManager, TestScheduler, FixedSampler]:
    scheduler = TestScheduler()
    sampler = sampler or FixedSampler()
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(**settings),  # type: ignore[arg-type]
        metrics=sampler,
        scheduler=scheduler,
    )
    return manager, scheduler, sampler


def test_ticks_every_interval_and_climbs_to_19() -> None:
    manager, scheduler, sampler = make()
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    manager.start()
    scheduler.advance_to(4.0)  # 8 ticks of 500 ms
    assert [d.input_size for d in decisions] == [10, 13, 15, 17, 18, 19, 19, 19]
    assert [d.time for d in decisions][:2] == [
        EPOCH + timedelta(seconds=0.5),
        EPOCH + timedelta(seconds=1.0),
    ]
    assert sampler.calls == 8  # metrics read once per tick, before the decision
    assert (manager.input_buffer_size, manager.output_buffer_size) == (19, 19)


def test_sizes_replays_the_latest_and_emits_only_on_change() -> None:
    manager, scheduler, _ = make()
    early: list[BufferSizes] = []
    manager.sizes.subscribe(early.append)
    assert early == [BufferSizes(6, 6)]  # the default, replayed at once
    manager.start()
    scheduler.advance_to(5.0)  # 10 ticks, sizes stop changing at 19 after 6
    assert [s.input_size for s in early] == [6, 10, 13, 15, 17, 18, 19]
    late: list[BufferSizes] = []
    manager.sizes.subscribe(late.append)
    assert late == [BufferSizes(19, 19)]


def test_stop_ends_the_ticking_and_start_resumes_from_the_same_sizes() -> None:
    manager, scheduler, sampler = make()
    sizes: list[int] = []
    manager.decisions.subscribe(lambda d: sizes.append(d.input_size))
    manager.start()
    manager.start()  # idempotent: still one ticker
    scheduler.advance_to(1.0)
    manager.stop()
    manager.stop()  # idempotent
    calls = sampler.calls
    scheduler.advance_to(10.0)
    assert sizes == [10, 13]
    assert sampler.calls == calls  # nothing runs while stopped
    manager.start()
    scheduler.advance_to(11.0)
    assert sizes == [10, 13, 15, 17]  # state kept across stop/start


def test_no_metrics_no_decision() -> None:
    manager, scheduler, sampler = make(FixedSampler(None))
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    manager.start()
    scheduler.advance_to(3.0)
    assert decisions == []
    assert manager.stats()["adaptation_count"] == 0
    sampler.value = CALM
    scheduler.advance_to(3.5)
    assert [d.input_size for d in decisions] == [10]


def test_metrics_can_be_any_observable() -> None:
    scheduler = TestScheduler()
    metrics: Subject[SystemMetrics] = Subject()
    manager = AdaptiveBufferManager(metrics=metrics, scheduler=scheduler)
    sizes: list[int] = []
    manager.decisions.subscribe(lambda d: sizes.append(d.input_size))
    manager.start()
    scheduler.advance_to(1.0)
    assert sizes == []  # ticks before any metrics decide nothing
    metrics.on_next(CALM)
    scheduler.advance_to(2.0)
    assert sizes == [10, 13]


def test_interval_comes_from_the_settings() -> None:
    manager, scheduler, _ = make(adaptation_interval=timedelta(seconds=2))
    times: list[datetime] = []
    manager.decisions.subscribe(lambda d: times.append(d.time))
    manager.start()
    scheduler.advance_to(6.0)
    assert times == [EPOCH + timedelta(seconds=s) for s in (2, 4, 6)]


def test_stats_have_the_original_keys_and_fixed_point_percentages() -> None:
    manager, scheduler, _ = make(FixedSampler(SystemMetrics(12.3456, 33.339)))
    manager.update_latency(timedelta(milliseconds=12, microseconds=500))
    manager.start()
    scheduler.advance_to(0.5)
    stats = manager.stats()
    assert {
        "input_buffer_size",
        "output_buffer_size",
        "average_latency_ms",
        "system_cpu_percent",
        "system_memory_percent",
        "adaptation_count",
        "last_adaptation",
    } <= stats.keys()
    assert stats["input_buffer_size"] == stats["output_buffer_size"] == 10
    assert stats["average_latency_ms"] == 12.5
    assert stats["system_cpu_percent"] == 12.34  # int64(12.3456 * 100) / 100: truncated
    assert stats["system_memory_percent"] == 33.33
    assert stats["adaptation_count"] == 1
    assert stats["last_adaptation"] == EPOCH + timedelta(seconds=0.5)
    assert stats["latency_samples"] == 1


def test_latency_average_updates_while_stopped_as_in_the_original() -> None:
    manager, _, _ = make()
    manager.update_latency(0.010)
    manager.update_latency(0.020)
    assert manager.stats()["average_latency_ms"] == 13.0  # 10 * 0.7 + 20 * 0.3


def test_invalid_latency_is_counted_not_raised() -> None:
    manager, _, _ = make()
    for bad in (float("nan"), float("inf"), -0.5, timedelta(seconds=-1)):
        manager.update_latency(bad)
    manager.update_latency(0.005)
    stats = manager.stats()
    assert (stats["latency_samples"], stats["rejected_samples"]) == (1, 4)
    assert stats["average_latency_ms"] == 5.0


def test_a_raising_subscriber_harms_neither_the_pipeline_nor_the_others() -> None:
    manager, scheduler, _ = make()
    seen: list[int] = []

    def broken(_: BufferDecision) -> None:
        raise RuntimeError("sink bug")

    manager.decisions.subscribe(broken)
    manager.decisions.subscribe(lambda d: seen.append(d.input_size))
    manager.start()
    scheduler.advance_to(1.5)
    assert seen == [10, 13, 15]
    assert manager.stats()["subscriber_errors"] == 3


def test_update_latency_from_many_threads_loses_nothing() -> None:
    manager, scheduler, _ = make()
    manager.start()
    per_thread = 5_000

    def push(value: float) -> None:
        for _ in range(per_thread):
            manager.update_latency(value)

    threads = [threading.Thread(target=push, args=(0.001 * (i + 1),)) for i in range(6)]
    for t in threads:
        t.start()
    scheduler.advance_to(2.0)  # ticks interleave with the pushes
    for t in threads:
        t.join()
    assert manager.stats()["latency_samples"] == 6 * per_thread
    assert manager.stats()["rejected_samples"] == 0


def test_real_event_loop_thread_starts_and_stops() -> None:
    """The default scheduler: one named thread, gone when stop() returns."""
    done = threading.Event()
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=10)),
        metrics=FixedSampler(),
    )
    manager.decisions.subscribe(lambda _: done.set())
    before = {t.name for t in threading.enumerate()}
    manager.start()
    assert done.wait(timeout=10), "no decision within 10 s"
    assert "adaptive-stream-ticker" in {t.name for t in threading.enumerate()}
    manager.stop()
    assert {t.name for t in threading.enumerate()} <= before
    assert not manager.running


def test_context_manager_starts_and_stops() -> None:
    manager, scheduler, _ = make()
    with manager:
        assert manager.running
        scheduler.advance_to(0.5)
    assert not manager.running
    assert manager.input_buffer_size == 10


def test_module_level_singleton(monkeypatch: pytest.MonkeyPatch) -> None:
    from adaptive_stream import manager as manager_module

    monkeypatch.setattr(manager_module, "_global_manager", None)
    adaptive_stream.stop_adaptive_buffering()  # never created: nothing to stop
    first = adaptive_stream.get_adaptive_buffer_manager()
    assert adaptive_stream.get_adaptive_buffer_manager() is first
    monkeypatch.setattr(first, "_metrics_source", rx.never())
    monkeypatch.setattr(first, "_scheduler", TestScheduler())
    adaptive_stream.start_adaptive_buffering()
    assert first.running
    adaptive_stream.stop_adaptive_buffering()
    assert not first.running
