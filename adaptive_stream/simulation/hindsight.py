"""``best-fixed``: the fixed buffer size with the best R on a run, chosen in hindsight.

No live system can do this (it needs the whole run's arrivals before the first frame is
played); it is the bar an adaptive policy must clear to be worth its complexity.

A fixed size ``B`` needs no decision pipeline: frame ``f`` is due at slot ``f + B`` and is
played, late or lost there; nothing is ever dropped or stretched. :func:`fixed_run` computes
that playout directly, and gives the same figures as the closed loop with the ``fixed``
policy at ``default_buffer_size = B`` (tested), at a small fraction of the cost, so trying
every size from ``min_buffer_size`` to ``max_buffer_size`` stays cheap.
"""

from __future__ import annotations

from adaptive_stream.simulation.audio_path import AudioPath
from adaptive_stream.simulation.closed_loop import LATE, LOST, PLAYED, SimulationRun
from adaptive_stream.simulation.figures import Figures, figures_of
from adaptive_stream.simulation.scenario import Scenario

__all__ = ["best_fixed", "fixed_run"]


def fixed_run(scenario: Scenario, path: AudioPath, size: int) -> SimulationRun:
    """The playout of ``path`` with a buffer of ``size`` frames (>= 1) that never changes."""
    size = max(1, size)
    frame_us, capture, arrival, lost = path.frame_us, path.capture_us, path.arrival_us, path.lost
    playout: list[str] = []
    underrun_us: list[int] = []
    latency_us: list[int] = []
    played_us: list[int] = []
    late = 0
    for frame in range(path.frames):
        now = (frame + size) * frame_us
        if frame in lost:
            playout.append(LOST)
            underrun_us.append(now)
        elif arrival[frame] <= now:
            playout.append(PLAYED)
            latency_us.append(now - capture[frame])
            played_us.append(now)
        else:
            playout.append(LATE)
            underrun_us.append(now)
            late += 1
    return SimulationRun(
        scenario=scenario,
        policy=f"fixed {size}",
        path=path,
        played=len(played_us),
        dropped=0,
        late=late,
        stretched=0,
        prefill=size if path.frames else 0,
        underrun_us=tuple(underrun_us),
        latency_us=tuple(latency_us),
        played_us=tuple(played_us),
        decisions=(),
        initial_size=size,
        end_us=(path.frames - 1 + size) * frame_us if path.frames else 0,
        lost=len(lost),
        playout="".join(playout),
    )


def best_fixed(
    scenario: Scenario, path: AudioPath, min_size: int, max_size: int
) -> tuple[int, Figures]:
    """``(size, figures)``: the size in ``min_size..max_size`` whose run has the highest R
    (the smaller size on a tie)."""
    best: tuple[int, Figures] | None = None
    for size in range(min_size, max_size + 1):
        figures = figures_of(fixed_run(scenario, path, size))
        if best is None or figures.r_factor > best[1].r_factor:
            best = (size, figures)
    if best is None:
        raise ValueError(f"no size from {min_size} to {max_size}")
    return best
