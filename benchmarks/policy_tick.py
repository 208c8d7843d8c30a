"""Per-tick cost of the frame-counting policies' decision (and of folding a tick's delays).

    python benchmarks/policy_tick.py [--ticks 2000] [--repeat 5] [--json]
    python benchmarks/policy_tick.py --update docs/policies.md --marker policy-tick

Each policy decides ``--ticks`` ticks of 500 ms, each after folding 25 arrival delays (one
tick of 20 ms frames: log-normal around 20 ms with a stall now and then) and with CPU load
switching between calm and busy every 30 s, so the quality policy keeps two conditions'
histograms. Reported per policy: the best of ``--repeat`` runs, in microseconds per tick
(decide alone, and decide plus the fold), and the share of one core that is at the default
interval (500 ms). The live budget is 0.5 % of a core.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adaptive_stream import AdaptiveBufferSettings, SystemMetrics
from adaptive_stream.model import EPOCH
from adaptive_stream.policies import make_policy

INTERVAL_S = 0.5


def inputs(ticks: int) -> list[tuple[list[int], SystemMetrics, datetime]]:
    rng = random.Random(1)
    out = []
    for tick in range(ticks):
        now = EPOCH + timedelta(seconds=INTERVAL_S * (tick + 1))
        busy = (tick // 60) % 2 == 1
        delays = []
        for _ in range(25):
            delay = rng.lognormvariate(3.0, 0.5)  # ms, median 20
            if rng.random() < (0.05 if busy else 0.005):
                delay += rng.expovariate(1 / 150)
            delays.append(round(delay * 1e6))
        metrics = SystemMetrics(90.0 if busy else 15.0, 40.0, now)
        out.append((delays, metrics, now))
    return out


def measure(name: str, feed: list[tuple[list[int], SystemMetrics, datetime]]) -> dict[str, Any]:
    policy = make_policy(AdaptiveBufferSettings(policy=name))
    # Prepare the summaries first so that "decide" times the decision alone.
    summaries = []
    summary = policy.initial_summary()
    for delays, _, _ in feed:
        summary = policy.update_latency_batch(summary, delays)
        summaries.append(summary)
    started = time.perf_counter()
    summary = policy.initial_summary()
    for delays, _, _ in feed:
        summary = policy.update_latency_batch(summary, delays)
    fold_s = time.perf_counter() - started
    state = policy.initial_state()
    started = time.perf_counter()
    for (_, metrics, now), summary in zip(feed, summaries, strict=True):
        state, _ = policy.decide(state, metrics, summary, now)
    decide_s = time.perf_counter() - started
    return {"decide_s": decide_s, "fold_s": fold_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--policies", default="quality,feedback,neteq,roc")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--update", type=Path, help="write the table into this Markdown file")
    parser.add_argument("--marker", default="policy-tick", help="<!-- table:NAME:begin -->")
    args = parser.parse_args()
    feed = inputs(args.ticks)
    results = {}
    for name in args.policies.split(","):
        runs = [measure(name, feed) for _ in range(args.repeat)]
        decide_us = min(r["decide_s"] for r in runs) / args.ticks * 1e6
        total_us = min(r["decide_s"] + r["fold_s"] for r in runs) / args.ticks * 1e6
        results[name] = {
            "decide_us_per_tick": round(decide_us, 1),
            "decide_and_fold_us_per_tick": round(total_us, 1),
            "core_percent_at_500ms": round(total_us / (INTERVAL_S * 1e6) * 100, 4),
        }
    if args.json:
        print(json.dumps({"ticks": args.ticks, "repeat": args.repeat, "policies": results}))
        return
    lines = [
        f"{args.ticks} ticks, best of {args.repeat}",
        "",
        "| policy | decide us/tick | decide + fold us/tick | % of a core at 500 ms |",
        "|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['decide_us_per_tick']} | {r['decide_and_fold_us_per_tick']} "
            f"| {r['core_percent_at_500ms']} |"
        )
    table = "\n".join(lines)
    if args.update is None:
        print(table)
        return
    from adaptive_stream.docblocks import update_between_markers

    update_between_markers(args.update, args.marker, table)


if __name__ == "__main__":
    main()
