"""The JetKVM firmware's decision, exactly as the Go code makes it (SPEC steps 1 to 6).

Every function here is pure: no Rx, no clock, no I/O. The arithmetic follows the Go source
operation for operation (same order, same float64 rounding points, integer nanoseconds for
latency), because replays must match the original byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from adaptive_stream.gonum import duration_ns, go_div, go_round
from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "JetKVMParams",
    "JetKVMPolicy",
    "JetKVMState",
    "adapt_size",
    "combine_factors",
    "latency_factor",
    "threshold_factor",
    "update_latency_average",
]


class JetKVMParams(NamedTuple):
    """The numbers the firmware's decision uses (SPEC defaults table).

    ``stale_after`` is ours: a tick whose metrics sample is older than this decides nothing
    (``None``: metrics never go stale). The firmware sampled on every tick, so its metrics
    were never stale; a live metrics source can stop, and then deciding on its last figures
    would be deciding on a load that is gone.
    """

    min_size: int = 3
    max_size: int = 20
    default_size: int = 6
    cpu_low: float = 20.0
    cpu_high: float = 60.0
    memory_low: float = 50.0
    memory_high: float = 75.0
    target_latency_ns: int = 20_000_000
    max_latency_ns: int = 50_000_000
    smoothing: float = 0.3
    historical_weight: float = 0.7
    current_weight: float = 0.3
    cpu_weight: float = 0.5
    memory_weight: float = 0.3
    latency_weight: float = 0.2
    stale_after: timedelta | None = None

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> JetKVMParams:
        """The parameters a settings object holds."""
        return cls(
            min_size=settings.min_buffer_size,
            max_size=settings.max_buffer_size,
            default_size=settings.default_buffer_size,
            cpu_low=settings.cpu_low_threshold,
            cpu_high=settings.cpu_high_threshold,
            memory_low=settings.memory_low_threshold,
            memory_high=settings.memory_high_threshold,
            target_latency_ns=duration_ns(settings.target_latency),
            max_latency_ns=duration_ns(settings.max_latency),
            smoothing=settings.smoothing_factor,
            historical_weight=settings.historical_weight,
            current_weight=settings.current_weight,
            cpu_weight=settings.cpu_weight,
            memory_weight=settings.memory_weight,
            latency_weight=settings.latency_weight,
            stale_after=settings.metrics_stale_after,
        )


class JetKVMState(NamedTuple):
    """What the firmware keeps between ticks: the two integer sizes and the count."""

    input_size: int
    output_size: int
    adaptation_count: int = 0


def update_latency_average(
    average_ns: int, sample_ns: int, historical_weight: float = 0.7, current_weight: float = 0.3
) -> int:
    """SPEC step 1: the first sample replaces a zero average; later ones are blended and the
    float result truncated toward zero, ``int64(float64(avg)*0.7 + float64(sample)*0.3)``."""
    if average_ns == 0:
        return sample_ns
    return int(float(average_ns) * historical_weight + float(sample_ns) * current_weight)


def threshold_factor(value: float, low: float, high: float) -> float:
    """SPEC step 3: -1 above ``high``, +1 below ``low``, a straight line through 0 at the
    midpoint in between (the code's 'sigmoid' is this clamped ramp)."""
    if value > high:
        return -1.0
    if value < low:
        return 1.0
    midpoint = (high + low) / 2
    return (midpoint - value) / (midpoint - low)


def latency_factor(average_ns: int, target_ns: int, max_ns: int) -> float:
    """SPEC step 3 for latency, on integer nanoseconds with Go's integer midpoint."""
    if average_ns > max_ns:
        return -1.0
    if average_ns < target_ns:
        return 1.0
    midpoint = go_div(max_ns + target_ns, 2)
    return float(midpoint - average_ns) / float(midpoint - target_ns)


def combine_factors(cpu: float, memory: float, latency: float, params: JetKVMParams) -> float:
    """SPEC step 4: the weighted sum, evaluated left to right as Go does."""
    return params.cpu_weight * cpu + params.memory_weight * memory + params.latency_weight * latency


def adapt_size(current: float, factor: float, params: JetKVMParams) -> float:
    """SPEC step 5: move toward max (factor > 0) or min (factor <= 0), smooth, clamp."""
    # Ints meet floats here exactly as Go's float64(int) conversions do (sizes < 2**53).
    low, high = params.min_size, params.max_size
    if factor > 0:
        target = current + factor * (high - current)
    else:
        target = current + factor * (current - low)
    new = current + params.smoothing * (target - current)
    # math.Max(min, math.Min(max, new)); comparisons keep a NaN a NaN, as Go's do.
    if new > high:
        return float(high)
    if new < low:
        return float(low)
    return new


class JetKVMPolicy:
    """The original policy: load and latency factors, smoothing, a 0.5-frame dead zone.

    Known flaw, kept on purpose: CPU load above the high threshold *shrinks* the buffers,
    exactly when underruns are likeliest, and underruns are never heard about.
    """

    name = "jetkvm"

    #: The settings this policy reads that a deployment may tune (``adaptive-stream tune``
    #: searches them); :meth:`from_settings` reads no other but ``adaptation_interval``
    #: (the pipeline's tick, for ``stale_after``'s default): read, never tuned.
    TUNABLE: ClassVar[tuple[str, ...]] = (
        "min_buffer_size",
        "default_buffer_size",
        "max_buffer_size",
        "cpu_low_threshold",
        "cpu_high_threshold",
        "memory_low_threshold",
        "memory_high_threshold",
        "target_latency",
        "max_latency",
        "smoothing_factor",
        "historical_weight",
        "current_weight",
        "cpu_weight",
        "memory_weight",
        "latency_weight",
        "stale_after",
    )

    __slots__ = ("params",)

    def __init__(self, params: JetKVMParams | None = None) -> None:
        self.params = params or JetKVMParams()

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> JetKVMPolicy:
        return cls(JetKVMParams.from_settings(settings))

    def initial_state(self) -> JetKVMState:
        size = self.params.default_size
        return JetKVMState(size, size, 0)

    def sizes(self, state: JetKVMState) -> BufferSizes:
        return BufferSizes(state.input_size, state.output_size)

    def initial_summary(self) -> int:
        return 0

    def update_latency(self, summary: int, sample_ns: int) -> int:
        # update_latency_average, inlined: this runs once per latency sample.
        if summary == 0:
            return sample_ns
        p = self.params
        return int(float(summary) * p.historical_weight + float(sample_ns) * p.current_weight)

    def update_latency_batch(self, summary: int, samples: Iterable[int]) -> int:
        p = self.params
        historical, current = p.historical_weight, p.current_weight
        for sample_ns in samples:  # update_latency, inlined: once per sample
            if summary == 0:
                summary = sample_ns
            else:
                summary = int(float(summary) * historical + float(sample_ns) * current)
        return summary

    def update_underruns(self, summary: int, count: int) -> int:
        # The firmware never heard about underruns: its summary is the latency average alone.
        return summary

    def decide(
        self, state: JetKVMState, metrics: SystemMetrics | None, summary: int, now: datetime
    ) -> tuple[JetKVMState, BufferDecision | None]:
        if metrics is None:  # SPEC step 2: a tick without metrics decides nothing
            return state, None
        p = self.params
        sampled_at = metrics.sampled_at
        if (
            sampled_at is not None
            and p.stale_after is not None
            and now - sampled_at > p.stale_after
        ):
            return state, None  # stale metrics: as a tick without metrics
        cpu, memory = metrics.cpu_percent, metrics.memory_percent
        cpu_f = threshold_factor(cpu, p.cpu_low, p.cpu_high)
        mem_f = threshold_factor(memory, p.memory_low, p.memory_high)
        lat_f = latency_factor(summary, p.target_latency_ns, p.max_latency_ns)
        combined = combine_factors(cpu_f, mem_f, lat_f, p)

        cur_in, cur_out = float(state.input_size), float(state.output_size)
        new_in = adapt_size(cur_in, combined, p)
        new_out = adapt_size(cur_out, combined, p)
        # SPEC step 6: one symmetric dead zone of half a frame, then Go's math.Round.
        adjusted = abs(new_in - cur_in) >= 0.5 or abs(new_out - cur_out) >= 0.5
        if adjusted:
            state = JetKVMState(go_round(new_in), go_round(new_out), state.adaptation_count + 1)
        # Positional, in BufferDecision's field order: one is built per tick.
        return state, BufferDecision(
            now,  # time
            state.input_size,
            state.output_size,
            adjusted,
            combined,  # combined_factor
            cpu_f,
            mem_f,
            lat_f,
            cpu,  # cpu_percent
            memory,  # memory_percent
            summary,  # average_latency_ns (jetkvm's summary is the average itself)
            state.adaptation_count,
            new_in,  # target_input
            new_out,  # target_output
            "jetkvm",  # policy
        )
