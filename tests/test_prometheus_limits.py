"""The metrics endpoint cannot starve the controller: a flood of clients that never finish
their request, against a run whose descriptor limit is low, leaves the decisions going and
the sampling working; once the flood goes, scrapes are served again. Loopback only, bounded
(each wait is for a line of output or a reply, with a generous deadline)."""

from __future__ import annotations

import contextlib
import re
import resource
import socket
import sys
import time
import urllib.request

import pytest
from live_process import FAST, Running

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, rlimit")

LIMIT = 64  # descriptors for the whole run: Python, psutil, the exporter and the flood
FLOOD = 300  # far more connections than the limit


def _low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


@pytest.mark.timeout(600)
def test_a_slow_client_flood_does_not_stop_the_decisions() -> None:
    run = Running(["run", "--system", *FAST, "--metrics-port", "0"], preexec_fn=_low_fd_limit)
    flood: list[socket.socket] = []
    try:
        first = run.wait_for_line("metrics on http://", timeout=60)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", first)
        assert match, first
        port = int(match.group(1))
        run.wait_for_line("): cpu ", timeout=60)
        for _ in range(FLOOD):
            client = socket.socket()
            client.settimeout(10)
            with contextlib.suppress(OSError):  # refused or reset: the server said no
                client.connect(("127.0.0.1", port))
                client.send(b"GET /met")  # and never the rest of the request line
            flood.append(client)
        # Ten more decisions while the flood holds on: the ticker still samples /proc.
        for _ in range(10):
            run.wait_for_line("): cpu ", timeout=60)
        for client in flood:
            client.close()
        flood.clear()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    body = r.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "the endpoint never served again"
                time.sleep(0.2)  # the slow clients' slots free as they time out
        assert "adaptive_stream_input_buffer_frames" in body
        code, _, err = run.stop()
    finally:
        for client in flood:
            client.close()
        run.close()
    assert code == 0, err
    assert "Too many open files" not in err
    assert "Traceback" not in err
