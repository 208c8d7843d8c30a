"""Docs' tables regenerated from compare's JSON, between markers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from adaptive_stream.simulation import Phase, Scenario
from adaptive_stream.simulation.report import comparison_json
from adaptive_stream.simulation.runs import compare_runs
from adaptive_stream.simulation.tables import main, render, replace_between_markers

SHORT = Scenario("short", (Phase("busy", timedelta(seconds=6), cpu_percent=95.0),), seed=2)


def test_render_a_single_seed_and_many() -> None:
    one = json.loads(comparison_json(compare_runs([SHORT], ["oboe"])))
    text = render(one)
    assert text.splitlines()[0].startswith("| scenario | policy")
    assert "| short    | oboe " in text and "| short    | best-fixed (" in text
    assert "Seed 2.\n" in text
    rows = one["scenarios"]["short"]
    assert text.endswith(
        "Highest R among the live policies (and the bar, best-fixed in hindsight):\n"
        f"- short: oboe, R {rows['oboe']['r_factor']:.1f}; "
        f"best-fixed {rows['best-fixed']['r_factor']:.1f}\n"
    )
    many = json.loads(comparison_json(compare_runs([SHORT], ["oboe"], seeds=[1, 2])))
    assert "Means over seeds 1, 2.\n" in render(many)
    with pytest.raises(ValueError, match="no scenarios"):
        render({"seed": 1})


def test_replace_between_markers_is_idempotent() -> None:
    text = "intro\n<!-- table:x:begin -->\nold\n<!-- table:x:end -->\nafter\n"
    once = replace_between_markers(text, "x", "new table\n")
    assert once == "intro\n<!-- table:x:begin -->\nnew table\n<!-- table:x:end -->\nafter\n"
    assert replace_between_markers(once, "x", "new table\n") == once
    for broken in ("no markers", "<!-- table:x:end -->\n<!-- table:x:begin -->"):
        with pytest.raises(ValueError):
            replace_between_markers(broken, "x", "t")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "r.json"
    results.write_text(comparison_json(compare_runs([SHORT], ["fixed"])))
    doc = tmp_path / "doc.md"
    doc.write_text("# Doc\n<!-- table:t:begin -->\n<!-- table:t:end -->\n")
    assert main([str(results), str(doc), "--marker", "t"]) == 0
    assert "| short    | fixed " in doc.read_text()
    assert main([str(results), str(doc), "--marker", "other"]) == 2
    assert "expected one <!-- table:other:begin -->" in capsys.readouterr().err
