"""docs/tuning.md's tables regenerated from the tools' output, between markers::

    adaptive-stream tune ... --out results/
    python -m adaptive_stream.tune.tables results/comparison.csv docs/tuning.md --marker example
    .venv/bin/python benchmarks/tune_speed.py --json > speed.json
    python -m adaptive_stream.tune.tables speed.json docs/tuning.md --marker speed

A ``.csv`` is a study's ``comparison.csv`` (its ``all`` rows become the table); a ``.json``
is ``benchmarks/tune_speed.py --json``. What lies between ``<!-- table:MARKER:begin -->``
and ``<!-- table:MARKER:end -->`` is replaced; the file is rewritten whole or left as it
was; errors are one line, exit code 2.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from adaptive_stream.docblocks import marker_parser, update_between_markers

__all__ = ["comparison_table", "main", "speed_table"]


def comparison_table(rows: Sequence[Mapping[str, str]]) -> str:
    """The ``all`` rows of a ``comparison.csv``: each profile's means per seed set."""
    lines = [
        "| seeds | profile | MOS | R | latency (ms) | loss (%) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row["scenario"] != "all":
            continue
        lines.append(
            f"| {row['seed_set']} {row['seeds']} | {row['profile']} | {float(row['mos']):.3f} "
            f"| {float(row['r_factor']):.1f} | {float(row['latency_mean_ms']):.1f} "
            f"| {float(row['loss_percent']):.2f} |"
        )
    if len(lines) == 2:
        raise ValueError("no 'all' rows (expected a tune comparison.csv)")
    return "\n".join(lines)


def speed_table(report: Mapping[str, Any]) -> str:
    """``benchmarks/tune_speed.py --json`` as a table and the overhead per run."""
    lines = [
        f"{report['trials']} trials, {report['runs']} runs ({report['scenarios']}, seeds "
        f"{report['seeds']}), {report['cpus']} CPUs; load average {report['load']}.",
        "",
        "| executor | study (s) | trials per minute | wall time per tiny run (ms) |",
        "| --- | --- | --- | --- |",
    ]
    for name, figures in report["study"].items():
        lines.append(
            f"| {name} | {figures['seconds']:.2f} | {figures['trials_per_minute']:.1f} "
            f"| {report['per_run_ms'][name]:.3f} |"
        )
    overhead = report["overhead_per_run_ms"]
    lines += [
        "",
        f"Overhead per run beyond half the in-process time: process pool "
        f"{overhead['process pool']:.1f} ms, Dask {overhead['dask']:.1f} ms; Dask adds "
        f"**{overhead['dask minus pool']:.1f} ms per run** over the pool. Same best trial on "
        f"every executor: {'yes' if report['same_best_trial'] else 'NO'}.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (module docstring)."""
    args = marker_parser(
        "python -m adaptive_stream.tune.tables",
        "Write a tune table between markers in a Markdown file.",
        "comparison.csv, or tune_speed.py --json",
    ).parse_args(argv)
    try:
        source = args.results.read_text(encoding="utf-8")
        if args.results.suffix == ".json":
            block = speed_table(json.loads(source))
        else:
            block = comparison_table(list(csv.DictReader(source.splitlines())))
        update_between_markers(args.markdown, args.marker, block)
    except (OSError, ValueError, KeyError) as exc:
        print(f"tables: {args.results}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
