"""The quality policy's defining behaviours: the decision as a pure function (ticks driven by
hand, time passed in), through the real pipeline in virtual time (marbles), and its
invariants (hypothesis)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from datetime import timedelta

import reactivex as rx
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_drive import at
from reactivex import operators as ops
from reactivex.testing.marbles import marbles_testing

from adaptive_stream import (
    AdaptiveBufferManager,
    BufferDecision,
    SystemMetrics,
    buffer_decisions,
    load_settings,
    make_policy,
)
from adaptive_stream.policies import QualityPolicy
from adaptive_stream.policies.arrivals import ArrivalSummary, FrameLimits
from adaptive_stream.policies.quality import (
    DRAIN_MIN,
    DRAIN_TICKS,
    RAMP_AHEAD,
    RAMP_TICKS,
    REVERSAL_GUARD,
    QualityParams,
    QualityState,
)

FRAME = 20_000_000  # ns
CALM = SystemMetrics(10.0, 30.0)
BUSY = SystemMetrics(95.0, 30.0)

Delays = Callable[[int], list[int]]


def policy(**changes: object) -> QualityPolicy:
    return QualityPolicy(QualityParams()._replace(**changes))


def run(
    p: QualityPolicy,
    seconds: float,
    delays: Delays,
    metrics: Callable[[int], SystemMetrics] = lambda _: CALM,
    *,
    state: QualityState | None = None,
    summary: ArrivalSummary | None = None,
    start_tick: int = 0,
    stamp: bool = True,
) -> tuple[QualityState, ArrivalSummary, list[BufferDecision]]:
    """Tick every 500 ms for ``seconds``; ``delays(tick)`` gives the arrival delays (ns) that
    came before tick ``tick``, ``metrics(tick)`` the metrics sampled at it."""
    state = state or p.initial_state()
    summary = summary or p.initial_summary()
    out: list[BufferDecision] = []
    for tick in range(start_tick, start_tick + round(seconds * 2)):
        now = at(0.5 * (tick + 1))
        summary = p.update_latency_batch(summary, delays(tick))
        sample = metrics(tick)
        sample = sample._replace(sampled_at=now) if stamp else sample
        state, decision = p.decide(state, sample, summary, now)
        assert decision is not None
        out.append(decision)
    return state, summary, out


def steady(delay_ms: float) -> Delays:
    return lambda _tick: [round(delay_ms * 1e6)] * 25


def with_outages(every_s: float, length_s: float, base_ms: float = 10.0) -> Delays:
    """25 frames per tick; every ``every_s`` an outage holds ``length_s`` of frames, which
    then arrive at once (in order: each as late as the outage left it)."""

    def delays(tick: int) -> list[int]:
        t0 = tick * 0.5
        out: list[int] = []
        for k in range(25):
            captured = t0 + k * 0.02
            phase = captured % every_s
            held = length_s - phase if phase < length_s else 0.0
            out.append(round((base_ms / 1e3 + held) * 1e9))
        return out

    return delays


def spiky(seed: int, busy: Callable[[int], bool]) -> Delays:
    """Delays of 10 ms, with stalls of about 150 ms several times a second while busy."""
    rng = random.Random(seed)

    def delays(tick: int) -> list[int]:
        out = []
        stall = 0.0
        for _ in range(25):
            if busy(tick) and stall <= 0 and rng.random() < 0.08:
                stall = rng.expovariate(1 / 0.15)
            out.append(round((0.01 + max(0.0, stall)) * 1e9))
            stall -= 0.02
        return out

    return delays


def sizes(decisions: Iterable[BufferDecision]) -> list[int]:
    return [d.input_size for d in decisions]


class TestTheTrade:
    def test_a_clean_network_shrinks_to_the_smallest_size(self) -> None:
        _, _, out = run(policy(), 20, steady(5))
        assert set(sizes(out)) == {3}
        assert not any(d.adjusted for d in out)

    def test_a_steady_delay_is_covered(self) -> None:
        # 150 ms on every frame: 8 frames cover it (160 ms), 7 would lose every frame.
        _, _, out = run(policy(), 20, steady(150))
        assert out[-1].input_size == 8

    def test_outages_longer_than_any_buffer_do_not_grow_it(self) -> None:
        # A 2 s outage every 20 s: 20 frames (the maximum) would save 20 of its 100 late
        # frames for 280 ms more delay on every frame; not worth it. (The first outage
        # comes 10 s in: one at the very start is a start-up stall.)
        outages = with_outages(20, 2.0)
        _, _, out = run(policy(), 120, lambda tick: outages(tick + 20))
        assert max(sizes(out)) <= 6
        assert out[-1].input_size == 3

    def test_frequent_short_stalls_grow_it(self) -> None:
        _, _, out = run(policy(), 30, spiky(1, lambda _: True))
        assert out[-1].input_size >= 8
        grow = next(d for d in out if d.adjusted and d.input_size > 6)
        assert grow.reason.startswith("grow 3 -> ")
        assert "late" in grow.reason
        assert " R " in grow.reason


class TestRamps:
    def test_a_filling_queue_is_covered_ahead_of_its_rise(self) -> None:
        # 10 ms of base delay, then from 10 s a queue filling at 40 ms/s (20 ms per tick).
        def ramp(tick: int) -> list[int]:
            rise_ms = max(0, tick - 20) * 20.0
            return [round((10 + rise_ms + k * 0.8) * 1e6) for k in range(25)]

        _, _, out = run(policy(), 16, ramp)
        grow = next(d for d in out if "ramp" in d.reason)
        tick = out.index(grow)
        assert tick == 20 + RAMP_TICKS  # the base delay rose on RAMP_TICKS ticks in a row
        largest_ms = 10 + (tick - 20) * 20.0 + 24 * 0.8
        ahead_ms = largest_ms + 40 * RAMP_AHEAD.total_seconds()
        assert grow.input_size == math.ceil(ahead_ms / 20)
        assert grow.reason.startswith(f"grow {out[tick - 1].input_size} -> ")
        assert "rises 40 ms/s" in grow.reason

    def test_jitter_without_a_rise_is_no_ramp(self) -> None:
        _, _, out = run(policy(), 60, spiky(2, lambda _: True))
        assert not any("ramp" in d.reason for d in out)


def step(high_ms: float, low_ms: float, until_tick: int, jitter_ms: float = 0.0) -> Delays:
    """25 frames per tick at ``high_ms`` (plus up to ``jitter_ms``) before ``until_tick``,
    at ``low_ms`` (plus the same jitter) from it on."""

    def delays(tick: int) -> list[int]:
        base = high_ms if tick < until_tick else low_ms
        return [round((base + jitter_ms * (k % 5) / 4) * 1e6) for k in range(25)]

    return delays


class TestDrains:
    def test_a_queue_that_drains_is_followed_down_at_once(self) -> None:
        # 300 ms of queue for 15 s (15 frames cover it), then a 10 ms path.
        _, _, out = run(policy(), 25, step(300, 10, 30))
        assert out[29].input_size == 15
        shrink = out[30]
        assert shrink.input_size == 3
        assert shrink.reason.startswith("shrink 15 -> 3: ")
        assert "the smallest delay fell 290 ms below the last 7 ticks'" in shrink.reason
        assert "the delays learned since moved down 14 frames" in shrink.reason
        assert set(sizes(out[30:])) == {3}

    def test_the_path_s_own_jitter_from_before_the_queue_stays(self) -> None:
        # 10 ms delays with one in ten frames at 110 ms (6 frames cover them; the spikes
        # come on odd ticks) for 20 s, then 8 s of a standing queue (310 ms on every frame),
        # then the same jittery path: the queue's delays move down, the jitter learned
        # before it does not. (Moving that too would shrink to 3 on the drain's tick, which
        # has no spike, and grow back on the next.)
        def path(tick: int) -> list[int]:
            if 40 <= tick < 56:
                return steady(310)(tick)
            spikes = tick % 2 == 1
            return [round((10 + 100 * (spikes and k % 5 == 4)) * 1e6) for k in range(25)]

        _, _, out = run(policy(), 35, path)
        drain = out[56]
        assert "queue drained" in drain.reason
        assert drain.input_size == 6
        assert set(sizes(out[56:])) == {6}

    def test_without_the_move_the_old_delays_hold_the_size_up(self) -> None:
        # The same path falling by less than DRAIN_MIN each time (50 ms steps down): the
        # delays learned stay, and the size comes down only as they are forgotten.
        below = DRAIN_MIN.total_seconds() * 1e3 - 10

        def stairs(tick: int) -> list[int]:
            level = 300 - below * max(0, (tick - 30) // (DRAIN_TICKS + 1) + 1)
            return steady(max(10.0, level))(tick) if tick >= 30 else steady(300)(tick)

        _, _, out = run(policy(), 25, stairs)
        assert not any("queue drained" in d.reason for d in out)
        assert out[31].input_size > 3

    def test_a_fall_right_after_a_growth_waits_for_the_guard_then_shrinks_at_once(
        self,
    ) -> None:
        # 300 ms for 5 s (the last growth within REVERSAL_GUARD), then 10 ms: the guard holds
        # the size until it has passed; then the moved histogram shrinks it at once, not
        # after the 20 s it would take to forget 300 ms.
        drain = DRAIN_TICKS + 2
        _, _, out = run(policy(), 15, step(300, 10, drain))
        grew = max(i for i, d in enumerate(out[:drain]) if d.adjusted)
        guard_ticks = round(REVERSAL_GUARD.total_seconds() * 2)
        assert drain - grew < guard_ticks
        assert "queue drained" in out[drain].reason
        assert "no shrinking within" in out[drain].reason
        assert {d.input_size for d in out[drain : grew + guard_ticks]} == {out[grew].input_size}
        assert out[grew + guard_ticks].input_size == 3

    def test_jitter_whose_floor_moves_less_than_drain_min_moves_nothing(self) -> None:
        # Spiky delays over a 10 ms floor: the tick minimum wanders, never by DRAIN_MIN.
        _, _, out = run(policy(), 60, spiky(3, lambda _: True))
        assert not any("queue drained" in d.reason for d in out)

    def test_every_condition_s_delays_move_down(self) -> None:
        # Busy spells taught a 300 ms path too; after the drain, a busy spell starts from
        # the moved histogram, not from the old delays.
        def metrics(tick: int) -> SystemMetrics:
            return BUSY if 10 <= tick < 20 or tick >= 40 else CALM

        _, _, out = run(policy(), 25, step(300, 10, 30), metrics)
        assert out[30].input_size == 3
        assert max(sizes(out[40:])) == 3


class TestConditions:
    def test_busy_spells_reuse_what_the_last_one_taught(self) -> None:
        def busy(tick: int) -> bool:
            return 40 <= tick < 80 or 140 <= tick < 180  # 20-40 s and 70-90 s

        p = policy()
        _, _, out = run(p, 100, spiky(3, busy), lambda tick: BUSY if busy(tick) else CALM)
        by_tick = sizes(out)
        # The second spell grows on its first tick, from what the first one taught.
        assert by_tick[140] > by_tick[139]
        assert "cpu busy" in out[140].reason
        # And calm again shrinks on the first calm tick, without the reversal guard.
        assert by_tick[180] < by_tick[179]
        assert out[180].reason.startswith("shrink") and "calm" in out[180].reason

    def test_a_threshold_crossed_by_noise_does_not_switch(self) -> None:
        p = policy()
        state = p.initial_state()
        assert p._condition(SystemMetrics(61.0, 30.0), 0) == 1
        assert p._condition(SystemMetrics(55.0, 30.0), 1) == 1  # above the middle (40)
        assert p._condition(SystemMetrics(39.0, 30.0), 1) == 0
        assert p._condition(SystemMetrics(10.0, 80.0), state.condition) == 2


class TestGuards:
    def test_the_override_is_the_size_before_and_at_every_tick(self) -> None:
        pinned = make_policy(load_settings(policy="quality", buffer_size_override=11))
        assert pinned.sizes(pinned.initial_state()).input_size == 11
        p = policy()
        summary, pinned_state = p.initial_summary(), pinned.initial_state()
        for tick in range(10):
            now = at(0.5 * (tick + 1))
            summary = p.update_latency_batch(summary, steady(300)(tick))
            pinned_state, decision = pinned.decide(
                pinned_state, CALM._replace(sampled_at=now), summary, now
            )
            assert decision is not None
            assert (decision.input_size, decision.output_size) == (11, 11)
        assert decision.reason == "hold at 11: buffer_size_override pins both sizes"

    def test_no_metrics_is_no_decision(self) -> None:
        p = policy()
        state, summary = p.initial_state(), p.update_latency_batch(p.initial_summary(), [FRAME])
        assert p.decide(state, None, summary, at(1)) == (state, None)

    def test_hard_limits_apply_at_once(self) -> None:
        p = policy(limits=FrameLimits(min_size=3, max_size=12, default_size=6))
        _, _, out = run(p, 0.5, lambda _: [], state=QualityState(30))
        assert out[0].input_size == 12
        assert "(clamped from 30 to [3, 12])" in out[0].reason

    def test_stale_metrics_forbid_shrinking(self) -> None:
        p = policy()
        state, summary, _ = run(p, 5, steady(5), stamp=True)
        old = CALM._replace(sampled_at=at(0))
        for tick in range(10, 30):
            now = at(0.5 * (tick + 1))
            summary = p.update_latency_batch(summary, steady(5)(tick))
            state, decision = p.decide(state, old, summary, now)
            assert decision is not None
            assert decision.input_size >= 6 or not decision.adjusted
        assert "metrics stale" in decision.reason

    def test_no_shrink_soon_after_growing_in_the_same_condition(self) -> None:
        # Clean delays say 3 frames; it grew to 12 a second ago in this condition: it holds
        # until the guard has passed, then shrinks.
        p = policy()
        clean = (0.0, 1000.0) + (0.0,) * 20
        grown = QualityState(12, histograms=(clean, None, None, None), grew_at=at(9))
        summary = p.update_latency_batch(p.initial_summary(), [5_000_000] * 25)
        now = at(10)
        _, held = p.decide(grown, CALM._replace(sampled_at=now), summary, now)
        assert held is not None
        assert held.input_size == 12
        guard_s = REVERSAL_GUARD.total_seconds()
        assert f"grew 1.0 s ago, no shrinking within {guard_s:g} s" in held.reason
        later = at(9) + REVERSAL_GUARD
        _, shrunk = p.decide(grown, CALM._replace(sampled_at=later), summary, later)
        assert shrunk is not None
        assert shrunk.input_size < 12
        # A change of condition since the growth lifts the guard.
        busy_then = grown._replace(grew_in=1, condition=1, histograms=(clean, clean, None, None))
        _, calm_now = p.decide(busy_then, CALM._replace(sampled_at=now), summary, now)
        assert calm_now is not None
        assert calm_now.input_size < 12

    def test_a_silence_long_enough_to_forget_everything_holds(self) -> None:
        # A 1 s memory at a 2 s interval keeps 37 % a tick: after a few minutes without an
        # arrival the histogram's weight is 0.0 exactly. Nothing to judge by: it holds.
        p = policy(memory=timedelta(seconds=1), interval=timedelta(seconds=2))
        state, summary, _ = run(p, 5, steady(30))
        state, _, out = run(p, 300, lambda _tick: [], state=state, summary=summary, start_tick=10)
        assert sum(state.histograms[0] or ()) < 1.0
        assert {d.input_size for d in out} == {state.size}
        assert out[-1].reason.startswith(f"hold at {state.size}: no recent arrival delays")

    def test_without_arrival_delays_underruns_grow_one_frame(self) -> None:
        p = policy()
        state, summary = p.initial_state(), p.initial_summary()
        state, _ = p.decide(state, CALM._replace(sampled_at=at(0.5)), summary, at(0.5))
        summary = p.update_underruns(summary, 3)
        state, decision = p.decide(state, CALM._replace(sampled_at=at(3)), summary, at(3))
        assert decision is not None
        assert decision.input_size == 4
        assert "no arrival delays" in decision.reason


class TestMarbles:
    """One marble is one second; the pipeline wires the policy as for the other ones."""

    def test_the_override_wins_at_once_through_the_pipeline(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("b------", {"b": BUSY})
            underruns = cold("---u---", {"u": 9})
            latency = cold("l------", {"l": 0.3})
            ticks_ = cold("-t-t-t-")
            pinned = make_policy(load_settings(policy="quality", buffer_size_override=4))
            out = buffer_decisions(metrics, latency, ticks_, policy=pinned, underruns=underruns)
            sizes_ = out.pipe(ops.map(lambda d: d.input_size))
            assert start(sizes_) == exp("-a-a-a-", {"a": 4})

    def test_a_start_up_stall_is_not_learned_through_the_pipeline(self) -> None:
        # The first delay, 400 ms, says 20 frames waited for the start-up: these three are
        # among them, so it holds at its start, the smallest size.
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m------", {"m": CALM})
            latency = cold("l-l-l--", {"l": 0.4})
            ticks_ = cold("-t-t---")
            out = buffer_decisions(metrics, latency, ticks_, policy=policy())
            sizes_ = out.pipe(ops.map(lambda d: d.input_size))
            assert start(sizes_) == exp("-a-a---", {"a": 3})


def test_the_manager_and_the_pure_function_decide_alike() -> None:
    """The live manager's first size is the policy's initial size (the simulator starts
    there too), and the settings build the same parameters."""
    settings_ = load_settings(policy="quality", quality_memory="30s")
    p = QualityPolicy.from_settings(settings_)
    assert p.params.memory == timedelta(seconds=30)
    from reactivex.testing import TestScheduler

    manager = AdaptiveBufferManager(settings_, metrics=rx.never(), scheduler=TestScheduler())
    seen: list[int] = []
    manager.sizes.subscribe(lambda s: seen.append(s.input_size))
    assert seen == [p.sizes(p.initial_state()).input_size] == [3]


def test_the_live_manager_decides_as_the_pure_function() -> None:
    """The same arrival delays and metrics, through AdaptiveBufferManager on a TestScheduler
    and through decide() by hand: the same sizes and reasons, tick for tick."""
    from reactivex.subject import Subject
    from reactivex.testing import TestScheduler

    from adaptive_stream.pipeline import to_nanoseconds

    settings_ = load_settings(policy="quality")
    rng = random.Random(4)
    batches = [
        [
            0.01
            + (rng.expovariate(1 / 0.12) if rng.random() < (0.1 if 40 <= t < 80 else 0.01) else 0)
            for _ in range(25)
        ]
        for t in range(120)
    ]

    def metrics_at(tick: int) -> SystemMetrics:
        return BUSY if 40 <= tick < 80 else CALM

    scheduler = TestScheduler()
    metrics: Subject[SystemMetrics] = Subject()
    manager = AdaptiveBufferManager(settings_, metrics=metrics, scheduler=scheduler)
    live: list[BufferDecision] = []
    manager.decisions.subscribe(live.append)
    manager.start()
    for tick, batch in enumerate(batches):
        scheduler.advance_to(0.5 * tick + 0.25)
        metrics.on_next(metrics_at(tick))
        for delay in batch:
            manager.update_latency(delay)
    scheduler.advance_to(0.5 * len(batches) + 0.1)
    manager.stop()

    p = QualityPolicy.from_settings(settings_)
    state, summary = p.initial_state(), p.initial_summary()
    pure: list[BufferDecision] = []
    for tick, batch in enumerate(batches):
        summary = p.update_latency_batch(summary, [to_nanoseconds(d) or 0 for d in batch])
        state, decision = p.decide(state, metrics_at(tick), summary, at(0.5 * (tick + 1)))
        assert decision is not None
        pure.append(decision)
    assert [(d.time, d.input_size, d.reason) for d in live] == [
        (d.time, d.input_size, d.reason) for d in pure
    ]
    assert len({d.input_size for d in live}) > 2  # it did adapt


delay_batches = st.lists(
    st.tuples(
        st.lists(st.integers(0, 3_000_000_000), max_size=40),  # delays up to 3 s
        st.floats(0, 100),  # cpu
        st.floats(0, 100),  # memory
        st.integers(0, 5),  # underruns
        st.booleans(),  # metrics stale
    ),
    max_size=60,
)


@given(
    limits=st.tuples(st.integers(1, 10), st.integers(0, 10), st.integers(0, 10)),
    raw=delay_batches,
    memory_s=st.sampled_from([1, 20, 600]),
    interval_s=st.sampled_from([0.1, 0.5, 2.0]),
)
@settings(max_examples=60, deadline=None)
def test_sizes_stay_in_limits_and_the_same_inputs_give_the_same_decisions(
    limits: tuple[int, int, int],
    raw: list[tuple[list[int], float, float, int, bool]],
    memory_s: int,
    interval_s: float,
) -> None:
    low = limits[0]
    default = low + limits[1]
    high = default + limits[2]
    frame_limits = FrameLimits(min_size=low, max_size=high, default_size=default)

    def decisions() -> list[BufferDecision]:
        p = policy(
            limits=frame_limits,
            memory=timedelta(seconds=memory_s),
            interval=timedelta(seconds=interval_s),
        )
        state, summary = p.initial_state(), p.initial_summary()
        out = []
        for tick, (delays, cpu, memory, underruns, stale) in enumerate(raw):
            now = at(0.5 * (tick + 1))
            summary = p.update_latency_batch(summary, delays)
            if underruns:
                summary = p.update_underruns(summary, underruns)
            sampled = at(0) if stale else now
            state, decision = p.decide(state, SystemMetrics(cpu, memory, sampled), summary, now)
            assert decision is not None
            out.append(decision)
        return out

    first, again = decisions(), decisions()
    assert [tuple(d) for d in first] == [tuple(d) for d in again]
    for decision in first:
        assert low <= decision.input_size == decision.output_size <= high
        assert decision.reason


def stall_then_steady(stall_ms: float, at_tick: int) -> Delays:
    """20 ms delays, but the frames of tick ``at_tick`` start with a stall of ``stall_ms``:
    the frames captured during it arrive together when it ends."""
    held = round(stall_ms / 20)

    def delays(tick: int) -> list[int]:
        if tick != at_tick:
            return [20_000_000] * 25
        return [round((stall_ms - 20 * k + 20) * 1e6) for k in range(held)] + [20_000_000] * (
            25 - held
        )

    return delays


class TestStartUp:
    """The delays of the frames captured before the first one arrived are the start-up
    stall's (device open, first packets), not the network's: they are not learned."""

    def test_a_start_up_stall_is_not_learned(self) -> None:
        p = policy()
        _, _, out = run(p, 20, stall_then_steady(300, at_tick=0))
        assert set(sizes(out)) == {3}

    def test_the_same_stall_later_is(self) -> None:
        p = policy()
        _, _, out = run(p, 20, stall_then_steady(300, at_tick=4))
        assert max(sizes(out)) > 3

    def test_only_the_first_tick_s_delays_can_be_start_up_ones(self) -> None:
        # A caller that reports one 400 ms delay a tick: only the first one is taken for a
        # start-up stall's; the next ten are evidence enough to cover 400 ms (20 frames).
        _, _, out = run(policy(), 8, lambda _tick: [400_000_000])
        assert sizes(out)[:10] == [3] * 10
        assert out[-1].input_size == 20

    def test_one_early_stall_is_weighed_against_a_clean_prior(self) -> None:
        # A 250 ms stall 1 s in: 12 late frames among the first 75. Alone they read as a
        # sixth of all frames late, and it grew to cover the stall (14 frames); against the
        # prior's 2 s of a clean path, to 8.
        _, _, out = run(policy(), 20, stall_then_steady(250, at_tick=2))
        assert sizes(out)[:2] == [3, 3]
        assert 3 < max(sizes(out)) <= 8

    def test_stalls_that_recur_are_covered_all_the_same(self) -> None:
        outages = with_outages(3.0, 0.25)
        _, _, out = run(policy(), 20, lambda tick: outages(tick + 2))
        assert out[-1].input_size >= 8

    def test_a_start_below_the_path_delay_grows_at_the_first_tick(self) -> None:
        # 150 ms on every frame from the start: the first tick's frames are enough to go to 8.
        p = policy()
        _, _, out = run(p, 5, steady(150))
        assert out[0].input_size == 8
        assert out[0].reason.startswith("grow 3 -> 8")
