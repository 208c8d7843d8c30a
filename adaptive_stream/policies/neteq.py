"""``neteq``: WebRTC NetEq's delay histogram, in frames (a reference policy).

NetEq's delay manager keeps a histogram of arrival delays, forgetting old observations by a
factor of 0.983 per update (about 29 s of memory at two updates a second), and sets its
target level to the 0.95 quantile of the histogram, clamped to the configured limits. The
target jumps; the buffer follows it by time-stretching.

Here (documented simplifications): one update per adaptation tick, with the largest arrival
delay of the frames that came since the previous tick (SPEC: "0.95 quantile of the
per-500 ms max arrival delay"); the histogram has one bucket per whole frame, bucket ``b``
holding delays that ``b`` frames cover (``ceil(delay / frame)``); the size is that quantile
bucket, clamped to ``[min, max]``. It starts with all its weight on ``default_buffer_size``,
so it starts there and forgets it as delays come. A tick without arrival delays changes
nothing. Underruns are not an input of NetEq's target: it ignores them.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from adaptive_stream.model import BufferDecision, SystemMetrics
from adaptive_stream.policies.arrivals import (
    ArrivalSummary,
    FramePolicy,
    frame_decision,
    frames_for,
)

__all__ = ["FORGET_FACTOR", "QUANTILE", "NetEqPolicy", "NetEqState", "histogram_quantile"]

#: Weight kept by the old histogram at each update (NetEq's forget factor).
FORGET_FACTOR = 0.983
#: The quantile of the delay histogram that sets the target.
QUANTILE = 0.95


class NetEqState(NamedTuple):
    """The size, the histogram (bucket ``b``: weight of delays ``b`` frames cover) and the
    sample count at the previous tick."""

    size: int
    histogram: tuple[float, ...]
    samples_seen: int = 0
    changes: int = 0


def histogram_quantile(histogram: tuple[float, ...], q: float) -> int:
    """The first bucket at which the cumulative weight reaches ``q`` of the total."""
    total = sum(histogram)
    running = 0.0
    for bucket, weight in enumerate(histogram):
        running += weight
        if running >= q * total:
            return bucket
    return len(histogram) - 1


class NetEqPolicy(FramePolicy):
    """Size = the 0.95 quantile of a forgetting histogram of per-tick peak arrival delays."""

    name = "neteq"

    def initial_state(self) -> NetEqState:
        limits = self.limits
        histogram = [0.0] * (limits.max_size + 1)
        histogram[limits.default_size] = 1.0
        return NetEqState(limits.default_size, tuple(histogram))

    def decide(
        self,
        state: NetEqState,
        metrics: SystemMetrics | None,
        summary: ArrivalSummary,
        now: datetime,
    ) -> tuple[NetEqState, BufferDecision | None]:
        if metrics is None:  # nothing measured: no decision (the original's rule)
            return state, None
        limits = self.limits
        before = state.size
        histogram = state.histogram
        arrivals = summary.since(state.samples_seen)
        if arrivals:
            peak = max(arrivals)
            bucket = min(frames_for(peak, limits.frame_ns), len(histogram) - 1)
            kept = [weight * FORGET_FACTOR for weight in histogram]
            kept[bucket] += 1.0 - FORGET_FACTOR
            histogram = tuple(kept)
            target = histogram_quantile(histogram, QUANTILE)
            size = limits.clamp(target)
            verb = f"set {before} -> {size}" if size != before else f"hold at {size}"
            why = (
                f"{verb}: p95 of the delay histogram is {target} frames "
                f"(this tick's peak {peak / 1e6:.0f} ms)"
            )
        else:
            target = size = limits.clamp(before)
            why = f"hold at {size}: no arrival delays this tick"
        changes = state.changes + (size != before)
        new_state = NetEqState(size, histogram, summary.samples, changes)
        return new_state, frame_decision(
            now,
            policy=self.name,
            before=before,
            after=size,
            target=target,
            changes=changes,
            metrics=metrics,
            summary=summary,
            explanation=why,
        )
