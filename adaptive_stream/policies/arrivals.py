"""What the closed-loop policies know of the audio path: frame arrival delays and underruns.

The ``jetkvm`` policy summarises latency as one moving average. The policies that count in
whole frames (``feedback`` and the reference policies ``oboe``, ``pulseaudio``, ``neteq``,
``roc``) need more: how late the recent frames arrived, and how many underruns the consumer
has reported. :class:`ArrivalSummary` holds both, immutably (``scan`` holds it), and
:class:`FramePolicy` gives them the summary half of the :class:`~.base.Policy` interface.

Latency samples, for these policies, are *arrival delays*: for each frame, the time from its
capture (or send) time to its arrival in the buffer, as a receiver measures it from the
frames' timestamps. A buffer of ``n`` frames plays a frame ``n`` frame durations after its
capture, so it covers any arrival delay up to about ``n x frame_duration``.

A policy sees, at each tick, the samples and underruns that came since its previous tick:
its state remembers how many of each it had seen (``samples_seen``, ``underruns_seen``), and
the summary counts them all, so nothing needs resetting between ticks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol, Self

from adaptive_stream.gonum import duration_ns
from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics
from adaptive_stream.policies.jetkvm import update_latency_average

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "ARRIVAL_WINDOW",
    "ArrivalSummary",
    "FrameLimits",
    "FramePolicy",
    "frame_decision",
    "frames_for",
    "quantile",
]

#: How many of the latest arrival delays a summary keeps: more than one tick's worth at the
#: defaults (25 frames of 20 ms per 500 ms tick). A tick that follows more samples than this
#: sees the latest ones only.
ARRIVAL_WINDOW = 128


class ArrivalSummary(NamedTuple):
    """Arrival delays and underruns reported so far (immutable).

    Attributes:
        average_ns: moving average of the delays, in integer nanoseconds, blended as
            ``jetkvm``'s (``historical_weight`` / ``current_weight``); 0 before any sample.
        recent: the latest :data:`ARRIVAL_WINDOW` delays in nanoseconds, oldest first.
        samples: how many delays were folded in, in all.
        underruns: how many underruns were reported, in all.
    """

    average_ns: int = 0
    recent: tuple[int, ...] = ()
    samples: int = 0
    underruns: int = 0

    def since(self, seen: int) -> tuple[int, ...]:
        """The delays folded in after the first ``seen`` ones (at most the window)."""
        new = self.samples - seen
        if new <= 0:
            return ()
        return self.recent[-new:] if new < len(self.recent) else self.recent


class FrameLimits(NamedTuple):
    """What every frame-counting policy needs: the size limits and the frame duration."""

    min_size: int = 3
    max_size: int = 20
    default_size: int = 6
    frame_ns: int = 20_000_000
    historical_weight: float = 0.7
    current_weight: float = 0.3

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> FrameLimits:
        return cls(
            min_size=settings.min_buffer_size,
            max_size=settings.max_buffer_size,
            default_size=settings.default_buffer_size,
            frame_ns=duration_ns(settings.frame_duration),
            historical_weight=settings.historical_weight,
            current_weight=settings.current_weight,
        )

    def clamp(self, size: int) -> int:
        """``size`` within the hard limits."""
        return max(self.min_size, min(self.max_size, size))


def frames_for(delay_ns: float, frame_ns: int) -> int:
    """How many whole frames cover a delay: ``ceil(delay / frame)``, at least 0."""
    return max(0, math.ceil(delay_ns / frame_ns))


def quantile(values: Iterable[int], q: float) -> int:
    """The nearest-rank ``q`` quantile (``0 < q <= 1``) of non-empty ``values``: the smallest
    value with at least ``q`` of them at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def frame_decision(
    now: datetime,
    *,
    policy: str,
    before: int,
    after: int,
    target: float,
    changes: int,
    metrics: SystemMetrics,
    summary: ArrivalSummary,
    explanation: str,
) -> BufferDecision:
    """A :class:`BufferDecision` for a policy that sets both sizes to one whole number."""
    direction = 1.0 if after > before else -1.0 if after < before else 0.0
    return BufferDecision(
        now,
        after,
        after,
        after != before,
        direction,
        0.0,
        0.0,
        0.0,
        metrics.cpu_percent,
        metrics.memory_percent,
        summary.average_ns,
        changes,
        target,
        target,
        policy,
        explanation,
    )


class _SizedState(Protocol):
    @property
    def size(self) -> int: ...


class FramePolicy:
    """The common half of a frame-counting policy: its limits, both sizes from the state's
    ``size``, and the summary (arrival delays and underruns folded into an
    :class:`ArrivalSummary`). Subclasses add ``initial_state`` and ``decide``."""

    name = "frames"

    #: The settings this policy reads that a deployment may tune (``adaptive-stream tune``
    #: searches them). It also reads ``frame_duration``: the stream's, not a choice.
    TUNABLE: ClassVar[tuple[str, ...]] = (
        "min_buffer_size",
        "default_buffer_size",
        "max_buffer_size",
        "historical_weight",
        "current_weight",
    )

    def __init__(self, limits: FrameLimits) -> None:
        self.limits = limits

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> Self:
        """The policy with the limits the settings hold (subclasses with more parameters
        override it)."""
        return cls(FrameLimits.from_settings(settings))

    def sizes(self, state: _SizedState) -> BufferSizes:
        return BufferSizes(state.size, state.size)

    def initial_summary(self) -> ArrivalSummary:
        return ArrivalSummary()

    def update_latency(self, summary: ArrivalSummary, sample_ns: int) -> ArrivalSummary:
        return self.update_latency_batch(summary, (sample_ns,))

    def update_latency_batch(
        self, summary: ArrivalSummary, samples: Iterable[int]
    ) -> ArrivalSummary:
        # The average as jetkvm's, sample by sample; the window rebuilt once per batch.
        batch = tuple(samples)
        if not batch:
            return summary
        limits = self.limits
        average = summary.average_ns
        for sample_ns in batch:
            average = update_latency_average(
                average, sample_ns, limits.historical_weight, limits.current_weight
            )
        recent = (summary.recent + batch)[-ARRIVAL_WINDOW:]
        return ArrivalSummary(average, recent, summary.samples + len(batch), summary.underruns)

    def update_underruns(self, summary: ArrivalSummary, count: int) -> ArrivalSummary:
        return summary._replace(underruns=summary.underruns + count)
