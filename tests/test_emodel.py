"""The E-model (G.107): values worked by hand, and the invariants of its formulas."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_stream import load_settings
from adaptive_stream.simulation import Phase, Scenario, figures_of, simulate
from adaptive_stream.simulation.emodel import (
    burst_ratio,
    delay_impairment,
    effective_equipment_impairment,
    loss_percent,
    mos,
    r_factor,
)
from adaptive_stream.simulation.figures import audible


class TestHandWorked:
    def test_no_delay_no_loss_is_93_2(self) -> None:
        assert r_factor(0.0, 0.0) == pytest.approx(93.2)

    def test_150_ms_alone_costs_3_6(self) -> None:
        assert delay_impairment(150.0) == pytest.approx(3.6)
        assert r_factor(150.0, 0.0) == pytest.approx(89.6)

    def test_a_delay_beyond_the_knee(self) -> None:
        # 0.024 x 300 + 0.11 x (300 - 177.3) = 7.2 + 13.497
        assert delay_impairment(300.0) == pytest.approx(20.697)
        assert delay_impairment(177.3) == pytest.approx(0.024 * 177.3)

    def test_one_percent_random_loss(self) -> None:
        assert effective_equipment_impairment(1.0, 1.0) == pytest.approx(95 / 26.1)
        assert r_factor(0.0, 1.0, 1.0) == pytest.approx(93.2 - 95 / 26.1)

    def test_bursty_loss_hurts_more(self) -> None:
        # Ppl = 2 %, BurstR = 2: 95 x 2 / (1 + 25.1)
        assert effective_equipment_impairment(2.0, 2.0) == pytest.approx(190 / 26.1)
        assert effective_equipment_impairment(2.0, 2.0) > effective_equipment_impairment(2.0)

    def test_codec_fields(self) -> None:
        # Ie = 10, Bpl = 19: 10 + 85 x 5 / (5 + 19)
        assert effective_equipment_impairment(5.0, 1.0, 10.0, 19.0) == pytest.approx(
            10 + 85 * 5 / 24
        )
        assert effective_equipment_impairment(0.0, 1.0, 10.0, 19.0) == 10.0

    def test_loss_percent(self) -> None:
        assert loss_percent(1, 99) == pytest.approx(1.0)
        assert loss_percent(0, 0) == 0.0
        assert loss_percent(3, 0) == 100.0

    def test_mos_landmarks(self) -> None:
        assert mos(-5) == 1.0
        assert mos(0) == 1.0
        assert mos(100) == 4.5
        assert mos(120) == 4.5
        assert mos(93.2) == pytest.approx(1 + 0.035 * 93.2 + 93.2 * 33.2 * 6.8 * 7e-6)
        assert mos(50) == pytest.approx(1 + 1.75 - 50 * 10 * 50 * 7e-6)
        assert mos(3.0) == 1.0  # the cubic dips to 0.99 here


def seq(text: str) -> list[bool]:
    """``.`` ok, ``x`` loss."""
    return [c == "x" for c in text]


class TestBurstRatio:
    def test_no_loss_and_all_loss(self) -> None:
        assert burst_ratio(seq("....")) == 1.0
        assert burst_ratio(seq("xxxx")) == 1.0
        assert burst_ratio([]) == 1.0

    def test_isolated_losses(self) -> None:
        # ok->loss 2 of 6 oks followed, loss->ok 2 of 2: 1 / (1/3 + 1) = 0.75
        assert burst_ratio(seq("...x...x.")) == pytest.approx(0.75)

    def test_one_burst(self) -> None:
        # oks followed: 4 (one to a loss): p = 1/4; losses followed: 4 (one to ok): q = 1/4
        assert burst_ratio(seq("....xxxx.")) == pytest.approx(2.0)

    def test_a_loss_at_the_end_only(self) -> None:
        # p = 1/3, nothing follows the loss: q = 0
        assert burst_ratio(seq("...x")) == pytest.approx(3.0)

    def test_as_likely_either_way_is_one(self) -> None:
        # 20 oks followed, 10 by a loss: p = 1/2; 20 losses followed, 10 by an ok: q = 1/2
        assert burst_ratio(seq("..xx" * 10 + ".")) == pytest.approx(1.0)


@given(
    ta=st.floats(0, 2000),
    ppl=st.floats(0, 100),
    burst=st.floats(0.1, 20),
    ie=st.floats(0, 95),
    bpl=st.floats(1, 100),
)
def test_r_within_0_100_and_mos_within_1_4_5(
    ta: float, ppl: float, burst: float, ie: float, bpl: float
) -> None:
    r = r_factor(ta, ppl, burst, ie, bpl)
    assert 0.0 <= r <= 100.0
    assert 1.0 <= mos(r) <= 4.5


@given(st.floats(-10, 110), st.floats(-10, 110))
def test_mos_never_falls_as_r_rises(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert mos(low) <= mos(high)


@given(
    ta=st.floats(0, 1000),
    ppl=st.floats(0, 100),
    more=st.floats(0, 100),
    burst=st.floats(0.1, 20),
    ie=st.floats(0, 95),
)
def test_more_loss_never_raises_r(
    ta: float, ppl: float, more: float, burst: float, ie: float
) -> None:
    worse = min(100.0, ppl + more)
    assert r_factor(ta, worse, burst, ie) <= r_factor(ta, ppl, burst, ie) + 1e-9


@given(ta=st.floats(0, 1000), more=st.floats(0, 1000), ppl=st.floats(0, 100))
def test_more_delay_never_raises_r(ta: float, more: float, ppl: float) -> None:
    assert r_factor(ta + more, ppl) <= r_factor(ta, ppl) + 1e-9


@given(st.lists(st.booleans(), max_size=60))
def test_burst_ratio_is_positive(sequence: list[bool]) -> None:
    assert burst_ratio(sequence) > 0


def test_audible_starts_at_the_first_frame_played() -> None:
    assert audible("llos.d") == "os.d"
    assert audible("ll") == ""
    assert audible("llos.d", 1) == "los.d"
    assert audible("llos.d", 5) == "os.d"
    assert audible("ll", 0) == "ll"


class TestFiguresOfARun:
    def test_a_clean_run_scores_by_its_delay_alone(self) -> None:
        calm = Phase("calm", timedelta(seconds=10), jitter=timedelta(0))
        run = simulate(Scenario("clean", (calm,)), load_settings(policy="oboe"))
        f = figures_of(run)
        assert (f.loss_percent, f.burst_ratio, run.late, run.lost) == (0.0, 1.0, 0, 0)
        assert f.mouth_to_ear_ms == pytest.approx(f.latency_mean_ms + 20.0)
        assert f.r_factor == pytest.approx(93.2 - delay_impairment(f.mouth_to_ear_ms))
        assert f.mos == pytest.approx(mos(f.r_factor))

    def test_events_and_played_add_up_in_the_playout(self) -> None:
        busy = Phase("busy", timedelta(seconds=20), cpu_percent=95.0)
        run = simulate(Scenario("busy", (busy,), seed=4), load_settings(policy="feedback"))
        f = figures_of(run)
        heard = audible(run.playout)
        assert heard.count("o") == run.played == f.played
        events = len(heard) - run.played
        assert events <= run.late + run.dropped + run.stretched
        assert f.loss_percent == pytest.approx(loss_percent(events, run.played))
        assert f.burst_ratio == pytest.approx(burst_ratio(c != "o" for c in heard))
        assert f.loss_percent > 0

    def test_scenario_fields_change_the_score(self) -> None:
        calm = Phase("calm", timedelta(seconds=5))
        settings = load_settings(policy="oboe")
        base = figures_of(simulate(Scenario("a", (calm,)), settings))
        slower = Scenario("b", (calm,), device_delay=timedelta(milliseconds=200))
        assert figures_of(simulate(slower, settings)).r_factor < base.r_factor
