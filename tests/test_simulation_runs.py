"""The runner: the fixed policy, best-fixed in hindsight, and the same results on any executor."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive_stream import load_settings
from adaptive_stream.policies import POLICIES, make_policy
from adaptive_stream.simulation import Phase, Scenario, figures_of, simulate
from adaptive_stream.simulation.audio_path import plan_audio_path
from adaptive_stream.simulation.hindsight import best_fixed, fixed_run
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
    assert direct.end_us == closed.end_us


def test_a_lost_frame_is_an_underrun_for_the_fixed_playout_and_the_closed_loop() -> None:
    path = plan_audio_path(SHORT, 20_000)
    lossy = path._replace(lost=frozenset({10, 11, 400}))
    config = load_settings(policy="fixed", default_buffer_size=6)
    closed = simulate(SHORT, config, path=lossy)
    direct = fixed_run(SHORT, lossy, 6)
    assert closed.lost == direct.lost == 3
    assert figures_of(direct) == figures_of(closed)
    assert closed.playout[10:12] == "xx"


def test_best_fixed_has_the_best_r_of_every_size() -> None:
    path = plan_audio_path(SHORT, 20_000)
    size, figures = best_fixed(SHORT, path, 3, 20)
    scores = {s: figures_of(fixed_run(SHORT, path, s)).r_factor for s in range(3, 21)}
    assert figures.r_factor == max(scores.values())
    assert size == min(s for s, r in scores.items() if r == figures.r_factor)
    assert best_fixed_figures(SHORT, {"min_buffer_size": 3}, 2)["size"] == size


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
