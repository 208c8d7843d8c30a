"""``adaptive-stream compare --scenario all``: a base revision in one process against this
checkout with worker processes, whole processes, alternately.

Each revision (its ``adaptive_stream`` and ``config`` folders) is taken with ``git archive``
into a temporary directory and byte-compiled; every command runs with that directory as
working directory and ``PYTHONPATH``, so each revision compares its own bundled scenarios
(this checkout has more of them, and more rows: ``fixed`` and ``best-fixed``). The commands
run in a shuffled order every round; the report gives median wall and CPU time (user +
system, the workers included: they are reaped before the process exits).

Usage: ``.venv/bin/python benchmarks/compare_jobs.py [--rounds 5] [--base dca81b4]
[--head HEAD]``; the working tree is used for ``--head WORKTREE`` (the default).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

from revisions import extract, timed

ENTRY = "import sys; from adaptive_stream.cli import entry; sys.exit(entry())"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--base", default="dca81b4", help="revision run in one process")
    parser.add_argument("--head", default="WORKTREE", help="revision run with --jobs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = extract(args.base, Path(tmp) / "base", ("adaptive_stream", "config"))
        head = extract(args.head, Path(tmp) / "head", ("adaptive_stream", "config"))
        python = [sys.executable, "-c", ENTRY, "compare", "--scenario", "all"]
        runs = {
            f"{args.base}: compare --scenario all": (python, base),
            f"{args.head}: compare --scenario all --jobs 1": ([*python, "--jobs", "1"], head),
            f"{args.head}: compare --scenario all --jobs 2": ([*python, "--jobs", "2"], head),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        rng = random.Random(1)
        for _ in range(args.rounds):
            order = list(runs)
            rng.shuffle(order)
            for name in order:
                cmd, where = runs[name]
                env = {**os.environ, "PYTHONPATH": str(where)}
                times[name].append(timed(cmd, env=env, cwd=where))
    print(f"{args.rounds} rounds, load average before the last round: {os.getloadavg()[0]:.1f}")
    print("| command | wall s (median) | wall s (min..max) | CPU s (median) |")
    print("|---|--:|--:|--:|")
    for name, samples in times.items():
        walls = [w for w, _ in samples]
        cpus = [c for _, c in samples]
        print(
            f"| `{name}` | {statistics.median(walls):.2f} | {min(walls):.2f}..{max(walls):.2f} "
            f"| {statistics.median(cpus):.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
