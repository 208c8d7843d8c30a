"""``feedback``: grow fast on evidence of starvation, shrink slowly on evidence of headroom.

The original (``jetkvm``) shrinks the buffers under CPU load, exactly when underruns come,
and never hears about an underrun. This policy closes the loop. Per tick, in this order:

1. **Limits.** A size outside ``[min, max]`` is clamped at once. (``buffer_size_override``
   pins the sizes of any policy: see :mod:`~adaptive_stream.policies.override`.)
2. **Underruns** (the consumer found the buffer empty) reported since the previous tick grow
   the buffer at once: ``max(size + 1, ceil(size x underrun_growth))``, and at least what the
   jitter needs. Underruns in the first ``startup_grace`` after the first tick are start-up
   xruns (device open, codec warm-up, first packets): ignored, as Oboe's tuner ignores its
   first calls; so are the arrival delays of that time, for the jitter estimate. Underruns
   are fresh evidence, so they count even while metrics are stale.
3. **Need.** What the inputs ask for: ``ceil(q / frame) + 1`` frames, where ``q`` is the
   ``jitter_quantile`` (0.95) of the largest arrival delay of each tick over the last
   ``jitter_window`` (one frame of margin on top), plus ``load_headroom`` frames scaled by
   CPU load (0 at ``cpu_low_threshold``, all of it from ``cpu_high_threshold`` up): CPU load
   delays the threads that move audio, so it *grows* the buffer. A need above the size
   grows it to the need at once.
4. **Stale inputs hold still.** Metrics older than ``stale_after`` (``sampled_at``), or no
   arrival delay for ``stale_after`` after some had come: no growth on CPU or jitter, no
   shrinking, and the quiet period restarts (staleness is no evidence of calm).
5. **Near-miss.** A tick whose largest arrival delay came within one frame of the buffer's
   depth restarts the quiet period (as PulseAudio restarts its 20 s on any near-miss).
6. **Shrink slowly.** One frame, only after ``shrink_after`` without an underrun, a growth, a
   near-miss or stale inputs, and only if the size after shrinking still covers the need
   (or, without arrival delays to judge by, not below ``default_buffer_size``). Each shrink
   restarts the quiet period. A shrink that has to be undone (underruns grow the buffer within
   ``shrink_after`` of it) doubles the quiet period for the next ones (up to 8x); a shrink
   that holds halves it again.

Hysteresis: the policy grows as soon as the need exceeds the size, but shrinks only with a
frame of headroom *and* a quiet period, so it cannot flap between two sizes on a need that
hovers at one boundary. Every decision says why, in ``BufferDecision.explanation``.
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
    frames_for,
    quantile,
)

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = ["MAX_BACKOFF", "FeedbackParams", "FeedbackPolicy", "FeedbackState"]


class FeedbackParams(NamedTuple):
    """The numbers the feedback policy decides with (settings of the same names)."""

    limits: FrameLimits = FrameLimits()
    cpu_low: float = 20.0
    cpu_high: float = 60.0
    load_headroom: int = 4
    underrun_growth: float = 1.5
    startup_grace: timedelta = timedelta(seconds=2)
    shrink_after: timedelta = timedelta(seconds=10)
    jitter_window: timedelta = timedelta(seconds=10)
    jitter_quantile: float = 0.95
    stale_after: timedelta = timedelta(milliseconds=1500)

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> FeedbackParams:
        return cls(
            limits=FrameLimits.from_settings(settings),
            cpu_low=settings.cpu_low_threshold,
            cpu_high=settings.cpu_high_threshold,
            load_headroom=settings.load_headroom,
            underrun_growth=settings.underrun_growth,
            startup_grace=settings.startup_grace,
            shrink_after=settings.shrink_after,
            jitter_window=settings.jitter_window,
            jitter_quantile=settings.jitter_quantile,
            stale_after=settings.metrics_stale_after,
        )


class FeedbackState(NamedTuple):
    """What the feedback policy remembers between ticks.

    Attributes:
        size: both buffer sizes, in frames.
        changes: how many ticks changed the size so far.
        underruns_seen: the summary's underrun count at the previous tick.
        samples_seen: the summary's sample count at the previous tick.
        started: the time of the first tick (start-up grace counts from it).
        quiet_since: since when nothing argued against shrinking (an underrun, a growth, a
            near-miss, stale inputs all restart it).
        last_arrival: the last tick that brought arrival delays.
        peaks: ``(tick time, largest arrival delay in ns)`` for the ticks within
            ``jitter_window``, oldest first (none from the start-up grace).
        last_shrink: when it last shrank.
        grown_since_shrink: whether it grew since then.
        backoff: the quiet period is ``shrink_after x backoff``: doubled (up to
            :data:`MAX_BACKOFF`) when underruns undo a shrink within ``shrink_after``,
            halved at a shrink that was not undone.
    """

    size: int
    changes: int = 0
    underruns_seen: int = 0
    samples_seen: int = 0
    started: datetime | None = None
    quiet_since: datetime | None = None
    last_arrival: datetime | None = None
    peaks: tuple[tuple[datetime, int], ...] = ()
    last_shrink: datetime | None = None
    grown_since_shrink: bool = False
    backoff: int = 1


#: The longest quiet period, in multiples of ``shrink_after``, after shrinks were undone.
MAX_BACKOFF = 8


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.0f} ms"


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g} s"


class FeedbackPolicy(FramePolicy):
    """Closed-loop sizing: underruns, the arrival-delay quantile and CPU load grow the
    buffer at once; a quiet period with headroom shrinks it one frame at a time."""

    name = "feedback"

    #: The frame policies' tunable settings and its own. It also reads ``frame_duration``
    #: (the stream's) and ``adaptation_interval`` (the pipeline's tick, for
    #: ``stale_after``'s default): read, never tuned.
    TUNABLE: ClassVar[tuple[str, ...]] = (
        *FramePolicy.TUNABLE,
        "cpu_low_threshold",
        "cpu_high_threshold",
        "load_headroom",
        "underrun_growth",
        "startup_grace",
        "shrink_after",
        "jitter_window",
        "jitter_quantile",
        "stale_after",
    )

    def __init__(self, params: FeedbackParams | None = None) -> None:
        self.params = params or FeedbackParams()
        super().__init__(self.params.limits)

    @classmethod
    def from_settings(cls, settings: AdaptiveBufferSettings) -> Self:
        return cls(FeedbackParams.from_settings(settings))

    def initial_state(self) -> FeedbackState:
        p = self.params
        return FeedbackState(p.limits.clamp(p.limits.default_size))

    def _load_frames(self, cpu: float) -> int:
        """``load_headroom`` scaled by CPU load: 0 up to ``cpu_low``, all from ``cpu_high``."""
        p = self.params
        share = (cpu - p.cpu_low) / (p.cpu_high - p.cpu_low)
        return math.ceil(max(0.0, min(1.0, share)) * p.load_headroom)

    def decide(
        self,
        state: FeedbackState,
        metrics: SystemMetrics | None,
        summary: ArrivalSummary,
        now: datetime,
    ) -> tuple[FeedbackState, BufferDecision | None]:
        if metrics is None:  # nothing measured: no decision (the original's rule)
            return state, None
        p = self.params
        limits = p.limits
        before = state.size
        started = state.started or now
        quiet_since = state.quiet_since or now

        # What came since the previous tick.
        arrivals = summary.since(state.samples_seen)
        peak = max(arrivals) if arrivals else None
        last_arrival = now if arrivals else state.last_arrival
        oldest = now - p.jitter_window
        peaks = tuple(item for item in state.peaks if item[0] > oldest)
        fresh_underruns = summary.underruns - state.underruns_seen
        in_grace = now - started < p.startup_grace
        if peak is not None and not in_grace:  # start-up delays say nothing of later ones
            peaks = (*peaks, (now, peak))

        def done(
            size: int, target: float, why: str, quiet: datetime, starved: bool = False
        ) -> tuple[FeedbackState, BufferDecision]:
            changes = state.changes + (size != before)
            last_shrink, grown, backoff = state.last_shrink, state.grown_since_shrink, state.backoff
            if size > before:
                # Undone: underruns soon after a shrink (a growth on load or jitter is a
                # change of conditions, not evidence that the shrink was wrong).
                recent = last_shrink is not None and now - last_shrink < p.shrink_after
                if starved and recent and not grown:
                    backoff = min(MAX_BACKOFF, backoff * 2)
                grown = True
            elif size < before:
                if last_shrink is not None and not grown:
                    backoff = max(1, backoff // 2)
                last_shrink, grown = now, False
            new_state = FeedbackState(
                size,
                changes,
                summary.underruns,
                summary.samples,
                started,
                quiet,
                last_arrival,
                peaks,
                last_shrink,
                grown,
                backoff,
            )
            decision = frame_decision(
                now,
                policy=self.name,
                before=before,
                after=size,
                target=target,
                changes=changes,
                metrics=metrics,
                summary=summary,
                explanation=why,
            )
            return new_state, decision

        # 1. Hard limits: at once.
        size = limits.clamp(before)
        clamped = f" (clamped from {before} to [{limits.min_size}, {limits.max_size}])"
        note = clamped if size != before else ""

        # Staleness of the inputs.
        metrics_age = now - metrics.sampled_at if metrics.sampled_at is not None else None
        metrics_stale = metrics_age is not None and metrics_age > p.stale_after
        arrivals_stale = last_arrival is not None and now - last_arrival > p.stale_after
        if arrivals_stale:
            peaks = ()

        # 3. Need: jitter quantile plus load headroom (stale parts ignored).
        jitter_frames: int | None = None
        jitter_text = "no arrival delays yet"
        if peaks:
            q = quantile((delay for _, delay in peaks), p.jitter_quantile)
            jitter_frames = frames_for(q, limits.frame_ns) + 1
            jitter_text = f"arrival p{p.jitter_quantile * 100:g} {_ms(q)} needs {jitter_frames}"
        elif arrivals_stale:
            jitter_text = "arrival delays stale"
        load_frames = 0 if metrics_stale else self._load_frames(metrics.cpu_percent)
        if jitter_frames is not None:
            need: int | None = limits.clamp(jitter_frames + load_frames)
        elif load_frames:
            need = limits.clamp(limits.default_size + load_frames)
        else:
            need = None
        need_text = jitter_text
        if load_frames:
            need_text += f", cpu {metrics.cpu_percent:.0f} % adds {load_frames}"

        # 2. Underruns: grow at once (unless they are start-up xruns).
        if fresh_underruns > 0:
            if in_grace:
                why = (
                    f"hold at {size}: {fresh_underruns} start-up underrun(s) ignored "
                    f"(first {_seconds(p.startup_grace)})"
                )
                return done(size, size, why + note, quiet_since)
            grown = max(size + 1, math.ceil(size * p.underrun_growth), need or 0)
            grown = limits.clamp(grown)
            verb = f"grow {before} -> {grown}" if grown != before else f"hold at {grown} (max)"
            why = f"{verb}: {fresh_underruns} underrun(s) since the last tick; {need_text}"
            if metrics_stale:
                why += "; metrics stale"
            return done(grown, grown, why + note, now, starved=True)

        # 4. Stale inputs: hold still.
        if metrics_stale:
            assert metrics_age is not None
            why = (
                f"hold at {size}: metrics stale ({metrics_age.total_seconds():.1f} s old, "
                f"stale_after {_seconds(p.stale_after)})"
            )
            return done(size, size, why + note, now)

        if need is not None and need > size:
            return done(need, need, f"grow {before} -> {need}: {need_text}" + note, now)

        if arrivals_stale:
            why = f"hold at {size}: no arrival delays for over {_seconds(p.stale_after)}"
            return done(size, size, why + note, now)

        # 5. Near-miss: the largest delay this tick came within a frame of the depth.
        depth_ns = size * limits.frame_ns
        if peak is not None and peak > depth_ns - limits.frame_ns:
            why = (
                f"hold at {size}: near-miss (a frame {_ms(peak)} late, {_ms(depth_ns)} "
                f"buffered); quiet period restarts; {need_text}"
            )
            return done(size, size, why + note, now)

        # 6. Shrink one frame after a quiet period, keeping the need covered.
        floor = need if need is not None else limits.default_size
        quiet = now - quiet_since
        wait = p.shrink_after * state.backoff
        if size - 1 >= max(floor, limits.min_size):
            if quiet >= wait:
                smaller = size - 1
                why = (
                    f"shrink {before} -> {smaller}: quiet for {quiet.total_seconds():.1f} s; "
                    f"{need_text}"
                )
                return done(smaller, smaller, why + note, now)
            undone = f" (x{state.backoff}: shrinks were undone)" if state.backoff > 1 else ""
            why = (
                f"hold at {size}: quiet {quiet.total_seconds():.1f} of "
                f"{_seconds(wait)}{undone} before shrinking; {need_text}"
            )
            return done(size, size, why + note, quiet_since)
        if need is None:
            why = f"hold at {size}: no arrival delays to judge a size below the default"
        else:
            why = f"hold at {size}: no headroom to shrink; {need_text}"
        return done(size, size, why + note, quiet_since)
