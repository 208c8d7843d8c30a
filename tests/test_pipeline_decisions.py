"""The reactive wiring, in virtual time: marble tests and TestScheduler tests."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import reactivex as rx
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import operators as ops
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing

from adaptive_stream import AdaptiveBufferSettings, BufferDecision, SystemMetrics, buffer_decisions
from adaptive_stream.model import EPOCH

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed

CALM = SystemMetrics(5.0, 10.0)
BUSY = SystemMetrics(95.0, 90.0)


def sizes_of(decisions: rx.Observable[BufferDecision]) -> rx.Observable[int]:
    return decisions.pipe(ops.map(lambda d: d.input_size))


class TestMarbles:
    """One marble is one second (timespan=1.0); marbles are separated by dashes."""

    def test_climb_to_19_never_reaching_20(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m----------------", {"m": CALM})
            ticks = cold("-t-t-t-t-t-t-t-t-")
            expected = exp(
                "-a-b-c-d-e-f-g-g-",
                {"a": 10, "b": 13, "c": 15, "d": 17, "e": 18, "f": 19, "g": 19},
            )
            assert start(sizes_of(buffer_decisions(metrics, cold("-"), ticks))) == expected

    def test_descent_to_4_never_reaching_3(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m--------", {"m": BUSY})
            latency = cold("l--------", {"l": 0.1})  # 100 ms: the latency factor is -1 too
            ticks = cold("-t-t-t-t-")
            expected = exp("-a-b-b-b-", {"a": 5, "b": 4})
            assert start(sizes_of(buffer_decisions(metrics, latency, ticks))) == expected

    def test_no_decision_before_the_first_metrics(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("----m------", {"m": CALM})
            ticks = cold("-t-t--t-t--")
            expected = exp("------a-b--", {"a": 10, "b": 13})
            assert start(sizes_of(buffer_decisions(metrics, cold("-"), ticks))) == expected

    def test_the_latest_metrics_and_latency_decide(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("c----b------", {"c": CALM, "b": BUSY})
            latency = cold("l-----------", {"l": 0.1})
            ticks = cold("-t-----t-t--")
            # calm tick: 0.5 + 0.3 - 0.2 = +0.6 -> 6 + 0.3 * 0.6 * 14 = 8.52 -> 9;
            # busy ticks: -1 -> 9 - 0.3 * 6 = 7.2 -> 7, then 7 - 0.3 * 4 = 5.8 -> 6
            expected = exp("-a-----b-c--", {"a": 9, "b": 7, "c": 6})
            assert start(sizes_of(buffer_decisions(metrics, latency, ticks))) == expected

    def test_completion_of_ticks_completes_the_decisions(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m--", {"m": CALM})
            ticks = cold("-t-|")
            expected = exp("-a-|", {"a": 10})
            assert start(sizes_of(buffer_decisions(metrics, cold("-"), ticks))) == expected


class TestLatencyAverageInThePipeline:
    def averages(self, samples: list[Any]) -> list[int]:
        scheduler = TestScheduler()
        metrics = scheduler.create_hot_observable(on_next(200.5, CALM))
        messages = [on_next(201 + i, s) for i, s in enumerate(samples)]
        latency = scheduler.create_hot_observable(*messages)
        tick_times = [201 + i for i in range(len(samples) + 1)]
        # each tick comes after the sample of the same time was pushed (hot order: latency first)
        ticks = scheduler.create_hot_observable(*[on_next(t + 0.5, t) for t in tick_times])
        observer = scheduler.start(
            lambda: buffer_decisions(metrics, latency, ticks).pipe(
                ops.map(lambda d: d.average_latency_ns)
            )
        )
        return [m.value.value for m in observer.messages]

    def test_average_is_zero_before_any_sample(self) -> None:
        assert self.averages([]) == [0]

    def test_first_sample_replaces_then_70_30_truncated(self) -> None:
        # 12.345678901 ms is 12_345_679 ns (rounded to the nearest ns), then
        # int(12_345_679 * 0.7 + 20_000_000 * 0.3) = int(14_641_975.3) = 14_641_975
        assert self.averages([0.012345678901, timedelta(milliseconds=20)]) == [
            12_345_679,
            14_641_975,
            14_641_975,
        ]

    def test_invalid_samples_are_skipped(self) -> None:
        nan = float("nan")
        assert self.averages([nan, -0.001, "x", 0.010]) == [0, 0, 0, 10_000_000, 10_000_000]


def test_decisions_carry_the_scheduler_time_of_the_tick() -> None:
    scheduler = TestScheduler()
    metrics = scheduler.create_hot_observable(on_next(210, CALM))
    ticks = scheduler.create_hot_observable(on_next(250, "t"), on_next(300.5, "t"))
    observer = scheduler.start(lambda: buffer_decisions(metrics, rx.never(), ticks))
    times = [m.value.value.time for m in observer.messages]
    assert times == [EPOCH + timedelta(seconds=250), EPOCH + timedelta(seconds=300.5)]


def test_settings_change_the_decisions() -> None:
    settings = AdaptiveBufferSettings(max_buffer_size=8, smoothing_factor=1.0)
    metrics, ticks = Subject[SystemMetrics](), Subject[int]()
    sizes: list[int] = []
    buffer_decisions(metrics, rx.never(), ticks, settings).subscribe(
        lambda d: sizes.append(d.input_size)
    )
    metrics.on_next(CALM)
    for i in range(3):
        ticks.on_next(i)
    assert sizes == [8, 8, 8]


def test_invalid_metrics_never_reach_the_policy() -> None:
    metrics, ticks = Subject[SystemMetrics](), Subject[int]()
    seen: list[float] = []
    buffer_decisions(metrics, rx.never(), ticks).subscribe(lambda d: seen.append(d.cpu_percent))
    metrics.on_next(SystemMetrics(float("nan"), 10.0))
    ticks.on_next(0)  # nothing valid yet: no decision
    metrics.on_next(SystemMetrics(5.0, 10.0))
    metrics.on_next(SystemMetrics(-1.0, 10.0))
    metrics.on_next(SystemMetrics(5.0, 101.0))
    ticks.on_next(1)
    assert seen == [5.0]


def test_each_subscription_has_its_own_state() -> None:
    """scan's seed is immutable: two subscriptions never share policy state."""
    metrics, ticks = Subject[SystemMetrics](), Subject[int]()
    decisions = buffer_decisions(metrics, rx.never(), ticks)
    first: list[int] = []
    second: list[int] = []
    decisions.subscribe(lambda d: first.append(d.input_size))
    metrics.on_next(CALM)
    ticks.on_next(0)
    ticks.on_next(1)
    decisions.subscribe(lambda d: second.append(d.input_size))
    metrics.on_next(CALM)
    ticks.on_next(2)
    assert first == [10, 13, 15]
    assert second == [10]


traces = st.lists(
    st.one_of(
        st.tuples(st.just("m"), st.floats(0, 100), st.floats(0, 100)),  # any machine: <= 1 core
        st.tuples(st.just("l"), st.floats(0, 0.5), st.just(0.0)),
        st.tuples(st.just("t"), st.just(0.0), st.just(0.0)),
    ),
    max_size=80,
)


def run_trace(events: list[tuple[str, float, float]]) -> list[tuple[int, int, bool, int]]:
    metrics, latency, ticks = Subject[SystemMetrics](), Subject[float](), Subject[int]()
    out: list[tuple[int, int, bool, int]] = []
    buffer_decisions(metrics, latency, ticks).subscribe(
        lambda d: out.append((d.input_size, d.output_size, d.adjusted, d.average_latency_ns))
    )
    for kind, a, b in events:
        if kind == "m":
            metrics.on_next(SystemMetrics(a, b))
        elif kind == "l":
            latency.on_next(a)
        else:
            ticks.on_next(0)
    return out


@given(traces)
@settings(max_examples=150)
def test_same_inputs_same_decisions_and_sizes_within_limits(
    events: list[tuple[str, float, float]],
) -> None:
    first = run_trace(events)
    assert first == run_trace(events)
    assert all(3 <= i <= 20 and 3 <= o <= 20 for i, o, _, _ in first)
    assert len(first) == sum(
        1 for n, e in enumerate(events) if e[0] == "t" and any(x[0] == "m" for x in events[:n])
    )


def test_latency_pushed_from_several_threads_through_a_locked_subject() -> None:
    """The documented way to feed one Subject from many threads: serialise the pushes."""
    latency: Subject[float] = Subject()
    lock = threading.Lock()
    seen = 0

    def count(_: int) -> None:
        nonlocal seen
        seen += 1

    from adaptive_stream.pipeline import latency_summary
    from adaptive_stream.policies import JetKVMPolicy

    latency_summary(latency, JetKVMPolicy()).subscribe(count)

    def push() -> None:
        for _ in range(2000):
            with lock:
                latency.on_next(0.01)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == 1 + 4 * 2000  # the seed, then every sample


def test_latency_batches_fold_like_single_samples() -> None:
    """A list, a tuple or NanosecondSamples is folded in order, invalid samples skipped."""
    from adaptive_stream.pipeline import NanosecondSamples, latency_summary
    from adaptive_stream.policies import JetKVMPolicy

    def summaries(items: list[Any]) -> list[int]:
        source: Subject[Any] = Subject()
        out: list[int] = []
        latency_summary(source, JetKVMPolicy()).subscribe(out.append)
        for item in items:
            source.on_next(item)
        return out

    one_by_one = summaries([0.010, 0.020, float("nan"), 0.030])
    assert summaries([[0.010, 0.020], (float("nan"), 0.030)])[-1] == one_by_one[-1]
    assert (
        summaries([NanosecondSamples([10_000_000, 20_000_000, 30_000_000])])[-1] == (one_by_one[-1])
    )
    assert summaries([[float("nan")]]) == [0, 0]  # nothing valid: the same summary again
