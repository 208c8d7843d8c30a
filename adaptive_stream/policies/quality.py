"""``quality``: the size that maximises the E-model's estimate of call quality.

The E-model (ITU-T G.107) scores a call by its mouth-to-ear delay and its lost frames. A
jitter buffer trades one for the other: each frame of buffer adds a frame duration of delay
to every frame, and saves the frames that would have arrived too late for a smaller one.
This policy makes that trade explicitly, as Speex's jitter buffer does with its late cost
and as ``best-fixed`` does in hindsight over a whole run, but on what it has seen lately:

1. **Delay histogram.** Every arrival delay goes into a histogram with one bucket per
   frame (bucket ``b``: delays that ``b`` frames cover, ``ceil(delay / frame)``; one more
   bucket for delays beyond ``max_buffer_size``), forgetting exponentially with time
   constant ``quality_memory`` (NetEq's forgetting histogram, fed every frame rather than
   one peak per tick). The share of its weight above bucket ``B`` is the share of recent
   frames a size ``B`` would have played late. The first histogram starts with
   :data:`PRIOR_FRAMES` of on-time delays (a clean path), forgotten like the rest, so that
   the first seconds' few delays are weighed against something.
2. **Conditions.** The histogram is kept per condition of the machine: calm, CPU busy,
   memory busy, both (busy from ``cpu_high_threshold`` / ``memory_high_threshold``, calm
   again below the middle of the low and high thresholds, so noise at one threshold does
   not switch). Load predicts stalls: when the CPU gets busy again, the delays of the
   previous busy spell apply at once, and when it calms down, those of calm spells do; the
   headroom goes as soon as the load does. A condition met for the first time starts from
   the current histogram scaled down to :data:`NEW_CONDITION_WEIGHT`, so its own delays
   soon dominate.
3. **Score.** For every size ``B`` in ``[min, max]``, the E-model's R (G.107, the
   formulas of :mod:`adaptive_stream.simulation.emodel`) of the session if the next
   ``quality_memory`` were played at ``B``: the session's mean mouth-to-ear delay and loss
   so far (over the last :data:`SESSION`), blended with
   ``B x frame + quality_device_delay`` of delay and the late share of ``B`` (plus the
   ``|B - size|`` audible events of getting there: a stretched slot per frame grown, a
   dropped frame per frame shrunk) for the frames ahead; burst ratio :data:`BURST_RATIO`.
   Scoring the session rather than the window is what the run's R rewards: a frame of
   delay costs 0.024 R per ms while the session's delay is below G.107's 177.3 ms knee and
   0.134 past it, and the loss impairment flattens as loss grows.
4. **Decide.** Go straight to the size with the best score (ties keep the current size).
   The events of a change are the hysteresis: a size must beat the current one by more than
   the cost of getting there. Besides, no shrink within :data:`REVERSAL_GUARD` of a growth
   unless the condition changed since (no grow-shrink flapping on one burst).
5. **Ramps.** The histogram only knows delays already seen, so on a queue that fills
   (bufferbloat, a slowing link) every new level of delay is late before it is learned. When
   each tick's smallest delay (the path's base delay then) has risen on :data:`RAMP_TICKS`
   ticks in a row, faster than :data:`RAMP_MIN_RATE` on average, the size covers at least
   the last tick's largest delay plus :data:`RAMP_AHEAD` more of the rise (grow at once, no
   shrink while it lasts).
6. **Drains.** The other way round, when a queue drains (or the path's delay steps down),
   the histogram still holds the old, higher delays and would keep the size up for as long
   as it takes to forget them. When a tick's smallest delay is :data:`DRAIN_MIN` or more
   below the smallest of each of the last :data:`DRAIN_TICKS` ticks with arrivals (their
   floor; the count starts again after a drain), the delays learned at or above that
   floor, which came with the queue, are moved down by the fall, in whole frames, in every
   condition's histogram, before the tick's own delays are learned; those below it,
   learned before the queue built up (the path's own jitter), stay where they are. The
   reversal guard still holds (a drain soon after a growth waits for it). A delay that
   comes back up is learned again like any other, at the cost of one rise's late frames.

Before that, in order: no metrics (none yet, or nothing to measure) is no decision; a size
outside ``[min, max]`` is clamped at once (``buffer_size_override`` pins any policy's sizes,
applied by :func:`~adaptive_stream.policies.make_policy`); start-up delays are not learned
(Oboe's lesson): the delays of the frames captured before the first frame arrived (delay
``d`` of the first frame: the first ``d / frame`` frames, which waited for a start-up stall,
not for the network; the ``k``-th delay is taken as the ``k``-th frame's, and only the
first tick's delays are looked at: a stall's frames arrive together when it ends, while a
caller that reports one delay now and then must not lose its first ones). It starts at
``min_buffer_size`` (``default_buffer_size`` is the firmware's start, not read here): the
first tick's delays are enough to grow on, while a start too large costs a dropped frame per
frame shrunk, and its delay until then;
until :data:`MIN_EVIDENCE` delays have been reported the size holds (or, with no arrival
delay at all, grows one frame per tick with underruns, as Oboe's tuner), and so it does once
the histogram has forgotten every delay (less than a frame's weight left); metrics older than
``stale_after`` keep the last condition and forbid shrinking (staleness is no evidence of
calm).

Underruns are not an input of the score: the late frames are in the delays, and growing on
underruns is what makes adaptive buffers grow for outages longer than any size can cover,
paying the delay for nothing. The score sees that a longer outage loses about as many frames
at 20 frames as at 8.

Every decision says why: the sizes compared, their late shares and their scores.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Self

from adaptive_stream.model import BufferDecision, SystemMetrics
from adaptive_stream.policies.arrivals import (
    ArrivalSummary,
    FrameLimits,
    FramePolicy,
    frame_decision,
)
from adaptive_stream.simulation import emodel

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "BURST_RATIO",
    "CONDITIONS",
    "DRAIN_MIN",
    "DRAIN_TICKS",
    "MIN_EVIDENCE",
    "NEW_CONDITION_WEIGHT",
    "PRIOR_FRAMES",
    "RAMP_AHEAD",
    "RAMP_MIN_RATE",
    "RAMP_TICKS",
    "REVERSAL_GUARD",
    "SESSION",
    "QualityParams",
    "QualityPolicy",
    "QualityState",
]

#: Burst ratio assumed in the score: late frames come in runs (a stall makes several frames
#: late in a row); the median over the development scenarios' runs was 3.3.
BURST_RATIO = 4.0
#: Weight (in frames) a condition met for the first time starts with, from the current one.
NEW_CONDITION_WEIGHT = 25.0
#: Arrival delays reported before the policy moves (200 ms of them at 20 ms frames: the
#: first tick's arrivals, so that a start below the path's delay is left at the first tick).
MIN_EVIDENCE = 10
#: Weight (in frames) of on-time delays the first histogram starts with, forgotten like any
#: delay: 2 s of a clean path. Without it the first seconds' few delays are the whole
#: estimate, and one early stall (a 250 ms gap 1 s in) reads as a sixth of all frames late
#: and grows the buffer for the 20 s it takes to forget. Chosen on the development set
#: among 25, 50, 100, 150 and 250 frames (docs/policies.md, "The sixth round").
PRIOR_FRAMES = 100.0
#: How far back the session's figures reach (older frames are forgotten): about a long call.
SESSION = timedelta(minutes=5)
#: No shrink this soon after a growth, unless the condition changed.
REVERSAL_GUARD = timedelta(seconds=5)
#: Ramp detection: each tick's smallest arrival delay (the path's base delay then) rising
#: on this many ticks in a row...
RAMP_TICKS = 5
#: ...by more than this on average (ns per second: 10 ms/s) is a ramp (a queue filling).
RAMP_MIN_RATE = 10e6
#: During a ramp, the size covers the last tick's largest delay plus the rise expected over
#: this long (the histogram only knows delays already seen: on a ramp each new level would
#: be late first). One tick at the default 500 ms interval, and no more: the size is
#: decided again on the next tick, and a longer look overshoots the peak of a queue that
#: is about to drain.
RAMP_AHEAD = timedelta(milliseconds=500)
#: Drain detection: a tick's smallest arrival delay below the smallest of each of the last
#: this many ticks (3.5 s at the default 500 ms interval)...
DRAIN_TICKS = 7
#: ...by this much or more (three 20 ms frames) is a queue that drained, or a path whose
#: delay stepped down: the delays learned are moved down by the fall.
DRAIN_MIN = timedelta(milliseconds=60)
#: Condition names by index: bit 0 is CPU busy, bit 1 memory busy.
CONDITIONS = ("calm", "cpu busy", "memory busy", "cpu and memory busy")


class QualityParams(NamedTuple):
    """The numbers the quality policy decides with (settings of the same names)."""

    limits: FrameLimits = FrameLimits()
    memory: timedelta = timedelta(seconds=20)
    device_delay: timedelta = timedelta(milliseconds=20)
    interval: timedelta = timedelta(milliseconds=500)
    cpu_low: float = 20.0
    cpu_high: float = 60.0
    memory_low: float = 50.0
    memory_high: float = 75.0
    stale_after: timedelta = timedelta(milliseconds=1500)

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> QualityParams:
        return cls(
            limits=FrameLimits.from_settings(settings),
            memory=settings.quality_memory,
            device_delay=settings.quality_device_delay,
            interval=settings.adaptation_interval,
            cpu_low=settings.cpu_low_threshold,
            cpu_high=settings.cpu_high_threshold,
            memory_low=settings.memory_low_threshold,
            memory_high=settings.memory_high_threshold,
            stale_after=settings.metrics_stale_after,
        )


class QualityState(NamedTuple):
    """What the quality policy remembers between ticks.

    Attributes:
        size: both buffer sizes, in frames.
        changes: how many ticks changed the size so far.
        samples_seen: the summary's sample count at the previous tick.
        underruns_seen: the summary's underrun count at the previous tick.
        condition: index into :data:`CONDITIONS` of the machine's last known condition.
        histograms: per condition, the forgetting delay histogram (bucket ``b``: weight of
            delays ``b`` frames cover; the last bucket: beyond ``max_buffer_size``), or
            ``None`` for a condition not met yet.
        grew_at: when it last grew, and the condition then.
        grew_in: the condition it last grew in.
        session_frames: how many frames the session's figures stand for (at most
            :data:`SESSION` of them: older ones are forgotten).
        session_delay_ms: the session's mean mouth-to-ear delay estimate, ms.
        session_loss: the session's share of audible events (underruns and the policy's own
            changes, one per frame changed), percent.
        base_ns: the previous tick's smallest arrival delay (ns), or -1 before any.
        rising: on how many ticks in a row the smallest delay rose.
        ramp_from: the smallest delay when it started rising (ns).
        bases: the smallest delay (ns) of each of the last ticks with arrivals (at most
            :data:`DRAIN_TICKS`; emptied by a drain).
    """

    size: int
    changes: int = 0
    samples_seen: int = 0
    underruns_seen: int = 0
    condition: int = 0
    histograms: tuple[tuple[float, ...] | None, ...] = (None, None, None, None)
    grew_at: datetime | None = None
    grew_in: int = 0
    session_frames: float = 0.0
    session_delay_ms: float = 0.0
    session_loss: float = 0.0
    base_ns: int = -1
    rising: int = 0
    ramp_from: int = 0
    bases: tuple[int, ...] = ()


def _moved_down(histogram: tuple[float, ...], frames: int, start: int) -> tuple[float, ...]:
    """``histogram`` with the weight of bucket ``start`` and above ``frames`` buckets lower
    (at least bucket 0); the last bucket (beyond the largest size) moves too."""
    start = min(start, len(histogram) - 1)
    moved = list(histogram[:start]) + [0.0] * (len(histogram) - start)
    for bucket in range(start, len(histogram)):
        moved[max(0, bucket - frames)] += histogram[bucket]
    return tuple(moved)


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.0f} ms"


class QualityPolicy(FramePolicy):
    """The size with the best E-model estimate over recent arrival delays, per condition of
    the machine, with the cost of changing size counted (module docstring)."""

    name = "quality"

    #: The frame policies' tunable settings and its own. It also reads ``frame_duration``
    #: (the stream's) and ``adaptation_interval`` (the pipeline's tick, for ``stale_after``'s
    #: default and the forgetting per tick): read, never tuned.
    TUNABLE: ClassVar[tuple[str, ...]] = (
        *FramePolicy.TUNABLE,
        "quality_memory",
        "quality_device_delay",
        "cpu_low_threshold",
        "cpu_high_threshold",
        "memory_low_threshold",
        "memory_high_threshold",
        "stale_after",
    )

    def __init__(self, params: QualityParams | None = None) -> None:
        self.params = params or QualityParams()
        super().__init__(self.params.limits)
        p = self.params
        self._frame_ms = p.limits.frame_ns / 1e6
        self._device_ms = p.device_delay.total_seconds() * 1e3
        memory_s = max(p.memory.total_seconds(), 1e-3)
        # Weight kept per tick, and the horizon (in frames) a change's cost is spread over.
        self._keep = math.exp(-p.interval.total_seconds() / memory_s)
        self._horizon = memory_s * 1e3 / self._frame_ms
        self._tick_frames = p.interval.total_seconds() * 1e3 / self._frame_ms
        self._session = SESSION.total_seconds() * 1e3 / self._frame_ms
        self._drain_min_ns = round(DRAIN_MIN.total_seconds() * 1e9)

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> Self:
        return cls(QualityParams.from_settings(settings))

    def initial_state(self) -> QualityState:
        limits = self.params.limits
        return QualityState(limits.min_size)

    def _condition(self, metrics: SystemMetrics, previous: int) -> int:
        """Busy from the high thresholds, calm below the middle of low and high; between
        them, as before."""
        p = self.params
        cpu_busy = previous & 1
        if metrics.cpu_percent >= p.cpu_high:
            cpu_busy = 1
        elif metrics.cpu_percent < (p.cpu_low + p.cpu_high) / 2:
            cpu_busy = 0
        memory_busy = previous >> 1
        if metrics.memory_percent >= p.memory_high:
            memory_busy = 1
        elif metrics.memory_percent < (p.memory_low + p.memory_high) / 2:
            memory_busy = 0
        return cpu_busy | memory_busy << 1

    def decide(
        self,
        state: QualityState,
        metrics: SystemMetrics | None,
        latency: ArrivalSummary,
        now: datetime,
    ) -> tuple[QualityState, BufferDecision | None]:
        if metrics is None:  # nothing measured: no decision (the other policies' rule)
            return state, None
        p = self.params
        limits = p.limits
        before = state.size

        # Staleness: stale metrics keep the last condition and forbid shrinking.
        metrics_age = now - metrics.sampled_at if metrics.sampled_at is not None else None
        stale = metrics_age is not None and metrics_age > p.stale_after
        condition = state.condition if stale else self._condition(metrics, state.condition)

        arrivals = latency.since(state.samples_seen)
        frame_ns = limits.frame_ns

        # 1. A queue drained: this tick's smallest delay is below every one of the last
        # DRAIN_TICKS ticks' by DRAIN_MIN or more. The delays learned at or above their
        # floor (the smallest of them) came with the queue: move them down by the fall
        # (whole frames). Those below it were learned before the queue built up; they stay.
        histograms = list(state.histograms)
        bases = state.bases
        drained = fall_ns = 0
        if arrivals:
            low = min(arrivals)
            floor = min(bases, default=low)
            if len(bases) == DRAIN_TICKS and floor - low >= self._drain_min_ns:
                fall_ns = floor - low
                drained = fall_ns // frame_ns
                start = -(-floor // frame_ns)  # the floor's bucket
                histograms = [
                    None if kept is None else _moved_down(kept, drained, start)
                    for kept in histograms
                ]
                bases = ()
            bases = (*bases, low)[-DRAIN_TICKS:]

        # 2. Learn this tick's delays into the condition's histogram.
        histogram = histograms[condition]
        if histogram is None:
            current = histograms[state.condition]
            if current is not None and sum(current) > 0:
                scale = min(1.0, NEW_CONDITION_WEIGHT / sum(current))
                histogram = tuple(weight * scale for weight in current)
            else:  # the first histogram: the prior, a clean path
                histogram = (PRIOR_FRAMES,) + (0.0,) * (limits.max_size + 1)
        first_index = latency.samples - len(arrivals)  # the first new delay's frame
        # The first delays: the frames captured before the first one arrived waited for
        # the start-up stall, not for the network (rule 2); not learned.
        startup_frames = arrivals[0] // frame_ns if arrivals and first_index == 0 else 0
        counts = [weight * self._keep for weight in histogram]
        top = len(counts) - 1
        for index, delay in enumerate(arrivals, first_index):
            if index >= startup_frames:
                counts[min(top, max(0, -(-delay // frame_ns)))] += 1.0
        missed = latency.samples - state.samples_seen - len(arrivals)
        if missed > 0 and arrivals:  # older than the summary's window: at least as late
            counts[min(top, max(0, -(-max(arrivals) // frame_ns)))] += missed
        histogram = tuple(counts)
        histograms[condition] = histogram

        fresh_underruns = latency.underruns - state.underruns_seen
        base_ns, rising, ramp_from = state.base_ns, state.rising, state.ramp_from
        if arrivals:
            low = min(arrivals)
            if 0 <= base_ns < low:
                if rising == 0:
                    ramp_from = base_ns
                rising += 1
            else:
                rising = 0
            base_ns = low

        def done(size: int, target: float, why: str) -> tuple[QualityState, BufferDecision]:
            grew_at, grew_in = state.grew_at, state.grew_in
            if size > before:
                grew_at, grew_in = now, condition
            # The session's figures, as the E-model will weigh them: this tick's frames at
            # this size, its underruns and the frames this change makes audible.
            frames = self._tick_frames
            session = min(self._session, state.session_frames + frames)
            share = frames / session if session else 0.0
            delay_ms = size * self._frame_ms + self._device_ms
            loss = 100.0 * (fresh_underruns + abs(size - before)) / max(frames, 1.0)
            new_state = QualityState(
                size,
                state.changes + (size != before),
                latency.samples,
                latency.underruns,
                condition,
                tuple(histograms),
                grew_at,
                grew_in,
                session,
                state.session_delay_ms + share * (delay_ms - state.session_delay_ms),
                state.session_loss + share * (loss - state.session_loss),
                base_ns,
                rising,
                ramp_from,
                bases,
            )
            return new_state, frame_decision(
                now,
                policy=self.name,
                before=before,
                after=size,
                target=target,
                changes=new_state.changes,
                metrics=metrics,
                summary=latency,
                explanation=why,
            )

        # 3. Hard limits: at once.
        current_size = limits.clamp(before)
        note = (
            f" (clamped from {before} to [{limits.min_size}, {limits.max_size}])"
            if current_size != before
            else ""
        )
        if drained:
            note += (
                f" (the smallest delay fell {_ms(fall_ns)} below the last {DRAIN_TICKS} ticks':"
                f" a queue drained, the delays learned since moved down {drained} frames)"
            )
        where = CONDITIONS[condition] + (", metrics stale" if stale else "")

        # 4. Not enough evidence yet, or none left: a histogram whose weight has been
        # forgotten below a frame (no arrival for many memories) has nothing to say.
        total = sum(histogram)
        if total < 1.0 and latency.samples >= MIN_EVIDENCE:
            why = f"hold at {current_size}: no recent arrival delays ({where})"
            return done(current_size, current_size, why + note)
        if latency.samples < MIN_EVIDENCE:
            if latency.samples == 0 and fresh_underruns > 0:
                size = limits.clamp(current_size + 1)
                why = (
                    f"grow {before} -> {size}: {fresh_underruns} underrun(s) and no arrival "
                    "delays to judge by"
                )
                return done(size, size, why + note)
            why = f"hold at {current_size}: too few arrival delays yet ({latency.samples})"
            return done(current_size, current_size, why + note)

        # 5. Score every size: the session's R if the next ``quality_memory`` were played
        # at it, late frames as lately, with the events of getting there.
        past = state.session_frames
        ahead = self._horizon
        weight = past + ahead
        late_share = [0.0] * (limits.max_size + 1)
        above = 0.0
        for bucket in range(len(histogram) - 1, limits.min_size, -1):
            above += histogram[bucket]
            if bucket - 1 <= limits.max_size:
                late_share[bucket - 1] = above / total

        def score(size: int) -> float:
            delay_ms = size * self._frame_ms + self._device_ms
            mouth_to_ear = (past * state.session_delay_ms + ahead * delay_ms) / weight
            late = ahead * late_share[size] + abs(size - current_size)
            loss = (past * state.session_loss + 100.0 * late) / weight
            return emodel.r_factor(mouth_to_ear, loss, BURST_RATIO)

        candidates = range(limits.min_size, limits.max_size + 1)
        best = max(candidates, key=lambda s: (score(s), s == current_size, -s))
        rate = (
            (base_ns - ramp_from) / (rising * p.interval.total_seconds())
            if rising >= RAMP_TICKS
            else 0.0
        )
        if rate > RAMP_MIN_RATE and arrivals:
            ahead_ns = max(arrivals) + rate * RAMP_AHEAD.total_seconds()
            need = limits.clamp(math.ceil(ahead_ns / limits.frame_ns))
            if need > best:
                why = (
                    (
                        f"grow {before} -> {need}: {where}; ramp: the base delay rises "
                        f"{rate / 1e6:.0f} ms/s, the size covers the last tick's largest delay "
                        f"({_ms(max(arrivals))}) and {RAMP_AHEAD.total_seconds():g} s more of it"
                    )
                    if need > current_size
                    else (
                        f"hold at {current_size}: {where}; ramp: the base delay rises "
                        f"{rate / 1e6:.0f} ms/s, no shrinking"
                    )
                )
                size = max(need, current_size)
                return done(size, size, why + note)
        here = score(current_size)
        compared = (
            f"late {late_share[best] * 100:.1f} % at {best} vs {late_share[current_size] * 100:.1f}"
            f" % at {current_size}, R {score(best):.1f} vs {here:.1f}"
        )
        slopes = (
            f"session {state.session_delay_ms:.0f} ms, {state.session_loss:.1f} % "
            f"over {past * self._frame_ms / 1e3:.0f} s"
            if past
            else "no session figures yet"
        )

        # 6. Guards: no shrink on stale metrics, none soon after growing in this condition.
        if best < current_size:
            if stale:
                why = f"hold at {current_size}: metrics stale, no shrinking ({compared})"
                return done(current_size, current_size, why + note)
            guarded = (
                state.grew_at is not None
                and now - state.grew_at < REVERSAL_GUARD
                and state.grew_in == condition
            )
            if guarded:
                assert state.grew_at is not None
                since = (now - state.grew_at).total_seconds()
                why = (
                    f"hold at {current_size}: grew {since:.1f} s ago, no shrinking within "
                    f"{REVERSAL_GUARD.total_seconds():g} s ({where}; {compared})"
                )
                return done(current_size, current_size, why + note)
        if best == current_size:
            why = (
                f"hold at {current_size}: best R {here:.1f} ({where}; late "
                f"{late_share[current_size] * 100:.1f} %; {slopes})"
            )
            return done(current_size, current_size, why + note)
        verb = "grow" if best > current_size else "shrink"
        why = f"{verb} {before} -> {best}: {where}; {compared} ({slopes})"
        return done(best, best, why + note)
