"""`adaptive-stream run` end to end, as real processes, bounded in time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from live_process import CLI, FAST, Running


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A real process to watch: a short busy loop, then sleep."""
    code = "import time\nend = time.time() + 0.5\nwhile time.time() < end: pass\ntime.sleep(120)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_run_watches_a_real_child_process(child: subprocess.Popen[bytes]) -> None:
    run = Running(["run", "--pid", str(child.pid), *FAST])
    try:
        assert f"(pid {child.pid})" in run.wait_for_line("adaptive-stream run: watching")
        for _ in range(5):
            run.wait_for_line("): cpu ", timeout=60)
        code, out, err = run.stop(signal.SIGTERM)
    finally:
        run.close()
    assert code == 0, err
    assert "Summary: ran" in out
    assert "Traceback" not in err


def test_duration_ends_the_run_by_itself_with_its_summary() -> None:
    run = Running(["run", "--system", "--duration", "1500ms", *FAST])
    code, out, err = run.finish(timeout=60)
    assert code == 0, err
    assert "Summary: ran 1.5 s" in out


def test_metrics_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*CLI, "run", "--duration", "1", "--metrics-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"adaptive-stream: metrics port {port} on 127.0.0.1 is already in use: "
        "pick another with --metrics-port"
    ]


def _free_pid() -> int:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid -= 1
    return pid


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pid", str(_free_pid())], "no process with pid"),
        (["--name", "no-such-process-xyz"], "no running process is named 'no-such-process-xyz'"),
        (["--smoothing-factor", "7"], "invalid settings: smoothing_factor"),
        (["--system", "--pid", str(os.getpid())], "--system watches the whole machine"),
        (["--duration", "0"], "argument --duration: must be above 0 and at most 366 days"),
        (["--duration=-2s"], "argument --duration: must be above 0"),
        (["--duration", "inf"], "argument --duration: not a duration: 'inf'"),
        (["--duration", "nan"], "argument --duration: not a duration: 'nan'"),
        (["--duration", "true"], "argument --duration: not a duration: 'true'"),
        (["--duration", "1e300"], "argument --duration: a duration must be at most"),
        (["--duraton", "1"], "unrecognized arguments: --duraton 1"),
        (["--metrics-addr", "::1"], "--metrics-addr needs --metrics-port"),
        (["--pid", "-5"], "argument --pid: a pid is a positive integer, got -5"),
        (["--pid", "0"], "argument --pid: a pid is a positive integer, got 0"),
        (["--pid", "abc"], "argument --pid: not a pid: 'abc'"),
        (["--metrics-port", "99999"], "argument --metrics-port: a port is within 0..65535"),
        (["--metrics-port", "-1"], "argument --metrics-port: a port is within 0..65535"),
        (["--metrics-names", "grafana"], "argument --metrics-names: invalid choice"),
        (["--log-level", "LOUD"], "log_level: must be one of TRACE, DEBUG, INFO"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = subprocess.run(
        [*CLI, "run", "--duration", "1", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert done.stdout == ""


def test_run_help_documents_the_options() -> None:
    done = subprocess.run(
        [*CLI, "run", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    for flag in (
        "--duration",
        "--pid",
        "--name",
        "--system",
        "--profile",
        "--metrics-port",
        "--metrics-names",
        "--log-json",
        "--max-buffer-size",
    ):
        assert flag in done.stdout


def test_log_json_gives_one_json_record_per_adjustment() -> None:
    import json

    # Thresholds no real machine reaches, so that every factor is +1 however busy the
    # machine running the tests is: the first tick grows 6 -> 10.
    calm = ["--cpu-low-threshold", "1000", "--cpu-high-threshold", "2000"]
    calm += ["--memory-low-threshold", "99.9", "--memory-high-threshold", "100"]
    run = Running(["run", "--system", "--log-json", "--quiet", *FAST, *calm])
    try:
        run.wait_for_error_line('"message": "buffers', timeout=60)  # the first adjustment
        code, out, err = run.stop(signal.SIGTERM)
    finally:
        run.close()
    assert code == 0, err
    records = [json.loads(line) for line in err.splitlines()]  # every stderr line is JSON
    decisions = [r["record"] for r in records if r["record"]["message"].startswith("buffers")]
    assert decisions, err
    first = decisions[0]
    assert first["level"]["name"] == "INFO"
    assert first["extra"]["input_size"] == 10  # 6 -> 10: combined factor +1
    assert first["extra"]["policy"] == "jetkvm"
    assert {"cpu_percent", "memory_percent", "latency_ms", "combined_factor"} <= set(first["extra"])
    assert "Summary:" in out


@pytest.fixture
def named_sleeper(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start processes with a name of their own (a copy of ``sleep``), killed at the end."""
    import shutil

    sleep = shutil.which("sleep")
    assert sleep is not None
    exe = tmp_path / "as-test-sleeper"
    shutil.copy(sleep, exe)
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([str(exe), "120"])
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_run_by_name_follows_a_restarted_process(
    named_sleeper: Callable[[], subprocess.Popen[bytes]],
) -> None:
    first = named_sleeper()
    run = Running(["run", "--name", "as-test-sleeper", "--log-level", "INFO", *FAST])
    try:
        assert f"as-test-sleeper (pid {first.pid})" in run.wait_for_line("watching", timeout=30)
        run.wait_for_line("grow", timeout=30)
        first.kill()  # the process dies ...
        first.wait()
        second = named_sleeper()  # ... and comes back under a new pid
        run.wait_for_error_line(f"watching as-test-sleeper (pid {second.pid})", timeout=60)
        while not run.lines.empty():  # what was printed up to now
            run.stdout.append(run.lines.get())
        for _ in range(2):  # the second of these comes after the new pid was adopted
            run.wait_for_line("grow", timeout=30)
        run.proc.send_signal(signal.SIGTERM)
        code, _, err = run.finish(timeout=30)
    finally:
        run.close()
    assert code == 0
    assert f"stopped watching as-test-sleeper (pid {first.pid})" in err
    assert "Traceback" not in err


def test_a_reader_that_goes_away_ends_the_run_quietly() -> None:
    """`adaptive-stream run | head -3`: exit 0 once the pipe closes, no traceback."""
    proc = subprocess.Popen(
        [*CLI, "run", "--system", *FAST],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    for _ in range(3):  # the "watching" line, the header, one decision
        assert proc.stdout.readline()
    proc.stdout.close()
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert code == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert "a subscriber of" not in err


def test_the_metrics_url_brackets_an_ipv6_address() -> None:
    from adaptive_stream.live import metrics_url

    assert metrics_url("127.0.0.1", 9100) == "http://127.0.0.1:9100/metrics"
    assert metrics_url("::1", 9100) == "http://[::1]:9100/metrics"


def test_wait_returns_at_the_deadline_or_when_stopped() -> None:
    from adaptive_stream.live import wait_for_stop

    stop = threading.Event()
    stop.set()
    wait_for_stop(stop, None)  # stopped already: returns at once, even with no duration
    wait_for_stop(stop, 1e12)  # a duration far past threading.TIMEOUT_MAX does not overflow
    began = time.monotonic()
    wait_for_stop(threading.Event(), 0.01)
    assert time.monotonic() - began < 5  # bounded: it did return
