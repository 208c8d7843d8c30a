"""Simulation results as text: a run's timeline and summary, and a comparison table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from adaptive_stream.simulation.closed_loop import EPOCH, SimulationRun, simulate
from adaptive_stream.simulation.figures import (
    EPISODE_GAP_US,
    FLAP_WINDOW_US,
    Figures,
    figures_of,
    size_changes,
)
from adaptive_stream.simulation.scenario import Scenario

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = ["ComparisonRow", "compare", "format_table", "summary_lines", "timeline_lines"]


def _seconds(us: int) -> str:
    return f"{us / 1e6:7.2f}s"


def timeline_lines(run: SimulationRun) -> list[str]:
    """Phase starts, size changes (with the policy's reason) and underruns per second, in
    time order."""
    events: list[tuple[int, int, str]] = []
    start = 0
    for phase in run.scenario.phases:
        metrics = "" if phase.metrics else ", no metrics"
        burst = (
            f", bursts {phase.burst_rate:g}/s of {phase.burst_length.total_seconds() * 1e3:g} ms"
            if phase.burst_rate
            else ""
        )
        events.append(
            (
                start,
                0,
                f"--- {phase.name}: cpu {phase.cpu_percent:g} %, memory "
                f"{phase.memory_percent:g} %, jitter {phase.jitter.total_seconds() * 1e3:g} ms"
                f"{burst}{metrics}",
            )
        )
        start += round(phase.duration.total_seconds() * 1e6)
    reasons = {
        round((d.time - EPOCH).total_seconds() * 1e6): d.reason for d in run.decisions if d.adjusted
    }
    for at_us, before, after in size_changes(run):
        why = reasons.get(at_us, "")
        events.append((at_us, 1, f"size {before:2d} -> {after:2d}  {why}"))
    per_second = Counter(t // 1_000_000 for t in run.underrun_us)
    for second, count in per_second.items():
        events.append((second * 1_000_000, 2, f"{count} underrun(s) in this second"))
    events.sort()
    return [f"{_seconds(at_us)}  {text}" for at_us, _, text in events]


def summary_lines(run: SimulationRun, figures: Figures | None = None) -> list[str]:
    """The run's figures, in words."""
    f = figures or figures_of(run)
    s = run.scenario
    minutes = run.duration_us / 60e6
    return [
        f"Summary: scenario {s.name} (seed {s.seed}), policy {run.policy}, "
        f"{run.duration_us / 1e6:g} s of audio, {run.frames} frames",
        f"  frames: {run.played} played, {run.dropped} dropped while shrinking, {run.late} late "
        f"{f'{run.lost} lost in the network ' if run.lost else ''}"
        f"(played + dropped + late + lost = {run.played + run.dropped + run.late + run.lost})",
        f"  underruns: {f.underruns} ({f.underruns_per_minute:.2f} per minute over "
        f"{minutes:.1f} min), {f.startup_underruns} in the first "
        f"{s.startup.total_seconds():g} s (start-up)",
        f"  latency (capture to playout): mean {f.latency_mean_ms:.1f} ms, "
        f"p95 {f.latency_p95_ms:.1f} ms",
        f"  buffer: mean {f.mean_size:.2f} frames, {f.size_changes} size changes, {f.flaps} "
        f"flaps (reversals within {FLAP_WINDOW_US / 1e6:g} s), {run.stretched} stretched slots",
        f"  quality (E-model, G.107): loss {f.loss_percent:.2f} % (burst ratio "
        f"{f.burst_ratio:.2f}), mouth-to-ear {f.mouth_to_ear_ms:.1f} ms, R {f.r_factor:.1f}, "
        f"MOS {f.mos:.2f}",
        f"  recovery: {f.episodes} underrun episode(s) after start-up (underruns less than "
        f"{EPISODE_GAP_US / 1e6:g} s apart), the longest {f.recovery_max_s:.2f} s",
    ]


class ComparisonRow(NamedTuple):
    """One policy on one scenario."""

    scenario: str
    policy: str
    figures: Figures


def compare(
    scenarios: Iterable[Scenario],
    policies: Sequence[str],
    settings_for: Callable[[str], AdaptiveBufferSettings],
) -> list[ComparisonRow]:
    """Every policy on every scenario, same seed: ``settings_for(name)`` gives the settings
    each policy runs with."""
    rows: list[ComparisonRow] = []
    for scenario in scenarios:
        for name in policies:
            run = simulate(scenario, settings_for(name))
            rows.append(ComparisonRow(scenario.name, name, figures_of(run)))
    return rows


HEADER = (
    "scenario",
    "policy",
    "underruns",
    "per min",
    "start-up",
    "latency ms",
    "p95 ms",
    "mean size",
    "changes",
    "flaps",
    "recovery s",
    "loss %",
    "R",
    "MOS",
)


def format_table(rows: Sequence[ComparisonRow]) -> str:
    """A Markdown table of the figures (readable as plain text too)."""
    cells = [list(HEADER)]
    for row in rows:
        f = row.figures
        cells.append(
            [
                row.scenario,
                row.policy,
                str(f.underruns),
                f"{f.underruns_per_minute:.2f}",
                str(f.startup_underruns),
                f"{f.latency_mean_ms:.1f}",
                f"{f.latency_p95_ms:.1f}",
                f"{f.mean_size:.2f}",
                str(f.size_changes),
                str(f.flaps),
                f"{f.recovery_max_s:.2f}",
                f"{f.loss_percent:.2f}",
                f"{f.r_factor:.1f}",
                f"{f.mos:.2f}",
            ]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]

    def line(values: list[str]) -> str:
        padded = [
            v.ljust(w) if i < 2 else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i >= 2 else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(cells[0]), rule, *(line(c) for c in cells[1:])])
