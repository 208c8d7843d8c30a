"""A long simulation or comparison shows progress on stderr (on a terminal, or asked for with
``--progress``) and Ctrl-C ends it with one line and exit code 130. Real processes; the
test waits for the progress text itself, never for a fixed time."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adaptive_stream.cli import main


def _read_until(proc: subprocess.Popen[bytes], needle: bytes, timeout: float = 60.0) -> bytes:
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        assert time.monotonic() < deadline, seen[-200:]
        chunk = proc.stderr.read1(4096)
        assert chunk, f"stderr closed before {needle!r}: {seen[-200:]!r}"
        seen += chunk
    return seen


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "--scenario", "all", "--progress"],
        ["simulate", "--scenario", "mixed-long", "--progress", "--adaptation-interval", "20ms"],
    ],
    ids=["compare", "simulate"],
)
def test_ctrl_c_ends_a_long_run_with_one_line_and_130(args: list[str], tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "adaptive_stream", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        seen = _read_until(proc, b"[1/")
        proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = (seen + rest).decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.rstrip("\n").split("\r\033[K")[-1] == "adaptive-stream: interrupted"
    assert out == b""


def test_progress_is_off_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--scenario", "steady", "--policies", "jetkvm"]) == 0
    assert capsys.readouterr().err == ""


def test_progress_counts_the_runs_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--scenario", "steady", "--policies", "jetkvm,roc", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "[1/3] steady jetkvm seed 1" in err and "[2/3] steady roc seed 1" in err
    assert "[3/3] steady best-fixed seed 1" in err
    assert err.endswith("\r\033[K")  # the line is cleared at the end
