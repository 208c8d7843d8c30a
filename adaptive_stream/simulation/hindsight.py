"""``best-fixed``: the fixed buffer size with the best R on a run, chosen in hindsight.

No live system can do this (it needs the whole run's arrivals before the first frame is
played); it is the bar an adaptive policy must clear to be worth its complexity.

A fixed size ``B`` needs no decision pipeline: frame ``f`` is due at slot ``f + B`` and is
played, late or lost there (the closed loop's rule: a missing frame is lost, not an
underrun, when a later one has already arrived); nothing is ever dropped or stretched.
:func:`fixed_run` computes that playout directly, and gives the same figures as the closed
loop with the ``fixed`` policy at ``default_buffer_size = B`` (tested), at a small fraction
of the cost, and
:func:`best_fixed` scores every size from ``min_buffer_size`` to ``max_buffer_size`` from
one pass over the arrivals (each frame's smallest on-time size), so trying them all costs
less than one closed-loop run.
"""

from __future__ import annotations

from adaptive_stream.simulation.audio_path import AudioPath
from adaptive_stream.simulation.closed_loop import LATE, LOST, PLAYED, SimulationRun
from adaptive_stream.simulation.figures import Figures, audible, figures_of, quality
from adaptive_stream.simulation.scenario import Scenario

__all__ = ["best_fixed", "fixed_run", "heard_from"]


def fixed_run(scenario: Scenario, path: AudioPath, size: int) -> SimulationRun:
    """The playout of ``path`` with a buffer of ``size`` frames (>= 1) that never changes."""
    size = max(1, size)
    frame_us, capture, arrival, lost = path.frame_us, path.capture_us, path.arrival_us, path.lost
    playout: list[str] = []
    underrun_us: list[int] = []
    latency_us: list[int] = []
    played_us: list[int] = []
    late = found_lost = 0
    for frame in range(path.frames):
        now = (frame + size) * frame_us
        if frame in lost and path.later_arrived(frame, now):
            playout.append(LOST)
            found_lost += 1
        elif frame not in lost and arrival[frame] <= now:
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
        lost=found_lost,
        playout="".join(playout),
        heard_from=min(path.frames, heard_from(scenario, path.frame_us, size)),
    )


def heard_from(scenario: Scenario, frame_us: int, size: int) -> int:
    """The first frame whose slot (``frame + size``) is at or after the scenario's start-up
    window: the fixed playout's :attr:`~.closed_loop.SimulationRun.heard_from`."""
    startup_us = round(scenario.startup.total_seconds() * 1e6)
    return max(0, -(-startup_us // frame_us) - size)


#: Sizes up to this are scored from one byte per frame (the frames' needed sizes).
_BYTE_SIZES = 253
_LOST_BYTE = 255


def _needed_sizes(path: AudioPath) -> bytes:
    """Per frame, the smallest fixed size that plays it on time (capped at 254), or 255 for
    a lost frame: frame ``f`` is on time with size ``B`` when it arrives by ``(f + B) x F``."""
    frame_us, lost = path.frame_us, path.lost
    return bytes(
        _LOST_BYTE
        if frame in lost
        else min(_BYTE_SIZES + 1, max(0, -(-(arrival - frame * frame_us) // frame_us)))
        for frame, arrival in enumerate(path.arrival_us)
    )


def _score(scenario: Scenario, path: AudioPath, needed: bytes, size: int) -> float:
    """R of a fixed ``size`` (<= :data:`_BYTE_SIZES`): the same as ``figures_of(fixed_run(...))``
    gives, from the needed sizes alone (every played frame waits ``size`` frames; the
    E-model hears a lost frame and a late one alike, so lost frames are not told apart)."""
    codes = bytes(
        ord(LOST) if value == _LOST_BYTE else ord(PLAYED) if value <= size else ord(LATE)
        for value in range(256)
    )
    playout = needed.translate(codes).decode("ascii")
    heard = audible(playout, heard_from(scenario, path.frame_us, size))
    latency_ms = size * path.frame_us / 1000 if PLAYED in heard else 0.0
    return quality(heard, latency_ms, scenario).r_factor


def best_fixed(
    scenario: Scenario, path: AudioPath, min_size: int, max_size: int
) -> tuple[int, Figures]:
    """``(size, figures)``: the size in ``min_size..max_size`` whose run has the highest R
    (the smaller size on a tie)."""
    if min_size > max_size:
        raise ValueError(f"no size from {min_size} to {max_size}")
    needed = _needed_sizes(path)
    best_size, best_r = min_size, -1.0
    for size in range(max(1, min_size), max_size + 1):
        if size <= _BYTE_SIZES:
            r = _score(scenario, path, needed, size)
        else:
            r = figures_of(fixed_run(scenario, path, size)).r_factor
        if r > best_r:
            best_size, best_r = size, r
    return best_size, figures_of(fixed_run(scenario, path, best_size))
