"""``fixed``: holds ``default_buffer_size`` and never adapts (a baseline).

The simplest thing a user might ship, and often a sound one in production: the size is
``default_buffer_size`` from the first tick to the last, whatever the metrics, the arrival
delays or the underruns say. Every decision says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from adaptive_stream.model import BufferDecision, SystemMetrics
from adaptive_stream.policies.arrivals import ArrivalSummary, FramePolicy, frame_decision

__all__ = ["FixedPolicy", "FixedState"]


class FixedState(NamedTuple):
    """The size held (``default_buffer_size`` within the limits)."""

    size: int


class FixedPolicy(FramePolicy):
    """The same size on every tick: ``default_buffer_size``, clamped to the limits."""

    name = "fixed"

    def initial_state(self) -> FixedState:
        return FixedState(self.limits.clamp(self.limits.default_size))

    def decide(
        self,
        state: FixedState,
        metrics: SystemMetrics | None,
        summary: ArrivalSummary,
        now: datetime,
    ) -> tuple[FixedState, BufferDecision | None]:
        if metrics is None:  # nothing measured: no decision (every policy's rule)
            return state, None
        why = (
            f"hold at {state.size}: fixed policy (default_buffer_size), "
            f"{summary.underruns} underrun(s) so far"
        )
        return state, frame_decision(
            now,
            policy=self.name,
            before=state.size,
            after=state.size,
            target=state.size,
            changes=0,
            metrics=metrics,
            summary=summary,
            explanation=why,
        )
