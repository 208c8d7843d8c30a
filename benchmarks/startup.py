"""Start-up time of the command line: ``adaptive-stream --help``, ``settings`` and a one-row
``replay``, whole processes (``python -m adaptive_stream``), run alternately with a bare
``python -c pass`` so that machine noise hits all alike; medians of each process's CPU time
(user + system, from ``wait4``: less disturbed by a busy machine than wall time), in ms.

    .venv/bin/python benchmarks/startup.py [--rounds 21] [--source DIR]...

``--source DIR`` (repeatable) runs the package found in DIR (``PYTHONPATH=DIR``, from a
working directory outside any checkout), to compare revisions with the same interpreter and
dependencies (e.g. a ``git archive`` of the old one); every round runs each source in turn.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRACE = "t,kind,cpu_percent,memory_percent,latency_ms\n0,metrics,10,20,\n0.5,tick,,,\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--source", type=Path, action="append")
    options = parser.parse_args()
    sources = [s.resolve() for s in options.source or [HERE.parent]]
    for src in sources:  # as an installed wheel is: without this, each run compiles anew
        compileall.compile_dir(src / "adaptive_stream", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "one.trace.csv"
        trace.write_text(TRACE)
        commands = {
            "python -c pass": ["-c", "pass"],
            "--help": ["-m", "adaptive_stream", "--help"],
            "settings": ["-m", "adaptive_stream", "settings"],
            "replay (1 tick)": ["-m", "adaptive_stream", "replay", str(trace)],
        }
        times = {(src, name): [] for src in sources for name in commands}  # type: ignore[var-annotated]
        for _ in range(options.rounds):
            for src in sources:
                env = dict(os.environ, PYTHONPATH=str(src))
                for name, command in commands.items():
                    proc = subprocess.Popen(
                        [sys.executable, *command], env=env, stdout=subprocess.DEVNULL, cwd=tmp
                    )
                    _, status, usage = os.wait4(proc.pid, 0)
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    assert proc.returncode == 0, (src, name)
                    times[src, name].append((usage.ru_utime + usage.ru_stime) * 1000)
    print(f"{options.rounds} rounds, sources in turn; medians of CPU time (user + system)")
    print(f"  {'command':<16} " + " ".join(f"{str(src)[-24:]:>24}" for src in sources))
    for name in commands:
        cells = " ".join(f"{statistics.median(times[src, name]):21.1f} ms" for src in sources)
        print(f"  {name:<16} {cells}")


if __name__ == "__main__":
    main()
