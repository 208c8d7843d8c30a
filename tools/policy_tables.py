"""Render the policy comparison tables of docs/policies.md from ``compare --format json``.

    python tools/policy_tables.py TITLE JSON [JSON ...] > table.md

Each JSON file is the output of ``adaptive-stream compare ... --format json`` (one or more
scenarios; every figure the mean over its seeds). Prints one Markdown table: a row per
scenario, MOS per policy (``best-fixed`` included), the best live policy, and the
recommended policy's (``quality``) margin over the best of the others and over
``best-fixed``; then a line counting where ``quality`` is best.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RECOMMENDED = "quality"
FRAME_S = 0.02  # the scenarios' frame duration (frames to minutes)
ORDER = ("quality", "feedback", "neteq", "roc", "oboe", "pulseaudio", "jetkvm", "fixed")


def render(title: str, files: list[Path]) -> str:
    scenarios: dict[str, dict[str, dict[str, float]]] = {}
    seeds: list[int] = []
    for path in files:
        data = json.loads(path.read_text())
        seeds = data.get("seeds", seeds)
        scenarios.update(data["scenarios"])
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
    wins = beats_fixed = 0
    margins: list[float] = []
    flap_rates: list[float] = []
    for name in sorted(scenarios):
        rows = scenarios[name]
        mos = {p: rows[p]["mos"] for p in policies if p in rows}
        fixed = rows["best-fixed"]
        others = max(v for p, v in mos.items() if p != RECOMMENDED)
        ours = mos[RECOMMENDED]
        best = max(others, fixed["mos"])
        wins += ours >= best
        beats_fixed += ours >= fixed["mos"]
        margins.append(ours - best)
        cells = []
        for p in policies:
            text = f"{mos[p]:.3f}"
            if p == RECOMMENDED:
                text += f" ({rows[p]['r_factor']:.1f})"
            cells.append(f"**{text}**" if mos[p] >= best else text)
        fixed_text = f"{fixed['mos']:.3f} ({fixed['r_factor']:.1f}, size {fixed.get('size', '?')})"
        cells.append(f"**{fixed_text}**" if fixed["mos"] >= max(best, ours) else fixed_text)
        cells.append(f"{ours - others:+.3f}")
        cells.append(f"{ours - fixed['mos']:+.3f}")
        q = rows[RECOMMENDED]
        minutes = (q["played"] + q["late"] + q["dropped"] + q["lost"]) * FRAME_S / 60
        per_minute = (q["size_changes"] / minutes, q["flaps"] / minutes) if minutes else (0, 0)
        flap_rates.append(per_minute[1])
        cells.append(f"{per_minute[0]:.1f} ({per_minute[1]:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    n = len(scenarios)
    mean_margin = sum(margins) / n if n else 0.0
    lines += [
        "",
        f"`quality` is best (best-fixed included) on {wins} of {n}, at or above best-fixed on "
        f"{beats_fixed} of {n}; mean margin over the best of the rest {mean_margin:+.3f} MOS; "
        f"flaps (a reversal within 5 s) at most {max(flap_rates, default=0):.2f} per minute.",
    ]
    return "\n".join(lines)


def main() -> None:
    title, *paths = sys.argv[1:]
    print(render(title, [Path(p) for p in paths]))


if __name__ == "__main__":
    main()
