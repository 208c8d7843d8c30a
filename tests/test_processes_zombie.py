"""A watched process that exits but is not reaped (a zombie) is treated as vanished: one
warning, dropped; a zombie pid at start is refused. Real child processes, never reaped until
the test ends; bounded waits on the child's state, never a sleep."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from adaptive_stream.sources.processes import ProcessNotFoundError, ProcessSampler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc zombies")


def _wait_zombie(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child never became a zombie"
        time.sleep(0.01)  # polling another process's state: nothing to wait on


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A child that exits when its stdin closes, and is not reaped until the end."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    yield process
    if process.stdin is not None and not process.stdin.closed:
        process.stdin.close()
    process.wait(timeout=30)


def test_a_process_turning_zombie_is_dropped_with_one_warning(
    child: subprocess.Popen[bytes], log_lines: list[str]
) -> None:
    sampler = ProcessSampler([child.pid])
    assert sampler.sample() is not None
    assert child.stdin is not None
    child.stdin.close()
    _wait_zombie(child.pid)
    assert sampler.sample() is None
    assert sampler.sample() is None
    assert sampler.pids == []
    stopped = [line for line in log_lines if "stopped watching" in line]
    assert len(stopped) == 1 and "ZombieProcess" in stopped[0]


def test_a_zombie_pid_at_start_is_refused(child: subprocess.Popen[bytes]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    _wait_zombie(child.pid)
    with pytest.raises(ProcessNotFoundError, match="has exited"):
        ProcessSampler([child.pid])
