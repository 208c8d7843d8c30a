"""Underruns as an input: reported by the audio path, folded into the policy's summary.

In virtual time (marbles, ``TestScheduler``) and with real threads for the manager's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import pytest
import reactivex as rx
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing

from adaptive_stream import (
    AdaptiveBufferManager,
    AdaptiveBufferSettings,
    BufferDecision,
    BufferSizes,
    SystemMetrics,
    buffer_decisions,
)
from adaptive_stream.pipeline import (
    MAX_UNDERRUNS_PER_REPORT,
    to_underrun_count,
)

on_next = ReactiveTest.on_next
CALM = SystemMetrics(5.0, 10.0)


class Tally(NamedTuple):
    samples: int
    underruns: int


class TallyPolicy:
    """Size = 6 + the underruns seen so far: makes what reached the summary visible."""

    name = "tally"

    def initial_state(self) -> int:
        return 6

    def sizes(self, state: int) -> BufferSizes:
        return BufferSizes(state, state)

    def initial_summary(self) -> Tally:
        return Tally(0, 0)

    def update_latency(self, summary: Tally, sample_ns: int) -> Tally:
        return Tally(summary.samples + 1, summary.underruns)

    def update_latency_batch(self, summary: Tally, samples: Iterable[int]) -> Tally:
        for sample in samples:
            summary = self.update_latency(summary, sample)
        return summary

    def update_underruns(self, summary: Tally, count: int) -> Tally:
        return Tally(summary.samples, summary.underruns + count)

    @classmethod
    def from_settings(cls, settings: Any) -> TallyPolicy:
        return cls()

    def decide(
        self, state: int, metrics: SystemMetrics | None, summary: Tally, now: datetime
    ) -> tuple[int, BufferDecision | None]:
        if metrics is None:
            return state, None
        size = 6 + summary.underruns
        decision = BufferDecision(
            now, size, size, size != state, 0.0, 0.0, 0.0, 0.0, 5.0, 10.0, 0, 0, size, size, "tally"
        )
        return size, decision


def sizes(decisions: rx.Observable[BufferDecision]) -> rx.Observable[int]:
    return decisions.pipe(ops.map(lambda d: d.input_size))


class TestMarbles:
    def test_underruns_reach_the_summary_in_order(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m-------", {"m": CALM})
            underruns = cold("--a-b---", {"a": 1, "b": 3})
            ticks = cold("-t-t-t-t")
            out = buffer_decisions(
                metrics, cold("-"), ticks, policy=TallyPolicy(), underruns=underruns
            )
            assert start(sizes(out)) == exp("-a-b-c-c", {"a": 6, "b": 7, "c": 10})

    def test_bad_counts_and_zeros_change_nothing(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            bad = {"n": -1, "f": 1.5, "b": True, "s": "2", "z": 0, "h": 10**7, "o": 1}
            metrics = cold("m----------", {"m": CALM})
            underruns = cold("nfbszh-o---", bad)
            ticks = cold("------t-t--")
            out = buffer_decisions(
                metrics, cold("-"), ticks, policy=TallyPolicy(), underruns=underruns
            )
            assert start(sizes(out)) == exp("------a-b--", {"a": 6, "b": 7})

    def test_jetkvm_decides_the_same_with_or_without_underruns(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, _exp):
            metrics = cold("m-------", {"m": CALM})
            latency = cold("l-------", {"l": 0.03})
            ticks = cold("-t-t-t-t")
            plain = start(sizes(buffer_decisions(metrics, latency, ticks)))
        with marbles_testing(timespan=1.0) as (start, cold, _hot, _exp):
            metrics = cold("m-------", {"m": CALM})
            latency = cold("l-------", {"l": 0.03})
            ticks = cold("-t-t-t-t")
            underruns = cold("u-u-u-u-", {"u": 5})
            fed = start(sizes(buffer_decisions(metrics, latency, ticks, underruns=underruns)))
        assert fed == plain
        assert [m.value.value for m in plain] == [10, 13, 15, 16]


@pytest.mark.parametrize(
    ("count", "value"),
    [
        (1, 1),
        (0, 0),
        (MAX_UNDERRUNS_PER_REPORT, MAX_UNDERRUNS_PER_REPORT),
        (MAX_UNDERRUNS_PER_REPORT + 1, None),
        (-1, None),
        (True, None),
        (2.0, None),
        (float("nan"), None),
        ("3", None),
        (None, None),
    ],
)
def test_to_underrun_count(count: Any, value: int | None) -> None:
    assert to_underrun_count(count) == value


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
        manager, _ = virtual_manager(TallyPolicy())
        for bad in (-1, 1.5, True, None, "2", object(), MAX_UNDERRUNS_PER_REPORT + 1):
            manager.report_underrun(bad)  # type: ignore[arg-type]
        manager.report_underrun(0)  # valid, changes nothing
        manager.report_underrun(4)
        stats = manager.stats()
        assert (stats["underruns"], stats["rejected_underruns"]) == (4, 7)
        assert manager._summary.value == Tally(0, 4)
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
        manager = AdaptiveBufferManager(AdaptiveBufferSettings(), policy=TallyPolicy())
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
        assert manager._summary.value == Tally(8 * 1000, expected)


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
