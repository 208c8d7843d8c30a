"""``adaptive-stream run`` ends with its summary on every stop signal: SIGHUP (a closed
terminal) like SIGTERM, and SIGINT even in the first instant. Real processes; each waits on
a line of output, never on a clock."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from live_process import CLI, FAST, Running

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_run_with_its_summary(signum: int) -> None:
    run = Running(["run", "--system", *FAST])
    try:
        run.wait_for_line("): cpu ", timeout=60)  # it is deciding
        code, out, err = run.stop(signum)
    finally:
        run.close()
    assert code == 0, err
    assert "Summary: ran" in out
    assert "Traceback" not in err


def test_sigint_before_the_first_decision_ends_with_the_summary() -> None:
    """Ctrl-C in the run's first instant (started, no decision yet): the summary, exit 0."""
    run = Running(["run", "--system", "--adaptation-interval", "10s"])
    try:
        run.wait_for_line("adaptive-stream run: watching", timeout=60)
        code, out, err = run.stop(signal.SIGINT)
    finally:
        run.close()
    assert code == 0, err
    assert "Summary: ran" in out and "first decision none" in out
    assert "Traceback" not in err


def _asleep_with_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open and sleeps (Linux's /proc; elsewhere,
    True: the test then keeps its small race)."""
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True
    try:
        opened = any(os.readlink(fd) == str(path) for fd in (proc / "fd").iterdir())
        state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:  # it ended, or a descriptor closed while being read
        return False
    return opened and state == "S"


def test_sigint_while_loading_is_one_line_and_exit_130(tmp_path: Path) -> None:
    """Ctrl-C before the run started (here: while it reads its profile from a FIFO that
    never delivers): one line, exit code 130."""
    fifo = tmp_path / "profile.toml"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [*CLI, "run", "--system", "--profile", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = -1
    try:
        deadline = time.monotonic() + 60
        while writer < 0:  # opening for writing succeeds once the run has it open to read
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                assert exc.errno == errno.ENXIO, exc
                assert time.monotonic() < deadline and proc.poll() is None, "never opened"
                time.sleep(0.01)  # waiting on another process: nothing to block on
        # Then wait until it is blocked reading (the FIFO open, the process asleep): a
        # signal that lands between Python's last signal check and the read() system call
        # is only handled once read() returns, which here is never (a second Ctrl-C would
        # end it; the test sends one).
        while not _asleep_with_open(proc.pid, fifo):
            assert time.monotonic() < deadline and proc.poll() is None, "never read"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if writer >= 0:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.splitlines() == ["adaptive-stream: interrupted"]
