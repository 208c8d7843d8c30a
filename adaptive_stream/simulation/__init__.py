"""A deterministic, closed-loop simulation of an audio path, to compare policies.

- :mod:`.scenario`: scenario files (phases of CPU, memory, network), loaded and checked.
- :mod:`.audio_path`: when each frame arrives (seeded, fixed before the run).
- :mod:`.closed_loop`: the playout and the real decision pipeline, on a virtual clock.
- :mod:`.figures`: underruns, latency, sizes, flaps, recovery.
"""

from __future__ import annotations

from adaptive_stream.simulation.closed_loop import SimulationRun, simulate
from adaptive_stream.simulation.figures import Figures, figures_of, size_changes
from adaptive_stream.simulation.scenario import (
    Phase,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "Figures",
    "Phase",
    "Scenario",
    "ScenarioError",
    "SimulationRun",
    "bundled_scenarios",
    "figures_of",
    "load_scenario",
    "parse_scenario",
    "simulate",
    "size_changes",
]
