"""Footprint of ``adaptive-stream run`` at the default 500 ms interval, watching three processes.

Spawns three idle child processes, starts ``adaptive-stream run --quiet --pid A --pid B --pid C``,
waits for warm-up, then samples the run process once a second with psutil: steady-state CPU
(CPU time delta / wall time delta, percent of one core) and peak RSS (max of the samples, and
``ru_maxrss`` from ``os.wait4`` at the end). The time to the first decision is parsed from the
summary line (``first decision X s after start``). Ends the run with SIGTERM and checks it exits
0 with its summary. Targets (issue 3): CPU <= 0.5 % of one core, peak RSS <= 40 MiB, first
decision within 1 s.

    .venv/bin/python benchmarks/live_footprint.py [--seconds 60] [--warmup 5] [-- RUN-ARGS]

Arguments after ``--`` go to ``adaptive-stream run`` (e.g. ``-- --metrics-port 0`` to include
the Prometheus exporter).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import psutil

MiB = 1024 * 1024
CPU_TARGET = 0.5
RSS_TARGET_MIB = 40.0
FIRST_TARGET_S = 1.0
FIRST = re.compile(r"first decision ([0-9.]+) s after start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="sampling time (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up time (default 5)")
    parser.add_argument("run_args", nargs="*", help="after --: more adaptive-stream run flags")
    args = parser.parse_args()

    exe = shutil.which("adaptive-stream", path=os.path.dirname(sys.executable))
    if exe is None:
        print("adaptive-stream is not installed next to this python", file=sys.stderr)
        return 2
    children = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(3)
    ]
    cmd = [exe, "run", "--quiet"]
    for child in children:
        cmd += ["--pid", str(child.pid)]
    cmd += args.run_args
    out_path = f"/tmp/live_footprint.{os.getpid()}.out"
    status = 1
    try:
        with open(out_path, "w+") as out:
            run = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
            proc = psutil.Process(run.pid)
            warm_end = time.monotonic() + args.warmup
            while time.monotonic() < warm_end and run.poll() is None:
                time.sleep(0.1)
            if run.poll() is not None:
                out.seek(0)
                print(f"run exited early ({run.returncode}):\n{out.read()}", file=sys.stderr)
                return 1
            t0 = time.monotonic()
            c0 = sum(proc.cpu_times()[:2])
            rss: list[int] = [proc.memory_info().rss]
            for _ in range(args.seconds):
                time.sleep(1.0)
                rss.append(proc.memory_info().rss)
            t1 = time.monotonic()
            c1 = sum(proc.cpu_times()[:2])
            uss = proc.memory_full_info().uss
            run.send_signal(signal.SIGTERM)
            _, wstatus, usage = os.wait4(run.pid, 0)
            run.returncode = os.waitstatus_to_exitcode(wstatus)
            out.seek(0)
            text = out.read()
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(10)
        if os.path.exists(out_path):
            os.unlink(out_path)

    cpu = 100.0 * (c1 - c0) / (t1 - t0)
    peak = max(rss) / MiB
    maxrss = usage.ru_maxrss / 1024  # KiB on Linux
    m = FIRST.search(text)
    first = float(m.group(1)) if m else float("nan")
    summary_ok = text.count("Summary:") == 1 and "Traceback" not in text
    ok = {
        "cpu": cpu <= CPU_TARGET,
        "rss": max(peak, maxrss) <= RSS_TARGET_MIB,
        "first": m is not None and first <= FIRST_TARGET_S,
        "exit": run.returncode == 0 and summary_ok,
    }
    verdict = {True: "met", False: "MISSED"}
    print(f"adaptive-stream run --quiet, default interval, 3 pids; {args.seconds} s sampled")
    print(
        f"  cpu        {cpu:6.3f} % of one core   target <= {CPU_TARGET} %   {verdict[ok['cpu']]}"
    )
    print(
        f"  peak rss   {peak:6.1f} MiB (samples), ru_maxrss {maxrss:.1f} MiB, "
        f"uss {uss / MiB:.1f} MiB"
        f"   target <= {RSS_TARGET_MIB:.0f} MiB   {verdict[ok['rss']]}"
    )
    print(
        f"  first      {first:6.2f} s                 "
        f"target <= {FIRST_TARGET_S} s   {verdict[ok['first']]}"
    )
    print(
        f"  exit       {run.returncode}, "
        f"summary {'printed' if summary_ok else 'MISSING'}   {verdict[ok['exit']]}"
    )
    print("  " + "\n  ".join(line for line in text.splitlines() if line.startswith("Summary:")))
    status = 0 if all(ok.values()) else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
