"""``adaptive-stream demo --webrtc``: the loopback call with a live view and a summary.

The command line's flags arrive as an ``argparse.Namespace`` (see ``cli.py``):
``link_trace``, ``arrivals``, ``stall_every``, ``stall``, ``duration``, ``format``,
``record_arrivals``; the settings (``--policy`` and every other setting flag) are already
loaded. Bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from typing import TYPE_CHECKING, Any

from adaptive_stream.errors import EXIT_OK, fail
from adaptive_stream.settings import parse_duration

if TYPE_CHECKING:
    import argparse

    from adaptive_stream.settings import AdaptiveBufferSettings
    from adaptive_stream.webrtc.impairment import LinkSchedule
    from adaptive_stream.webrtc.loopback import ViewRow

__all__ = ["DemoInputError", "run_webrtc_demo", "schedule_from"]

#: Figures the table summary prints, in order (the JSON has them all).
_SHOWN = (
    "played",
    "late",
    "lost",
    "dropped",
    "stretched",
    "underruns",
    "latency_mean_ms",
    "latency_p95_ms",
    "mean_size",
    "size_changes",
    "r_factor",
    "mos",
)


class DemoInputError(ValueError):
    """A flag or file the demo cannot use (the message names it and what is allowed)."""


def _seconds(flag: str, value: str) -> float:
    parsed = parse_duration(value)
    seconds = parsed.total_seconds() if hasattr(parsed, "total_seconds") else math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise DemoInputError(f"{flag}: expected a duration such as 5s or 200ms (got {value!r})")
    return float(seconds)


def schedule_from(args: argparse.Namespace, frame_ms: float) -> LinkSchedule:
    """The link's impairment the flags ask for (default: a 200 ms stall every 5 s).

    Raises:
        DemoInputError: conflicting flags, a bad duration, or a bad file.
    """
    from adaptive_stream.webrtc.impairment import PeriodicStalls, RecordedArrivals
    from adaptive_stream.webrtc.recordings import RecordingError, arrivals_from_link_trace
    from adaptive_stream.webrtc.recordings import read_arrivals as read_log

    chosen = [f for f in ("link_trace", "arrivals") if getattr(args, f, None)]
    stalls = args.stall_every is not None or args.stall is not None
    if len(chosen) + stalls > 1:
        raise DemoInputError("choose one of --link-trace, --arrivals, or --stall-every/--stall")
    try:
        if args.arrivals:
            return RecordedArrivals(read_log(args.arrivals, frame_ms))
        if args.link_trace:
            return RecordedArrivals(arrivals_from_link_trace(args.link_trace, frame_ms))
    except RecordingError as exc:
        raise DemoInputError(str(exc)) from exc
    every = _seconds("--stall-every", args.stall_every or "5s")
    stall = _seconds("--stall", args.stall or "200ms")
    if not every > 0 or stall >= every:
        raise DemoInputError(
            f"--stall must be shorter than --stall-every, which must be above 0 "
            f"(got {stall:g} s every {every:g} s)"
        )
    return PeriodicStalls(every, stall)


def _print_view(row: ViewRow) -> None:
    print(
        f"{row.seconds:5.1f} s  size {row.size:3d}  waiting {row.depth:3d}  "
        f"underruns {row.underruns:4d}  latency {row.latency_ms:6.1f} ms  "
        f"arrival delay {row.delay_ms:6.1f} ms  R {row.r_factor:5.1f}  MOS {row.mos:4.2f}",
        flush=True,
    )


def run_webrtc_demo(args: argparse.Namespace, settings: AdaptiveBufferSettings) -> int:
    """Run the loopback call the flags describe; print the live view (table format) and the
    summary (``--format json``: one JSON object of the figures, nothing else). Returns the
    exit code."""
    try:
        from adaptive_stream.webrtc.loopback import ArrivalLogError, run_loopback
    except ImportError as exc:
        return fail(f"demo --webrtc: {exc}")
    frame_ms = settings.frame_duration.total_seconds() * 1000
    try:
        if abs(frame_ms - 20.0) > 1e-9:
            raise DemoInputError(
                f"frame_duration: demo --webrtc sends 20 ms Opus frames (got {frame_ms:g} ms)"
            )
        schedule = schedule_from(args, frame_ms)
        duration = _seconds("--duration", args.duration)
        if not 1 <= duration <= 3600:
            raise DemoInputError(f"--duration: must lie within 1s..1h (got {args.duration})")
        record = args.record_arrivals
        if record is not None and not os.access(os.path.dirname(record) or ".", os.W_OK):
            raise DemoInputError(f"--record-arrivals: cannot write in the folder of {record}")
    except DemoInputError as exc:
        return fail(str(exc))
    as_json = args.format == "json"
    if not as_json:
        print(
            f"WebRTC loopback: Opus tone, {settings.policy} policy, {duration:g} s "
            f"({type(schedule).__name__})",
            flush=True,
        )
    try:
        result = asyncio.run(
            run_loopback(
                settings,
                schedule,
                duration_s=duration,
                on_view=None if as_json else _print_view,
                record_arrivals=record,
            )
        )
    except ArrivalLogError as exc:
        return fail(f"--record-arrivals {exc}")
    figures: dict[str, Any] = {"policy": settings.policy, **result.figures}
    if as_json:
        print(json.dumps(figures, sort_keys=True))
    else:
        print("Summary:")
        for name in _SHOWN:
            value = figures[name]
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            print(f"  {name:16s} {shown}")
    return EXIT_OK
