"""adaptive-stream simulate and compare: output, and bad input as one line with exit 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from adaptive_stream.cli import main

SHORT = """
name = "short"
description = "Ten seconds: calm, then busy."
seed = 5

[[phases]]
name = "calm"
duration = "5s"

[[phases]]
name = "busy"
duration = "5s"
cpu_percent = 95
"""


REQUIRED = (
    "underruns",
    "late",
    "dropped",
    "stretched",
    "lost",
    "loss_percent",
    "burst_ratio",
    "latency_mean_ms",
    "latency_p95_ms",
    "mean_size",
    "size_changes",
    "flaps",
    "r_factor",
    "mos",
)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(SHORT)
    return path


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("adaptive-stream")
    return lines[0]


def test_simulate_prints_a_timeline_and_a_summary(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--scenario", str(scenario), "--policy", "feedback"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Simulating short (Ten seconds: calm, then busy.) with the feedback")
    assert "   0.00s  --- calm: cpu 15 %" in out
    assert "   5.00s  --- busy: cpu 95 %" in out
    # The busy phase: its load adds 4 frames at once, its first underruns grow it fast.
    assert "   5.01s  size  6 ->  7  grow 6 -> 7: arrival p95 22 ms needs 3, cpu 93 % adds 4" in out
    assert "   6.01s  size  7 -> 17  grow 7 -> 17: 5 underrun(s) since the last tick" in out
    assert "Summary: scenario short (seed 5), policy feedback, 10 s of audio, 500 frames" in out
    assert "played + dropped + late + lost = 500" in out
    assert ", R " in out and "MOS " in out


def test_simulate_takes_settings_flags_a_seed_and_no_timeline(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["simulate", "--scenario", str(scenario), "--seed", "9", "--no-timeline"]
    assert main([*args, "--max-buffer-size", "8", "--policy", "oboe"]) == 0
    out = capsys.readouterr().out
    assert "--- calm" not in out
    assert "seed 9, sizes 3..8 frames" in out
    assert "policy oboe" in out


def test_simulate_a_bundled_scenario_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--scenario", "startup", "--no-timeline"]) == 0
    assert "Summary: scenario startup (seed 1), policy jetkvm, 63 s" in capsys.readouterr().out


def test_compare_prints_one_row_per_policy(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "--scenario", str(scenario), "--policies", "jetkvm,feedback"]
    assert main([*args, "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Comparing jetkvm, feedback on short (seed 5); same frames for every policy"
    assert lines[2].startswith("| scenario | policy         | underruns | per min | start-up |")
    assert lines[2].endswith("| loss % |    R |  MOS |")
    assert lines[4].startswith("| short    | jetkvm         |")
    assert lines[5].startswith("| short    | feedback       |")
    assert lines[6].startswith("| short    | best-fixed (")
    assert lines[8].startswith("best-fixed (N): the fixed size N from 3 to 20 with the best R")
    assert "chosen in hindsight" in lines[8]
    assert len(lines) == 9


def test_compare_json_csv_and_seeds(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", "--scenario", str(scenario), "--policies", "oboe,fixed", "--jobs", "1"]
    assert main([*args, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["seed"] == 5
    rows = document["scenarios"]["short"]
    assert list(rows) == ["oboe", "fixed", "best-fixed"]
    for key in REQUIRED:
        assert isinstance(rows["oboe"][key], int | float), key
    assert rows["best-fixed"]["hindsight"] is True
    assert 3 <= rows["best-fixed"]["size"] <= 20
    assert rows["best-fixed"]["r_factor"] >= rows["fixed"]["r_factor"]

    assert main([*args, "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["scenario"], r["policy"]) for r in table] == [
        ("short", "oboe"),
        ("short", "fixed"),
        ("short", "best-fixed"),
    ]
    assert float(table[0]["r_factor"]) == pytest.approx(rows["oboe"]["r_factor"])
    assert table[0]["size"] == "" and int(table[2]["size"]) == rows["best-fixed"]["size"]

    assert main([*args, "--seeds", "1..3", "--format", "json"]) == 0
    many = json.loads(capsys.readouterr().out)
    assert many["seeds"] == [1, 2, 3]
    per_seed = [many["per_seed"][str(s)]["short"]["oboe"]["r_factor"] for s in (1, 2, 3)]
    assert many["scenarios"]["short"]["oboe"]["r_factor"] == pytest.approx(sum(per_seed) / 3)
    assert len(many["scenarios"]["short"]["best-fixed"]["sizes"]) == 3

    assert main([*args, "--seeds", "2,9"]) == 0
    assert "(means over seeds 2, 9)" in capsys.readouterr().out.splitlines()[0]


def test_compare_jobs_give_the_same_output(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "--scenario", str(scenario), "--seeds", "1,2", "--format", "json"]
    assert main([*args, "--jobs", "1"]) == 0
    alone = capsys.readouterr().out
    assert main([*args, "--jobs", "2"]) == 0
    assert capsys.readouterr().out == alone


def test_simulate_json_and_csv(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--scenario", str(scenario), "--policy", "roc"]
    assert main([*args, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["seed"] == 5
    assert set(REQUIRED) <= set(document["scenarios"]["short"]["roc"])
    assert main([*args, "--format", "csv"]) == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["policy"] == "roc"
    assert float(row["mos"]) == pytest.approx(document["scenarios"]["short"]["roc"]["mos"])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[phases]]\nduration = 'x'\n", "phases[1].duration: must be a duration"),
        ("[[phases]]\nduration = '1s'\ncpu_percent = -3\n", "phases[1].cpu_percent"),
        ("nothing = 1\n", "nothing: unknown field"),
        ("[[phases\n", "invalid TOML"),
    ],
)
@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_a_bad_scenario_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragment: str, command: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    assert main([command, "--scenario", str(path)]) == 2
    line = one_line_error(capsys)
    assert f"adaptive-stream: {path}: " in line
    assert fragment in line


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["simulate", "--scenario", "nope"], "no scenario named 'nope'"),
        (["simulate", "--scenario", "steady", "--seed", "-1"], "--seed: must be a whole number"),
        (["compare", "--policies", "jetkvm,magic"], "--policies: unknown policy 'magic'"),
        (["compare", "--policies", ","], "--policies: no policy named"),
        (["compare", "--policy", "feedback"], "compare: name the policies with --policies"),
        (["compare", "--seeds", "1..x"], "--seeds: expected A..B or a comma-separated list"),
        (["compare", "--seeds", "5..1"], "--seeds: '5..1' runs backwards"),
        (["compare", "--seeds", "1,1"], "--seeds: a seed is repeated"),
        (["compare", "--seeds", "0..4294967295"], "--seeds: at most 1000 seeds"),
        (["compare", "--jobs", "0"], "--jobs: must be a whole number from 1"),
        (["simulate", "--scenario", "steady", "--policy", "magic"], "invalid settings: policy"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    assert main(args) == 2
    assert fragment in one_line_error(capsys)


def test_simulate_requires_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["simulate"])
    assert caught.value.code == 2
    assert "--scenario" in one_line_error(capsys)


@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_help_lists_the_options_and_every_setting(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([command, "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    from adaptive_stream.settings import AdaptiveBufferSettings

    assert "--scenario NAME|" in out and "--seed" in out
    for name in AdaptiveBufferSettings.model_fields:
        assert "--" + name.replace("_", "-") in out, name


def test_compare_feedback_with_an_override_still_has_best_fixed(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "--scenario", str(scenario), "--policies", "feedback", "--jobs", "1"]
    assert main([*args, "--buffer-size-override", "8", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["scenarios"]["short"]
    assert rows["feedback"]["mean_size"] == 8.0
    assert "size" in rows["best-fixed"]


def test_compare_runs_every_scenario_of_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("one", "two"):
        (tmp_path / f"{name}.toml").write_text(SHORT.replace('"short"', f'"{name}"'))
    (tmp_path / "notes.txt").write_text("not a scenario")
    args = ["compare", "--scenario", str(tmp_path), "--policies", "fixed", "--format", "json"]
    assert main(args) == 0
    assert sorted(json.loads(capsys.readouterr().out)["scenarios"]) == ["one", "two"]


def test_a_folder_without_scenarios_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", "--scenario", str(tmp_path), "--policies", "fixed"]) == 2
    err = capsys.readouterr().err
    assert "no *.toml scenario in it" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["simulate", "--scenario", str(tmp_path)]) == 2
    assert "simulate runs one scenario" in capsys.readouterr().err
