"""Recorded networks: arrival logs and Mahimahi link traces, read with clear errors, the link's
FIFO worked by hand, the generators, and scenarios that use them."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_stream import load_settings
from adaptive_stream.cli import main
from adaptive_stream.simulation import ScenarioError, figures_of, load_scenario, simulate
from adaptive_stream.simulation.audio_path import plan_audio_path
from adaptive_stream.simulation.linkgen import (
    arrival_log,
    outage_trace,
    trace_text,
    varying_trace,
)
from adaptive_stream.simulation.linkgen import main as linkgen_main
from adaptive_stream.simulation.recorded import (
    LinkTrace,
    RecordingError,
    link_arrivals,
    read_arrivals,
    read_link_trace,
)
from adaptive_stream.simulation.runs import compare_runs

EVERY_MS = LinkTrace("every-ms", tuple(range(1, 1001)))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


class TestArrivalLog:
    def test_reads_frames_and_losses(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "capture_ms,arrival_ms\n0,30\n20,\n40,75.5\n")
        log = read_arrivals(path)
        assert log.capture_ms == (0.0, 20.0, 40.0)
        assert log.arrival_ms == (30.0, None, 75.5)
        assert (log.step_ms, log.duration_ms) == (20.0, 60.0)

    @pytest.mark.parametrize(
        ("text", "line", "problem"),
        [
            ("", "", "empty"),
            ("t,kind\n0,1\n", ":1:", "the header must be capture_ms,arrival_ms"),
            ("capture_ms,arrival_ms\n0,3,4\n", ":2:", "expected 2 fields"),
            ("capture_ms,arrival_ms\n0,3\nx,4\n", ":3:", "capture_ms must be a number"),
            ("capture_ms,arrival_ms\n0,3\n20,nan\n", ":3:", "arrival_ms must be a number"),
            ("capture_ms,arrival_ms\n0,3\n20,10\n", ":3:", "is before capture_ms"),
            ("capture_ms,arrival_ms\n0,3\n20,25\n45,50\n", ":4:", "is not one frame"),
            ("capture_ms,arrival_ms\n20,23\n20,25\n", ":3:", "must grow"),
            ("capture_ms,arrival_ms\n0,3\n", "", "at least two frames"),
            ("capture_ms,arrival_ms\n0," + "1" * 300 + "\n", ":2:", "longer than"),
        ],
    )
    def test_errors_name_the_file_and_line(
        self, tmp_path: Path, text: str, line: str, problem: str
    ) -> None:
        path = write(tmp_path, "bad.csv", text)
        with pytest.raises(RecordingError) as caught:
            read_arrivals(path)
        message = str(caught.value)
        assert message.startswith(f"{path}{line}")
        assert problem in message

    def test_a_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(RecordingError, match="file not found"):
            read_arrivals(tmp_path / "nope.csv")


class TestLinkTrace:
    def test_reads_opportunities(self, tmp_path: Path) -> None:
        trace = read_link_trace(write(tmp_path, "t", "0\n3\n3\n\n7\n"))
        assert trace.opportunities_ms == (0, 3, 3, 7)
        assert trace.period_ms == 7

    @pytest.mark.parametrize(
        ("text", "line", "problem"),
        [
            ("1\n2.5\n", ":2:", "expected a whole number of milliseconds"),
            ("1\n-2\n", ":2:", "expected a whole number"),
            ("5\n3\n", ":2:", "3 is before the previous line's 5"),
            ("\n\n", "", "no delivery opportunity"),
            ("0\n0\n", ":2:", "the last timestamp must be above 0"),
        ],
    )
    def test_errors_name_the_file_and_line(
        self, tmp_path: Path, text: str, line: str, problem: str
    ) -> None:
        path = write(tmp_path, "bad.trace", text)
        with pytest.raises(RecordingError) as caught:
            read_link_trace(path)
        assert str(caught.value).startswith(f"{path}{line}")
        assert problem in str(caught.value)


class TestLinkFifo:
    def test_an_opportunity_carries_1500_bytes(self) -> None:
        # Ten 160-byte packets at 0: nine fit in the opportunity at 1 ms, the tenth at 2 ms.
        assert link_arrivals([0] * 10, EVERY_MS) == [1000] * 9 + [2000]

    def test_a_packet_larger_than_what_is_left_goes_on_in_the_next(self) -> None:
        assert link_arrivals([0, 0], EVERY_MS, packet_bytes=1000) == [1000, 2000]

    def test_cross_traffic_shares_the_fifo(self) -> None:
        # 28.8 kbit/s at 1 fps: one 3,600-byte video frame at 0, three 1,200-byte packets
        # queued after the audio packet sent at 0, before the one sent at 0.5 ms:
        # 1 ms: audio (160) + video 1 (1200) + 140 of video 2; 2 ms: video 2's 1060 + 440
        # of video 3; 3 ms: video 3's 760, then the second audio packet.
        arrivals = link_arrivals([0, 500], EVERY_MS, cross_traffic_kbps=28.8, cross_traffic_fps=1.0)
        assert arrivals == [1000, 3000]

    def test_the_trace_wraps_and_starts_where_asked(self) -> None:
        trace = LinkTrace("t", (0, 10))  # opportunities at 0, 10, 10, 20, 20, 30, ...
        assert link_arrivals([0, 1000, 25_000], trace) == [0, 10_000, 30_000]
        late = LinkTrace("t", (5, 100))  # from 50 ms in: opportunities at 50, 55, 150, ...
        assert link_arrivals([0, 0], late, start_ms=50, packet_bytes=1500) == [50_000, 55_000]

    def test_propagation_delay_is_added(self) -> None:
        assert link_arrivals([0], EVERY_MS, delay_us=25_000) == [26_000]

    def test_an_idle_link_waits_for_the_next_packet(self) -> None:
        assert link_arrivals([0, 400_500], EVERY_MS) == [1000, 401_000]


@given(
    gaps=st.lists(st.integers(0, 30_000), min_size=1, max_size=40),
    opportunities=st.lists(st.integers(1, 50), min_size=1, max_size=30),
    cross=st.sampled_from([0.0, 300.0, 2000.0]),
    size=st.integers(1, 4000),
)
def test_packets_never_overtake_and_never_arrive_early(
    gaps: list[int], opportunities: list[int], cross: float, size: int
) -> None:
    send = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    times = [sum(opportunities[: i + 1]) for i in range(len(opportunities))]
    arrivals = link_arrivals(
        send, LinkTrace("t", tuple(times)), packet_bytes=size, cross_traffic_kbps=cross
    )
    assert arrivals == sorted(arrivals)
    assert all(a >= s for a, s in zip(arrivals, send, strict=True))


class TestGenerators:
    def test_outages_are_gaps_and_seeded(self) -> None:
        trace = outage_trace(1, 60_000, 1000.0, 0.2, 800.0)
        assert trace == outage_trace(1, 60_000, 1000.0, 0.2, 800.0)
        assert trace != outage_trace(2, 60_000, 1000.0, 0.2, 800.0)
        assert trace[-1] == 60_000
        gaps = [b - a for a, b in itertools.pairwise(trace)]
        assert max(gaps) > 300  # outages
        assert sorted(gaps)[len(gaps) // 2] <= 12  # 1 Mbit/s: an opportunity every 12 ms

    def test_varying_capacity_stays_within_its_bounds(self) -> None:
        trace = varying_trace(3, 60_000, 400.0, 2000.0, 500)
        for second in range(60):
            count = sum(1 for t in trace if second * 1000 <= t < (second + 1) * 1000)
            assert 400 / 12 - 2 <= count <= 2000 / 12 + 2

    def test_arrival_log_of_a_trace(self) -> None:
        text = arrival_log(EVERY_MS, 3, delay_ms=5)
        assert text == "capture_ms,arrival_ms\n0,6\n20,25\n40,45\n"
        lossy = arrival_log(EVERY_MS, 500, loss=0.1, seed=4)
        assert 20 < lossy.count(",\n") < 80

    def test_command_line_writes_files(self, tmp_path: Path) -> None:
        out = tmp_path / "o.trace"
        assert linkgen_main(["outages", "--duration", "5s", "--out", str(out)]) == 0
        assert read_link_trace(out).period_ms == 5000
        log = tmp_path / "a.csv"
        assert (
            linkgen_main(["arrivals", "--trace", str(out), "--duration", "2s", "--out", str(log)])
            == 0
        )
        assert len(read_arrivals(log).capture_ms) == 100
        assert linkgen_main(["varying", "--duration", "soon"]) == 2
        assert trace_text([1, 2]) == "1\n2\n"


LINK = """
name = "link"
link_trace = "traces/link.trace"
cross_traffic_kbps = 300
network_delay = "20ms"
"""


@pytest.fixture
def link_scenario(tmp_path: Path) -> Path:
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "link.trace").write_text(trace_text(outage_trace(5, 20_000, 800.0, 0.3)))
    return write(tmp_path, "link.toml", LINK)


class TestScenarios:
    def test_a_link_trace_scenario_without_phases(self, link_scenario: Path) -> None:
        scenario = load_scenario(link_scenario)
        assert scenario.duration == timedelta(seconds=20)
        assert scenario.phases[0].name == "recorded"
        path = plan_audio_path(scenario, 20_000)
        assert path.frames == 1000
        assert min(a - c for a, c in zip(path.arrival_us, path.capture_us, strict=True)) >= 20_000
        run = simulate(scenario, load_settings(policy="feedback"))
        assert run.played + run.dropped + run.late + run.lost == 1000

    def test_an_arrival_log_keeps_its_losses(self, tmp_path: Path) -> None:
        write(tmp_path, "log.csv", arrival_log(EVERY_MS, 250, loss=0.05, seed=2, delay_ms=30))
        path = write(tmp_path, "s.toml", 'arrivals = "log.csv"\n[[phases]]\nduration = "4s"\n')
        scenario = load_scenario(path)
        audio = plan_audio_path(scenario, 20_000)
        assert audio.frames == 200
        log = read_arrivals(tmp_path / "log.csv")
        assert audio.lost == {k for k in range(200) if log.arrival_ms[k] is None}
        run = simulate(scenario, load_settings(policy="fixed"))
        assert run.lost == len(audio.lost) > 0
        assert figures_of(run).loss_percent > 0
        with pytest.raises(ScenarioError, match="frames are 20 ms apart, but frame_duration"):
            plan_audio_path(scenario, 10_000)

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ('arrivals = "a.csv"\nlink_trace = "t"\n', "one recording or the other"),
            ('cross_traffic_kbps = 5\n[[phases]]\nduration = "1s"\n', "only used with link_trace"),
            ('link_trace = "t"\n[[phases]]\nduration = "1s"\njitter = "5ms"\n', "not used with"),
            ('arrivals = "a.csv"\n[[phases]]\nduration = "9s"\n', "holds 0.06 s of frames"),
            ('link_trace = "missing.trace"\n', "missing.trace: file not found"),
            ('link_trace = "t"\nlink_start = "-1s"\n', "link_start: must be a duration"),
        ],
    )
    def test_errors(self, tmp_path: Path, text: str, problem: str) -> None:
        write(tmp_path, "a.csv", "capture_ms,arrival_ms\n0,1\n20,21\n40,41\n")
        write(tmp_path, "t", "1\n2\n")
        path = write(tmp_path, "s.toml", text)
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        assert str(caught.value).startswith(f"{path}: ")
        assert problem in str(caught.value)

    def test_compare_runs_on_a_recording(self, link_scenario: Path) -> None:
        result = compare_runs([link_scenario], ["roc", "fixed"])
        rows = result.scenarios["link"]
        assert rows["best-fixed"]["r_factor"] >= rows["fixed"]["r_factor"]


class TestCommandLine:
    @pytest.mark.parametrize("command", ["simulate", "compare"])
    def test_runs_a_link_scenario(
        self, link_scenario: Path, command: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        extra = ["--jobs", "1"] if command == "compare" else ["--no-timeline"]
        assert main([command, "--scenario", str(link_scenario), *extra]) == 0
        out = capsys.readouterr().out
        assert "link" in out and "MOS" in out

    @pytest.mark.parametrize("command", ["simulate", "compare"])
    def test_a_bad_recording_is_one_line_and_exit_2(
        self, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write(tmp_path, "t", "0\n5\nfive\n")
        path = write(tmp_path, "s.toml", 'link_trace = "t"\n')
        assert main([command, "--scenario", str(path)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        [line] = captured.err.splitlines()
        assert line == (
            f"adaptive-stream: {path}: link_trace: {tmp_path / 't'}:3: expected a whole number "
            "of milliseconds from 0 to 1000000000 (got 'five')"
        )

    def test_a_log_at_another_frame_duration_is_one_line_and_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write(tmp_path, "a.csv", "capture_ms,arrival_ms\n0,1\n20,21\n40,41\n")
        path = write(tmp_path, "s.toml", 'arrivals = "a.csv"\n')
        assert main(["simulate", "--scenario", str(path), "--frame-duration", "10ms"]) == 2
        assert "frames are 20 ms apart, but frame_duration is 10 ms" in capsys.readouterr().err


def test_the_bundled_recorded_scenarios_load() -> None:
    for name in ("link-outages", "link-varying", "recorded-arrivals"):
        scenario = load_scenario(name)
        assert scenario.recorded
