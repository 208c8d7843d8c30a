"""The closed-loop simulator: deterministic, conserving, and faithful to its model."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive_stream import AdaptiveBufferSettings, load_settings
from adaptive_stream.policies import POLICIES
from adaptive_stream.simulation import (
    Phase,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    figures_of,
    load_scenario,
    parse_scenario,
    simulate,
)
from adaptive_stream.simulation.audio_path import cpu_load, plan_audio_path

ROOT = Path(__file__).parent.parent
S = timedelta(seconds=1)


def short(*phases: Phase, seed: int = 3, **fields: object) -> Scenario:
    return Scenario(name="test", phases=phases, seed=seed, **fields)  # type: ignore[arg-type]


BUSY = Phase("busy", 10 * S, cpu_percent=95.0)
CALM = Phase("calm", 10 * S)
BURSTY = Phase("bursty", 10 * S, burst_rate=2.0, jitter=timedelta(milliseconds=15))


class TestAudioPath:
    def test_frames_arrive_in_order_and_never_before_capture(self) -> None:
        path = plan_audio_path(short(CALM, BUSY, BURSTY), 20_000)
        assert path.frames == 1500
        assert all(a >= c for a, c in zip(path.arrival_us, path.capture_us, strict=True))
        assert list(path.arrival_us) == sorted(path.arrival_us)

    def test_cpu_load_and_bursts_delay_frames(self) -> None:
        def mean_delay(phase: Phase) -> float:
            path = plan_audio_path(short(phase._replace(duration=60 * S)), 20_000)
            delays = [a - c for a, c in zip(path.arrival_us, path.capture_us, strict=True)]
            return sum(delays) / len(delays)

        calm = mean_delay(CALM)
        assert 7_000 < calm < 9_000  # 5 ms constant + 3 ms exponential on average
        assert mean_delay(BUSY) > 3 * calm
        assert mean_delay(BURSTY) > 3 * calm

    def test_cpu_load_share(self) -> None:
        assert [cpu_load(c) for c in (0, 50, 75, 100, 300)] == [0.0, 0.0, 0.5, 1.0, 1.0]

    def test_the_start_up_delay_holds_the_first_frames(self) -> None:
        path = plan_audio_path(short(CALM, startup_delay=timedelta(milliseconds=300)), 20_000)
        assert min(path.arrival_us[:15]) >= 300_000

    def test_same_seed_same_frames_other_seed_other_frames(self) -> None:
        scenario = short(BUSY, BURSTY)
        assert plan_audio_path(scenario, 20_000) == plan_audio_path(scenario, 20_000)
        assert plan_audio_path(scenario, 20_000) != plan_audio_path(scenario.with_seed(4), 20_000)


class TestClosedLoop:
    def test_same_seed_same_figures_and_decisions(self) -> None:
        scenario = short(CALM, BUSY, BURSTY)
        config = load_settings(policy="feedback")
        first, again = simulate(scenario, config), simulate(scenario, config)
        assert figures_of(first) == figures_of(again)
        assert [tuple(d) for d in first.decisions] == [tuple(d) for d in again.decisions]
        other = simulate(scenario.with_seed(99), config)
        assert figures_of(other) != figures_of(first)

    @pytest.mark.parametrize("name", sorted(POLICIES))
    def test_every_frame_is_played_dropped_or_late(self, name: str) -> None:
        run = simulate(short(CALM, BUSY, BURSTY), load_settings(policy=name))
        assert run.played + run.dropped + run.late + run.lost == run.frames == 1500
        assert len(run.underrun_us) == run.late
        assert run.playout.count("o") == run.played and run.playout.count("l") == run.late
        assert run.playout.count("d") == run.dropped
        assert run.playout.count("s") == run.stretched
        assert len(run.latency_us) == len(run.played_us) == run.played
        assert run.decisions  # the loop really went through the pipeline
        assert {d.policy for d in run.decisions} == {name}

    def test_the_playout_delay_follows_the_decided_size(self) -> None:
        # Pinned at 10 frames on a clean path: every frame plays 200 ms after its capture.
        config = load_settings(policy="feedback", buffer_size_override=10)
        run = simulate(short(CALM), config)
        figures = figures_of(run)
        assert (figures.underruns, figures.latency_mean_ms, figures.latency_p95_ms) == (
            0,
            200.0,
            200.0,
        )
        assert run.prefill == 10 and run.stretched == 0

    def test_a_smaller_size_drops_frames_to_catch_up(self) -> None:
        run = simulate(short(CALM), load_settings(policy="feedback", shrink_after="1s"))
        assert run.dropped == 3  # 6 frames down to the 3-frame minimum, one frame per shrink
        assert figures_of(run).latency_p95_ms <= 120.0

    def test_metrics_and_arrivals_reach_the_policy(self) -> None:
        run = simulate(short(BUSY), load_settings(policy="jetkvm"))
        cpus = [d.cpu_percent for d in run.decisions]
        assert 85 < sum(cpus) / len(cpus) < 105
        assert max(d.average_latency_ns for d in run.decisions) > 20_000_000

    def test_stale_metrics_reach_the_policy_as_stale(self) -> None:
        silent = Phase("silent", 5 * S, metrics=False)
        run = simulate(short(CALM, silent, CALM), load_settings(policy="feedback"))
        stale = [d for d in run.decisions if "metrics stale" in d.reason]
        assert stale
        assert all(11.5 < (d.time.timestamp()) < 15.6 for d in stale)

    def test_underruns_reach_the_policy(self) -> None:
        run = simulate(short(CALM, BUSY), load_settings(policy="oboe"))
        assert run.late > 0
        assert max(d.input_size for d in run.decisions) > 6  # oboe grows on underruns only


def test_feedback_has_fewer_underruns_than_jetkvm_on_cpu_spikes() -> None:
    """The claim of the comparison (docs/policies.md), on the bundled scenario and seed."""
    scenario = load_scenario("cpu-spikes")
    ours = figures_of(simulate(scenario, load_settings(policy="feedback")))
    original = figures_of(simulate(scenario, load_settings(policy="jetkvm")))
    assert ours.underruns < original.underruns
    assert ours.latency_mean_ms < original.latency_mean_ms


phases = st.builds(
    Phase,
    name=st.just("any"),
    duration=st.just(4 * S),
    cpu_percent=st.floats(0, 120),
    memory_percent=st.floats(0, 100),
    burst_rate=st.floats(0, 5),
    jitter=st.floats(0, 50).map(lambda ms: timedelta(milliseconds=ms)),
)


@given(phase=phases, seed=st.integers(0, 10_000), policy=st.sampled_from(sorted(POLICIES)))
@settings(max_examples=25, deadline=None)
def test_conservation_whatever_the_phase(phase: Phase, seed: int, policy: str) -> None:
    run = simulate(short(phase, seed=seed), AdaptiveBufferSettings(policy=policy))
    assert run.played + run.dropped + run.late == run.frames == 200
    assert all(3 <= d.input_size <= 20 for d in run.decisions)


class TestScenarioFiles:
    def test_every_bundled_scenario_loads(self) -> None:
        names = set(bundled_scenarios())
        assert {
            "steady",
            "cpu-spikes",
            "network-jitter",
            "memory-pressure",
            "startup",
            "mixed-long",
        } <= names
        for name in names:
            scenario = load_scenario(name)
            assert scenario.phases and scenario.description

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ('name = "x"\n', "phases: missing"),
            ("phases = 3\n", "phases: must be a non-empty list"),
            ("[[phases]]\ncpu_percent = 5\n", "phases[1].duration: missing"),
            ('[[phases]]\nduration = "1s"\ncpu = 5\n', "phases[1].cpu: unknown field"),
            (
                '[[phases]]\nduration = "1s"\n[[phases]]\nduration = "1s"\ncpu_percent = "hi"\n',
                "phases[2].cpu_percent: must be a number from 0 to 400 (got 'hi')",
            ),
            ('[[phases]]\nduration = "soon"\n', "phases[1].duration: must be a duration"),
            ('[[phases]]\nduration = "1s"\nmetrics = 1\n', "metrics: must be true or false"),
            ('seed = -1\n[[phases]]\nduration = "1s"\n', "seed: must be a whole number"),
            ('speed = 2\n[[phases]]\nduration = "1s"\n', "speed: unknown field"),
            ("[[phases]\n", "invalid TOML"),
        ],
    )
    def test_a_bad_file_names_the_file_and_the_field(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        assert str(caught.value).startswith(f"{path}: ")
        assert message in str(caught.value)

    def test_unknown_names_and_missing_files(self, tmp_path: Path) -> None:
        with pytest.raises(ScenarioError, match="no scenario named 'nope' \\(bundled: "):
            load_scenario("nope")
        with pytest.raises(ScenarioError, match="scenario file not found"):
            load_scenario(tmp_path / "missing.toml")

    def test_parse_fills_defaults(self) -> None:
        scenario = parse_scenario({"phases": [{"duration": "2s"}]}, "inline.toml")
        assert scenario.name == "inline"
        assert scenario.phases[0] == Phase("phase 1", 2 * S)
        assert scenario.duration == 2 * S
