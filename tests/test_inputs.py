"""The input checks (adaptive_stream.inputs): one set of rules for every path into a policy.

Latency in any real number type audio code uses (NumPy's scalars included), underrun counts,
metrics with the CPU ceiling; the same rules whether the manager or ``buffer_decisions`` is
fed.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from adaptive_stream import (
    AdaptiveBufferManager,
    AdaptiveBufferSettings,
    BufferDecision,
    SystemMetrics,
    buffer_decisions,
)
from adaptive_stream.inputs import (
    MAX_UNDERRUNS_PER_REPORT,
    InputChecks,
    metrics_problem,
    to_nanoseconds,
    to_underrun_count,
)

CALM = SystemMetrics(5.0, 10.0)


@pytest.mark.parametrize(
    ("sample", "ns"),
    [
        (0.02, 20_000_000),
        (0, 0),
        (1, 1_000_000_000),
        (timedelta(milliseconds=20, microseconds=1), 20_001_000),
        (1.5e-9, 2),  # halves away from zero, as Go
        (float("inf"), None),
        (float("nan"), None),
        (-1e-9, None),
        (timedelta(microseconds=-1), None),
        (True, None),
        ("0.02", None),
    ],
)
def test_to_nanoseconds(sample: Any, ns: int | None) -> None:
    assert to_nanoseconds(sample) == ns


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


@pytest.mark.parametrize("sample", [10**400, float("nan"), "x", None])
def test_buffer_decisions_skips_bad_latency_without_raising(sample: Any) -> None:
    metrics: Subject[Any] = Subject()
    latency: Subject[Any] = Subject()
    ticks: Subject[int] = Subject()
    out: list[BufferDecision] = []
    errors: list[Exception] = []
    buffer_decisions(metrics, latency, ticks).subscribe(out.append, errors.append)
    metrics.on_next(CALM)
    latency.on_next(sample)
    latency.on_next(0.01)
    latency.on_next([sample, 0.01])  # a batch with a bad sample in it
    ticks.on_next(1)
    assert errors == []
    assert [d.average_latency_ns for d in out] == [10_000_000]


def test_buffer_decisions_skips_metrics_that_are_not_numbers() -> None:
    metrics: Subject[Any] = Subject()
    ticks: Subject[int] = Subject()
    out: list[BufferDecision] = []
    errors: list[Exception] = []
    buffer_decisions(metrics, Subject(), ticks).subscribe(out.append, errors.append)
    for weird in (None, SystemMetrics("a", 1.0), "cpu", CALM):  # type: ignore[arg-type]
        metrics.on_next(weird)
    ticks.on_next(1)
    assert errors == []
    assert [d.cpu_percent for d in out] == [5.0]


@pytest.mark.parametrize(
    ("sample", "ns"),
    [
        (np.float32(0.25), 250_000_000),  # exactly representable
        (np.float32(0.012), round(float(np.float32(0.012)) * 1e9)),
        (np.float64(0.012), 12_000_000),
        (np.float16(0.5), 500_000_000),
        (np.int64(2), 2_000_000_000),
        (np.uint8(0), 0),
        (Fraction(1, 50), 20_000_000),
    ],
)
def test_every_real_number_type_is_seconds(sample: Any, ns: int) -> None:
    assert to_nanoseconds(sample) == ns


@pytest.mark.parametrize(
    "sample",
    [
        np.bool_(True),
        np.float32("nan"),
        np.float64("inf"),
        np.float32(-0.001),
        np.int64(-1),
        np.array([0.01]),
        np.float64(1e300),
    ],
)
def test_numpy_values_that_are_no_latency_are_rejected(sample: Any) -> None:
    assert to_nanoseconds(sample) is None


def test_the_manager_takes_numpy_float32_as_it_takes_float64() -> None:
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(), metrics=Subject(), scheduler=TestScheduler()
    )
    for sample in (np.float32(0.02), np.float64(0.02), np.int32(0), 0.02):
        manager.update_latency(sample)
    stats = manager.stats()
    assert (stats["latency_samples"], stats["rejected_samples"]) == (4, 0)
    manager.update_latency(np.bool_(False))  # a bool is no latency, NumPy's neither
    assert manager.stats()["rejected_samples"] == 1


def test_the_cpu_ceiling_is_the_same_for_the_manager_and_the_pipeline() -> None:
    """100 % x the cores measured, wherever the metrics enter."""
    over = SystemMetrics(200.5, 10.0)
    edge = SystemMetrics(200.0, 10.0)
    assert metrics_problem(over, 200.0) == "cpu above 100 % x 2 cores"
    assert metrics_problem(edge, 200.0) is None
    # The pipeline, with the checks of a 2-core machine:
    metrics: Subject[Any] = Subject()
    ticks: Subject[int] = Subject()
    seen: list[float] = []
    checks = InputChecks(cpu_cores=2)
    buffer_decisions(metrics, Subject(), ticks, checks=checks).subscribe(
        lambda d: seen.append(d.cpu_percent)
    )
    for sample in (over, edge, over):
        metrics.on_next(sample)
        ticks.on_next(0)
    assert seen == [200.0, 200.0]
    assert (checks.metrics_accepted, checks.metrics_rejected) == (1, 2)
    # The manager, told it measures 2 cores:
    scheduler = TestScheduler()
    source: Subject[Any] = Subject()
    manager = AdaptiveBufferManager(metrics=source, scheduler=scheduler, cpu_cores=2)
    decided: list[BufferDecision] = []
    manager.decisions.subscribe(decided.append)
    manager.start()
    for sample in (over, edge, over):
        source.on_next(sample)
        scheduler.advance_by(0.5)
    manager.stop()
    assert [d.cpu_percent for d in decided] == [200.0, 200.0]
    assert (manager.stats()["metrics_samples"], manager.stats()["rejected_metrics"]) == (1, 2)


def test_checks_count_what_they_accept_and_reject() -> None:
    checks = InputChecks(latency_ceiling=timedelta(seconds=1))
    assert checks.latency(0.5) == 500_000_000
    assert checks.latency(1.5) is None
    assert checks.underrun_count(3) == 3
    assert checks.underrun_count(-3) is None
    assert checks.metrics(CALM) == CALM
    assert (checks.latency_accepted, checks.latency_rejected) == (1, 1)
    assert (checks.underruns, checks.underruns_rejected) == (3, 1)
    assert (checks.metrics_accepted, checks.last_sampled) == (1, None)
