"""The interface every policy implements: pure functions of state and inputs, time passed in.

The pipeline (``adaptive_stream.pipeline``) folds latency samples and underrun reports into one
summary with ``scan`` and folds ticks into the policy state with ``scan``; a policy never reads
a clock, a process table or a Subject.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeAlias, TypeVar

from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = ["AnyPolicy", "Policy", "PolicyFactory", "StateT", "SummaryT"]

StateT = TypeVar("StateT")
SummaryT = TypeVar("SummaryT")


class Policy(Protocol[StateT, SummaryT]):
    """A buffer-sizing policy: everything the pipeline calls.

    Type parameters:
        StateT: what the policy remembers between ticks (immutable: ``scan`` holds it).
        SummaryT: what it keeps of the inputs between ticks: the latency samples and the
            underruns reported so far (immutable too).

    Policies are registered by class in :data:`~adaptive_stream.policies.POLICIES`; their
    classmethod ``from_settings`` is how :func:`~adaptive_stream.policies.make_policy`
    builds one by name.
    """

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> Self:
        """The policy configured from ``settings`` (the settings it does not use ignored)."""
        ...

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

    def initial_summary(self) -> SummaryT:
        """The summary before any latency sample or underrun."""
        ...

    def update_latency(self, summary: SummaryT, sample_ns: int) -> SummaryT:
        """Fold one latency sample (integer nanoseconds) into the summary. Live samples are
        checked (>= 0, below the ceiling) before they get here; a replay passes recorded
        samples as they are."""
        ...

    def update_latency_batch(self, summary: SummaryT, samples: Iterable[int]) -> SummaryT:
        """Fold many samples in order: the same as calling ``update_latency`` on each."""
        ...

    def update_underruns(self, summary: SummaryT, count: int) -> SummaryT:
        """Fold ``count`` (>= 1) more underruns, reported by the audio path, into the summary.

        Underruns are feedback: the consumer found the buffer empty when a frame was due. A
        policy that ignores them returns ``summary`` unchanged (``jetkvm`` does: the firmware
        never heard of them). The pipeline only calls it with valid counts.
        """
        ...

    def decide(
        self, state: StateT, metrics: SystemMetrics | None, summary: SummaryT, now: datetime
    ) -> tuple[StateT, BufferDecision | None]:
        """One adaptation tick: the new state and the decision to publish, or ``None`` for
        a tick that decides nothing.

        Args:
            state: the state after the previous tick.
            metrics: the latest valid metrics sample, whatever its age (``sampled_at`` says
                when it was taken; ``None`` there means "now"), or ``None`` before the
                first sample and while the metrics source finds nothing to measure. What a
                tick with missing or stale metrics does is the policy's call: ``jetkvm``
                decides nothing, as the original did on a tick without metrics; the
                frame-counting policies decide nothing without metrics and apply their own
                staleness rule otherwise.
            summary: the inputs folded so far (see ``initial_summary``).
            now: the tick's time, by the clock that stamps the decisions.
        """
        ...


class PolicyFactory(Protocol):
    """What builds a policy from settings: a policy class (``POLICIES`` holds them)."""

    def from_settings(self, settings: AdaptiveBufferSettings) -> Policy[Any, Any]:
        """The policy configured from ``settings``."""
        ...


#: A policy whose state and summary types are known only at run time (chosen by name).
AnyPolicy: TypeAlias = Policy[Any, Any]
