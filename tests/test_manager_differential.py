"""Live decides as simulated: the same inputs, run through the simulator and through an
``AdaptiveBufferManager`` on a ``HistoricalScheduler``, give the same decisions, for every
registered policy, stale-metrics phases included.

The simulator runs its closed loop once; its inputs (each tick's metrics sample, each slot's
batch of arrival delays, each underrun) are then read back from the run and pushed into a
manager at the same virtual times: latency through ``update_latency``, underruns through
``report_underrun``, metrics through an observable source, ticks from the manager's own
ticker. A figure that ``compare`` measures therefore describes what the live manager does
with the same inputs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from reactivex.scheduler import HistoricalScheduler
from reactivex.subject import Subject

from adaptive_stream import AdaptiveBufferManager, BufferDecision, SystemMetrics, load_settings
from adaptive_stream.model import EPOCH
from adaptive_stream.policies import POLICIES
from adaptive_stream.simulation import SimulationRun, simulate
from adaptive_stream.simulation.closed_loop import SIMULATED_CORES
from adaptive_stream.simulation.scenario import parse_scenario

#: Start-up, calm, a monitor that stops reporting (stale metrics) while the network stalls
#: (so underruns come while metrics are stale), a CPU spike, jitter bursts, calm.
SCENARIO = parse_scenario(
    {
        "name": "differential",
        "seed": 7,
        "phases": [
            {"name": "start-up", "duration": "3s", "jitter": "10ms"},
            {"name": "calm", "duration": "10s"},
            {
                "name": "stale and stalling",
                "duration": "12s",
                "metrics": False,
                "jitter": "5ms",
                "burst_rate": 0.5,
                "burst_length": "150ms",
            },
            {"name": "cpu spike", "duration": "8s", "cpu_percent": 95, "jitter": "8ms"},
            {"name": "bursts", "duration": "10s", "jitter": "15ms", "burst_rate": 2.0},
            {"name": "calm", "duration": "12s"},
        ],
    }
)


def at_us(us: int) -> Any:
    return EPOCH + timedelta(microseconds=us)


def inputs_of(run: SimulationRun, interval_us: int) -> list[tuple[int, str, Any]]:
    """What the simulator fed its pipeline, as ``(time in us, kind, value)`` in the order it
    fed them (at one time: arrival delays, then an underrun; ticks are half a frame off)."""
    path, frame_us = run.path, run.path.frame_us
    events: list[tuple[int, int, str, Any]] = []
    # Arrival delays: reported at the first slot at or after their arrival, in frame order.
    reported = 0
    for frame in range(path.frames):
        slot = -(-path.arrival_us[frame] // frame_us) * frame_us
        reported = max(reported, slot)
        if reported > run.end_us:
            break
        delay = timedelta(microseconds=path.arrival_us[frame] - path.capture_us[frame])
        events.append((reported, 0, "latency", delay))
    events.extend((us, 1, "underrun", 1) for us in run.underrun_us)
    # Metrics: sampled on each tick of a phase with metrics (the tick's decision shows them).
    decided = {d.time: d for d in run.decisions}
    tick = interval_us + frame_us // 2
    while tick < run.end_us:
        if SCENARIO.phase_at(tick / 1e6).metrics:
            d = decided[at_us(tick)]
            sample = SystemMetrics(d.cpu_percent, d.memory_percent, at_us(tick))
            events.append((tick, 0, "metrics", sample))
        tick += interval_us
    events.sort(key=lambda e: (e[0], e[1]))  # stable: frame order within a slot
    return [(us, kind, value) for us, _, kind, value in events]


def live(name: str, run: SimulationRun, inputs: list[tuple[int, str, Any]]) -> list[Any]:
    settings = load_settings(policy=name)
    clock = HistoricalScheduler(EPOCH)
    metrics: Subject[SystemMetrics] = Subject()
    manager = AdaptiveBufferManager(
        settings, metrics=metrics, scheduler=clock, cpu_cores=SIMULATED_CORES
    )
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    # The simulator's first tick is half a frame after one interval: start the ticker there.
    clock.schedule_absolute(at_us(run.path.frame_us // 2), lambda *_: manager.start())
    push = {
        "latency": manager.update_latency,
        "underrun": manager.report_underrun,
        "metrics": metrics.on_next,
    }
    for us, kind, value in inputs:  # scheduled now: they run before a tick at the same time
        clock.schedule_absolute(at_us(us), lambda *_, f=push[kind], v=value: f(v))
    clock.advance_to(at_us(run.end_us))
    manager.stop()
    stats = manager.stats()
    assert stats["rejected_samples"] == stats["rejected_metrics"] == 0
    assert stats["underruns"] == len(run.underrun_us)
    return [tuple(d) for d in decisions]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_manager_decides_as_the_simulator_on_the_same_inputs(name: str) -> None:
    settings = load_settings(policy=name)
    run = simulate(SCENARIO, settings)
    assert run.underrun_us, "the scenario must bring underruns"
    interval_us = round(settings.adaptation_interval.total_seconds() * 1e6)
    simulated = [tuple(d) for d in run.decisions]
    assert simulated == live(name, run, inputs_of(run, interval_us))


def test_the_scenario_has_underruns_while_metrics_are_stale() -> None:
    """The stale phase is exercised: underruns come in it for the policy that listens."""
    run = simulate(SCENARIO, load_settings(policy="feedback"))
    stale = [us for us in run.underrun_us if not SCENARIO.phase_at(us / 1e6).metrics]
    assert stale
    reasons = [d.reason for d in run.decisions if "metrics stale" in d.reason]
    assert any(r.startswith("grow") for r in reasons)


def test_underruns_grow_the_buffer_at_the_next_tick_while_metrics_are_stale() -> None:
    """Metrics stop at 0.1 s; 3 underruns at 5.1 s grow ``feedback`` at the 5.5 s tick, as in
    the simulator (the manager used to skip stale ticks itself: the size stayed 6 until 8 s)."""
    clock = HistoricalScheduler(EPOCH)
    metrics: Subject[SystemMetrics] = Subject()
    manager = AdaptiveBufferManager(
        load_settings(policy="feedback"), metrics=metrics, scheduler=clock
    )
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    manager.start()
    clock.schedule_absolute(at_us(100_000), lambda *_: metrics.on_next(SystemMetrics(5.0, 10.0)))
    clock.schedule_absolute(at_us(5_100_000), lambda *_: manager.report_underrun(3))
    clock.advance_to(at_us(6_000_000))
    sizes = {round((d.time - EPOCH).total_seconds(), 1): d.input_size for d in decisions}
    assert sizes[5.0] == 6 and sizes[5.5] == 9 and sizes[6.0] == 9
    grown = next(d for d in decisions if d.input_size == 9)
    assert "3 underrun(s)" in grown.reason and "metrics stale" in grown.reason
    assert manager.stats()["metrics_stale"] is True
