"""``adaptive-stream run`` ends with its summary on every stop signal: SIGHUP (a closed
terminal) like SIGTERM, and SIGINT even in the first instant. Real processes; each waits on
a line of output, never on a clock."""

from __future__ import annotations

import signal
import subprocess

import pytest
from live_process import CLI, FAST, Running

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_run_with_its_summary(signum: int) -> None:
    run = Running(["run", "--system", *FAST])
    try:
        run.wait_for_line("): cpu ", timeout=60)  # it is deciding
        run.proc.send_signal(signum)
        code, out, err = run.finish(timeout=60)
    finally:
        run.close()
    assert code == 0, err
    assert "Summary: ran" in out
    assert "Traceback" not in err


def test_sigint_before_the_first_decision_is_one_line_or_a_summary() -> None:
    """Ctrl-C at once: before the handlers are in place it is one line and exit 130; after,
    it ends the run with its summary. Never a traceback."""
    proc = subprocess.Popen(
        [*CLI, "run", "--system", *FAST],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    if proc.returncode == 130:
        assert err.strip().splitlines()[-1] == "adaptive-stream: interrupted"
    else:
        # Python had not set up its own SIGINT handler yet: the default action killed it
        # (-2), or the run had started and ended cleanly with its summary (0).
        assert proc.returncode in (0, -signal.SIGINT), (proc.returncode, err)
        if proc.returncode == 0:
            assert "Summary: ran" in out
