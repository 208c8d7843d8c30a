"""The command line: help, demo, usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adaptive_stream.cli import main


def test_help_documents_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["replay", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--profile", "--max-buffer-size", "--target-latency", "--smoothing-factor"):
        assert flag in out


def test_demo_replays_the_bundled_trace_with_a_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Summary: 300 ticks, 295 decisions, 89 adjustments" in out
    assert "input size over time:" in out
    assert "3.000000,10,10,3.231,30.743,19.358705,1,1,1" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "adaptive_stream", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("adaptive-stream ")
