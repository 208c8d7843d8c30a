"""The same recorded link through the real WebRTC path and through the simulator, per policy.

For each policy: ``adaptive-stream demo --webrtc --arrivals LOG --duration D --policy P
--format json`` (real time: two peer connections over loopback, Opus, the link replayed
packet by packet) and ``adaptive-stream simulate --scenario SCENARIO --policy P --format
json`` (virtual time, the same log). Prints one JSON object ``{"real": {P: figures},
"simulated": {P: figures}, ...}`` and, with ``--markdown FILE``, rewrites the block between
``<!-- webrtc-vs-simulator:begin -->`` and ``<!-- webrtc-vs-simulator:end -->`` in FILE
with a table made from that JSON (the docs' figures are regenerated, never pasted).

    .venv/bin/python benchmarks/webrtc_vs_simulator.py \\
        --scenario config/scenarios/recorded-arrivals.toml \\
        --arrivals config/scenarios/recordings/lossy-arrivals.csv --duration 40s \\
        --policies fixed,jetkvm,feedback --markdown docs/webrtc.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

FIGURES = (
    "underruns",
    "late",
    "lost",
    "dropped",
    "stretched",
    "latency_mean_ms",
    "mean_size",
    "r_factor",
    "mos",
)
BEGIN, END = "<!-- webrtc-vs-simulator:begin -->", "<!-- webrtc-vs-simulator:end -->"


def _command() -> str:
    exe = shutil.which("adaptive-stream", path=os.path.dirname(sys.executable))
    if exe is None:
        raise SystemExit("adaptive-stream is not installed next to this python")
    return exe


def real(exe: str, arrivals: str, duration: str, policy: str) -> dict[str, Any]:
    out = subprocess.run(
        [exe, "demo", "--webrtc", "--arrivals", arrivals, "--duration", duration]
        + ["--policy", policy, "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, Any] = json.loads(out)
    return figures


def simulated(exe: str, scenario: str, policy: str) -> dict[str, Any]:
    out = subprocess.run(
        [exe, "simulate", "--scenario", scenario, "--policy", policy, "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    runs = json.loads(out)["scenarios"]
    (by_policy,) = runs.values()
    figures: dict[str, Any] = by_policy[policy]
    return figures


def ranking(figures: dict[str, dict[str, Any]]) -> list[str]:
    """Policies from the best R to the worst."""
    return sorted(figures, key=lambda p: -figures[p]["r_factor"])


def table(result: dict[str, Any]) -> str:
    lines = [
        "| policy | path | " + " | ".join(FIGURES) + " |",
        "|---|---|" + "---|" * len(FIGURES),
    ]
    for policy in result["policies"]:
        for path in ("real", "simulated"):
            row = result[path][policy]
            cells = []
            for name in FIGURES:
                value = row.get(name, "")
                cells.append(f"{value:.2f}" if isinstance(value, float) else str(value))
            lines.append(f"| {policy} | {path} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Ranking by R, real path: {', '.join(result['ranking_real'])}; "
        f"simulator: {', '.join(result['ranking_simulated'])}"
        f" ({'the same' if result['same_ranking'] else 'different'})."
    )
    lines.append("")
    lines.append(f"Command: `{result['command']}`")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--arrivals", required=True)
    parser.add_argument("--duration", default="40s")
    parser.add_argument("--policies", default="fixed,jetkvm,feedback")
    parser.add_argument("--markdown", help="rewrite the marked block of this file")
    args = parser.parse_args()
    exe = _command()
    policies = args.policies.split(",")
    result: dict[str, Any] = {"policies": policies, "real": {}, "simulated": {}}
    for policy in policies:
        result["real"][policy] = real(exe, args.arrivals, args.duration, policy)
        result["simulated"][policy] = simulated(exe, args.scenario, policy)
    result["ranking_real"] = ranking(result["real"])
    result["ranking_simulated"] = ranking(result["simulated"])
    result["same_ranking"] = result["ranking_real"] == result["ranking_simulated"]
    result["command"] = "python benchmarks/webrtc_vs_simulator.py " + " ".join(
        f"--{k} {v}" for k, v in vars(args).items() if v is not None and k != "markdown"
    )
    print(json.dumps(result, indent=2))
    if args.markdown:
        path = Path(args.markdown)
        text = path.read_text()
        block = f"{BEGIN}\n{table(result)}\n{END}"
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path}: no {BEGIN} ... {END} block")
        path.write_text(pattern.sub(lambda _: block, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
