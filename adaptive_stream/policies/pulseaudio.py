"""``pulseaudio``: PulseAudio's alsa-sink watermark, in frames (a reference policy).

PulseAudio keeps a wakeup watermark: how much audio must be left in the device buffer when
the sink thread wakes up to refill it. On an underrun it raises the watermark to
``min(2 x w, w + 10 ms)``. When, for 20 s, the buffer never had less than 100 ms left, it
lowers it to ``max(w / 2, w - 5 ms)``; any near-miss (less than 100 ms left) restarts the
20 s.

Here, in whole frames (documented simplifications): the watermark is the buffer size ``w``;
"+10 ms" rounds up to +1 frame and "-5 ms" to -1 frame (so for w >= 2 the rules are
``min(2w, w + 1) = w + 1`` and ``max(ceil(w / 2), w - 1) = w - 1``); "left" at a tick is
``w x frame - the largest arrival delay of the tick`` (a tick without arrival delays is no
near-miss); it starts at ``default_buffer_size``; and every tick is one wakeup.
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

__all__ = ["DECREASE_AFTER", "DECREASE_THRESHOLD_NS", "PulseAudioPolicy", "PulseAudioState"]

#: How long the buffer must keep more than :data:`DECREASE_THRESHOLD_NS` left before it shrinks.
DECREASE_AFTER = timedelta(seconds=20)
#: The headroom that counts as plenty (PulseAudio's watermark_dec_threshold: 100 ms).
DECREASE_THRESHOLD_NS = 100_000_000


class PulseAudioState(NamedTuple):
    """The size, the counts seen at the previous tick, and when the 20 s started."""

    size: int
    underruns_seen: int = 0
    samples_seen: int = 0
    calm_since: datetime | None = None
    changes: int = 0


class PulseAudioPolicy(FramePolicy):
    """+1 frame on an underrun; -1 frame after 20 s with more than 100 ms left."""

    name = "pulseaudio"

    def initial_state(self) -> PulseAudioState:
        return PulseAudioState(self.limits.default_size)

    def decide(
        self,
        state: PulseAudioState,
        metrics: SystemMetrics | None,
        summary: ArrivalSummary,
        now: datetime,
    ) -> tuple[PulseAudioState, BufferDecision | None]:
        if metrics is None:  # nothing measured: no decision (the original's rule)
            return state, None
        limits = self.limits
        before = state.size
        size = limits.clamp(before)
        calm_since = state.calm_since or now
        arrivals = summary.since(state.samples_seen)
        left_ns = size * limits.frame_ns - max(arrivals) if arrivals else None
        if summary.underruns > state.underruns_seen:
            size = limits.clamp(min(2 * size, size + 1))
            calm_since = now
            why = f"grow {before} -> {size}: underrun (min(2w, w + 10 ms), in frames)"
        elif left_ns is not None and left_ns <= DECREASE_THRESHOLD_NS:
            calm_since = now
            why = f"hold at {size}: near-miss, {left_ns / 1e6:.0f} ms left; the 20 s restart"
        elif now - calm_since >= DECREASE_AFTER and size > limits.min_size:
            size = limits.clamp(max(math.ceil(size / 2), size - 1))
            calm_since = now
            why = f"shrink {before} -> {size}: 20 s with more than 100 ms left"
        else:
            calm = (now - calm_since).total_seconds()
            why = f"hold at {size}: {calm:.1f} s of 20 s with more than 100 ms left"
        changes = state.changes + (size != before)
        new_state = PulseAudioState(size, summary.underruns, summary.samples, calm_since, changes)
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
