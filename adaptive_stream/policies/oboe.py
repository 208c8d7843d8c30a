"""``oboe``: Android Oboe's ``LatencyTuner``, in frames (a reference policy).

Oboe's tuner is called once per audio callback; when the stream's xrun count has risen since
the previous call, it adds one burst to the buffer. It never shrinks on its own (an app
calls ``reset()``), and it ignores its first calls, where start-up xruns are expected.

Here, documented simplifications: one call per adaptation tick; one burst is one frame;
"the first 8 calls" are the first 8 ticks (4 s at the default 500 ms interval), whose
underruns are counted as seen and ignored; the size starts at ``default_buffer_size`` rather
than Oboe's 2 bursts, so that every policy starts from the same place; and it stops at
``max_buffer_size`` as Oboe stops at the stream's buffer capacity.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from adaptive_stream.model import BufferDecision, SystemMetrics
from adaptive_stream.policies.arrivals import (
    ArrivalSummary,
    FramePolicy,
    frame_decision,
)

__all__ = ["IGNORED_CALLS", "OboePolicy", "OboeState"]

#: Oboe's ``LatencyTuner`` ignores this many calls after a start or reset.
IGNORED_CALLS = 8


class OboeState(NamedTuple):
    """The size, the ticks so far, and the underrun count at the previous tick."""

    size: int
    calls: int = 0
    underruns_seen: int = 0
    changes: int = 0


class OboePolicy(FramePolicy):
    """+1 frame whenever the underrun count rose since the previous tick; never shrinks."""

    name = "oboe"

    def initial_state(self) -> OboeState:
        return OboeState(self.limits.default_size)

    def decide(
        self,
        state: OboeState,
        metrics: SystemMetrics | None,
        summary: ArrivalSummary,
        now: datetime,
    ) -> tuple[OboeState, BufferDecision | None]:
        if metrics is None:  # nothing measured: no decision (the original's rule)
            return state, None
        calls = state.calls + 1
        before = state.size
        size = self.limits.clamp(before)
        risen = summary.underruns > state.underruns_seen
        if calls <= IGNORED_CALLS:
            why = f"hold at {size}: call {calls} of the first {IGNORED_CALLS}, xruns ignored"
        elif risen and size < self.limits.max_size:
            size += 1
            why = f"grow {before} -> {size}: the underrun count rose to {summary.underruns}"
        elif risen:
            why = f"hold at {size}: the underrun count rose, but the size is at its maximum"
        else:
            why = f"hold at {size}: no new underrun (oboe never shrinks)"
        changes = state.changes + (size != before)
        new_state = OboeState(size, calls, summary.underruns, changes)
        return new_state, frame_decision(
            now,
            policy=self.name,
            before=before,
            after=size,
            target=size,
            changes=changes,
            metrics=metrics,
            summary=summary,
            explanation=why,
        )
