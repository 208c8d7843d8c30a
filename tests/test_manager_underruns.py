"""Underruns reported to the manager: counted, checked, folded in push order with the
latency samples (real threads for the lock), and closing the loop with ``feedback``."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import reactivex as rx
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from tally import TallyPolicy

from adaptive_stream import (
    AdaptiveBufferManager,
    AdaptiveBufferSettings,
    BufferDecision,
    SystemMetrics,
)
from adaptive_stream.inputs import MAX_UNDERRUNS_PER_REPORT

CALM = SystemMetrics(5.0, 10.0)


def virtual_manager(policy: Any) -> tuple[AdaptiveBufferManager, TestScheduler]:
    scheduler = TestScheduler()
    metrics = rx.interval(0.25, scheduler=scheduler).pipe(ops.map(lambda _: CALM))
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(), metrics=metrics, scheduler=scheduler, policy=policy
    )
    return manager, scheduler


class TestManager:
    def test_reported_underruns_reach_the_policy_at_the_next_tick(self) -> None:
        manager, scheduler = virtual_manager(TallyPolicy())
        seen: list[int] = []
        manager.sizes.subscribe(lambda s: seen.append(s.input_size))
        manager.start()
        scheduler.advance_to(1.2)  # ticks at 0.5 and 1.0
        manager.report_underrun()
        manager.report_underrun(2)
        scheduler.advance_to(1.6)
        manager.stop()
        assert seen == [6, 9]
        assert manager.stats()["underruns"] == 3
        assert manager.stats()["rejected_underruns"] == 0

    def test_bad_counts_are_rejected_counted_and_never_raise(self, log_lines: list[str]) -> None:
        manager, scheduler = virtual_manager(TallyPolicy())
        for bad in (-1, 1.5, True, None, "2", object(), MAX_UNDERRUNS_PER_REPORT + 1):
            manager.report_underrun(bad)  # type: ignore[arg-type]
        manager.report_underrun(0)  # valid, changes nothing
        manager.report_underrun(4)
        stats = manager.stats()
        assert (stats["underruns"], stats["rejected_underruns"]) == (4, 7)
        decisions: list[BufferDecision] = []
        manager.decisions.subscribe(decisions.append)
        manager.start()
        scheduler.advance_to(0.5)
        manager.stop()
        assert decisions[0].input_size == 6 + 4  # only the valid count reached the policy
        warnings = [line for line in log_lines if "rejected underrun report" in line]
        assert len(warnings) == 1  # rate limited: one per adaptation interval
        assert "-1" in warnings[0]

    def test_jetkvm_stats_and_sizes_ignore_underruns(self) -> None:
        manager, scheduler = virtual_manager(None)
        manager.start()
        manager.update_latency(0.010)
        manager.report_underrun(50)
        scheduler.advance_to(1.1)
        manager.stop()
        stats = manager.stats()
        assert (stats["input_buffer_size"], stats["average_latency_ms"]) == (13, 10.0)
        assert stats["underruns"] == 50

    def test_concurrent_reports_and_samples_are_all_folded(self) -> None:
        """Eight threads report underruns and latency at once: the tally is exact, so
        every push went through the lock and the one scan."""
        manager, scheduler = virtual_manager(TallyPolicy())
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def push(n: int) -> None:
            try:
                barrier.wait(30)
                for i in range(2000):
                    if (n + i) % 2:
                        manager.report_underrun(1 + i % 3)
                    else:
                        manager.update_latency(timedelta(milliseconds=5))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=push, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        expected = sum(1 + i % 3 for n in range(8) for i in range(2000) if (n + i) % 2)
        assert manager.stats()["underruns"] == expected
        decisions: list[BufferDecision] = []
        manager.decisions.subscribe(decisions.append)
        manager.start()
        scheduler.advance_to(0.5)
        manager.stop()
        # Every sample and every underrun reached the one summary.
        assert (decisions[0].average_latency_ns, decisions[0].input_size) == (8000, 6 + expected)


def test_the_manager_closes_the_loop_with_the_feedback_policy() -> None:
    """report_underrun() from audio code reaches the feedback policy through the manager:
    ignored during the start-up grace, then the size grows by half at the next tick."""
    scheduler = TestScheduler()
    metrics = rx.interval(0.25, scheduler=scheduler).pipe(ops.map(lambda _: CALM))
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(policy="feedback"), metrics=metrics, scheduler=scheduler
    )
    reasons: list[str] = []
    manager.decisions.subscribe(lambda d: reasons.append(d.reason))
    manager.start()
    scheduler.advance_to(0.7)
    manager.report_underrun(2)  # within startup_grace (2 s from the first tick at 0.5 s)
    scheduler.advance_to(3.2)
    assert manager.input_buffer_size == 6
    manager.report_underrun()
    scheduler.advance_to(3.6)
    manager.stop()
    assert manager.input_buffer_size == 9
    assert reasons[1].startswith("hold at 6: 2 start-up underrun(s) ignored")
    assert reasons[-1].startswith("grow 6 -> 9: 1 underrun(s) since the last tick")
    assert manager.stats()["underruns"] == 3
