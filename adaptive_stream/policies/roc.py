"""``roc``: roc-toolkit's latency tuner, in frames (a reference policy).

roc-toolkit estimates the latency it needs from the jitter it measures,
``max(max_jitter x 1.15, mean_jitter x 3)``, and moves its target latency in steps on a
logarithmic scale: up by x1.35 when the estimate exceeds the target, down when the target
exceeds 1.7x the estimate (by the step that takes a target of exactly 1.7x the estimate
halfway to it: x1.35/1.7), and not down for 15 s after going up.

Here (documented simplifications): jitter is the arrival delay of the frames over the last
10 s (max of the per-tick peaks, and the mean of the per-tick means); the target is the
buffer size in frames; a step up is ``max(size + 1, ceil(size x 1.35))``, a step down is
``min(size - 1, round(size x 1.35 / 1.7))``, both clamped to ``[min, max]``. It starts at
``default_buffer_size``; a tick without any delay in the window changes nothing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from adaptive_stream.model import BufferDecision, SystemMetrics
from adaptive_stream.policies.arrivals import (
    ArrivalSummary,
    FramePolicy,
    frame_decision,
)

__all__ = ["COOLDOWN", "GROW", "SHRINK_THRESHOLD", "WINDOW", "RocPolicy", "RocState"]

GROW = 1.35
SHRINK_THRESHOLD = 1.7
COOLDOWN = timedelta(seconds=15)
WINDOW = timedelta(seconds=10)


class RocState(NamedTuple):
    """The size, the sample count seen, when it last grew, and the per-tick
    ``(time, peak ns, mean ns)`` of the last :data:`WINDOW`."""

    size: int
    samples_seen: int = 0
    grew_at: datetime | None = None
    window: tuple[tuple[datetime, int, float], ...] = ()
    changes: int = 0


class RocPolicy(FramePolicy):
    """x1.35 up when the jitter estimate exceeds the size; down when the size is over 1.7x
    the estimate, not within 15 s of going up."""

    name = "roc"

    def initial_state(self) -> RocState:
        return RocState(self.limits.default_size)

    def decide(
        self,
        state: RocState,
        metrics: SystemMetrics | None,
        summary: ArrivalSummary,
        now: datetime,
    ) -> tuple[RocState, BufferDecision | None]:
        if metrics is None:  # nothing measured: no decision (the original's rule)
            return state, None
        limits = self.limits
        before = state.size
        size = limits.clamp(before)
        arrivals = summary.since(state.samples_seen)
        oldest = now - WINDOW
        window = tuple(item for item in state.window if item[0] > oldest)
        if arrivals:
            window = (*window, (now, max(arrivals), sum(arrivals) / len(arrivals)))
        grew_at = state.grew_at
        target: float = size
        if not window:
            why = f"hold at {size}: no arrival delays in the last {WINDOW.total_seconds():g} s"
        else:
            max_jitter = max(peak for _, peak, _ in window)
            mean_jitter = sum(mean for _, _, mean in window) / len(window)
            estimate_ns = max(max_jitter * 1.15, mean_jitter * 3)
            target = estimate_ns / limits.frame_ns
            have = size * limits.frame_ns
            estimate = f"estimate {estimate_ns / 1e6:.0f} ms"
            cooling = grew_at is not None and now - grew_at < COOLDOWN
            if estimate_ns > have and size < limits.max_size:
                size = limits.clamp(max(size + 1, math.ceil(size * GROW)))
                grew_at = now
                why = f"grow {before} -> {size}: {estimate} above {have / 1e6:.0f} ms"
            elif have > SHRINK_THRESHOLD * estimate_ns and size > limits.min_size and not cooling:
                size = limits.clamp(min(size - 1, round(size * GROW / SHRINK_THRESHOLD)))
                why = f"shrink {before} -> {size}: {have / 1e6:.0f} ms is over 1.7x the {estimate}"
            elif cooling:
                why = f"hold at {size}: {estimate}; no shrinking within 15 s of growing"
            else:
                why = f"hold at {size}: {estimate} within [1x, 1.7x] of {have / 1e6:.0f} ms"
        changes = state.changes + (size != before)
        new_state = RocState(size, summary.samples, grew_at, window, changes)
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
