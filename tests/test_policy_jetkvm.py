"""The jetkvm policy, function by function (SPEC steps 1 to 6), with no Rx and no clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_stream.model import SystemMetrics
from adaptive_stream.policies.jetkvm import (
    JetKVMParams,
    JetKVMPolicy,
    JetKVMState,
    adapt_size,
    combine_factors,
    latency_factor,
    threshold_factor,
    update_latency_average,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MS = 1_000_000
CALM = SystemMetrics(5.0, 10.0)  # cpu and memory below their low thresholds: factor +1
BUSY = SystemMetrics(95.0, 90.0)  # above both high thresholds: factor -1


def run(policy: JetKVMPolicy, metrics: SystemMetrics, latency_ns: int, ticks: int) -> list[int]:
    state = policy.initial_state()
    sizes = []
    for _ in range(ticks):
        state, decision = policy.decide(state, metrics, latency_ns, NOW)
        sizes.append(decision.input_size)
    return sizes


class TestLatencyAverage:
    def test_first_sample_replaces_a_zero_average(self) -> None:
        assert update_latency_average(0, 15_155_000) == 15_155_000

    def test_later_samples_blend_70_30_and_truncate_to_whole_nanoseconds(self) -> None:
        # 10_000_001 * 0.7 + 3 * 0.3 = 7_000_001.6 -> truncated, not rounded
        assert update_latency_average(10_000_001, 3) == 7_000_001
        # float64 arithmetic, then int64(): 0.7 * 1 + 0.3 * 2 = 1.2999999999999998 -> 1
        assert update_latency_average(1, 2) == 1

    def test_a_zero_sample_after_a_zero_average_keeps_it_zero(self) -> None:
        assert update_latency_average(0, 0) == 0
        # ... so the next sample replaces it again, as in the original
        assert update_latency_average(0, 5) == 5


class TestFactors:
    @pytest.mark.parametrize(
        ("cpu", "expected"),
        [
            (19.999, 1.0),
            (20.0, 1.0),  # exactly low: not below, so the ramp: (40-20)/(40-20) = 1
            (30.0, 0.5),
            (40.0, 0.0),  # the midpoint
            (50.0, -0.5),
            (60.0, -1.0),  # exactly high: not above, the ramp gives -1
            (60.001, -1.0),
            (250.0, -1.0),  # summed over processes, CPU can exceed 100
        ],
    )
    def test_cpu_factor_is_a_clamped_ramp(self, cpu: float, expected: float) -> None:
        assert threshold_factor(cpu, 20.0, 60.0) == pytest.approx(expected, abs=1e-12)

    @pytest.mark.parametrize(
        ("memory", "expected"),
        [(49.0, 1.0), (50.0, 1.0), (62.5, 0.0), (75.0, -1.0), (75.5, -1.0)],
    )
    def test_memory_factor_on_thresholds_and_midpoint(self, memory: float, expected: float) -> None:
        assert threshold_factor(memory, 50.0, 75.0) == expected

    @pytest.mark.parametrize(
        ("avg_ns", "expected"),
        [
            (0, 1.0),
            (20 * MS - 1, 1.0),
            (20 * MS, 1.0),  # exactly target
            (35 * MS, 0.0),  # the midpoint, (50 + 20) / 2 ms
            (50 * MS, -1.0),  # exactly max
            (50 * MS + 1, -1.0),
        ],
    )
    def test_latency_factor_on_thresholds_and_midpoint(self, avg_ns: int, expected: float) -> None:
        assert latency_factor(avg_ns, 20 * MS, 50 * MS) == expected

    def test_latency_midpoint_uses_go_integer_division(self) -> None:
        # (3 + 0) / 2 == 1 in Go integer arithmetic; a float midpoint would give 1.5
        assert latency_factor(1, 0, 3) == 0.0
        assert latency_factor(2, 0, 3) == -1.0

    def test_combined_is_the_weighted_sum_not_the_product(self) -> None:
        p = JetKVMParams()
        assert combine_factors(1.0, 1.0, -1.0, p) == 0.5 * 1.0 + 0.3 * 1.0 + 0.2 * -1.0
        assert combine_factors(-1.0, 1.0, 1.0, p) == pytest.approx(0.0, abs=1e-15)


class TestAdaptation:
    def test_positive_factor_moves_toward_max_with_smoothing(self) -> None:
        # target = 6 + 1 * (20 - 6) = 20; new = 6 + 0.3 * 14 = 10.2
        assert adapt_size(6.0, 1.0, JetKVMParams()) == pytest.approx(10.2)

    def test_zero_factor_takes_the_shrink_branch_and_stays(self) -> None:
        assert adapt_size(6.0, 0.0, JetKVMParams()) == 6.0

    def test_result_is_clamped(self) -> None:
        p = JetKVMParams(smoothing=1.0)
        assert adapt_size(20.0, 1.0, p) == 20.0
        assert adapt_size(3.0, -1.0, p) == 3.0


class TestDecide:
    def test_climb_from_default_never_reaches_max(self) -> None:
        # SPEC step 6: 6, 10, 13, 15, 17, 18, 19 and then the dead zone holds it at 19
        assert run(JetKVMPolicy(), CALM, 0, 10) == [10, 13, 15, 17, 18, 19, 19, 19, 19, 19]

    def test_descent_from_default_never_reaches_min(self) -> None:
        # 6, 5, 4 and stays: the step from 4 toward 3 is 0.3, inside the dead zone
        assert run(JetKVMPolicy(), BUSY, 100 * MS, 6) == [5, 4, 4, 4, 4, 4]

    def test_adaptation_count_counts_only_adjustments(self) -> None:
        policy = JetKVMPolicy()
        state = policy.initial_state()
        decisions = []
        for _ in range(9):
            state, decision = policy.decide(state, CALM, 0, NOW)
            decisions.append(decision)
        assert [d.adjusted for d in decisions] == [True] * 6 + [False] * 3
        assert decisions[-1].adaptation_count == 6
        assert state == JetKVMState(19, 19, 6)

    def test_halves_round_away_from_zero(self) -> None:
        # 4 -> target 5, smoothing 0.5 -> 4.5; Go's math.Round gives 5 (Python's round: 4)
        policy = JetKVMPolicy(JetKVMParams(min_size=1, default_size=4, max_size=5, smoothing=0.5))
        state, decision = policy.decide(policy.initial_state(), CALM, 0, NOW)
        assert decision.adjusted
        assert (state.input_size, state.output_size) == (5, 5)

    def test_decision_carries_the_figures_it_used(self) -> None:
        policy = JetKVMPolicy()
        metrics = SystemMetrics(40.0, 62.5)  # both midpoints: factors 0
        _, d = policy.decide(policy.initial_state(), metrics, 35 * MS, NOW)
        assert (d.cpu_factor, d.memory_factor, d.latency_factor) == (0.0, 0.0, 0.0)
        assert d.combined_factor == 0.0
        assert not d.adjusted
        assert (d.time, d.cpu_percent, d.memory_percent) == (NOW, 40.0, 62.5)
        assert d.average_latency_ms == 35.0
        assert "hold" in d.reason and "cpu at midpoint" in d.reason

    def test_reason_names_the_factors_and_directions(self) -> None:
        policy = JetKVMPolicy()
        _, d = policy.decide(policy.initial_state(), SystemMetrics(90.0, 10.0), 0, NOW)
        assert "cpu high (-1.00)" in d.reason
        assert "memory low (+1.00)" in d.reason
        assert "latency low (+1.00)" in d.reason

    def test_reason_tells_the_ramp_from_the_thresholds(self) -> None:
        """50 % CPU is above the 40 % midpoint but under the 60 % threshold: not "high"."""
        policy = JetKVMPolicy()
        _, d = policy.decide(policy.initial_state(), SystemMetrics(50.0, 55.0), 30 * MS, NOW)
        assert "cpu above midpoint (-0.50)" in d.reason
        assert "memory below midpoint (+0.60)" in d.reason
        assert "latency below midpoint (+0.33)" in d.reason


finite = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)


@given(
    steps=st.lists(
        st.tuples(finite, st.floats(0.0, 100.0), st.integers(0, 10**10)), min_size=1, max_size=60
    ),
    sizes=st.tuples(st.integers(1, 30), st.integers(0, 30), st.integers(0, 30)).map(
        lambda t: (t[0], t[0] + t[1], t[0] + t[1] + t[2])
    ),
    smoothing=st.floats(0.01, 1.0),
)
def test_sizes_are_whole_frames_within_limits(
    steps: list[tuple[float, float, int]], sizes: tuple[int, int, int], smoothing: float
) -> None:
    low, default, high = sizes
    policy = JetKVMPolicy(
        JetKVMParams(min_size=low, default_size=default, max_size=high, smoothing=smoothing)
    )
    state = policy.initial_state()
    for cpu, mem, lat in steps:
        state, d = policy.decide(state, SystemMetrics(cpu, mem), lat, NOW)
        for size in (d.input_size, d.output_size):
            assert isinstance(size, int)
            assert low <= size <= high
        assert -1.0 <= d.combined_factor <= 1.0 + 1e-12
