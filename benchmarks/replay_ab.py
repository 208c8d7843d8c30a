"""Replay speed of several revisions side by side: what one change gains, whole processes.

Each revision's package is taken with ``git archive`` into a temporary directory and
byte-compiled; then ``adaptive-stream replay`` (the console script's ``entry()``) runs from
each directory in turn (``PYTHONPATH``), in a shuffled order every round, with the plain loop
of ``plain_replay.py`` in every round too. Reports median wall and CPU time per revision and
the ratio to the plain loop. The trace is the one ``replay_speed.py`` writes (run it first),
or any other; all revisions must print the same bytes.

Usage: ``.venv/bin/python benchmarks/replay_ab.py [--rounds 31] [--trace FILE] REV [REV ...]``,
e.g. ``benchmarks/replay_ab.py c8210c0 HEAD``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from revisions import extract, timed

HERE = Path(__file__).resolve().parent
ENTRY = "import sys; from adaptive_stream.cli import entry; sys.exit(entry())"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("revisions", nargs="+", metavar="REV")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--trace", type=Path, default=HERE / "out" / "hour.trace.csv")
    args = parser.parse_args()
    if not args.trace.exists():
        print(f"{args.trace}: no such trace (benchmarks/replay_speed.py writes it)")
        return 2
    trace = str(args.trace.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        trees = {rev: extract(rev, Path(tmp) / f"{n}") for n, rev in enumerate(args.revisions)}
        commands = {
            rev: (
                [sys.executable, "-c", ENTRY, "replay", trace],
                {**os.environ, "PYTHONPATH": str(tree)},
            )
            for rev, tree in trees.items()
        }
        outputs = {
            subprocess.run(cmd, env=env, capture_output=True, check=True, cwd=tmp).stdout
            for cmd, env in commands.values()
        }
        if len(outputs) != 1:
            print("the revisions print different bytes: the comparison would be meaningless")
            return 1
        plain = [sys.executable, str(HERE / "plain_replay.py"), trace]
        walls: dict[str, list[float]] = {name: [] for name in [*commands, "plain"]}
        cpus: dict[str, list[float]] = {name: [] for name in [*commands, "plain"]}
        order = list(commands)
        for _ in range(args.rounds):
            random.shuffle(order)  # no revision always runs first, or right after the loop
            for rev in order:
                cmd, env = commands[rev]
                wall, cpu = timed(cmd, env=env, cwd=tempfile.gettempdir())
                walls[rev].append(wall)
                cpus[rev].append(cpu)
            wall, cpu = timed(plain, cwd=tempfile.gettempdir())
            walls["plain"].append(wall)
            cpus["plain"].append(cpu)
    plain_wall, plain_cpu = statistics.median(walls["plain"]), statistics.median(cpus["plain"])
    print(f"medians over {args.rounds} rounds (wall / CPU user+sys), ratio to the plain loop:")
    for name, times in walls.items():
        wall, cpu = statistics.median(times), statistics.median(cpus[name])
        print(
            f"  {name:12s} {wall * 1000:6.1f} ms ({wall / plain_wall:.2f}x) / "
            f"{cpu * 1000:6.1f} ms ({cpu / plain_cpu:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
