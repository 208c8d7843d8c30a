"""The figures of a simulation run: what a listener would notice, and what it cost.

* ``underruns``: slots where the frame due had not arrived and nothing later had either
  (concealment played, reported to the policy); also per
  minute of captured audio, and ``startup_underruns``: those within the scenario's
  ``startup`` window.
* ``latency_mean_ms`` / ``latency_p95_ms``: capture-to-playout latency of the played frames
  (nearest-rank 95th percentile).
* ``mean_size``: the decided size, averaged over the captured duration (time-weighted).
* ``size_changes``: decisions that changed the size. ``flaps``: changes whose direction
  reverses the previous change less than :data:`FLAP_WINDOW` after it.
* ``recovery_max_s``: after the start-up window, underruns less than :data:`EPISODE_GAP`
  apart form one episode; an episode lasts from its first underrun to one frame after its
  last. The longest one is how long the worst spike took to stop hurting (0 without any).
* ``dropped``: frames skipped while the buffer shrank; ``late``: the underruns' frames;
  ``stretched``: silent slots inserted while the buffer grew (after the first frame);
  ``lost``: frames lost in the network (a recording) found missing after a later frame
  had come (concealment, not an underrun); ``played``: frames played.
* The E-model (:mod:`.emodel`, over the playout from the first frame played on, or from the end
  of the scenario's ``startup`` window if nothing was played by then: late frames before the
  first one played are a start-up transient only within that window):
  ``loss_percent`` (Ppl), ``burst_ratio`` (BurstR), ``mouth_to_ear_ms`` (Ta: the mean
  latency plus the scenario's ``device_delay``), ``r_factor`` (R) and ``mos``, with the
  scenario's ``ie`` and ``bpl``.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

from adaptive_stream.simulation import emodel
from adaptive_stream.simulation.closed_loop import (
    DROPPED,
    EPOCH,
    LATE,
    LOST,
    PLAYED,
    STRETCHED,
    SimulationRun,
)
from adaptive_stream.simulation.scenario import Scenario

__all__ = [
    "EPISODE_GAP_US",
    "FLAP_WINDOW_US",
    "Figures",
    "Quality",
    "audible",
    "figures_of",
    "quality",
    "size_changes",
]

#: A reversal of direction less than this after the previous change counts as a flap.
FLAP_WINDOW_US = 5_000_000
#: Underruns less than this apart belong to one episode.
EPISODE_GAP_US = 5_000_000


class Figures(NamedTuple):
    """The figures of one run (see the module docstring)."""

    underruns: int
    underruns_per_minute: float
    startup_underruns: int
    latency_mean_ms: float
    latency_p95_ms: float
    mean_size: float
    size_changes: int
    flaps: int
    recovery_max_s: float
    episodes: int
    dropped: int
    late: int = 0
    stretched: int = 0
    lost: int = 0
    played: int = 0
    loss_percent: float = 0.0
    burst_ratio: float = 1.0
    mouth_to_ear_ms: float = 0.0
    r_factor: float = 0.0
    mos: float = 1.0


def size_changes(run: SimulationRun) -> list[tuple[int, int, int]]:
    """``(time us, size before, size after)`` for each decision that changed the size."""
    out: list[tuple[int, int, int]] = []
    size = run.initial_size
    for decision in run.decisions:
        if decision.input_size != size:
            moment = decision.time - EPOCH
            at_us = (moment.days * 86_400 + moment.seconds) * 1_000_000 + moment.microseconds
            out.append((at_us, size, decision.input_size))
            size = decision.input_size
    return out


def _flaps(changes: list[tuple[int, int, int]]) -> int:
    flaps = 0
    for previous, current in itertools.pairwise(changes):
        reversed_ = (previous[2] - previous[1]) * (current[2] - current[1]) < 0
        flaps += reversed_ and current[0] - previous[0] < FLAP_WINDOW_US
    return flaps


def _mean_size(run: SimulationRun, changes: list[tuple[int, int, int]]) -> float:
    end = run.duration_us
    if end <= 0:
        return float(run.initial_size)
    total = 0.0
    at, size = 0, run.initial_size
    for moment, _, after in changes:
        if moment >= end:
            break
        total += size * (moment - at)
        at, size = moment, after
    total += size * (end - at)
    return total / end


def _episodes(underruns: tuple[int, ...], after_us: int, frame_us: int) -> list[int]:
    lengths: list[int] = []
    first = last = None
    for moment in underruns:
        if moment < after_us:
            continue
        if last is not None and moment - last < EPISODE_GAP_US:
            last = moment
            continue
        if first is not None and last is not None:
            lengths.append(last - first + frame_us)
        first = last = moment
    if first is not None and last is not None:
        lengths.append(last - first + frame_us)
    return lengths


def audible(playout: str, heard_from: int | None = None) -> str:
    """The playout from the first frame played on (before it, the call is not yet heard),
    or from index ``heard_from`` if that comes first: the end of the start-up window, after
    which a call that plays nothing is a silent call, not one that has not started."""
    first = playout.find(PLAYED)
    if first < 0:
        first = len(playout)
    if heard_from is not None:
        first = min(first, max(0, heard_from))
    return playout[first:]


#: A playout as ``0`` (played) and ``1`` (an audible event), to count transitions in C.
_AS_LOSS = str.maketrans({PLAYED: "0", LATE: "1", DROPPED: "1", STRETCHED: "1", LOST: "1"})


class Quality(NamedTuple):
    """The E-model's figures of a playout (see the module docstring)."""

    loss_percent: float
    burst_ratio: float
    mouth_to_ear_ms: float
    r_factor: float
    mos: float


def quality(heard: str, latency_mean_ms: float, scenario: Scenario) -> Quality:
    """The E-model's figures of an audible playout (:func:`audible`) whose played frames
    waited ``latency_mean_ms`` on average, with the scenario's device delay, Ie and Bpl."""
    losses = heard.translate(_AS_LOSS)
    played = losses.count("0")
    last = losses[-1:]
    burst = emodel.burst_ratio_of_counts(
        played - (last == "0"),
        losses.count("01"),
        len(losses) - played - (last == "1"),
        losses.count("10"),
    )
    ppl = emodel.loss_percent(len(losses) - played, played)
    mouth_to_ear = latency_mean_ms + scenario.device_delay.total_seconds() * 1e3
    r = emodel.r_factor(mouth_to_ear, ppl, burst, scenario.ie, scenario.bpl)
    return Quality(ppl, burst, mouth_to_ear, r, emodel.mos(r))


def figures_of(run: SimulationRun) -> Figures:
    """The figures of ``run``."""
    startup_us = round(run.scenario.startup.total_seconds() * 1e6)
    changes = size_changes(run)
    latencies = sorted(run.latency_us)
    if latencies:
        mean_ms = sum(latencies) / len(latencies) / 1000
        p95_ms = latencies[max(1, math.ceil(0.95 * len(latencies))) - 1] / 1000
    else:
        mean_ms = p95_ms = 0.0
    minutes = run.duration_us / 60e6
    episodes = _episodes(run.underrun_us, startup_us, run.path.frame_us)
    score = quality(audible(run.playout, run.heard_from), mean_ms, run.scenario)
    return Figures(
        underruns=len(run.underrun_us),
        underruns_per_minute=len(run.underrun_us) / minutes if minutes else 0.0,
        startup_underruns=sum(1 for t in run.underrun_us if t < startup_us),
        latency_mean_ms=mean_ms,
        latency_p95_ms=p95_ms,
        mean_size=_mean_size(run, changes),
        size_changes=len(changes),
        flaps=_flaps(changes),
        recovery_max_s=max(episodes, default=0) / 1e6,
        episodes=len(episodes),
        dropped=run.dropped,
        late=run.late,
        stretched=run.stretched,
        lost=run.lost,
        played=run.played,
        **score._asdict(),
    )
