"""``adaptive-stream run`` as a real process watching a real one that dies mid-run (psutil's
NoSuchProcess, for real): the run goes on with what is left, one warning. Each wait is for a
line of output, with a generous deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from live_process import Running

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

DECISION = "): cpu "


def test_a_watched_process_dying_mid_run_is_survived() -> None:
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    run = Running(
        [
            "run",
            "--pid",
            str(victim.pid),
            "--pid",
            str(os.getpid()),
            "--adaptation-interval",
            "50ms",
            "--log-level",
            "WARNING",
        ]
    )
    try:
        for _ in range(3):
            run.wait_for_line(DECISION, timeout=60)
        victim.kill()
        victim.wait(60)
        assert str(victim.pid) in run.wait_for_error_line("stopped watching", timeout=60)
        for _ in range(5):  # the run goes on with the process that is left
            run.wait_for_line(DECISION, timeout=60)
        assert run.proc.poll() is None
        code, out, err = run.stop(signal.SIGTERM)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        run.close()
    assert code == 0, err
    assert "Summary:" in out
    assert "Traceback" not in err
    assert err.count("stopped watching") == 1
