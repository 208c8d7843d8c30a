"""Render the policy comparison tables of docs/policies.md from ``compare --format json``.

    python tools/policy_tables.py TITLE JSON [JSON ...] > table.md
    python tools/policy_tables.py --update docs/policies.md --marker NAME TITLE JSON [...]

Each JSON file is the output of ``adaptive-stream compare ... --format json`` (one or more
scenarios; every figure the mean over its seeds). Prints one Markdown table: a row per
scenario, MOS per policy (``best-fixed`` included), the best live policy, and the
recommended policy's (``quality``) margin over the best of the others and over
``best-fixed``; then a line counting where ``quality`` is best. With ``--update FILE
--marker NAME``, the table replaces what lies between ``<!-- table:NAME:begin -->`` and
``<!-- table:NAME:end -->`` in FILE instead; ``--merge OUT`` also writes the documents as
one (for ``python -m adaptive_stream.simulation.tables``, which renders every figure).

    python tools/policy_tables.py --rounds REV [--update FILE --marker NAME] \
        "SET=GLOB" ["SET=GLOB" ...]

``--rounds`` compares the recommended policy of git revision ``REV`` with the current one:
a row per set (``SET``: its label, ``GLOB``: its JSON files, relative to the repository's
root), with the wins and the mean margin of each, read from the JSON files as committed at
``REV`` and as they are now (a set or file not committed at ``REV`` leaves its cells
empty).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from adaptive_stream.docblocks import update_between_markers

RECOMMENDED = "quality"
FRAME_S = 0.02  # the scenarios' frame duration (frames to minutes)
ORDER = ("quality", "feedback", "neteq", "roc", "oboe", "pulseaudio", "jetkvm", "fixed")


class Summary(NamedTuple):
    """How the recommended policy fares on a set of scenarios."""

    scenarios: int
    wins: int  # best, best-fixed included
    best_live: int  # best of the live policies
    beats_fixed: int  # at or above best-fixed
    mean_margin: float  # over the best of the others, best-fixed included (MOS)


def summarise(scenarios: dict[str, dict[str, dict[str, float]]]) -> Summary:
    """The wins and the mean margin of :data:`RECOMMENDED` over ``compare``'s scenarios."""
    wins = best_live = beats_fixed = 0
    margins: list[float] = []
    for rows in scenarios.values():
        ours = rows[RECOMMENDED]["mos"]
        others = max(v["mos"] for p, v in rows.items() if p not in (RECOMMENDED, "best-fixed"))
        fixed = rows["best-fixed"]["mos"]
        wins += ours >= max(others, fixed)
        best_live += ours >= others
        beats_fixed += ours >= fixed
        margins.append(ours - max(others, fixed))
    n = len(scenarios)
    return Summary(n, wins, best_live, beats_fixed, sum(margins) / n if n else 0.0)


def render(title: str, files: list[Path]) -> str:
    document = merge(files)
    scenarios: dict[str, dict[str, dict[str, float]]] = document["scenarios"]
    seeds: list[int] = document["seeds"]
    policies = [p for p in ORDER if any(p in s for s in scenarios.values())]
    head = [
        "scenario",
        *policies,
        "best-fixed",
        "quality - best other",
        "quality - best-fixed",
        "quality changes (flaps) /min",
    ]
    lines = [
        f"{title} (MOS, mean over seeds {', '.join(map(str, seeds))}; R in brackets for "
        "quality and best-fixed)",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    flap_rates: list[float] = []
    for name in sorted(scenarios):
        rows = scenarios[name]
        mos = {p: rows[p]["mos"] for p in policies if p in rows}
        fixed = rows["best-fixed"]
        others = max(v for p, v in mos.items() if p != RECOMMENDED)
        ours = mos[RECOMMENDED]
        top = max(others, fixed["mos"], ours)
        cells = []
        for p in policies:
            text = f"{mos[p]:.3f}"
            if p == RECOMMENDED:
                text += f" ({rows[p]['r_factor']:.1f})"
            cells.append(f"**{text}**" if mos[p] >= top else text)
        fixed_text = f"{fixed['mos']:.3f} ({fixed['r_factor']:.1f}, size {fixed.get('size', '?')})"
        cells.append(f"**{fixed_text}**" if fixed["mos"] >= top else fixed_text)
        cells.append(f"{ours - others:+.3f}")
        cells.append(f"{ours - fixed['mos']:+.3f}")
        q = rows[RECOMMENDED]
        minutes = (q["played"] + q["late"] + q["dropped"] + q["lost"]) * FRAME_S / 60
        per_minute = (q["size_changes"] / minutes, q["flaps"] / minutes) if minutes else (0, 0)
        flap_rates.append(per_minute[1])
        cells.append(f"{per_minute[0]:.1f} ({per_minute[1]:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    n, wins, best_live, beats_fixed, mean_margin = summarise(scenarios)
    lines += [
        "",
        f"`quality` is best (best-fixed included) on {wins} of {n}, the best live policy on "
        f"{best_live} of {n}, at or above best-fixed on {beats_fixed} of {n}; mean margin "
        f"over the best of the others (best-fixed included) {mean_margin:+.3f} MOS; "
        f"flaps (a reversal within 5 s) at most {max(flap_rates, default=0):.2f} per minute.",
    ]
    return "\n".join(lines)


def merge(files: list[Path]) -> dict[str, Any]:
    """One ``compare`` JSON document of several (their scenarios side by side)."""
    return merge_texts(path.read_text() for path in files)


def merge_texts(texts: Iterable[str]) -> dict[str, Any]:
    """:func:`merge` of the documents' texts."""
    merged: dict[str, Any] = {"seeds": [], "scenarios": {}}
    for text in texts:
        data = json.loads(text)
        merged["seeds"] = data.get("seeds", merged["seeds"])
        merged["scenarios"].update(data["scenarios"])
    return merged


def committed(root: Path, revision: str, path: Path) -> str | None:
    """The text of ``path`` (relative to ``root``) as committed at ``revision``, or None."""
    shown = subprocess.run(
        ["git", "-C", str(root), "show", f"{revision}:{path.as_posix()}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout if shown.returncode == 0 else None


def rounds(root: Path, revision: str, sets: list[tuple[str, str]]) -> str:
    """The table of ``--rounds``: per set, the summaries at ``revision`` and now."""
    lines = [
        f"| set | scenarios | wins, {revision} | wins, now | mean margin, {revision} "
        "| mean margin, now |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, pattern in sets:
        files = sorted(root.glob(pattern))
        if not files:
            raise ValueError(f"{pattern}: no JSON files match (set {label!r})")
        now = summarise(merge(files)["scenarios"])
        texts = [committed(root, revision, f.relative_to(root)) for f in files]
        found = [t for t in texts if t is not None]
        then = summarise(merge_texts(found)["scenarios"]) if found else None
        before = (f"{then.wins}", f"{then.mean_margin:+.3f}") if then else ("", "")
        lines.append(
            f"| {label} | {now.scenarios} | {before[0]} | {now.wins} | {before[1]} "
            f"| {now.mean_margin:+.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", type=Path, help="a Markdown file with marker lines")
    parser.add_argument("--marker", help="NAME in <!-- table:NAME:begin --> (with --update)")
    parser.add_argument("--merge", type=Path, help="also write the documents merged here")
    parser.add_argument("--rounds", metavar="REV", help="compare with git revision REV")
    parser.add_argument("title", help="the table's title (with --rounds: the first SET=GLOB)")
    parser.add_argument("json", nargs="*", type=Path)
    args = parser.parse_args()
    if args.rounds is not None:
        pairs = [args.title, *map(str, args.json)]
        if not all("=" in pair for pair in pairs):
            parser.error("with --rounds, every argument is SET=GLOB")
        if args.merge is not None:
            parser.error("--merge merges JSON files; it does not go with --rounds")
        root = Path(__file__).resolve().parent.parent
        sets = [(label, pattern) for label, _, pattern in (p.partition("=") for p in pairs)]
        try:
            table = rounds(root, args.rounds, sets)
        except ValueError as error:
            parser.error(str(error))
    elif not args.json:
        parser.error("no JSON file given")
    else:
        table = render(args.title, args.json)
    if args.merge is not None:
        args.merge.write_text(json.dumps(merge(args.json), indent=1) + "\n")
    if args.update is not None:
        update_between_markers(args.update, args.marker or "", table)
    else:
        print(table)


if __name__ == "__main__":
    main()
