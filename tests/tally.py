"""A test policy that makes what reached its summary visible in its decisions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from adaptive_stream import BufferDecision, BufferSizes, SystemMetrics


class Tally(NamedTuple):
    samples: int
    underruns: int


class TallyPolicy:
    """Size = 6 + the underruns seen so far: makes what reached the summary visible."""

    name = "tally"

    def initial_state(self) -> int:
        return 6

    def sizes(self, state: int) -> BufferSizes:
        return BufferSizes(state, state)

    def initial_summary(self) -> Tally:
        return Tally(0, 0)

    def update_latency(self, summary: Tally, sample_ns: int) -> Tally:
        return Tally(summary.samples + 1, summary.underruns)

    def update_latency_batch(self, summary: Tally, samples: Iterable[int]) -> Tally:
        for sample in samples:
            summary = self.update_latency(summary, sample)
        return summary

    def update_underruns(self, summary: Tally, count: int) -> Tally:
        return Tally(summary.samples, summary.underruns + count)

    @classmethod
    def from_settings(cls, settings: Any) -> TallyPolicy:
        return cls()

    def decide(
        self, state: int, metrics: SystemMetrics | None, summary: Tally, now: datetime
    ) -> tuple[int, BufferDecision | None]:
        if metrics is None:
            return state, None
        size = 6 + summary.underruns
        # average_latency_ns carries the sample count, so it shows what was folded.
        decision = BufferDecision(
            now,
            size,
            size,
            size != state,
            0.0,
            0.0,
            0.0,
            0.0,
            5.0,
            10.0,
            summary.samples,
            0,
            size,
            size,
            "tally",
        )
        return size, decision
