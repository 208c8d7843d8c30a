"""The same recorded link through the real WebRTC path and through the simulator, per policy.

For each policy: ``adaptive-stream demo --webrtc --arrivals LOG --duration D --policy P
--format json`` (real time: two peer connections over loopback, Opus, the link replayed
packet by packet) and ``adaptive-stream simulate --scenario SCENARIO --policy P --format
json`` (virtual time, the same log). Without ``--arrivals``, the log is made from the
scenario's own planned audio path (its link trace, cross traffic and delay, or its model),
so both paths see exactly the same per-frame arrivals. Prints one JSON object
``{"real": {P: figures}, "simulated": {P: figures}, ...}`` and, with ``--markdown FILE``,
rewrites the block between ``<!-- BLOCK:begin -->`` and ``<!-- BLOCK:end -->`` in FILE
(``--block``, default ``webrtc-vs-simulator``) with a table made from that JSON (the docs'
figures are regenerated, never pasted).

    .venv/bin/python benchmarks/webrtc_vs_simulator.py \\
        --scenario config/scenarios/recorded-arrivals.toml \\
        --arrivals config/scenarios/recordings/lossy-arrivals.csv --duration 40s \\
        --policies fixed,jetkvm,feedback --markdown docs/webrtc.md
    .venv/bin/python benchmarks/webrtc_vs_simulator.py --scenario link-outages --duration 60s
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from docblock import rewrite_block

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


def _command() -> str:
    exe = shutil.which("adaptive-stream", path=os.path.dirname(sys.executable))
    if exe is None:
        raise SystemExit("adaptive-stream is not installed next to this python")
    return exe


def real(exe: str, arrivals: str, duration: str, policy: str) -> dict[str, Any]:
    flags = ["--arrivals", arrivals, "--duration", duration, "--policy", policy]
    out = subprocess.run(
        [exe, "demo", "--webrtc", *flags, "--format", "json"],
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


def arrivals_of_scenario(scenario: str, path: Path) -> None:
    """Write the scenario's planned per-frame arrivals (20 ms frames) as an arrival log."""
    from adaptive_stream.simulation.audio_path import plan_audio_path
    from adaptive_stream.simulation.scenario import load_scenario

    planned = plan_audio_path(load_scenario(scenario), 20_000)
    with path.open("w") as out:
        out.write("capture_ms,arrival_ms\n")
        for k, (capture, arrival) in enumerate(
            zip(planned.capture_us, planned.arrival_us, strict=True)
        ):
            shown = "" if k in planned.lost else f"{arrival / 1000:g}"
            out.write(f"{capture / 1000:g},{shown}\n")


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
    parser.add_argument("--arrivals", help="arrival log (default: the scenario's arrivals)")
    parser.add_argument("--duration", default="40s")
    parser.add_argument("--policies", default="fixed,jetkvm,feedback")
    parser.add_argument("--markdown", help="rewrite the marked block of this file")
    parser.add_argument("--block", default="webrtc-vs-simulator", help="the block's name")
    parser.add_argument("--json", help="also write the JSON here")
    parser.add_argument(
        "--from-json", metavar="FILE", help="run nothing: make the table from this JSON"
    )
    args = parser.parse_args()
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        if args.markdown:
            rewrite_block(Path(args.markdown), args.block, table(result))
        return 0
    exe = _command()
    policies = args.policies.split(",")
    result: dict[str, Any] = {"policies": policies, "real": {}, "simulated": {}}
    arrivals = args.arrivals
    if arrivals is None:
        arrivals = str(Path(tempfile.mkdtemp()) / "arrivals.csv")
        arrivals_of_scenario(args.scenario, Path(arrivals))
    for policy in policies:
        result["real"][policy] = real(exe, arrivals, args.duration, policy)
        result["simulated"][policy] = simulated(exe, args.scenario, policy)
    result["ranking_real"] = ranking(result["real"])
    result["ranking_simulated"] = ranking(result["simulated"])
    result["same_ranking"] = result["ranking_real"] == result["ranking_simulated"]
    result["command"] = "python benchmarks/webrtc_vs_simulator.py " + " ".join(
        f"--{k} {v}"
        for k, v in vars(args).items()
        if v is not None and k not in ("markdown", "block", "json", "from_json")
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    if args.markdown:
        rewrite_block(Path(args.markdown), args.block, table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
