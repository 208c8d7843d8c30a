"""Integration: a real Prometheus server scrapes ``adaptive-stream run --metrics-port``.

Starts a live ``adaptive-stream run --system`` and ``/usr/bin/prometheus`` on loopback (temp
config and storage, 1 s scrape interval; each binds port 0 and the test reads the port back
from its output), then reads the input buffer gauge back
through Prometheus's HTTP query API and checks it against the sizes the run printed.
Skipped when Prometheus is not installed, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

PROMETHEUS = "/usr/bin/prometheus"
pytestmark = pytest.mark.slow

ROW = re.compile(r"^\s*\d+\.\d+s\s+(\d+)\*?\s+(\d+)")


def _require_prometheus() -> None:
    if os.path.exists(PROMETHEUS):
        return
    reason = f"{PROMETHEUS} not found: install the Debian package 'prometheus' (.ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body: bytes = resp.read()
        return body


def _stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


class _Lines:
    """Reads a pipe on a thread; keeps every line and the input sizes of decision rows."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self.sizes: list[int] = []
        self._lock = threading.Lock()
        self._pipe = pipe
        self._more = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._pipe:
            with self._lock:
                self.lines.append(line)
                m = ROW.match(line)
                if m:
                    self.sizes.append(int(m.group(1)))
            self._more.set()
        self._more.set()

    def snapshot(self) -> tuple[list[str], list[int]]:
        with self._lock:
            return list(self.lines), list(self.sizes)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 60.0) -> re.Match[str]:
        """The first line matching ``pattern``, waiting for it at most ``timeout`` s."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            with self._lock:
                fresh, seen = self.lines[seen:], len(self.lines)
            for line in fresh:
                found = pattern.search(line)
                if found:
                    return found
            if time.monotonic() > deadline or (not self._thread.is_alive() and not fresh):
                raise AssertionError(f"no line like {pattern.pattern!r}: {self.lines[-5:]}")
            self._more.wait(0.5)
            self._more.clear()


METRICS_URL = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")
LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


@pytest.fixture
def prometheus_and_run(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, _Lines]]:
    """``adaptive-stream run`` and a Prometheus scraping it, each on a port it bound itself
    (port 0) and printed: the ports are read back from their output."""
    _require_prometheus()
    names: str = request.param
    exe = shutil.which("adaptive-stream", path=os.path.dirname(sys.executable))
    assert exe is not None, "adaptive-stream entry point not installed next to this python"
    run = subprocess.Popen(
        [
            exe,
            "run",
            "--system",
            "--duration",
            "60",
            "--adaptation-interval",
            "100ms",
            "--metrics-port",
            "0",
            "--metrics-names",
            names,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert run.stdout is not None
    lines = _Lines(run.stdout)
    prom: subprocess.Popen[str] | None = None
    prom_lines: _Lines | None = None
    try:
        metrics_port = int(lines.wait_for(METRICS_URL).group(1))
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: adaptive_stream\n"
            "    scrape_interval: 1s\n"
            "    scrape_timeout: 1s\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{metrics_port}']\n"
        )
        prom = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                "--web.listen-address=127.0.0.1:0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert prom.stdout is not None
        prom_lines = _Lines(prom.stdout)
        web_port = int(prom_lines.wait_for(LISTENING).group(1))
        yield f"http://127.0.0.1:{web_port}", lines
    finally:
        if prom is not None:
            _stop(prom)
        _stop(run)
        lines.join(10.0)
        run.stdout.close()
        if prom is not None and prom_lines is not None and prom.stdout is not None:
            prom_lines.join(10.0)
            prom.stdout.close()


def _query(base: str, metric: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": metric})
    body = json.loads(_get(url))
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.mark.parametrize(
    ("prometheus_and_run", "metric"),
    [
        ("adaptive_stream", "adaptive_stream_input_buffer_frames"),
        ("jetkvm", "jetkvm_adaptive_input_buffer_size_bytes"),
    ],
    indirect=["prometheus_and_run"],
)
def test_prometheus_scrapes_the_input_buffer_size(
    prometheus_and_run: tuple[str, _Lines], metric: str
) -> None:
    base, lines = prometheus_and_run
    deadline = time.monotonic() + 40.0
    result: list[dict[str, Any]] = []
    last_error = "no query made"
    while time.monotonic() < deadline:
        try:
            result = _query(base, metric)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_error = repr(exc)  # Prometheus not ready yet
        else:
            if result:
                break
            last_error = "empty result (no scrape stored yet)"
        time.sleep(0.2)  # poll interval, bounded by the deadline above
    printed, sizes = lines.snapshot()
    assert result, f"{metric} never came back from Prometheus: {last_error}; run: {printed[-5:]}"
    assert len(result) == 1, result
    assert result[0]["metric"]["job"] == "adaptive_stream"
    raw = result[0]["value"][1]
    value = float(raw)
    assert value.is_integer(), raw
    frames = int(value)
    assert 3 <= frames <= 20
    assert sizes, f"the run printed no decision: {printed}"
    assert frames in set(sizes), f"{frames} not among the printed sizes {sorted(set(sizes))}"
