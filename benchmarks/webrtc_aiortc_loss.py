"""One lost RTP packet through the loopback call, with aiortc's own audio jitter buffer and
with the in-order one: what the loss costs in each (the size pinned at 4 frames, 6 s).

    .venv/bin/python benchmarks/webrtc_aiortc_loss.py [--json FILE] [--markdown FILE]

``--markdown`` rewrites the block ``<!-- aiortc-loss:begin -->`` ... ``<!-- aiortc-loss:end
-->`` of a file with a table made from the JSON; ``--from-json FILE`` makes it from saved
JSON only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from docblock import rewrite_block

from adaptive_stream.settings import AdaptiveBufferSettings
from adaptive_stream.webrtc.loopback import run_loopback

LOST_PACKET = 150  # three seconds in
SHOWN = ("link_lost", "played", "late", "lost", "underruns", "latency_mean_ms", "r_factor")


class LoseOne:
    def release_at(self, index: int, sent_s: float) -> float | None:
        return None if index == LOST_PACKET else sent_s


def measure() -> dict[str, Any]:
    settings = AdaptiveBufferSettings(
        policy="feedback", default_buffer_size=4, buffer_size_override=4
    )
    result: dict[str, Any] = {}
    for name, in_order in (("aiortc", False), ("in-order", True)):
        run = asyncio.run(run_loopback(settings, LoseOne(), duration_s=6.0, in_order=in_order))
        first, last = run.latency_ms[:50], run.latency_ms[-50:]
        result[name] = {
            **run.figures,
            "latency_first_s_ms": sum(first) / len(first),
            "latency_last_s_ms": sum(last) / len(last),
        }
    result["command"] = "python benchmarks/webrtc_aiortc_loss.py"
    return result


def table(result: dict[str, Any]) -> str:
    names = [*SHOWN, "latency_first_s_ms", "latency_last_s_ms"]
    lines = ["| jitter buffer | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for buffer in ("aiortc", "in-order"):
        row = result[buffer]
        cells = [f"{row[n]:.1f}" if isinstance(row[n], float) else str(row[n]) for n in names]
        lines.append(f"| {buffer} | " + " | ".join(cells) + " |")
    lines += ["", f"Command: `{result['command']}`"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the JSON here")
    parser.add_argument("--markdown", help="rewrite the aiortc-loss block of this file")
    parser.add_argument("--from-json", help="run nothing: the table from this JSON")
    args = parser.parse_args()
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
    else:
        result = measure()
        print(json.dumps(result, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.markdown:
        rewrite_block(Path(args.markdown), "aiortc-loss", table(result))


if __name__ == "__main__":
    main()
