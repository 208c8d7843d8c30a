"""Generated blocks of Markdown files: the lines between a begin and an end marker line.

Every tool that regenerates a docs figure (``simulation.tables``, ``tune.tables``,
``tools/policy_tables.py``, the benchmarks) rewrites its block through these two functions,
so figures in docs are regenerated from JSON, never pasted. A block named ``NAME`` lies
between ``<!-- {prefix}NAME:begin -->`` and ``<!-- {prefix}NAME:end -->``; the tables use
the prefix ``table:``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from adaptive_stream.output import write_file

__all__ = ["TABLE", "marker_parser", "replace_between_markers", "update_between_markers"]

TABLE = "table:"
"""The marker prefix of the docs' tables: ``<!-- table:NAME:begin -->``."""


def replace_between_markers(text: str, marker: str, block: str, *, prefix: str = TABLE) -> str:
    """``text`` with the lines between ``<!-- {prefix}MARKER:begin -->`` and
    ``<!-- {prefix}MARKER:end -->`` replaced by ``block`` (its trailing whitespace dropped).

    Raises:
        ValueError: a marker missing, repeated or out of order.
    """
    begin, end = f"<!-- {prefix}{marker}:begin -->", f"<!-- {prefix}{marker}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"expected one {begin} and one {end}")
    start, stop = text.index(begin) + len(begin), text.index(end)
    if stop < start:
        raise ValueError(f"{end} comes before {begin}")
    return f"{text[:start]}\n{block.rstrip()}\n{text[stop:]}"


def update_between_markers(markdown: Path, marker: str, block: str, *, prefix: str = TABLE) -> None:
    """Replace what lies between ``marker``'s markers in the file ``markdown`` (UTF-8) with
    ``block``; the file is rewritten whole (:func:`adaptive_stream.output.write_file`) or
    left as it was.

    Raises:
        OSError: the file cannot be read or written.
        ValueError: a marker missing, repeated or out of order.
    """
    text = markdown.read_text(encoding="utf-8")
    write_file(markdown, replace_between_markers(text, marker, block, prefix=prefix))


def marker_parser(prog: str, description: str, results_help: str) -> argparse.ArgumentParser:
    """The command line of a table tool: ``RESULTS MARKDOWN --marker NAME`` (the results
    file, the Markdown file to update, the table's name between its markers)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("results", type=Path, help=results_help)
    parser.add_argument("markdown", type=Path, help="the Markdown file to update")
    parser.add_argument("--marker", required=True, help="the name in <!-- table:NAME:begin -->")
    return parser
