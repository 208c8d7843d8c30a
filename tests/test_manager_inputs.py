"""Bad input to the manager: latency and metrics samples that must be rejected, counted and
logged (rate-limited by the scheduler's clock), never raised and never shown to the policy."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from adaptive_stream import AdaptiveBufferManager, AdaptiveBufferSettings, SystemMetrics
from adaptive_stream.model import EPOCH, BufferDecision
from adaptive_stream.policies import JetKVMPolicy

CALM = SystemMetrics(5.0, 10.0)
CORES = os.cpu_count() or 1


class RecordingPolicy(JetKVMPolicy):
    """The jetkvm policy, remembering every metrics sample and latency it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen_metrics: list[SystemMetrics] = []
        self.seen_latency: list[int] = []

    def update_latency(self, summary: Any, sample_ns: int) -> Any:
        self.seen_latency.append(sample_ns)
        return super().update_latency(summary, sample_ns)

    def update_latency_batch(self, summary: Any, samples: Iterable[int]) -> Any:
        for sample in samples:
            summary = self.update_latency(summary, sample)
        return summary

    def decide(
        self, state: Any, metrics: SystemMetrics | None, summary: Any, now: datetime
    ) -> tuple[Any, BufferDecision | None]:
        if metrics is not None:
            self.seen_metrics.append(metrics)
        return super().decide(state, metrics, summary, now)


def observable_manager(
    **overrides: Any,
) -> tuple[AdaptiveBufferManager, TestScheduler, Subject[Any], RecordingPolicy]:
    scheduler = TestScheduler()
    metrics: Subject[Any] = Subject()
    policy = RecordingPolicy()
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(**overrides),
        metrics=metrics,
        scheduler=scheduler,
        policy=policy,
    )
    return manager, scheduler, metrics, policy


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class BadFloat(float):
    """A float whose conversion raises: exotic, but audio code may hand us anything."""

    def __float__(self) -> float:
        raise ValueError("no float")


BAD_LATENCY: list[Any] = [
    float("nan"),
    float("inf"),
    float("-inf"),
    -0.001,
    -1,
    timedelta(microseconds=-1),
    10.000000001,  # just above the 10 s ceiling
    timedelta(seconds=11),
    11,
    10**400,  # float() of it would raise OverflowError
    -(10**400),
    1e300,
    "0.01",
    None,
    True,
    [0.01],
    object(),
    Unprintable(),
]


def test_every_bad_latency_is_rejected_counted_and_never_raised() -> None:
    manager, _, _, policy = observable_manager()
    for bad in BAD_LATENCY:
        manager.update_latency(bad)
    manager.update_latency(10.0)  # exactly the ceiling is allowed
    manager.update_latency(timedelta(seconds=10))
    manager.update_latency(0)
    stats = manager.stats()
    assert stats["rejected_samples"] == len(BAD_LATENCY)
    assert stats["latency_samples"] == 3
    assert policy.seen_latency == [10_000_000_000, 10_000_000_000, 0]


def test_a_float_whose_conversion_raises_is_rejected() -> None:
    manager, _, _, _ = observable_manager()
    manager.update_latency(BadFloat(0.01))
    stats = manager.stats()
    assert (stats["latency_samples"], stats["rejected_samples"]) == (0, 1)


def test_the_latency_ceiling_is_a_setting() -> None:
    manager, _, _, _ = observable_manager(latency_ceiling="1s")
    for sample in (0.5, 1.0, 1.001, timedelta(seconds=2)):
        manager.update_latency(sample)
    assert (manager.stats()["latency_samples"], manager.stats()["rejected_samples"]) == (2, 2)


def test_rejected_latency_is_logged_at_most_once_per_interval_of_virtual_time(
    log_lines: list[str],
) -> None:
    manager, scheduler, _, _ = observable_manager()

    def warnings() -> list[str]:
        return [line for line in log_lines if "rejected latency" in line]

    for _ in range(100):
        manager.update_latency(float("nan"))
    assert len(warnings()) == 1
    assert "nan" in warnings()[0] and "1 rejected since the last report, 1 in all" in warnings()[0]
    scheduler.advance_to(0.499)
    manager.update_latency(-1.0)
    assert len(warnings()) == 1  # still inside the interval
    scheduler.advance_to(0.5)
    manager.update_latency(timedelta(seconds=60))
    assert len(warnings()) == 2
    assert "above latency_ceiling" in warnings()[1]
    assert "101 rejected since the last report, 102 in all" in warnings()[1]
    manager.update_latency(0.01)  # valid samples are never logged
    assert len(warnings()) == 2
    assert manager.stats()["rejected_samples"] == 102


def test_an_unprintable_sample_is_still_logged(log_lines: list[str]) -> None:
    manager, _, _, _ = observable_manager()
    manager.update_latency(Unprintable())
    assert any("<unprintable Unprintable>" in line for line in log_lines)


BAD_METRICS: list[Any] = [
    SystemMetrics(float("nan"), 10.0),
    SystemMetrics(5.0, float("nan")),
    SystemMetrics(float("inf"), 10.0),
    SystemMetrics(5.0, float("-inf")),
    SystemMetrics(-0.1, 10.0),
    SystemMetrics(5.0, -0.1),
    SystemMetrics(5.0, 100.000001),
    SystemMetrics(100.0 * CORES + 0.01, 10.0),
    SystemMetrics("5", None),  # type: ignore[arg-type]
    SystemMetrics(5.0, 10.0, datetime(2000, 1, 1)),  # naive: no time zone to compare by
    SystemMetrics(5.0, 10.0, "now"),  # type: ignore[arg-type]
    "cpu 5",
    (5.0,),
]


def test_bad_metrics_are_rejected_counted_and_never_reach_the_policy() -> None:
    manager, scheduler, metrics, policy = observable_manager()
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    errors: list[Exception] = []
    manager.decisions.subscribe(on_error=errors.append)
    manager.start()
    for bad in BAD_METRICS:
        metrics.on_next(bad)
    scheduler.advance_to(1.0)
    assert decisions == []  # nothing valid yet: no decision, as with no metrics at all
    edge = SystemMetrics(100.0 * CORES, 100.0)  # exactly on both limits: allowed
    metrics.on_next(edge)
    for bad in BAD_METRICS:  # the last valid sample stays in force
        metrics.on_next(bad)
    scheduler.advance_to(2.0)
    assert [d.cpu_percent for d in decisions] == [100.0 * CORES] * 2
    # The policy sees when the sample came (the manager's sources do not say when they sampled).
    arrived = edge._replace(sampled_at=EPOCH + timedelta(seconds=1))
    assert policy.seen_metrics == [arrived, arrived]
    stats = manager.stats()
    assert stats["rejected_metrics"] == 2 * len(BAD_METRICS)
    assert stats["metrics_samples"] == 1
    assert errors == [] and manager.running


def test_bad_metrics_from_a_sampler_are_rejected_too() -> None:
    scheduler = TestScheduler()
    values = iter([SystemMetrics(float("nan"), 1.0), SystemMetrics(5.0, 250.0), CALM])

    class Sampler:
        def sample(self) -> SystemMetrics | None:
            return next(values, CALM)

    manager = AdaptiveBufferManager(metrics=Sampler(), scheduler=scheduler)
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    manager.start()
    scheduler.advance_to(2.0)
    assert [d.time.timestamp() for d in decisions] == [1.5, 2.0]  # ticks 1 and 2 had none
    assert manager.stats()["rejected_metrics"] == 2


def test_rejected_metrics_are_logged_at_most_once_per_interval(log_lines: list[str]) -> None:
    manager, scheduler, metrics, _ = observable_manager()
    manager.start()
    for _ in range(50):
        metrics.on_next(SystemMetrics(-1.0, 10.0))
    scheduler.advance_to(0.25)
    metrics.on_next(SystemMetrics(1.0, 101.0))
    scheduler.advance_to(0.5)
    metrics.on_next(SystemMetrics(1.0, 101.0))
    lines = [line for line in log_lines if "rejected metrics" in line]
    assert len(lines) == 2
    assert "(negative)" in lines[0]
    assert "(memory above 100 %)" in lines[1] and "51 rejected since the last report" in lines[1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(),
            st.timedeltas(),
            st.none(),
            st.text(max_size=5),
        ),
        max_size=50,
    )
)
def test_update_latency_never_raises_and_counts_everything(samples: list[Any]) -> None:
    manager, _, _, policy = observable_manager()
    for sample in samples:
        manager.update_latency(sample)
    stats = manager.stats()
    assert stats["latency_samples"] + stats["rejected_samples"] == len(samples)
    assert stats["latency_samples"] == len(policy.seen_latency)
    assert all(0 <= ns <= 10_000_000_000 for ns in policy.seen_latency)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            SystemMetrics,
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_the_policy_only_ever_sees_sane_metrics(samples: list[SystemMetrics]) -> None:
    manager, scheduler, metrics, policy = observable_manager()
    manager.start()
    for i, sample in enumerate(samples):
        metrics.on_next(sample)
        scheduler.advance_to(0.5 * (i + 1))
    for seen in policy.seen_metrics:
        assert 0.0 <= seen.cpu_percent <= 100.0 * CORES
        assert 0.0 <= seen.memory_percent <= 100.0
    stats = manager.stats()
    assert stats["metrics_samples"] + stats["rejected_metrics"] == len(samples)
    manager.stop()
