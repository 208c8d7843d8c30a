"""Simulation results as text: a run's timeline and summary, a comparison as a table, JSON or
CSV, and the command logic of ``simulate`` and ``compare`` behind the CLI's thin calls.

Output is built whole in memory, and the command writes it in one call
(:func:`adaptive_stream.output.write_stdout`): a run that fails writes nothing to standard
output."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

from adaptive_stream.model import EPOCH
from adaptive_stream.simulation.closed_loop import SimulationRun, simulate
from adaptive_stream.simulation.figures import (
    EPISODE_GAP_US,
    FLAP_WINDOW_US,
    Figures,
    figures_of,
    size_changes,
)
from adaptive_stream.simulation.runs import BEST_FIXED, FIGURE_KEYS, Comparison, compare_runs
from adaptive_stream.simulation.scenario import Scenario

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "FORMATS",
    "ComparisonRow",
    "compare",
    "comparison_csv",
    "comparison_json",
    "comparison_table",
    "format_table",
    "parse_seeds",
    "run_compare",
    "run_output",
    "scenarios_table",
    "summary_lines",
    "timeline_lines",
]

#: The output formats of ``simulate`` and ``compare``.
FORMATS = ("table", "json", "csv")


def _seconds(us: int) -> str:
    return f"{us / 1e6:7.2f}s"


def timeline_lines(run: SimulationRun) -> list[str]:
    """Phase starts, size changes (with the policy's reason) and underruns per second, in
    time order."""
    events: list[tuple[int, int, str]] = []
    start = 0
    scenario = run.scenario
    recording = scenario.arrivals or scenario.link_trace
    for phase in scenario.phases:
        metrics = "" if phase.metrics else ", no metrics"
        burst = (
            f", bursts {phase.burst_rate:g}/s of {phase.burst_length.total_seconds() * 1e3:g} ms"
            if phase.burst_rate
            else ""
        )
        network = (
            f"recorded network {recording.source}"
            if recording is not None
            else f"jitter {phase.jitter.total_seconds() * 1e3:g} ms{burst}"
        )
        events.append(
            (
                start,
                0,
                f"--- {phase.name}: cpu {phase.cpu_percent:g} %, memory "
                f"{phase.memory_percent:g} %, {network}{metrics}",
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


#: The table's columns: (header, figure key, format); counts are shown whole when whole.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("underruns", "underruns", "count"),
    ("per min", "underruns_per_minute", ".2f"),
    ("start-up", "startup_underruns", "count"),
    ("latency ms", "latency_mean_ms", ".1f"),
    ("p95 ms", "latency_p95_ms", ".1f"),
    ("mean size", "mean_size", ".2f"),
    ("changes", "size_changes", "count"),
    ("flaps", "flaps", "count"),
    ("recovery s", "recovery_max_s", ".2f"),
    ("loss %", "loss_percent", ".2f"),
    ("R", "r_factor", ".1f"),
    ("MOS", "mos", ".2f"),
)
HEADER = ("scenario", "policy", *(header for header, _, _ in COLUMNS))


def _cell(value: Any, style: str) -> str:
    if style == "count":
        return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
    return format(value, style)


def _table(rows: Sequence[tuple[str, str, Mapping[str, Any]]]) -> str:
    cells = [list(HEADER)]
    for scenario, label, figures in rows:
        cells.append([scenario, label, *(_cell(figures[key], style) for _, key, style in COLUMNS)])
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


def format_table(rows: Sequence[ComparisonRow]) -> str:
    """A Markdown table of the figures (readable as plain text too)."""
    return _table([(row.scenario, row.policy, row.figures._asdict()) for row in rows])


def _label(row: str, figures: Mapping[str, Any]) -> str:
    if row != BEST_FIXED:
        return row
    sizes = sorted(set(figures.get("sizes", [figures["size"]])))
    shown = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}..{sizes[-1]}"
    return f"{BEST_FIXED} ({shown})"


def scenarios_table(scenarios: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The Markdown table of ``{scenario: {policy: figures}}`` (a comparison's means, or the
    ``scenarios`` of its JSON), ``best-fixed`` labelled with its size (``best-fixed (8)``;
    ``7..9`` when the seeds chose different sizes)."""
    rows = [
        (scenario, _label(row, figures), figures)
        for scenario, by_row in scenarios.items()
        for row, figures in by_row.items()
    ]
    return _table(rows)


def comparison_table(comparison: Comparison) -> str:
    """The Markdown table of a comparison (means over its seeds)."""
    return scenarios_table(comparison.scenarios)


def comparison_json(comparison: Comparison) -> str:
    """The JSON document (docs/yardstick.md), indented, ending with a newline."""
    return json.dumps(comparison.to_json(), indent=2) + "\n"


def comparison_csv(comparison: Comparison) -> str:
    """One row per (scenario, policy): ``scenario``, ``policy``, every figure, and ``size``
    (``best-fixed`` only; empty otherwise). Means over the seeds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scenario", "policy", *FIGURE_KEYS, "size"])
    for scenario, by_row in comparison.scenarios.items():
        for row, figures in by_row.items():
            writer.writerow(
                [scenario, row, *(figures[key] for key in FIGURE_KEYS), figures.get("size", "")]
            )
    return out.getvalue()


def run_output(run: SimulationRun, figures: Figures, output: str) -> str:
    """``simulate --format json|csv``: the one run in the schema of ``compare``'s output."""
    by_policy = {run.policy: figures._asdict()}
    scenario, seed = run.scenario.name, run.scenario.seed
    comparison = Comparison(
        seeds=None,
        policies=(run.policy,),
        per_seed={seed: {scenario: by_policy}},
        scenarios={scenario: by_policy},
        scenario_seeds={scenario: seed},
    )
    return comparison_json(comparison) if output == "json" else comparison_csv(comparison)


#: The most seeds one command runs.
MAX_SEEDS = 1000
_SEEDS = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")


def parse_seeds(text: str, flag: str = "--seeds") -> tuple[int, ...]:
    """``1..5``, ``1,4,9`` or ``7`` as seeds, in order (each 0 .. 2**32 - 1, no repeats,
    at most :data:`MAX_SEEDS`).

    Raises:
        ValueError: naming ``flag`` and what is allowed.
    """
    allowed = f"{flag}: expected A..B or a comma-separated list of whole numbers"
    match = _SEEDS.match(text)
    try:
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if low > high:
                raise ValueError(f"{flag}: {text!r} runs backwards")
            if high - low >= MAX_SEEDS:
                raise ValueError(f"{flag}: at most {MAX_SEEDS} seeds (got {text!r})")
            seeds = tuple(range(low, high + 1))
        else:
            seeds = tuple(int(part) for part in text.split(","))
    except ValueError as exc:
        if str(exc).startswith(flag):
            raise
        raise ValueError(f"{allowed} (got {text!r})") from None
    if not seeds or any(not 0 <= s < 2**32 for s in seeds):
        raise ValueError(f"{allowed}, each from 0 to {2**32 - 1} (got {text!r})")
    if len(seeds) > MAX_SEEDS:
        raise ValueError(f"{flag}: at most {MAX_SEEDS} seeds (got {text!r})")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{flag}: a seed is repeated (got {text!r})")
    return seeds


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not on Linux)
        return os.cpu_count() or 1


def run_compare(
    scenarios: Sequence[Scenario],
    policies: Sequence[str],
    settings_for: Mapping[str, AdaptiveBufferSettings],
    base: AdaptiveBufferSettings,
    *,
    seeds: Sequence[int] | None = None,
    jobs: int = 1,
    output: str = "table",
    progress: Callable[[str], None] | None = None,
) -> str:
    """``compare``'s whole output in ``output`` format (``table``: with a heading and a note
    on ``best-fixed``). ``jobs`` > 1 runs on a pool of that many worker processes;
    ``progress`` is called as each run finishes (on the caller's thread).

    Raises:
        ScenarioError: a scenario that cannot run.
    """
    runs = len(scenarios) * len(seeds or [0]) * (len(policies) + 1)
    executor: Executor | None = None
    if jobs > 1 and runs > 1:
        executor = ProcessPoolExecutor(max_workers=min(jobs, runs))
    try:
        comparison = compare_runs(
            scenarios,
            policies,
            seeds,
            base,
            executor,
            policy_settings=settings_for,
            progress=progress,
        )
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    if output == "json":
        return comparison_json(comparison)
    if output == "csv":
        return comparison_csv(comparison)
    if seeds is None:
        seeds_text = f"seed {', '.join(map(str, sorted({s.seed for s in scenarios})))}"
    elif len(seeds) == 1:
        seeds_text = f"seed {seeds[0]}"
    else:
        seeds_text = f"means over seeds {', '.join(map(str, seeds))}"
    return (
        f"Comparing {', '.join(policies)} on {', '.join(s.name for s in scenarios)} "
        f"({seeds_text}); same frames for every policy\n\n"
        f"{comparison_table(comparison)}\n\n"
        f"{BEST_FIXED} (N): the fixed size N from {base.min_buffer_size} to "
        f"{base.max_buffer_size} with the best R on that scenario and seed, chosen in "
        "hindsight; no live policy can do that, it is the bar to clear.\n"
    )
