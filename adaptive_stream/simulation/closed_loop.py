"""The closed loop: a simulated audio path and the real decision pipeline, in virtual time.

The frames' arrivals come from :func:`~.audio_path.plan_audio_path` (fixed by the scenario
and its seed). A consumer plays them out one per frame slot, and the buffer's depth follows
the size the policy decides; the arrival delays, the underruns and the metrics go back into
:func:`~adaptive_stream.pipeline.buffer_decisions`. Everything runs on one
``HistoricalScheduler``: no sleeping, no wall clock, the same figures on every run.

The playout model (a jitter buffer with a playout delay of ``D`` frames):

* Slot ``j`` is at ``j x F``. Frame ``f`` is due at slot ``f + D``; ``D`` is the current
  delay, ``j - next_frame``, and the decided size ``B`` is the delay the playout keeps.
* At each slot, first the frames that have arrived by then are reported (their arrival
  delays, one batch per slot). Then, with ``D`` against ``B``:

  - ``D < B``: the buffer is filling (a larger size was decided, or the stream has not
    started): this slot plays no frame (pre-roll before the first frame, then a time
    stretch), so ``D`` grows by one;
  - ``D > B``: the buffer is draining to a smaller size: the due frame is dropped
    (skipped, counted ``dropped``), and the next one is played in this slot;
  - then the due frame is played if it has arrived; otherwise it is *late*: the slot is an
    **underrun** (concealment is played, one report of 1 to the pipeline) and the frame is
    discarded whenever it comes. A frame lost in the network (a recording can have them,
    :attr:`~.audio_path.AudioPath.lost`) is missing too, and the consumer tells the two
    apart as a real receiver does (``adaptive_stream.webrtc``'s playout rule): if a later
    frame has already arrived by the slot, the missing one is *lost* (arrivals are in
    order, it will never come): concealment, counted ``lost``, and **no** underrun report;
    if nothing later has arrived either, it is counted *late* and reported as an underrun.

* Frames are captured for the scenario's duration; the playout then runs on until every
  frame has been played, dropped, found late or lost (conservation: ``played + dropped +
  late + lost == frames``, and ``underruns == late``).
* The playout sequence (:attr:`SimulationRun.playout`) keeps every slot's outcome in order
  after the pre-roll, one character each (:data:`PLAYED`, :data:`LATE`, :data:`DROPPED`,
  :data:`STRETCHED`, :data:`LOST`; a slot that drops a frame and plays the next adds two):
  what the E-model's loss and burst ratio are computed from.
* Ticks come every ``adaptation_interval``, half a frame after a slot (so the order of
  events is never a tie); the monitor's metrics sample is taken on the tick, just before
  the decision, as the manager's sampler is. In a phase with ``metrics = false`` nothing is
  sampled and the last sample grows old (its ``sampled_at`` says how old).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import reactivex as rx
from reactivex import abc
from reactivex import operators as ops
from reactivex.scheduler import HistoricalScheduler
from reactivex.subject import Subject

from adaptive_stream.inputs import InputChecks
from adaptive_stream.model import EPOCH, BufferDecision, SystemMetrics
from adaptive_stream.pipeline import NanosecondSamples, buffer_decisions
from adaptive_stream.policies import AnyPolicy, make_policy
from adaptive_stream.simulation.audio_path import AudioPath, metrics_at, plan_audio_path
from adaptive_stream.simulation.scenario import Scenario

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "DROPPED",
    "EPOCH",
    "LATE",
    "LOST",
    "PLAYED",
    "SIMULATED_CORES",
    "STRETCHED",
    "SimulationRun",
    "simulate",
]

#: The simulated machine's cores: scenarios give CPU up to 400 %, and metrics are checked
#: against 100 % x cores, as the live manager checks them against its machine's.
SIMULATED_CORES = 4

#: The playout sequence's codes: a frame played, a late frame, a frame dropped while
#: shrinking, a slot stretched while growing, a frame lost in the network.
PLAYED, LATE, DROPPED, STRETCHED, LOST = "o", "l", "d", "s", "x"


class SimulationRun(NamedTuple):
    """Everything one run produced (times in microseconds from the start).

    Attributes:
        scenario: the scenario that ran (with the seed used).
        policy: the policy's name.
        path: every frame's capture and arrival time.
        played: frames played.
        dropped: frames skipped while the buffer drained to a smaller size.
        late: frames missing at their slot with no later frame arrived yet (each one an
            underrun; a frame lost in the network is late when nothing after it had come).
        lost: frames lost in the network and found missing at their slot after a later
            frame had arrived (concealment, not an underrun).
        stretched: slots that played no frame while the buffer filled (after the first frame).
        prefill: slots before the first frame was played.
        underrun_us: the time of each underrun (late frame).
        latency_us: each played frame's capture-to-playout latency.
        played_us: when each played frame was played (same order as ``latency_us``).
        decisions: every decision of the pipeline.
        initial_size: the size before the first decision.
        end_us: when the last frame was played or found late or lost.
        playout: every slot's outcome after the pre-roll, in order (one code each, module
            docstring).
        heard_from: the index in ``playout`` of the first slot at or after the scenario's
            ``startup`` window (the call is heard from there at the latest, module
            docstring of :mod:`.figures`), or ``len(playout)`` if the run ended before.
    """

    scenario: Scenario
    policy: str
    path: AudioPath
    played: int
    dropped: int
    late: int
    stretched: int
    prefill: int
    underrun_us: tuple[int, ...]
    latency_us: tuple[int, ...]
    played_us: tuple[int, ...]
    decisions: tuple[BufferDecision, ...]
    initial_size: int
    end_us: int
    lost: int = 0
    playout: str = ""
    heard_from: int = 0

    @property
    def frames(self) -> int:
        return self.path.frames

    @property
    def duration_us(self) -> int:
        """How long frames were captured (the scenario's duration, in whole frames)."""
        return self.path.frames * self.path.frame_us


_CODES = {"played": PLAYED, "late": LATE, "lost": LOST}


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def simulate(
    scenario: Scenario,
    settings: AdaptiveBufferSettings,
    *,
    policy: AnyPolicy | None = None,
    path: AudioPath | None = None,
) -> SimulationRun:
    """Run ``scenario`` in closed loop with the policy the settings name (or ``policy``).

    ``path``: the scenario's audio path if the caller has it already (it must be
    ``plan_audio_path(scenario, frame_duration)``; a runner reuses it across policies).
    """
    policy = policy if policy is not None else make_policy(settings)
    frame_us = _us(settings.frame_duration)
    interval = settings.adaptation_interval
    if path is None:
        path = plan_audio_path(scenario, frame_us)
    capture, arrival, frames, lost = path.capture_us, path.arrival_us, path.frames, path.lost

    clock = HistoricalScheduler(EPOCH)
    metrics: Subject[SystemMetrics] = Subject()
    latency: Subject[NanosecondSamples] = Subject()
    underruns: Subject[int] = Subject()
    metrics_rng = random.Random(scenario.seed * 7919 + 3)

    interval_us = _us(interval)
    timing = {"next_tick": interval_us + frame_us // 2}

    def sample_metrics(_: Any) -> None:
        timing["next_tick"] = _us(clock.now - EPOCH) + interval_us
        seconds = _us(clock.now - EPOCH) / 1e6
        sample = metrics_at(scenario, seconds, metrics_rng)
        if sample is not None:
            metrics.on_next(SystemMetrics(sample.cpu_percent, sample.memory_percent, clock.now))

    first_tick = interval + timedelta(microseconds=frame_us // 2)
    ticks = rx.timer(first_tick, interval, scheduler=clock).pipe(ops.do_action(sample_metrics))

    initial_size = policy.sizes(policy.initial_state()).input_size
    state = {"size": max(1, initial_size)}
    decisions: list[BufferDecision] = []

    def on_decision(decision: BufferDecision) -> None:
        decisions.append(decision)
        state["size"] = max(1, decision.input_size)

    def on_error(error: Exception) -> None:
        raise error

    def now() -> datetime:
        return clock.now

    checks = InputChecks.from_settings(settings, cpu_cores=SIMULATED_CORES, clock=now)
    subscription = buffer_decisions(
        metrics,
        latency,
        ticks,
        policy=policy,
        scheduler=clock,
        underruns=underruns,
        checks=checks,
    ).subscribe(on_decision, on_error, scheduler=clock)

    underrun_us: list[int] = []
    latency_us: list[int] = []
    played_us: list[int] = []
    counts = {"played": 0, "dropped": 0, "late": 0, "lost": 0, "stretched": 0, "prefill": 0}
    playout: list[str] = []
    cursor = {"next": 0, "arrived": 0, "end": 0, "heard_from": -1}
    startup_us = _us(scenario.startup)

    def slot(scheduler: abc.SchedulerBase, j: int | None) -> None:
        # Every slot before the next tick in one action: the slots only push arrival delays
        # and underruns into the pipeline (no clock read), and the size changes on ticks
        # only, so this is the same as one action per slot, with far fewer actions.
        j = j or 0
        while True:
            if not play_slot(j):
                return
            j += 1
            if j * frame_us >= timing["next_tick"]:
                at = EPOCH + timedelta(microseconds=j * frame_us)
                scheduler.schedule_absolute(at, slot, j)
                return

    def play_slot(j: int) -> bool:
        """Slot ``j``: report the arrivals, play (module docstring); ``False`` at the end."""
        now = j * frame_us
        if cursor["heard_from"] < 0 and now >= startup_us:
            cursor["heard_from"] = len(playout)
        arrived = cursor["arrived"]
        if arrived < frames and arrival[arrived] <= now:
            batch = NanosecondSamples()
            while arrived < frames and arrival[arrived] <= now:
                if arrived not in lost:
                    batch.append((arrival[arrived] - capture[arrived]) * 1000)
                arrived += 1
            cursor["arrived"] = arrived
            if batch:
                latency.on_next(batch)
        due = cursor["next"]
        delay = j - due
        size = state["size"]
        if delay < size:
            if counts["played"] == 0:
                counts["prefill"] += 1
            else:
                counts["stretched"] += 1
                playout.append(STRETCHED)
        else:
            if delay > size:
                counts["dropped"] += 1
                playout.append(DROPPED)
                due += 1
            if due < frames:
                if due in lost:
                    outcome = "lost" if path.later_arrived(due, now) else "late"
                elif arrival[due] <= now:
                    outcome = "played"
                    latency_us.append(now - capture[due])
                    played_us.append(now)
                else:
                    outcome = "late"
                counts[outcome] += 1
                playout.append(_CODES[outcome])
                if outcome == "late":
                    underrun_us.append(now)
                    underruns.on_next(1)
                due += 1
            cursor["next"] = due
        if due >= frames:
            cursor["end"] = now
            subscription.dispose()
            return False
        return True

    if frames:
        clock.schedule_absolute(EPOCH, slot, 0)
        clock.start()
    else:
        subscription.dispose()
    return SimulationRun(
        scenario=scenario,
        policy=policy.name,
        path=path,
        played=counts["played"],
        dropped=counts["dropped"],
        late=counts["late"],
        stretched=counts["stretched"],
        prefill=counts["prefill"],
        underrun_us=tuple(underrun_us),
        latency_us=tuple(latency_us),
        played_us=tuple(played_us),
        decisions=tuple(decisions),
        initial_size=initial_size,
        end_us=cursor["end"],
        lost=counts["lost"],
        playout="".join(playout),
        heard_from=cursor["heard_from"] if cursor["heard_from"] >= 0 else len(playout),
    )
