"""Shared helpers of the tune tests: two short scenarios and a small study's arguments."""

from __future__ import annotations

from pathlib import Path

JITTERY = """\
name = "short-jitter"
[[phases]]
duration = "3s"
jitter = "15ms"
burst_rate = 1.0
[[phases]]
duration = "2s"
cpu_percent = 90
"""

CALM = """\
name = "short-calm"
[[phases]]
duration = "3s"
"""


def write_scenarios(folder: Path) -> tuple[Path, Path]:
    """Two scenarios of a few seconds each (a trial on both with two seeds: ~0.1 s)."""
    folder.mkdir(parents=True, exist_ok=True)
    jittery, calm = folder / "short-jitter.toml", folder / "short-calm.toml"
    jittery.write_text(JITTERY)
    calm.write_text(CALM)
    return jittery, calm


def tune_args(scenarios: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    """``adaptive-stream tune`` on both scenarios, seeds 1..2, 6 trials, sampler seed 5."""
    return [
        "tune",
        "--policy",
        "feedback",
        "--scenarios",
        ",".join(map(str, scenarios)),
        "--seeds",
        "1..2",
        "--trials",
        "6",
        "--batch",
        "2",
        "--sampler-seed",
        "5",
        "--out",
        str(out),
        *extra,
    ]
