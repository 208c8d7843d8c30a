"""Replay speed: ``adaptive-stream replay`` against a plain Python loop, whole processes.

Generates a one-hour trace (7,200 ticks at 500 ms, metrics every tick, about 100,000 latency
samples), checks both programs print the same bytes, then times them alternately, so that
machine noise hits both alike, and reports the ratio of medians (the goal: at most 2.0x,
aim 1.5x). Run: ``make bench`` or ``.venv/bin/python benchmarks/replay_speed.py``.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_trace(path: Path, seconds: int = 3600, seed: int = 7) -> tuple[int, int]:
    """Write a deterministic trace: a tick every 500 ms with metrics just before it, and
    latency samples at a mean of ~14 per tick, drifting through load phases."""
    rng = random.Random(seed)
    rows = ["t,kind,cpu_percent,memory_percent,latency_ms"]
    latency_rows = 0
    latency = 15.0
    ticks = seconds * 2
    for n in range(1, ticks + 1):
        t = n * 0.5
        phase = (n // 240) % 4  # two-minute phases: calm, busy, spiky, memory pressure
        cpu = [5.0, 75.0, 35.0, 15.0][phase] + rng.uniform(-5, 5)
        mem = [30.0, 45.0, 55.0, 80.0][phase] + rng.uniform(-3, 3)
        for _ in range(rng.randint(11, 17)):
            latency = max(0.0, latency + rng.gauss(0, 2.0) + (20.0 - latency) * 0.05)
            spike = 60.0 if phase == 2 and rng.random() < 0.02 else 0.0
            at = t - 0.5 + rng.uniform(0.001, 0.49)
            rows.append(f"{at:.6f},latency,,,{latency + spike:.3f}")
            latency_rows += 1
        rows.append(f"{t - 0.0005:.6f},metrics,{max(cpu, 0):.3f},{max(mem, 0):.3f},")
        rows.append(f"{t:.6f},tick,,,")
    # latency rows were appended per tick in random order within the tick: sort by time
    header, body = rows[0], rows[1:]
    body.sort(key=lambda r: float(r.split(",", 1)[0]))
    path.write_text("\n".join([header, *body]) + "\n")
    return ticks, latency_rows


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    trace = args.out / "hour.trace.csv"
    ticks, samples = make_trace(trace)

    # An installed wheel carries bytecode; an editable install under PYTHONDONTWRITEBYTECODE
    # (set on the CI machines) would compile the package on every run. Compile it once.
    import adaptive_stream

    compileall.compile_dir(Path(adaptive_stream.__file__).parent, quiet=1)

    exe = shutil.which("adaptive-stream", path=str(Path(sys.executable).parent))
    product = [exe] if exe else [sys.executable, "-m", "adaptive_stream"]
    product += ["replay", str(trace)]
    plain = [sys.executable, str(HERE / "plain_replay.py"), str(trace)]
    checked = [sys.executable, str(HERE / "plain_replay.py"), "--checked", str(trace)]

    ours = subprocess.run(product, capture_output=True, check=True).stdout
    theirs = subprocess.run(plain, capture_output=True, check=True).stdout
    theirs_checked = subprocess.run(checked, capture_output=True, check=True).stdout
    if not ours == theirs == theirs_checked:
        print("outputs differ: the comparison would be meaningless", file=sys.stderr)
        return 1

    walls: dict[str, list[float]] = {"replay": [], "plain": [], "checked": []}
    cpus: dict[str, list[float]] = {"replay": [], "plain": [], "checked": []}
    for _ in range(args.rounds):  # alternate, so noise hits all alike
        for name, cmd in (("replay", product), ("plain", plain), ("checked", checked)):
            wall, cpu = timed(cmd)
            walls[name].append(wall)
            cpus[name].append(cpu)
    replay_s = statistics.median(walls["replay"])
    plain_s = statistics.median(walls["plain"])
    replay_cpu = statistics.median(cpus["replay"])
    plain_cpu = statistics.median(cpus["plain"])
    checked_s = statistics.median(walls["checked"])
    checked_cpu = statistics.median(cpus["checked"])
    bare = statistics.median(timed([sys.executable, "-c", "pass"])[0] for _ in range(5))
    rx_import = statistics.median(
        timed([sys.executable, "-c", "import reactivex"])[0] for _ in range(5)
    )
    print(f"trace: {ticks} ticks, {samples} latency samples, {ticks} metrics rows")
    rows = ours.count(b"\n") - 1
    print(f"decisions identical: {rows} rows")
    print(f"medians over {args.rounds} alternating runs (wall / CPU user+sys):")
    print(f"  adaptive-stream replay: {replay_s * 1000:4.0f} ms / {replay_cpu * 1000:4.0f} ms")
    print(f"  plain Python loop:      {plain_s * 1000:4.0f} ms / {plain_cpu * 1000:4.0f} ms")
    print(f"  same, with input checks:{checked_s * 1000:4.0f} ms / {checked_cpu * 1000:4.0f} ms")
    print(f"  python startup alone:   {bare * 1000:4.0f} ms")
    print(
        f"  python + import reactivex: {rx_import * 1000:4.0f} ms (a fixed cost of any Rx program)"
    )
    print(
        f"ratio to the plain loop: {replay_s / plain_s:.2f}x wall, "
        f"{replay_cpu / plain_cpu:.2f}x CPU (goal <= 2.0x, aim 1.5x)"
    )
    print(
        f"ratio to the loop with input checks: {replay_s / checked_s:.2f}x wall, "
        f"{replay_cpu / checked_cpu:.2f}x CPU"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
