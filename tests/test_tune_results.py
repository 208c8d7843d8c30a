"""Results written whole, and the docs' tables regenerated from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from adaptive_stream.tune.tables import comparison_table, main, speed_table

COMPARISON = """\
seed_set,seeds,profile,scenario,mos,r_factor,latency_mean_ms,loss_percent
training,1..2,tuned,steady,4.2,85.0,100.0,0.5
training,1..2,tuned,all,4.1,83.25,120.5,0.75
held-out,3..4,tuned,all,4.0,81.0,121.0,1.0
"""

SPEED = {
    "cpus": 2,
    "trials": 16,
    "runs": 64,
    "scenarios": "startup,network-jitter",
    "seeds": "1..2",
    "load": "1.0 before, 1.5 after",
    "study": {"jobs 1": {"seconds": 20.0, "trials_per_minute": 48.0}},
    "per_run_ms": {"jobs 1": 2.0},
    "same_best_trial": True,
    "overhead_per_run_ms": {"process pool": 1.2, "dask": 13.0, "dask minus pool": 11.8},
}


def test_tables_render_the_tools_output() -> None:
    import csv

    table = comparison_table(list(csv.DictReader(COMPARISON.splitlines())))
    assert table.splitlines()[2:] == [
        "| training 1..2 | tuned | 4.100 | 83.2 | 120.5 | 0.75 |",
        "| held-out 3..4 | tuned | 4.000 | 81.0 | 121.0 | 1.00 |",
    ]
    speed = speed_table(SPEED)
    assert "| jobs 1 | 20.00 | 48.0 | 2.000 |" in speed
    assert "**11.8 ms per run**" in speed


def test_tables_replace_between_markers_or_fail_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "tuning.md"
    doc.write_text("before\n<!-- table:speed:begin -->\nold\n<!-- table:speed:end -->\nafter\n")
    speed = tmp_path / "speed.json"
    speed.write_text(json.dumps(SPEED))
    assert main([str(speed), str(doc), "--marker", "speed"]) == 0
    text = doc.read_text()
    assert "old" not in text and "| jobs 1 | 20.00 |" in text
    assert text.startswith("before\n") and text.endswith("after\n")
    assert main([str(speed), str(doc), "--marker", "example"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tables: ") and len(err.splitlines()) == 1
    assert doc.read_text() == text
