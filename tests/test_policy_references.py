"""The reference policies' rules (SPEC, "What better policies know"), each in virtual time."""

from __future__ import annotations

import math

import reactivex as rx
from policy_drive import Event, at, drive, merged, sizes, ticks
from reactivex import operators as ops
from reactivex.testing.marbles import marbles_testing

from adaptive_stream import BufferDecision, SystemMetrics, buffer_decisions
from adaptive_stream.policies import NetEqPolicy, OboePolicy, PulseAudioPolicy, RocPolicy
from adaptive_stream.policies.arrivals import FrameLimits
from adaptive_stream.policies.neteq import FORGET_FACTOR, histogram_quantile

CALM = SystemMetrics(5.0, 10.0)
LIMITS = FrameLimits()


def size_stream(decisions: rx.Observable[BufferDecision]) -> rx.Observable[int]:
    return decisions.pipe(ops.map(lambda d: d.input_size))


def arrivals(stop: float, delay: float, start: float = 0.0) -> list[Event]:
    """Metrics and one arrival delay per second, at .5, before the ticks at whole seconds."""
    out: list[Event] = []
    for second in range(int(start), int(stop)):
        out.append((second + 0.5, "metrics", CALM))
        out.append((second + 0.5, "latency", delay))
    return out


class TestOboe:
    def test_ignores_the_first_8_calls_then_plus_one_per_rise_never_shrinks(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m------------------------", {"m": CALM})
            underruns = cold("u-u-------------u-u-u----", {"u": 5})
            ticks_ = cold("-t-t-t-t-t-t-t-t-t-t-t-t-")  # calls 1..12 at 1, 3, ... 23 s
            out = buffer_decisions(
                metrics, cold("-"), ticks_, policy=OboePolicy(LIMITS), underruns=underruns
            )
            # Calls 1-8 ignore the underruns at 0 and 2 s; the rises at 16, 18, 20 s add one
            # frame each (5 underruns at once still add one), and nothing ever shrinks.
            expected = exp("-a-a-a-a-a-a-a-a-b-c-d-d-", {"a": 6, "b": 7, "c": 8, "d": 9})
            assert start(size_stream(out)) == expected


class TestPulseAudio:
    def test_grows_one_frame_per_underrun(self) -> None:
        events = merged(arrivals(6, 0.005), [(2.2, "underruns", 3)], ticks(1, 6))
        decisions = drive(PulseAudioPolicy(LIMITS), events)
        assert sizes(decisions) == [6, 6, 7, 7, 7]
        assert decisions[2].reason.startswith("grow 6 -> 7: underrun")

    def test_shrinks_after_20_s_with_more_than_100_ms_left(self) -> None:
        # 10 frames (200 ms) with 10 ms arrival delays: 190 ms left. After 20 s -> 9; then
        # 170, 150, 130, 110 ms left keep shrinking every 20 s; at 5 frames 90 ms are left.
        limits = LIMITS._replace(default_size=10)
        events = merged(arrivals(140, 0.010), ticks(1, 140))
        decisions = drive(PulseAudioPolicy(limits), events)
        changes = [(d.time, d.input_size) for d in decisions if d.adjusted]
        assert changes == [(at(21), 9), (at(41), 8), (at(61), 7), (at(81), 6), (at(101), 5)]

    def test_a_near_miss_restarts_the_20_s(self) -> None:
        limits = LIMITS._replace(default_size=10)
        events = merged(arrivals(50, 0.010), [(15.7, "latency", 0.110)], ticks(1, 50))
        decisions = drive(PulseAudioPolicy(limits), events)
        # 200 - 110 = 90 ms left at 16 s: near-miss; the first shrink waits until 36 s.
        assert "near-miss, 90 ms left" in decisions[15].reason
        assert [d.time for d in decisions if d.adjusted] == [at(36)]


class TestNetEq:
    def test_the_histogram_forgets_at_0_983_per_update(self) -> None:
        # All weight starts on 6 frames; every tick adds a peak that 5 frames cover. The
        # 0.95 quantile moves to 5 once 0.983**n <= 0.05, i.e. at update n = 175.
        n = math.ceil(math.log(0.05) / math.log(FORGET_FACTOR))
        assert n == 175
        events = merged(arrivals(180, 0.085), ticks(1, 180))
        decisions = drive(NetEqPolicy(LIMITS), events)
        assert sizes(decisions)[: n - 1] == [6] * (n - 1)
        assert sizes(decisions)[n - 1 :] == [5] * (180 - n)

    def test_jumps_once_a_long_delay_holds_5_percent_of_the_weight(self) -> None:
        # Three peaks of 300 ms (15 frames) hold 1 - 0.983**3 = 5.01 % of the weight.
        events = merged(arrivals(6, 0.3), ticks(1, 6))
        assert sizes(drive(NetEqPolicy(LIMITS), events)) == [6, 6, 15, 15, 15]

    def test_quantile_of_a_histogram(self) -> None:
        assert histogram_quantile((0.0, 0.5, 0.5), 0.5) == 1
        assert histogram_quantile((0.0, 0.5, 0.5), 0.95) == 2

    def test_ticks_without_arrivals_change_nothing(self) -> None:
        events = merged([(0.5, "metrics", CALM)], ticks(1, 5))
        decisions = drive(NetEqPolicy(LIMITS), events)
        assert sizes(decisions) == [6, 6, 6, 6]
        assert decisions[0].reason == "hold at 6: no arrival delays this tick"


class TestRoc:
    def test_grows_by_1_35_while_the_estimate_exceeds_the_size(self) -> None:
        # 200 ms peaks: estimate max(200 x 1.15, 200 x 3) = 600 ms; 6 -> 9 -> 13 -> 18 -> 20
        events = merged(arrivals(6, 0.2), ticks(1, 6))
        assert sizes(drive(RocPolicy(LIMITS), events)) == [9, 13, 18, 20, 20]

    def test_shrinks_over_1_7x_the_estimate_but_not_within_15_s_of_growing(self) -> None:
        events = merged(arrivals(2, 0.06), arrivals(40, 0.005, start=2), ticks(1, 40))
        decisions = drive(RocPolicy(LIMITS), events)
        # 60 ms: estimate 180 ms > 120 ms: 6 -> 9 at 1 s, then 180 ms is not above 180.
        # From 12 s the 60 ms peaks are out of the 10 s window: estimate 15 ms, and
        # 180 ms > 1.7 x 15 ms, but the 15 s cooldown holds until 16 s; then it steps down
        # by x1.35/1.7 (at least a frame) each tick until 3 frames (60 ms > 25.5 ms still).
        changes = [(d.time, d.input_size) for d in decisions if d.adjusted]
        assert changes == [
            (at(1), 9),
            (at(16), 7),
            (at(17), 6),
            (at(18), 5),
            (at(19), 4),
            (at(20), 3),
        ]
        assert "no shrinking within 15 s of growing" in decisions[13].reason


class TestMarbles:
    """One rule of each reference, as marbles (one marble is one second)."""

    def test_pulseaudio_grows_one_frame_per_underrun(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m------", {"m": CALM})
            underruns = cold("--u-u--", {"u": 4})
            out = buffer_decisions(
                metrics,
                cold("-"),
                cold("-t-t-t-"),
                policy=PulseAudioPolicy(LIMITS),
                underruns=underruns,
            )
            assert start(size_stream(out)) == exp("-a-b-c-", {"a": 6, "b": 7, "c": 8})

    def test_neteq_jumps_to_the_quantile(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m------", {"m": CALM})
            latency = cold("l-l-l--", {"l": 0.3})
            out = buffer_decisions(metrics, latency, cold("-t-t-t-"), policy=NetEqPolicy(LIMITS))
            assert start(size_stream(out)) == exp("-a-a-b-", {"a": 6, "b": 15})

    def test_roc_grows_by_1_35(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m------", {"m": CALM})
            latency = cold("l-l-l--", {"l": 0.2})
            out = buffer_decisions(metrics, latency, cold("-t-t-t-"), policy=RocPolicy(LIMITS))
            assert start(size_stream(out)) == exp("-a-b-c-", {"a": 9, "b": 13, "c": 18})
