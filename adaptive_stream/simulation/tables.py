"""Docs' tables regenerated from ``compare --format json``, between markers in a Markdown file.

    adaptive-stream compare --scenario all --seeds 1..5 --format json > results.json
    python -m adaptive_stream.simulation.tables results.json docs/policies.md --marker seeds

replaces what lies between ``<!-- table:seeds:begin -->`` and ``<!-- table:seeds:end -->``
in ``docs/policies.md`` with the table of ``results.json`` (the figures' means, R and MOS,
``best-fixed`` with its size), a line naming the seeds, and per scenario the live policy
with the highest R against ``best-fixed``. The file is rewritten whole
(a temporary file renamed over it) or left as it was; errors are one line, exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from adaptive_stream.docblocks import (
    marker_parser,
    replace_between_markers,
    update_between_markers,
)
from adaptive_stream.simulation.report import scenarios_table
from adaptive_stream.simulation.runs import BEST_FIXED

__all__ = ["main", "render", "replace_between_markers", "update_between_markers", "verdicts"]


def render(document: Mapping[str, Any]) -> str:
    """The table of a ``compare --format json`` document, with a line on its seeds."""
    scenarios = document.get("scenarios")
    if not isinstance(scenarios, dict) or not scenarios:
        raise ValueError("no scenarios in the document (expected compare --format json)")
    if "seeds" in document:
        seeds = ", ".join(str(s) for s in document["seeds"])
        note = f"Means over seeds {seeds}."
    else:
        seed = document.get("seed")
        shown = ", ".join(f"{k} {v}" for k, v in seed.items()) if isinstance(seed, dict) else seed
        note = f"Seed {shown}."
    return f"{scenarios_table(scenarios)}\n\n{note}\n\n{verdicts(scenarios)}\n"


def verdicts(scenarios: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """One line per scenario: the live policy with the highest R, and ``best-fixed``."""
    lines = ["Highest R among the live policies (and the bar, best-fixed in hindsight):"]
    for scenario, rows in scenarios.items():
        live = {name: f["r_factor"] for name, f in rows.items() if name != BEST_FIXED}
        if not live:
            continue
        best = max(live, key=lambda name: live[name])
        bar = rows.get(BEST_FIXED)
        against = f"; best-fixed {bar['r_factor']:.1f}" if bar is not None else ""
        lines.append(f"- {scenario}: {best}, R {live[best]:.1f}{against}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (module docstring)."""
    args = marker_parser(
        "python -m adaptive_stream.simulation.tables",
        "Write the table of a compare JSON between markers in a Markdown file.",
        "compare --format json output",
    ).parse_args(argv)
    try:
        document = json.loads(args.results.read_text(encoding="utf-8"))
        update_between_markers(args.markdown, args.marker, render(document))
    except (OSError, ValueError) as exc:
        print(f"tables: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
