"""``adaptive-stream run`` as a real process: SIGTERM during the run exits cleanly, and a
watched process that dies mid-run (psutil's NoSuchProcess, for real) harms nothing.
Bounded polling on files, never a sleep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

WAIT = 30.0


def wait_for(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Bounded polling for something another process does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        threading.Event().wait(0.05)
    return condition()


def start_run(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTIVE_STREAM_")}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "adaptive_stream", "run", *args],
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    return child, out, err


def stop_run(child: subprocess.Popen[bytes]) -> int:
    child.send_signal(signal.SIGTERM)
    try:
        return child.wait(WAIT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise AssertionError("adaptive-stream run ignored SIGTERM") from None


def decision_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line[:8].strip().endswith("s"))


def test_sigterm_during_run_exits_cleanly(tmp_path: Path) -> None:
    child, out, err = start_run(tmp_path, "--duration", "120", "--adaptation-interval", "50ms")
    try:
        assert wait_for(lambda: decision_lines(out) >= 3), out.read_text() + err.read_text()
    finally:
        code = stop_run(child)
    text, errors = out.read_text(), err.read_text()
    assert code == 0, errors
    assert "Summary:" in text
    assert "Traceback" not in errors


def test_a_watched_process_dying_mid_run_is_survived(tmp_path: Path) -> None:
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        child, out, err = start_run(
            tmp_path,
            "--pid",
            str(victim.pid),
            "--pid",
            str(os.getpid()),
            "--duration",
            "120",
            "--adaptation-interval",
            "50ms",
            "--log-level",
            "WARNING",
        )
        try:
            assert wait_for(lambda: decision_lines(out) >= 3), out.read_text() + err.read_text()
            victim.kill()
            victim.wait(WAIT)
            seen = decision_lines(out)
            # The run goes on with the process that is left.
            assert wait_for(lambda: decision_lines(out) >= seen + 5), err.read_text()
            assert child.poll() is None
        finally:
            code = stop_run(child)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    errors = err.read_text()
    assert code == 0, errors
    assert "Traceback" not in errors
    assert "stopped watching" in errors and str(victim.pid) in errors
