"""The runner: the fixed policy, best-fixed in hindsight, and the same results on any executor."""

from __future__ import annotations

import itertools
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive_stream import load_settings
from adaptive_stream.policies import POLICIES, make_policy
from adaptive_stream.simulation import Phase, Scenario, figures_of, simulate
from adaptive_stream.simulation.audio_path import AudioPath, plan_audio_path
from adaptive_stream.simulation.emodel import burst_ratio, loss_percent
from adaptive_stream.simulation.figures import audible, quality
from adaptive_stream.simulation.hindsight import _needed_sizes, _score, best_fixed, fixed_run
from adaptive_stream.simulation.runs import (
    BEST_FIXED,
    FIGURE_KEYS,
    best_fixed_figures,
    compare_runs,
    mean_figures,
    run_figures,
)

S = timedelta(seconds=1)
CALM = Phase("calm", 5 * S)
BUSY = Phase("busy", 5 * S, cpu_percent=95.0)
BURSTY = Phase("bursty", 5 * S, burst_rate=2.0, jitter=timedelta(milliseconds=15))
SHORT = Scenario("short", (CALM, BUSY, BURSTY), seed=2)
OTHER = Scenario("other", (BURSTY, CALM), seed=5)


class TestFixedPolicy:
    def test_registered_and_never_adapts(self) -> None:
        assert POLICIES["fixed"].__name__ == "FixedPolicy"
        run = simulate(SHORT, load_settings(policy="fixed", default_buffer_size=9))
        assert run.initial_size == 9
        assert {d.input_size for d in run.decisions} == {9}
        assert not any(d.adjusted for d in run.decisions)
        assert all("fixed policy" in d.reason for d in run.decisions)
        assert run.late > 0 and run.dropped == run.stretched == 0

    def test_holds_within_the_limits(self) -> None:
        policy = make_policy(load_settings(policy="fixed", default_buffer_size=4))
        assert policy.sizes(policy.initial_state()).input_size == 4


@settings(max_examples=12, deadline=None)
@given(size=st.integers(1, 25), seed=st.integers(0, 50))
def test_fixed_run_is_the_closed_loop_with_the_fixed_policy(size: int, seed: int) -> None:
    scenario = SHORT.with_seed(seed)
    config = load_settings(
        policy="fixed", min_buffer_size=1, default_buffer_size=size, max_buffer_size=25
    )
    closed = simulate(scenario, config)
    direct = fixed_run(scenario, plan_audio_path(scenario, 20_000), size)
    assert figures_of(direct) == figures_of(closed)
    assert direct.playout == closed.playout
    assert direct.heard_from == closed.heard_from
    assert direct.end_us == closed.end_us


#: 10 s on a 200 ms route, then 10 s on a 20 ms one: a buffer under 10 frames plays
#: nothing on the first route.
SLOW_ROUTE = Scenario(
    "slow-route",
    (
        Phase("slow", 10 * S, network_delay=timedelta(milliseconds=200)),
        Phase("fast", 10 * S, network_delay=timedelta(milliseconds=20)),
    ),
    startup=2 * S,
)


class TestHeardFrom:
    """The call is heard from the first frame played or the end of the start-up window,
    whichever comes first."""

    def test_a_buffer_silent_past_the_start_up_window_pays_for_it(self) -> None:
        path = plan_audio_path(SLOW_ROUTE, 20_000)
        silent = figures_of(fixed_run(SLOW_ROUTE, path, 5))
        # 10 s late, 10 s played: half the call is lost, though nothing before it was played.
        assert silent.late >= 490
        assert 45.0 < silent.loss_percent < 55.0
        assert silent.r_factor < 30.0
        size, best = best_fixed(SLOW_ROUTE, path, 3, 20)
        assert size == 11 and best.loss_percent < 0.5

    def test_late_frames_within_the_start_up_window_stay_a_start_up_transient(self) -> None:
        stall = Scenario("stall", (CALM,), startup_delay=timedelta(milliseconds=300), startup=S)
        run = fixed_run(stall, plan_audio_path(stall, 20_000), 3)
        assert run.late > 10
        assert figures_of(run).loss_percent == 0.0

    @pytest.mark.parametrize("size", [3, 5, 11, 30])
    def test_the_closed_loop_marks_the_same_slot(self, size: int) -> None:
        config = load_settings(
            policy="fixed", min_buffer_size=1, default_buffer_size=size, max_buffer_size=30
        )
        closed = simulate(SLOW_ROUTE, config)
        direct = fixed_run(SLOW_ROUTE, plan_audio_path(SLOW_ROUTE, 20_000), size)
        assert closed.heard_from == direct.heard_from == max(0, 100 - size)
        assert figures_of(closed) == figures_of(direct)


def test_lost_frames_are_told_apart_alike_by_the_fixed_playout_and_the_closed_loop() -> None:
    path = plan_audio_path(SHORT, 20_000)
    lossy = path._replace(lost=frozenset({10, 11, 400}))
    config = load_settings(policy="fixed", default_buffer_size=6)
    closed = simulate(SHORT, config, path=lossy)
    direct = fixed_run(SHORT, lossy, 6)
    assert closed.lost == direct.lost == 3
    assert figures_of(direct) == figures_of(closed)
    assert closed.playout[10:12] == "xx"
    assert len(closed.underrun_us) == closed.late


def hand_path(delays_ms: list[int], lost: set[int]) -> AudioPath:
    """Frames 20 ms apart, arriving ``delays_ms`` after capture (in order)."""
    capture = [k * 20_000 for k in range(len(delays_ms))]
    arrival = list(
        itertools.accumulate((c + d * 1000 for c, d in zip(capture, delays_ms, strict=True)), max)
    )
    return AudioPath(20_000, tuple(capture), tuple(arrival), frozenset(lost))


class TestALostFrame:
    """Missing at its slot: lost (concealment, no underrun) when a later frame has arrived
    by then, as a receiver tells (``adaptive_stream.webrtc``'s playout); late otherwise."""

    def test_a_later_frame_arrived_so_it_is_lost_not_an_underrun(self) -> None:
        path = hand_path([10] * 10, {3})  # frame 4 arrives at 90 ms; frame 3's slot is 100 ms
        assert path.later_arrived(3, 100_000) and not path.later_arrived(3, 89_000)
        run = fixed_run(SHORT, path, 2)
        assert (run.lost, run.late, run.underrun_us) == (1, 0, ())
        assert run.playout == "ooo" + "x" + "o" * 6

    def test_nothing_later_arrived_so_it_is_late_and_an_underrun(self) -> None:
        path = hand_path([10] * 6 + [50] + [10] * 3, {5})  # frame 6 arrives at 170 ms
        run = fixed_run(SHORT, path, 2)  # slot 5 at 140 ms, slot 6 at 160 ms
        assert run.lost == 0 and run.late == 2  # frame 5 (lost) and frame 6 (late itself)
        assert run.underrun_us == (140_000, 160_000)
        assert run.playout == "ooooo" + "ll" + "ooo"

    def test_the_last_frame_lost_is_late(self) -> None:
        path = hand_path([10] * 6, {5})
        assert not path.later_arrived(5, 10**9)
        assert fixed_run(SHORT, path, 2).underrun_us == (140_000,)

    def test_a_run_of_lost_frames_looks_past_them(self) -> None:
        path = hand_path([10] * 10, {3, 4, 5})
        assert path.later_arrived(3, 130_000) and not path.later_arrived(3, 129_000)
        run = fixed_run(SHORT, path, 2)  # frame 6 arrives at 130 ms: slots 100, 120 late
        assert (run.late, run.lost, run.underrun_us) == (2, 1, (100_000, 120_000))

    @settings(max_examples=15, deadline=None)
    @given(
        lost=st.frozensets(st.integers(0, 749), max_size=40),
        size=st.integers(1, 12),
        seed=st.integers(0, 20),
    )
    def test_the_closed_loop_reports_underruns_by_the_same_rule(
        self, lost: frozenset[int], size: int, seed: int
    ) -> None:
        scenario = SHORT.with_seed(seed)
        path = plan_audio_path(scenario, 20_000)._replace(lost=lost)
        config = load_settings(
            policy="fixed", min_buffer_size=1, default_buffer_size=size, max_buffer_size=25
        )
        closed = simulate(scenario, config, path=path)
        direct = fixed_run(scenario, path, size)
        assert figures_of(direct) == figures_of(closed)
        assert direct.playout == closed.playout
        assert len(closed.underrun_us) == closed.late
        assert closed.late + closed.lost >= len(lost)


def test_best_fixed_has_the_best_r_of_every_size() -> None:
    path = plan_audio_path(SHORT, 20_000)
    size, figures = best_fixed(SHORT, path, 3, 20)
    scores = {s: figures_of(fixed_run(SHORT, path, s)).r_factor for s in range(3, 21)}
    assert figures.r_factor == max(scores.values())
    assert size == min(s for s, r in scores.items() if r == figures.r_factor)
    assert best_fixed_figures(SHORT, {"min_buffer_size": 3}, 2)["size"] == size


@pytest.mark.parametrize("lost", [frozenset(), frozenset({0, 1, 2, 50, 51, 300})])
def test_every_size_is_scored_as_its_fixed_run(lost: frozenset[int]) -> None:
    path = plan_audio_path(SHORT, 20_000)._replace(lost=lost)
    needed = _needed_sizes(path)
    for size in range(1, 30):
        expected = figures_of(fixed_run(SHORT, path, size)).r_factor
        assert _score(SHORT, path, needed, size) == expected, size


@given(st.text(alphabet="oldsx", max_size=40))
def test_quality_counts_as_the_e_model_does(codes: str) -> None:
    heard = audible(codes, len(codes) // 2)
    score = quality(heard, 100.0, SHORT)
    assert score.burst_ratio == burst_ratio(c != "o" for c in heard)
    assert score.loss_percent == loss_percent(len(heard) - heard.count("o"), heard.count("o"))


def test_run_figures_takes_names_mappings_and_seeds() -> None:
    figures = run_figures(SHORT, {"policy": "oboe"}, seed=4)
    assert tuple(figures) == FIGURE_KEYS
    assert (
        figures == figures_of(simulate(SHORT.with_seed(4), load_settings(policy="oboe")))._asdict()
    )
    assert run_figures("steady", load_settings(policy="fixed"))["underruns"] == 0


def test_mean_figures() -> None:
    mean = mean_figures(
        [
            {"r_factor": 80.0, "size": 7, "hindsight": True},
            {"r_factor": 70.0, "size": 8, "hindsight": True},
        ]
    )
    assert mean == {"r_factor": 75.0, "size": 7.5, "hindsight": True, "sizes": [7, 8]}


class TestCompareRuns:
    def test_rows_per_seed_and_means(self) -> None:
        result = compare_runs([SHORT, OTHER], ["oboe", "fixed"], seeds=[1, 2])
        assert result.policies == ("oboe", "fixed", BEST_FIXED)
        assert set(result.per_seed) == {1, 2}
        one = result.per_seed[1]["short"]["oboe"]
        two = result.per_seed[2]["short"]["oboe"]
        assert one == run_figures(SHORT, {"policy": "oboe"}, 1)
        mean = result.scenarios["short"]["oboe"]
        assert mean["r_factor"] == pytest.approx((one["r_factor"] + two["r_factor"]) / 2)
        best = result.scenarios["other"][BEST_FIXED]
        assert best["sizes"] == [result.per_seed[s]["other"][BEST_FIXED]["size"] for s in (1, 2)]
        document = result.to_json()
        assert document["seeds"] == [1, 2]
        assert document["per_seed"]["2"]["short"]["oboe"] == two

    def test_own_seeds_give_the_single_seed_document(self) -> None:
        result = compare_runs([SHORT], ["fixed"], with_best_fixed=False)
        assert result.to_json() == {
            "seed": 2,
            "scenarios": {"short": {"fixed": run_figures(SHORT, {"policy": "fixed"})}},
        }
        mixed = compare_runs([SHORT, OTHER], ["fixed"], with_best_fixed=False).to_json()
        assert mixed["seed"] == {"short": 2, "other": 5}

    def test_best_fixed_is_at_least_as_good_as_fixed(self) -> None:
        result = compare_runs([SHORT], ["fixed"], seeds=[3])
        rows = result.scenarios["short"]
        assert rows[BEST_FIXED]["r_factor"] >= rows["fixed"]["r_factor"]

    def test_same_results_on_a_thread_pool_and_a_process_pool(self) -> None:
        alone = compare_runs([SHORT, OTHER], ["feedback", "roc"], seeds=[1, 2])
        with ThreadPoolExecutor(2) as pool:
            assert compare_runs([SHORT, OTHER], ["feedback", "roc"], [1, 2], executor=pool) == alone
        with ProcessPoolExecutor(2) as pool:
            assert compare_runs([SHORT, OTHER], ["feedback", "roc"], [1, 2], executor=pool) == alone

    def test_what_is_submitted_pickles(self) -> None:
        config = load_settings(policy="feedback")
        assert pickle.loads(pickle.dumps((SHORT, config))) == (SHORT, config)
