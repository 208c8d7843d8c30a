"""Real-time soak: ``adaptive-stream run`` for 10 minutes with its RSS sampled, then SIGTERM.

Reports the resident memory over time (after a warm-up), its least-squares slope, the exit
code after SIGTERM and how long the exit took, and writes every sample to
``benchmarks/out/soak_run.csv``. RSS is "flat" when the growth from the end of the warm-up to
the end is small (default limit 2 MiB) and the slope is near zero.

Run: ``.venv/bin/python benchmarks/soak_run.py`` (10 minutes), or shorter with
``--minutes 1``. Arguments after ``--`` go to ``adaptive-stream run``.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024


#: The child for --manager-only: the manager with its defaults (EventLoopScheduler ticker,
#: psutil sampler of its own process), latency pushed from a second thread at 100 Hz, a
#: decisions subscriber; SIGTERM stops it and exits 0.
MANAGER_ONLY = """
import signal, sys, threading
from adaptive_stream import AdaptiveBufferManager
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
manager = AdaptiveBufferManager()
count = [0]
manager.decisions.subscribe(lambda d: count.__setitem__(0, count[0] + 1))
manager.start()
i = 0
while not done.wait(0.01):
    i += 1
    manager.update_latency(0.005 + (i % 50) / 1000)
manager.stop()
print(count[0], "decisions;", manager.stats())
sys.exit(0)
"""


def slope_per_minute(points: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, in bytes per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (r - mean_r) for t, r in points)
    return cov / var * 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="run time (default 10)")
    parser.add_argument("--every", type=float, default=5.0, help="RSS sampling period, s")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the baseline")
    parser.add_argument("--limit-mib", type=float, default=2.0, help="allowed RSS growth")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "soak_run.csv")
    parser.add_argument(
        "--manager-only",
        action="store_true",
        help="soak the manager alone (its real ticker, psutil sampler and 100 latency "
        "samples a second, in a child process) instead of adaptive-stream run",
    )
    parser.add_argument("run_args", nargs="*", help="extra arguments for adaptive-stream run")
    args = parser.parse_args()

    if args.manager_only:
        command = [sys.executable, "-c", MANAGER_ONLY]
    else:
        exe = shutil.which("adaptive-stream", path=str(Path(sys.executable).parent))
        exe = exe or shutil.which("adaptive-stream")
        if exe is None:
            print("adaptive-stream is not installed in this environment", file=sys.stderr)
            return 2
        command = [exe, "run", *args.run_args]
    duration = args.minutes * 60.0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        process = psutil.Process(child.pid)
        samples: list[tuple[float, int]] = []
        next_at = started
        while True:
            now = time.monotonic()
            if now - started >= duration or child.poll() is not None:
                break
            if now >= next_at:
                try:
                    samples.append((now - started, process.memory_info().rss))
                except psutil.Error:
                    break
                next_at += args.every
            time.sleep(min(0.2, max(0.0, next_at - time.monotonic())))
        early_exit = child.poll()
        term_sent = time.monotonic()
        if early_exit is None:
            child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
            print("the run did not exit within 30 s of SIGTERM: killed", file=sys.stderr)
        exit_seconds = time.monotonic() - term_sent
        out.seek(0)
        stdout = out.read()
        stdout_lines = stdout.count(b"\n")
        last_line = stdout.decode("utf-8", "replace").strip().rsplit("\n", 1)[-1][:400]
        err.seek(0)
        stderr_text = err.read().decode("utf-8", "replace")

    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["seconds", "rss_bytes"])
        writer.writerows((f"{t:.1f}", r) for t, r in samples)

    steady = [(t, r) for t, r in samples if t >= args.warmup] or samples
    if not steady:
        print("no RSS sample was taken", file=sys.stderr)
        return 1
    base, last = steady[0][1], steady[-1][1]
    growth = last - base
    slope = slope_per_minute(steady)
    tracebacks = stderr_text.count("Traceback")
    shown = "python -c <the --manager-only child>" if args.manager_only else " ".join(command)
    print(f"command: {shown}")
    print(f"ran {samples[-1][0]:.0f} s, {len(samples)} RSS samples every {args.every:g} s")
    if early_exit is not None:
        print(f"the run ended by itself before SIGTERM, with code {early_exit}")
    print(
        f"RSS after warm-up ({steady[0][0]:.0f} s): {base / MIB:.2f} MiB; at the end: "
        f"{last / MIB:.2f} MiB; growth {growth / 1024:+.0f} KiB; max "
        f"{max(r for _, r in samples) / MIB:.2f} MiB; slope {slope / 1024:+.1f} KiB/min"
    )
    print(
        f"SIGTERM: exit code {code} after {exit_seconds:.2f} s; stdout {stdout_lines} lines; "
        f"tracebacks on stderr: {tracebacks}"
    )
    print(f"last line of stdout: {last_line}")
    print(f"samples: {os.path.relpath(args.out)}")
    flat = growth <= args.limit_mib * MIB
    clean = early_exit is None and code in (0, 128 + signal.SIGTERM, -signal.SIGTERM)
    print(f"verdict: RSS {'flat' if flat else 'GREW'}, exit {'clean' if clean else 'NOT clean'}")
    return 0 if flat and clean and tracebacks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
