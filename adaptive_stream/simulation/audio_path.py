"""The simulated audio path up to the buffer: when each frame arrives, and what the metrics
say. Pure functions of the scenario and its seed, computed before the run, so every policy
faces exactly the same frames (the policy only changes how they are played out).

All times are integer microseconds from the start (``timedelta``'s resolution, so the
virtual-time scheduler stamps them exactly).

The model, per frame ``k`` (captured at ``c = k x F``, ``F`` the frame duration):

1. **Producer stalls** (the thread that encodes or moves audio is not running): CPU load
   ``L = clamp((cpu - 50) / 50, 0, 1)`` starts stalls as a Poisson process of
   ``CPU_STALL_RATE x L`` per second, each ``CPU_STALL_BASE + CPU_STALL_SPAN x L`` long on
   average (exponential); memory above ``MEMORY_STALL_FROM`` % starts page-fault stalls at
   ``MEMORY_STALL_RATE x (mem - 80) / 20`` per second, ``MEMORY_STALL_MEAN`` long on average.
   The first ``startup_delay`` of the run is one more stall (device open, codec start).
   A frame captured during a stall leaves when the stall ends. Besides, each frame leaves
   late by an exponential ``CPU_JITTER x L`` on average (scheduling latency).
2. **Network**: it arrives ``network_delay`` plus an exponential ``jitter`` (mean) after it
   leaves. Network stalls (bursts) come as a Poisson process of ``burst_rate`` per second,
   each ``burst_length`` long on average; a frame due to arrive during one arrives when it
   ends (all the held frames at once).
3. **In order**: no frame arrives before the one captured before it.

A scenario with a recording (:mod:`.recorded`) replaces step 2: with a ``link_trace``, the
frames go through the link's FIFO (:func:`~.recorded.link_arrivals`) as they leave the
producer; with an ``arrivals`` log, every frame's delay is the log's (steps 1 and 2 are in
it) and its lost frames are :attr:`AudioPath.lost`.

The random draws come from one generator per source (producer, network, metrics), each
seeded from the scenario's seed, so a scenario and seed fix every arrival.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from adaptive_stream.simulation.recorded import ArrivalLog, link_arrivals
from adaptive_stream.simulation.scenario import Phase, Scenario, ScenarioError

__all__ = [
    "CPU_JITTER_US",
    "CPU_STALL_BASE_US",
    "CPU_STALL_RATE",
    "CPU_STALL_SPAN_US",
    "MEMORY_STALL_FROM",
    "MEMORY_STALL_MEAN_US",
    "MEMORY_STALL_RATE",
    "AudioPath",
    "MetricsSample",
    "cpu_load",
    "plan_audio_path",
]

CPU_STALL_RATE = 4.0  # stalls per second at full load
CPU_STALL_BASE_US = 20_000
CPU_STALL_SPAN_US = 100_000  # so 120 ms on average at full load
CPU_JITTER_US = 5_000
MEMORY_STALL_FROM = 80.0
MEMORY_STALL_RATE = 2.0  # stalls per second at 100 % memory
MEMORY_STALL_MEAN_US = 60_000
CPU_NOISE = 2.0  # percent, the standard deviation of the CPU figure around the phase's
MEMORY_NOISE = 0.5


class MetricsSample(NamedTuple):
    """What the monitor reports at one tick (``None`` figures: it reports nothing)."""

    cpu_percent: float
    memory_percent: float


class AudioPath(NamedTuple):
    """Every frame's capture and arrival time (microseconds), in frame order.

    ``lost`` holds the indices of frames that never arrive (a recording can have them); their
    ``arrival_us`` is the previous frame's, so that ``arrival_us`` stays in order.
    """

    frame_us: int
    capture_us: tuple[int, ...]
    arrival_us: tuple[int, ...]
    lost: frozenset[int] = frozenset()

    @property
    def frames(self) -> int:
        return len(self.capture_us)

    def later_arrived(self, frame: int, now_us: int) -> bool:
        """Whether a frame after ``frame`` (not lost) has arrived by ``now_us``: what tells a
        receiver, at ``frame``'s slot, that a missing ``frame`` is lost rather than late
        (arrivals are in order, so it will never come)."""
        later = frame + 1
        while later < self.frames and later in self.lost:
            later += 1
        return later < self.frames and self.arrival_us[later] <= now_us


def cpu_load(cpu_percent: float) -> float:
    """The share of full load the model's producer feels: 0 up to 50 %, 1 from 100 %."""
    return max(0.0, min(1.0, (cpu_percent - 50.0) / 50.0))


def _exponential(rng: random.Random, mean_us: float) -> int:
    return round(rng.expovariate(1.0 / mean_us)) if mean_us > 0 else 0


def _stall_end(
    stalls: list[tuple[int, int]], at_us: int, floor_us: int, start: int
) -> tuple[int, int]:
    """``(time, index)``: the end of the stall covering ``at_us``, or ``at_us`` itself.

    Stalls are sorted and do not overlap. ``floor_us`` (the frame's capture time, which only
    grows from frame to frame) lets the search skip, for good, the stalls that ended before
    it; the returned index is where the next search starts.
    """
    while start < len(stalls) and stalls[start][1] <= floor_us:
        start += 1
    index = start
    while index < len(stalls) and stalls[index][0] <= at_us:
        if at_us < stalls[index][1]:
            return stalls[index][1], start
        index += 1
    return at_us, start


def _phases_by_frame(scenario: Scenario, frame_us: int, frames: int) -> list[Phase]:
    out: list[Phase] = []
    for phase in scenario.phases:
        n = round(phase.duration.total_seconds() * 1e6 / frame_us)
        out.extend([phase] * n)
    return (out + [scenario.phases[-1]] * frames)[:frames]


def plan_audio_path(scenario: Scenario, frame_us: int) -> AudioPath:
    """Capture and arrival times of every frame of the scenario (module docstring).

    Raises:
        ScenarioError: an arrival log recorded at another frame duration than ``frame_us``.
    """
    total_us = round(scenario.duration.total_seconds() * 1e6)
    frames = total_us // frame_us
    if scenario.arrivals is not None:
        return _recorded_path(scenario.arrivals, frame_us, frames)
    phases = _phases_by_frame(scenario, frame_us, frames)
    producer = random.Random(scenario.seed * 7919 + 1)
    network = random.Random(scenario.seed * 7919 + 2)
    seconds_per_frame = frame_us / 1e6

    # Stalls, drawn frame slot by frame slot (a Poisson process, rate per slot).
    producer_stalls: list[tuple[int, int]] = []
    startup = round(scenario.startup_delay.total_seconds() * 1e6)
    if startup > 0:
        producer_stalls.append((0, startup))
    network_stalls: list[tuple[int, int]] = []
    for k, phase in enumerate(phases):
        now = k * frame_us
        load = cpu_load(phase.cpu_percent)
        memory = max(0.0, (phase.memory_percent - MEMORY_STALL_FROM) / (100 - MEMORY_STALL_FROM))
        busy_until = producer_stalls[-1][1] if producer_stalls else 0
        if now >= busy_until:
            if load > 0 and producer.random() < CPU_STALL_RATE * load * seconds_per_frame:
                length = _exponential(producer, CPU_STALL_BASE_US + CPU_STALL_SPAN_US * load)
                producer_stalls.append((now, now + length))
            elif memory > 0 and producer.random() < MEMORY_STALL_RATE * memory * seconds_per_frame:
                producer_stalls.append((now, now + _exponential(producer, MEMORY_STALL_MEAN_US)))
        held_until = network_stalls[-1][1] if network_stalls else 0
        rate = phase.burst_rate
        if now >= held_until and rate > 0 and network.random() < rate * seconds_per_frame:
            length = _exponential(network, phase.burst_length.total_seconds() * 1e6)
            network_stalls.append((now, now + length))

    capture: list[int] = []
    arrival: list[int] = []
    departure: list[int] = []
    last = 0
    p_index = n_index = 0
    for k, phase in enumerate(phases):
        captured = k * frame_us
        leaves = captured + _exponential(producer, CPU_JITTER_US * cpu_load(phase.cpu_percent))
        leaves, p_index = _stall_end(producer_stalls, leaves, captured, p_index)
        capture.append(captured)
        if scenario.link_trace is not None:
            last = max(last, leaves)  # the link is a FIFO: frames leave in order
            departure.append(last)
            continue
        delay = round(phase.network_delay.total_seconds() * 1e6)
        arrives = leaves + delay + _exponential(network, phase.jitter.total_seconds() * 1e6)
        arrives, n_index = _stall_end(network_stalls, arrives, captured, n_index)
        last = max(last, arrives)
        arrival.append(last)
    if scenario.link_trace is not None:
        arrival = link_arrivals(
            departure,
            scenario.link_trace,
            packet_bytes=scenario.audio_packet_bytes,
            cross_traffic_kbps=scenario.cross_traffic_kbps,
            cross_traffic_fps=scenario.cross_traffic_fps,
            start_ms=round(scenario.link_start.total_seconds() * 1e3),
            delay_us=round(scenario.network_delay.total_seconds() * 1e6),
        )
    return AudioPath(frame_us, tuple(capture), tuple(arrival))


def _recorded_path(log: ArrivalLog, frame_us: int, frames: int) -> AudioPath:
    """The first ``frames`` frames of an arrival log, rebased to capture time 0."""
    if abs(log.step_ms * 1000 - frame_us) > 500:
        raise ScenarioError(
            f"arrivals: {log.source}: frames are {log.step_ms:g} ms apart, but "
            f"frame_duration is {frame_us / 1000:g} ms"
        )
    capture: list[int] = []
    arrival: list[int] = []
    lost: set[int] = set()
    last = 0
    for k in range(min(frames, len(log.capture_ms))):
        captured = k * frame_us
        came = log.arrival_ms[k]
        if came is None:
            lost.add(k)
        else:
            delay = round((came - log.capture_ms[k]) * 1000)
            last = max(last, captured + delay)
        capture.append(captured)
        arrival.append(last)
    return AudioPath(frame_us, tuple(capture), tuple(arrival), frozenset(lost))


def metrics_at(scenario: Scenario, seconds: float, rng: random.Random) -> MetricsSample | None:
    """The monitor's sample at ``seconds``: the phase's figures with a little noise, or
    ``None`` in a phase without metrics."""
    phase = scenario.phase_at(seconds)
    cpu = max(0.0, rng.gauss(phase.cpu_percent, CPU_NOISE))
    memory = min(100.0, max(0.0, rng.gauss(phase.memory_percent, MEMORY_NOISE)))
    return MetricsSample(cpu, memory) if phase.metrics else None
