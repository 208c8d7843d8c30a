"""A real ``adaptive-stream`` process for tests: its output read by threads, waited on line
by line with generous deadlines (events, not wall-clock counts)."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

CLI = [sys.executable, "-m", "adaptive_stream"]
FAST = ["--adaptation-interval", "100ms"]


class Running:
    """A subprocess whose output is read by threads, for polling with deadlines."""

    def __init__(self, args: list[str], **popen: Any) -> None:
        self.proc = subprocess.Popen(
            [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.error_lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.lines.put)),
            threading.Thread(target=self._read, args=(self.proc.stderr, self._error)),
        ]
        for reader in self._readers:
            reader.start()

    def _error(self, line: str) -> None:
        self.stderr.append(line)
        self.error_lines.put(line)

    def wait_for_error_line(self, needle: str, timeout: float = 30.0) -> str:
        """The next line on stderr holding ``needle``, waiting at most ``timeout`` s."""
        return _wait_for(self.error_lines, needle, timeout, None)

    @staticmethod
    def _read(stream: IO[str], put: Callable[[str], None]) -> None:
        for line in stream:
            put(line)

    def wait_for_line(self, needle: str, timeout: float = 30.0) -> str:
        """The next line on stdout holding ``needle``, waiting at most ``timeout`` s (every
        line read on the way is kept in :attr:`stdout`)."""
        return _wait_for(self.lines, needle, timeout, self.stdout)

    def finish(self, timeout: float = 30.0) -> tuple[int, str, str]:
        """Wait for the exit (killing it after ``timeout``): exit code, stdout, stderr."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            for reader in self._readers:
                reader.join(timeout=10)
            assert self.proc.stdout is not None and self.proc.stderr is not None
            self.proc.stdout.close()
            self.proc.stderr.close()
        while not self.lines.empty():
            self.stdout.append(self.lines.get())
        return code, "".join(self.stdout), "".join(self.stderr)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> tuple[int, str, str]:
        """Send ``signum`` and wait for the exit: exit code, stdout, stderr."""
        self.proc.send_signal(signum)
        return self.finish(timeout=timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.finish()


def _wait_for(lines: queue.Queue[str], needle: str, timeout: float, keep: list[str] | None) -> str:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        seen.append(line)
        if keep is not None:
            keep.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r} within {timeout} s: {seen[-5:]}")
