"""Helpers of the benchmarks that time whole processes of several revisions side by side
(``compare_jobs.py``, ``replay_ab.py``)."""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def extract(rev: str, into: Path, names: Sequence[str] = ("adaptive_stream",)) -> Path:
    """The top-level ``names`` as they are at ``rev`` (``WORKTREE``: as they are on disk),
    the package byte-compiled, in the new directory ``into``."""
    into.mkdir(parents=True)
    if rev == "WORKTREE":
        for name in names:
            shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, *names],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    compileall.compile_dir(into / "adaptive_stream", quiet=1)
    return into


def timed(
    cmd: list[str], *, cwd: str | Path, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall time and CPU time (user + system, reaped descendants included) of one whole
    process, its output discarded. Raises CalledProcessError if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), cmd)
    return wall, usage.ru_utime + usage.ru_stime
