"""tools/make_mahimahi_scenarios.py: scenarios over recorded Mahimahi traces that the
simulator loads and runs, segments of long traces, and one-line errors for bad traces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tool_modules import load_tool

from adaptive_stream.settings import load_settings
from adaptive_stream.simulation.runs import run_figures
from adaptive_stream.simulation.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "make_mahimahi_scenarios.py"
tool = load_tool("make_mahimahi_scenarios")


def _trace(path: Path, seconds: int, gap_at: int | None = None) -> Path:
    """A 1.5 Mbit/s link (an opportunity every 8 ms), silent for 1 s from ``gap_at`` ms."""
    times = [
        t for t in range(0, seconds * 1000, 8) if gap_at is None or not gap_at <= t < gap_at + 1000
    ]
    path.write_text("".join(f"{t}\n" for t in times))
    return path


class TestScenarios:
    def test_every_trace_with_every_video_rate_runs(self, tmp_path: Path) -> None:
        traces = [_trace(tmp_path / "a.up", 20), _trace(tmp_path / "b-link.up", 20, gap_at=5000)]
        written = tool.make(traces, tmp_path / "out", video=[0, 400])
        names = sorted(path.name for path in written)
        assert names == ["a-v0.toml", "a-v400.toml", "b-link-v0.toml", "b-link-v400.toml"]
        scenario = load_scenario(tmp_path / "out" / "b-link-v400.toml")
        assert scenario.cross_traffic_kbps == 400
        figures = {
            path.stem: run_figures(str(path), load_settings("quality"), 1) for path in written
        }
        # The 1 s gap costs frames; video on the same link costs delay, never less.
        assert figures["b-link-v0"]["late"] > figures["a-v0"]["late"]
        assert figures["a-v400"]["mouth_to_ear_ms"] >= figures["a-v0"]["mouth_to_ear_ms"]

    def test_the_same_arguments_write_the_same_bytes(self, tmp_path: Path) -> None:
        trace = _trace(tmp_path / "a.up", 5)
        first = tool.make([trace], tmp_path / "one", video=[0])
        second = tool.make([trace], tmp_path / "two", video=[0])
        for a, b in zip(first, second, strict=True):
            assert a.read_bytes() == b.read_bytes()
        assert (tmp_path / "one" / "a.up").read_bytes() == trace.read_bytes()

    def test_a_segment_is_shifted_to_start_at_zero(self, tmp_path: Path) -> None:
        trace = tmp_path / "t.up"
        trace.write_text("0\n5\n1000\n1500\n1500\n2999\n3000\n")
        tool.make([trace], tmp_path / "out", video=[0], start_ms=1000, end_ms=3000)
        assert (tmp_path / "out" / "t.up").read_text() == "0\n500\n500\n1999\n"
        toml = (tmp_path / "out" / "t-v0.toml").read_text()
        assert "2 s from 1 s" in toml


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("0\n5\nfive\n", "t.up:3: expected a whole number of milliseconds from 0 to"),
            ("0\n50\n40\n", "t.up:3: 40 is before the previous line's 50"),
            ("\n\n", "t.up: no delivery opportunity"),
        ],
    )
    def test_a_bad_trace_is_one_line_and_exit_2(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        trace = tmp_path / "t.up"
        trace.write_text(text)
        done = subprocess.run(
            [sys.executable, str(TOOL), str(trace), "--out", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2
        assert message in done.stderr.strip()
        assert len(done.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "out").exists()  # nothing written

    def test_an_empty_segment_and_bad_options_are_refused(self, tmp_path: Path) -> None:
        trace = _trace(tmp_path / "a.up", 2)
        runs = [
            [str(trace), "--out", "o", "--from-ms", "5000"],
            [str(trace), "--out", "o", "--video", "fast"],
            [str(trace), "--out", "o", "--network-delay", "0.1s"],
            [str(trace), "--out", "o", "--from-ms", "100", "--to-ms", "50"],
        ]
        for argv in runs:
            done = subprocess.run(
                [sys.executable, str(TOOL), *argv],
                capture_output=True,
                text=True,
                check=False,
                cwd=tmp_path,
            )
            assert done.returncode == 2, argv
            assert "Traceback" not in done.stderr
        assert not (tmp_path / "o").exists()
