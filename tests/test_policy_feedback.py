"""The feedback policy's defining behaviours, in virtual time (marbles and a
``HistoricalScheduler`` through the real pipeline)."""

from __future__ import annotations

from datetime import timedelta

import reactivex as rx
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_drive import Event, at, drive, merged, sizes, ticks
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing

from adaptive_stream import (
    AdaptiveBufferSettings,
    BufferDecision,
    SystemMetrics,
    buffer_decisions,
)
from adaptive_stream.pipeline import latency_summary, policy_steps
from adaptive_stream.policies import FeedbackParams, FeedbackPolicy, FeedbackState
from adaptive_stream.policies.arrivals import FrameLimits

on_next = ReactiveTest.on_next

CALM = SystemMetrics(5.0, 10.0)
BUSY = SystemMetrics(90.0, 80.0)
S = timedelta(seconds=1)


def policy(**changes: object) -> FeedbackPolicy:
    return FeedbackPolicy(FeedbackParams()._replace(**changes))


def size_stream(decisions: rx.Observable[BufferDecision]) -> rx.Observable[int]:
    return decisions.pipe(ops.map(lambda d: d.input_size))


class TestMarbles:
    """One marble is one second; ticks every other second."""

    def test_an_underrun_grows_the_buffer_at_the_next_tick(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m--------", {"m": CALM})
            underruns = cold("----u----", {"u": 1})
            ticks_ = cold("-t-t-t-t-")
            out = buffer_decisions(metrics, cold("-"), ticks_, policy=policy(), underruns=underruns)
            # 6 x 1.5 = 9 at once; then it holds (the quiet period has just restarted).
            assert start(size_stream(out)) == exp("-a-a-b-b-", {"a": 6, "b": 9})

    def test_start_up_underruns_are_ignored(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m--------", {"m": CALM})
            underruns = cold("u-u-u----", {"u": 2})  # at 0 and 2: start-up; at 4: real
            ticks_ = cold("-t-t-t-t-")
            out = buffer_decisions(
                metrics,
                cold("-"),
                ticks_,
                policy=policy(startup_grace=3 * S),
                underruns=underruns,
            )
            assert start(size_stream(out)) == exp("-a-a-b-b-", {"a": 6, "b": 9})

    def test_cpu_load_grows_the_buffer_the_opposite_of_jetkvm(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("b------", {"b": BUSY})
            ticks_ = cold("-t-t-t-")
            ours = buffer_decisions(metrics, cold("-"), ticks_, policy=policy())
            # default 6 + load_headroom 4 at 90 % CPU (above cpu_high_threshold 60 %)
            assert start(size_stream(ours)) == exp("-a-a-a-", {"a": 10})
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("b------", {"b": BUSY})
            ticks_ = cold("-t-t-t-")
            jetkvm = buffer_decisions(metrics, cold("-"), ticks_)
            assert start(size_stream(jetkvm)) == exp("-a-a-a-", {"a": 5})  # shrinks


def test_hard_limits_apply_at_once() -> None:
    """A state outside the limits (carried over from other settings) is clamped on the
    first tick, not walked back one frame at a time."""
    scheduler = TestScheduler()
    p = policy(limits=FrameLimits(min_size=3, max_size=12, default_size=6))
    metrics = scheduler.create_hot_observable(on_next(201, CALM))
    ticks_ = scheduler.create_hot_observable(on_next(202, 0))

    def create() -> rx.Observable[int]:
        summary = latency_summary(rx.never(), p)
        steps = policy_steps(metrics, summary, ticks_, p, initial_state=FeedbackState(30))
        return steps.pipe(ops.map(lambda step: step[1].input_size))

    observer = scheduler.start(create)
    assert [m.value.value for m in observer.messages] == [12]
    _, decision = p.decide(FeedbackState(30), CALM, p.initial_summary(), at(1))
    assert "(clamped from 30 to [3, 12])" in decision.reason


def calm_arrivals(stop: float, delay: float = 0.005) -> list[Event]:
    """One metrics sample and one arrival delay per second, half a second before each tick."""
    out: list[Event] = []
    for second in range(int(stop)):
        out.append((second + 0.5, "metrics", CALM))
        out.append((second + 0.5, "latency", delay))
    return out


class TestShrinking:
    def test_shrinks_one_frame_per_quiet_period_down_to_the_need(self) -> None:
        decisions = drive(policy(shrink_after=5 * S), merged(calm_arrivals(30), ticks(1, 30)))
        changes = [(d.time, d.input_size) for d in decisions if d.adjusted]
        # Quiet from the first tick (1 s): 6 -> 5 at 6 s, -> 4 at 11 s, -> 3 (min) at 16 s.
        assert changes == [(at(6), 5), (at(11), 4), (at(16), 3)]
        assert decisions[5].reason.startswith("shrink 6 -> 5: quiet for 5.0 s")

    def test_a_near_miss_restarts_the_quiet_period(self) -> None:
        p = policy(shrink_after=30 * S, jitter_window=60 * S)
        base = merged(calm_arrivals(80), ticks(1, 80))
        plain = drive(p, base)
        # One late frame (110 ms, within a frame of the 120 ms buffered) at 25.7 s: the 0.95
        # quantile of 25 peaks ignores it, so it does not grow; it restarts the quiet period.
        missed = drive(p, merged(base, [(25.7, "latency", 0.110)]))
        first_shrink = next(d.time for d in plain if d.adjusted)
        assert first_shrink == at(31)
        near = [d for d in missed if "near-miss" in d.reason]
        assert [d.time for d in near] == [at(26)]
        assert next(d.time for d in missed if d.adjusted) == at(56)

    def test_an_undone_shrink_doubles_the_next_quiet_period(self) -> None:
        p = policy(shrink_after=5 * S, startup_grace=timedelta(0))
        events = merged(calm_arrivals(50), [(7.5, "underruns", 1)], ticks(1, 50))
        decisions = drive(p, events)
        changes = [(d.time, d.input_size) for d in decisions if d.adjusted]
        # 6 -> 5 at 6 s; the underrun at 7.5 s undoes it (5 -> 8): the next shrink waits
        # 10 s (18 s), the one after it too (28 s); that one held, so back to 5 s.
        assert changes == [
            (at(6), 5),
            (at(8), 8),
            (at(18), 7),
            (at(28), 6),
            (at(33), 5),
            (at(38), 4),
            (at(43), 3),
        ]
        assert "quiet 2.0 of 10 s (x2: shrinks were undone)" in decisions[9].reason

    def test_a_growth_on_load_after_a_shrink_is_no_backoff(self) -> None:
        p = policy(shrink_after=5 * S, startup_grace=timedelta(0))
        events = merged(
            calm_arrivals(20),
            [(7.6, "metrics", SystemMetrics(90.0, 10.0)), (8.6, "metrics", CALM)],
            ticks(1, 20),
        )
        changes = [(d.time, d.input_size) for d in drive(p, events) if d.adjusted]
        # The load at 8 s needs 2 + 4 frames: 5 -> 6, a change of conditions, not a sign
        # that the shrink at 6 s was wrong, so the next shrink comes 5 s later, not 10.
        assert changes == [(at(6), 5), (at(8), 6), (at(13), 5), (at(18), 4)]

    def test_no_shrink_without_headroom(self) -> None:
        # Arrival delays of 85 ms need ceil(85 / 20) + 1 = 6 frames: the size stays at 6.
        decisions = drive(
            policy(shrink_after=2 * S), merged(calm_arrivals(20, 0.085), ticks(1, 20))
        )
        assert set(sizes(decisions)) == {6}
        assert "no headroom to shrink" in decisions[-1].reason


class TestStaleInputs:
    def test_stale_metrics_hold_still(self) -> None:
        p = policy(stale_after=timedelta(milliseconds=1500), shrink_after=2 * S)
        fresh = SystemMetrics(5.0, 10.0, at(0.5))
        events = merged(
            [(0.5, "metrics", fresh)],
            [(t + 0.4, "latency", 0.005) for t in range(10)],
            [(4.4, "latency", 0.3)],  # would need 300 / 20 + 1 = 16 frames
            ticks(1, 10),
        )
        decisions = drive(p, events)
        # The tick at 1 s sees 0.5 s old metrics; from 2.5 s on they are stale: hold at 6.
        assert sizes(decisions) == [6] * 9
        assert all("metrics stale" in d.reason for d in decisions[2:])
        # The same inputs with fresh metrics: it grows on the late frame and then shrinks.
        fresh_events = merged(
            events, [(t - 0.05, "metrics", SystemMetrics(5.0, 10.0, at(t))) for t in range(1, 10)]
        )
        assert max(sizes(drive(p, fresh_events))) == 16

    def test_fresh_metrics_after_staleness_resume_decisions(self) -> None:
        p = policy(stale_after=timedelta(milliseconds=1500))
        events = merged(
            [(0.5, "metrics", SystemMetrics(5.0, 10.0, at(0.5)))],
            [(6.5, "metrics", SystemMetrics(90.0, 10.0, at(6.5)))],
            ticks(1, 9),
        )
        decisions = drive(p, events)
        assert sizes(decisions) == [6, 6, 6, 6, 6, 6, 10, 10]
        assert "metrics stale" in decisions[3].reason

    def test_underruns_still_grow_while_metrics_are_stale(self) -> None:
        p = policy(stale_after=timedelta(milliseconds=1500))
        events = merged(
            [(0.5, "metrics", SystemMetrics(5.0, 10.0, at(0.5)))],
            [(5.5, "underruns", 1)],
            ticks(1, 8),
        )
        decisions = drive(p, events)
        assert sizes(decisions) == [6, 6, 6, 6, 6, 9, 9]
        assert "metrics stale" in decisions[5].reason


def test_every_decision_explains_itself() -> None:
    events = merged(
        calm_arrivals(30),
        [(3.5, "underruns", 1), (12.2, "latency", 0.2), (0.2, "underruns", 1)],
        ticks(1, 30),
    )
    decisions = drive(policy(shrink_after=5 * S), events)
    reasons = [d.reason for d in decisions]
    assert all(reasons)
    assert reasons[0].startswith("hold at 6: 1 start-up underrun(s) ignored")
    assert reasons[3].startswith("grow 6 -> 9: 1 underrun(s) since the last tick")
    assert reasons[8].startswith("shrink 9 -> 8: quiet for 5.0 s")
    assert reasons[12] == "grow 8 -> 11: arrival p95 200 ms needs 11"
    assert reasons[13] == "hold at 11: no headroom to shrink; arrival p95 200 ms needs 11"
    assert {d.policy for d in decisions} == {"feedback"}


# Hypothesis: whatever the inputs, growth is never undone within shrink_after.
events_strategy = st.lists(
    st.tuples(
        st.floats(0.05, 3.0),
        st.sampled_from(["metrics", "latency", "underruns", "tick", "tick"]),
        st.floats(0.0, 0.5),
    ),
    max_size=60,
)


@given(events_strategy)
@settings(max_examples=60, deadline=None)
def test_no_flapping_shrinks_wait_a_quiet_period_after_any_change(
    steps: list[tuple[float, str, float]],
) -> None:
    shrink_after = 4 * S
    p = policy(shrink_after=shrink_after, startup_grace=timedelta(0))
    now = 0.0
    events: list[Event] = [(0.0, "metrics", CALM)]
    for gap, kind, value in steps:
        now += gap
        if kind == "metrics":
            events.append((now, kind, SystemMetrics(value * 200, 10.0)))
        elif kind == "underruns":
            events.append((now, kind, 1 + int(value * 4)))
        else:
            events.append((now, kind, value))
    decisions = drive(p, events)
    last_change = None
    for d in decisions:
        assert 3 <= d.input_size <= 20 and d.input_size == d.output_size
        if d.adjusted:
            if d.combined_factor < 0 and last_change is not None:
                assert d.time - last_change >= shrink_after, d.reason
            last_change = d.time


def test_settings_build_the_policy() -> None:
    s = AdaptiveBufferSettings(policy="feedback", shrink_after="3s", load_headroom=2)
    p = FeedbackPolicy.from_settings(s)
    assert (p.params.shrink_after, p.params.load_headroom) == (3 * S, 2)
    assert p.params.stale_after == s.metrics_stale_after
