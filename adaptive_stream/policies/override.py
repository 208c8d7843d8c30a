"""``buffer_size_override``: both sizes pinned at a number of frames, for any policy.

:func:`~adaptive_stream.policies.make_policy` wraps the policy the settings name in a
:class:`PinnedPolicy` when ``buffer_size_override`` is set: from before the first tick on,
both sizes are the override, whatever the policy would have decided. The wrapped policy
still runs (its state, and whether a tick decides anything at all, are its own); only what
it publishes is pinned.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Self

from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics
from adaptive_stream.policies.base import Policy, StateT, SummaryT

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = ["PinnedPolicy"]


class PinnedPolicy(Generic[StateT, SummaryT]):
    """``policy``, with both published sizes pinned at ``size`` frames.

    Each decision of ``policy`` is published with the pinned sizes, ``adjusted`` false, a
    ``combined_factor`` of 0, no adaptation counted, and the explanation
    ``"hold at N: buffer_size_override pins both sizes"``; a tick ``policy`` decides
    nothing on stays without a decision.
    """

    __slots__ = ("policy", "size")

    def __init__(self, policy: Policy[StateT, SummaryT], size: int) -> None:
        if size < 1:
            raise ValueError(f"buffer_size_override: must be at least 1 frame (got {size})")
        self.policy = policy
        self.size = size

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> Self:
        """The policy the settings name, pinned at ``buffer_size_override`` (which must be
        set)."""
        from adaptive_stream.policies import POLICIES

        size = settings.buffer_size_override
        if size is None:
            raise ValueError("buffer_size_override: not set")
        return cls(POLICIES[settings.policy].from_settings(settings), size)

    @property
    def name(self) -> str:
        return self.policy.name

    def initial_state(self) -> StateT:
        return self.policy.initial_state()

    def sizes(self, state: StateT) -> BufferSizes:
        return BufferSizes(self.size, self.size)

    def initial_summary(self) -> SummaryT:
        return self.policy.initial_summary()

    def update_latency(self, summary: SummaryT, sample_ns: int) -> SummaryT:
        return self.policy.update_latency(summary, sample_ns)

    def update_latency_batch(self, summary: SummaryT, samples: Iterable[int]) -> SummaryT:
        return self.policy.update_latency_batch(summary, samples)

    def update_underruns(self, summary: SummaryT, count: int) -> SummaryT:
        return self.policy.update_underruns(summary, count)

    def decide(
        self, state: StateT, metrics: SystemMetrics | None, summary: SummaryT, now: datetime
    ) -> tuple[StateT, BufferDecision | None]:
        state, decision = self.policy.decide(state, metrics, summary, now)
        if decision is None:
            return state, None
        size = self.size
        return state, decision._replace(
            input_size=size,
            output_size=size,
            adjusted=False,
            combined_factor=0.0,
            adaptation_count=0,
            target_input=float(size),
            target_output=float(size),
            explanation=f"hold at {size}: buffer_size_override pins both sizes",
        )
