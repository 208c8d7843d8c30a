"""Link traces and arrival logs that the project makes itself, seeded, for tests and examples.

* :func:`outage_trace`: a link of constant capacity that drops out now and then (an on/off
  process: outages start as a Poisson process, exponential lengths).
* :func:`varying_trace`: a link whose capacity wanders slowly between two bounds (a random
  walk on its logarithm, a new value every ``change_ms``).
* :func:`arrival_log`: the arrival log of a link trace (the audio stream through
  :func:`~.recorded.link_arrivals`), with frames lost at random if asked.

Written in the formats of :mod:`.recorded`. From the shell::

    python -m adaptive_stream.simulation.linkgen outages --seed 1 --duration 60s \\
        --capacity-kbps 1000 --outage-rate 0.1 --outage-mean 800ms --out link.trace
    python -m adaptive_stream.simulation.linkgen varying --seed 2 --duration 60s \\
        --low-kbps 300 --high-kbps 2000 --out varying.trace
    python -m adaptive_stream.simulation.linkgen arrivals --trace link.trace --duration 30s \\
        --loss 0.01 --out arrivals.csv
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Sequence
from datetime import timedelta

from adaptive_stream.output import OutputError, write_file, write_stdout
from adaptive_stream.simulation.recorded import (
    MTU_BYTES,
    LinkTrace,
    link_arrivals,
    read_link_trace,
)

__all__ = [
    "arrival_log",
    "main",
    "outage_trace",
    "trace_text",
    "varying_trace",
]


def _opportunities(capacity_kbps_per_ms: Sequence[float]) -> list[int]:
    """One opportunity each time the bytes the capacity allows reach :data:`MTU_BYTES`."""
    times: list[int] = []
    credit = 0.0
    for ms, kbps in enumerate(capacity_kbps_per_ms):
        credit += kbps / 8  # bytes per ms
        while credit >= MTU_BYTES:
            credit -= MTU_BYTES
            times.append(ms)
    return times


def _closed(times: list[int], duration_ms: int) -> list[int]:
    """The trace with its period: the last timestamp is ``duration_ms``."""
    return [*times, duration_ms] if not times or times[-1] < duration_ms else times


def outage_trace(
    seed: int,
    duration_ms: int,
    capacity_kbps: float = 1000.0,
    outage_rate: float = 0.1,
    outage_mean_ms: float = 800.0,
) -> list[int]:
    """A link of ``capacity_kbps`` with outages (no opportunity at all) starting
    ``outage_rate`` times per second on average, each ``outage_mean_ms`` long on average."""
    rng = random.Random(seed)
    per_ms: list[float] = []
    down_until = -1
    for ms in range(duration_ms):
        if ms >= down_until and outage_rate > 0 and rng.random() < outage_rate / 1000:
            down_until = ms + max(1, round(rng.expovariate(1.0 / outage_mean_ms)))
        per_ms.append(0.0 if ms < down_until else capacity_kbps)
    return _closed(_opportunities(per_ms), duration_ms)


def varying_trace(
    seed: int,
    duration_ms: int,
    low_kbps: float = 300.0,
    high_kbps: float = 2000.0,
    change_ms: int = 500,
    *,
    step: float = 0.15,
) -> list[int]:
    """A link whose capacity starts half-way (geometrically) between ``low_kbps`` and
    ``high_kbps`` and moves by a factor ``exp(N(0, step))`` every ``change_ms``, within the
    bounds."""
    rng = random.Random(seed)
    low, high = math.log(low_kbps), math.log(high_kbps)
    level = (low + high) / 2
    per_ms: list[float] = []
    for ms in range(duration_ms):
        if ms and ms % change_ms == 0:
            level = min(high, max(low, level + rng.gauss(0.0, step)))
        per_ms.append(math.exp(level))
    return _closed(_opportunities(per_ms), duration_ms)


def trace_text(times: Sequence[int]) -> str:
    """A trace in the Mahimahi format: one timestamp per line."""
    return "".join(f"{t}\n" for t in times)


def arrival_log(
    trace: LinkTrace,
    frames: int,
    frame_ms: float = 20.0,
    *,
    seed: int = 1,
    loss: float = 0.0,
    packet_bytes: int = 160,
    cross_traffic_kbps: float = 0.0,
    cross_traffic_fps: float = 30.0,
    delay_ms: float = 0.0,
) -> str:
    """The arrival log (CSV text) of ``frames`` frames sent through ``trace`` as captured,
    each lost with probability ``loss`` (seeded)."""
    rng = random.Random(seed)
    frame_us = round(frame_ms * 1000)
    send = [k * frame_us for k in range(frames)]
    arrivals = link_arrivals(
        send,
        trace,
        packet_bytes=packet_bytes,
        cross_traffic_kbps=cross_traffic_kbps,
        cross_traffic_fps=cross_traffic_fps,
        delay_us=round(delay_ms * 1000),
    )
    rows = ["capture_ms,arrival_ms"]
    for sent, came in zip(send, arrivals, strict=True):
        lost = loss > 0 and rng.random() < loss
        rows.append(f"{sent / 1000:g}," + ("" if lost else f"{came / 1000:g}"))
    return "\n".join(rows) + "\n"


def _ms(text: str) -> int:
    from adaptive_stream.settings import parse_duration

    value = parse_duration(text)
    if not isinstance(value, timedelta) or value.total_seconds() < 0:
        raise ValueError(f"not a duration such as 20ms or 1.5s: {text!r}")
    return round(value.total_seconds() * 1000)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (module docstring); writes ``--out`` whole, or standard output."""
    parser = argparse.ArgumentParser(
        prog="python -m adaptive_stream.simulation.linkgen",
        description=(__doc__ or "").split("\n")[0],
    )
    sub = parser.add_subparsers(dest="kind", required=True)
    outages = sub.add_parser("outages", help="constant capacity with outages")
    outages.add_argument("--capacity-kbps", type=float, default=1000.0)
    outages.add_argument("--outage-rate", type=float, default=0.1, help="outages per second")
    outages.add_argument("--outage-mean", default="800ms", help="mean outage length")
    varying = sub.add_parser("varying", help="slowly varying capacity")
    varying.add_argument("--low-kbps", type=float, default=300.0)
    varying.add_argument("--high-kbps", type=float, default=2000.0)
    varying.add_argument("--change-every", default="500ms")
    arrivals = sub.add_parser("arrivals", help="the arrival log of a link trace")
    arrivals.add_argument("--trace", required=True, help="a link trace file")
    arrivals.add_argument("--frame", default="20ms", help="frame duration")
    arrivals.add_argument("--loss", type=float, default=0.0, help="share of frames lost")
    arrivals.add_argument("--cross-traffic-kbps", type=float, default=0.0)
    arrivals.add_argument("--delay", default="0ms", help="propagation delay")
    for each in (outages, varying, arrivals):
        each.add_argument("--seed", type=int, default=1)
        each.add_argument("--duration", default="60s")
        each.add_argument("--out", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    try:
        duration = _ms(args.duration)
        if args.kind == "outages":
            text = trace_text(
                outage_trace(
                    args.seed,
                    duration,
                    args.capacity_kbps,
                    args.outage_rate,
                    _ms(args.outage_mean),
                )
            )
        elif args.kind == "varying":
            text = trace_text(
                varying_trace(
                    args.seed, duration, args.low_kbps, args.high_kbps, _ms(args.change_every)
                )
            )
        else:
            frame = _ms(args.frame)
            text = arrival_log(
                read_link_trace(args.trace),
                duration // frame,
                frame,
                seed=args.seed,
                loss=args.loss,
                cross_traffic_kbps=args.cross_traffic_kbps,
                delay_ms=_ms(args.delay),
            )
    except (ValueError, TypeError, AttributeError) as exc:
        print(f"linkgen: {exc}", file=sys.stderr)
        return 2
    try:
        if args.out:
            write_file(args.out, text)
        else:
            write_stdout(text)
    except OutputError as exc:
        print(f"linkgen: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
