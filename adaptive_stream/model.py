"""The values that flow through the pipeline: metrics in, buffer decisions out."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import NamedTuple

__all__ = ["EPOCH", "BufferDecision", "BufferSizes", "SystemMetrics"]

#: Time zero of virtual time: replays and simulations start their clocks here.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SystemMetrics(NamedTuple):
    """One aggregated metrics sample, as the policy sees it (SPEC step 2).

    Attributes:
        cpu_percent: CPU use summed over the watched processes, so it can exceed 100 on a
            machine with several cores.
        memory_percent: the mean, over the watched processes, of each one's resident memory as
            a share of the machine's total memory.
        sampled_at: when the sample was taken (by the clock the decisions are stamped with),
            or ``None`` when unknown. Policies that hold still on stale inputs (``feedback``)
            compare it with the tick's time; the others ignore it.
    """

    cpu_percent: float
    memory_percent: float
    sampled_at: datetime | None = None

    def is_valid(self) -> bool:
        """True when both figures are finite and non-negative and memory is at most 100 %."""
        cpu, mem = self.cpu_percent, self.memory_percent
        return math.isfinite(cpu) and math.isfinite(mem) and cpu >= 0.0 and 0.0 <= mem <= 100.0


class BufferSizes(NamedTuple):
    """The two buffer sizes, in frames (one frame is 20 ms of audio at JetKVM's defaults)."""

    input_size: int
    output_size: int


class BufferDecision(NamedTuple):
    """What one adaptation tick decided, and the figures it decided on (immutable).

    A named tuple (immutable, cheap to build: one is built per tick).

    The factor fields are ``jetkvm``'s. Policies that count in whole frames (``feedback`` and
    the reference policies) set ``combined_factor`` to the direction of the change (+1 grow,
    -1 shrink, 0 hold), the three factors to 0, ``target_*`` to the size they aimed at, and
    say why in ``explanation``.

    Attributes:
        time: the scheduler's time of the tick (virtual time in tests and replays).
        input_size: input buffer size after the tick, in frames.
        output_size: output buffer size after the tick, in frames.
        adjusted: whether this tick changed the sizes (left the 0.5-frame dead zone).
        combined_factor: the weighted factor in [-1, +1] that moved the sizes: positive grows
            them toward the maximum, negative shrinks them toward the minimum.
        cpu_factor: the CPU factor in [-1, +1].
        memory_factor: the memory factor in [-1, +1].
        latency_factor: the latency factor in [-1, +1].
        cpu_percent: the CPU figure the tick used (summed over processes).
        memory_percent: the memory figure the tick used (averaged over processes).
        average_latency_ns: the latency average the tick used, in integer nanoseconds.
        adaptation_count: how many ticks have adjusted the sizes so far, this one included.
        target_input: the unrounded size the input moved toward this tick.
        target_output: the unrounded size the output moved toward this tick.
        policy: the name of the policy that decided.
        explanation: the decision in words, for policies that give one ("" for ``jetkvm``,
            whose :attr:`reason` is built from its factors).
    """

    time: datetime
    input_size: int
    output_size: int
    adjusted: bool
    combined_factor: float
    cpu_factor: float
    memory_factor: float
    latency_factor: float
    cpu_percent: float
    memory_percent: float
    average_latency_ns: int
    adaptation_count: int
    target_input: float
    target_output: float
    policy: str = "jetkvm"
    explanation: str = ""

    @property
    def average_latency_ms(self) -> float:
        """The latency average in milliseconds (``avg / 1e6``, as the original reports it)."""
        return self.average_latency_ns / 1e6

    @property
    def sizes(self) -> BufferSizes:
        """The two sizes as one value."""
        return BufferSizes(self.input_size, self.output_size)

    @property
    def reason(self) -> str:
        """Why the policy decided this, in words: the policy's own ``explanation``, or for
        ``jetkvm`` which factor pushed which way, e.g. ``grow +0.600 (adjusted): cpu low
        (+1.00), ...``.

        For ``jetkvm``, a factor of +1 or -1 means the figure lay beyond its low or high
        threshold ("low", "high"); in between, the ramp through the midpoint ("below
        midpoint", "above midpoint"), so that 50 % CPU under a 60 % threshold is not called
        high.
        """
        if self.explanation:
            return self.explanation
        parts = []
        for name, factor in (
            ("cpu", self.cpu_factor),
            ("memory", self.memory_factor),
            ("latency", self.latency_factor),
        ):
            if factor >= 1.0:
                where = "low"
            elif factor > 0:
                where = "below midpoint"
            elif factor <= -1.0:
                where = "high"
            elif factor < 0:
                where = "above midpoint"
            else:
                where = "at midpoint"
            parts.append(f"{name} {where} ({factor:+.2f})")
        c = self.combined_factor
        direction = "grow" if c > 0 else "shrink" if c < 0 else "hold"
        verdict = "adjusted" if self.adjusted else "within dead zone"
        return f"{direction} {c:+.3f} ({verdict}): " + ", ".join(parts)
