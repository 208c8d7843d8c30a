"""Start-up time of the command line: ``adaptive-stream --help``, ``settings`` and a one-row
``replay``, whole processes (``python -m adaptive_stream``), timed alternately with a bare
``python -c pass`` so that machine noise hits all alike; medians in milliseconds.

    .venv/bin/python benchmarks/startup.py [--rounds 21] [--source DIR]

``--source DIR`` runs the package found in DIR instead (``PYTHONPATH=DIR``), to compare two
revisions with the same interpreter and dependencies (e.g. a ``git archive`` of the old one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRACE = "t,kind,cpu_percent,memory_percent,latency_ms\n0,metrics,10,20,\n0.5,tick,,,\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--source", type=Path, default=HERE.parent)
    options = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(options.source.resolve()))
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "one.trace.csv"
        trace.write_text(TRACE)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "--help": [sys.executable, "-m", "adaptive_stream", "--help"],
            "settings": [sys.executable, "-m", "adaptive_stream", "settings"],
            "replay (1 tick)": [sys.executable, "-m", "adaptive_stream", "replay", str(trace)],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(options.rounds):
            for name, command in commands.items():
                started = time.perf_counter()
                subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True, cwd=tmp)
                times[name].append((time.perf_counter() - started) * 1000)
    print(f"source: {options.source.resolve()}; {options.rounds} rounds, medians")
    for name, values in times.items():
        print(f"  {name:<16} {statistics.median(values):7.1f} ms")


if __name__ == "__main__":
    main()
