"""The interface every policy implements: pure functions of state and inputs, time passed in.

The pipeline (``adaptive_stream.pipeline``) folds latency samples and underrun reports into one
summary with ``scan`` and folds ticks into the policy state with ``scan``; a policy never reads
a clock, a process table or a Subject.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, TypeVar

from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics

__all__ = ["LatencyT", "Policy", "StateT"]

StateT = TypeVar("StateT")
LatencyT = TypeVar("LatencyT")


class Policy(Protocol[StateT, LatencyT]):
    """A buffer-sizing policy.

    Type parameters:
        StateT: what the policy remembers between ticks (immutable: ``scan`` holds it).
        LatencyT: its summary of the latency samples seen so far (immutable too).
    """

    @property
    def name(self) -> str:
        """Short name, as used in settings and on the command line."""
        ...

    def initial_state(self) -> StateT:
        """The state before the first tick."""
        ...

    def sizes(self, state: StateT) -> BufferSizes:
        """The buffer sizes a state stands for."""
        ...

    def initial_latency(self) -> LatencyT:
        """The latency summary before any sample."""
        ...

    def update_latency(self, summary: LatencyT, sample_ns: int) -> LatencyT:
        """Fold one latency sample (integer nanoseconds) into the summary. Live samples are
        checked (>= 0, below the ceiling) before they get here; a replay passes recorded
        samples as they are."""
        ...

    def update_latency_batch(self, summary: LatencyT, samples: Iterable[int]) -> LatencyT:
        """Fold many valid samples in order: the same as calling ``update_latency`` on
        each, in one call (policies implement it as a plain loop)."""
        ...

    def update_underruns(self, summary: LatencyT, count: int) -> LatencyT:
        """Fold ``count`` (>= 1) more underruns, reported by the audio path, into the summary.

        Underruns are feedback: the consumer found the buffer empty when a frame was due. A
        policy that ignores them returns ``summary`` unchanged (``jetkvm`` does: the firmware
        never heard of them). The pipeline only calls it with valid counts; a policy object
        without this method has its underruns ignored.
        """
        ...

    def decide(
        self, state: StateT, metrics: SystemMetrics, latency: LatencyT, now: datetime
    ) -> tuple[StateT, BufferDecision]:
        """One adaptation tick: the new state and the decision to publish."""
        ...
