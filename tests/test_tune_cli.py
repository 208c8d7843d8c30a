"""``adaptive-stream tune`` on bad input: one line naming what is wrong, exit code 2,
nothing written; and the core commands never import the tune extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tune_scenarios import tune_args, write_scenarios

from adaptive_stream.cli import main

ROOT = Path(__file__).parent.parent


def _fails(capsys: pytest.CaptureFixture[str], out: Path, argv: list[str], expected: str) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    # Progress lines may come first (a study that failed midway); the error is one line.
    lines = [line for line in captured.err.splitlines() if line.startswith("adaptive-stream")]
    assert len(lines) == 1, captured.err
    assert captured.err.strip().splitlines()[-1] == lines[0]
    assert lines[0].startswith("adaptive-stream: tune: ")
    assert expected in lines[0]
    assert "Traceback" not in captured.err
    assert not out.exists()


@pytest.fixture
def scenarios(tmp_path: Path) -> tuple[Path, Path]:
    return write_scenarios(tmp_path / "scenarios")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"--policy": "nope"}, "--policy: unknown policy 'nope' (known: "),
        ({"--seeds": "5..1"}, "--seeds: '5..1' runs backwards"),
        ({"--seeds": "one"}, "--seeds: expected A..B or a comma-separated list"),
        ({"--seeds": "1,1"}, "--seeds: a seed is repeated"),
        ({"--trials": "0"}, "--trials: must be 1 or more (got 0)"),
        ({"--batch": "0"}, "--batch: must be 1 or more (got 0)"),
        ({"--holdout-seeds": "2..3"}, "--holdout-seeds: must not share a seed with --seeds"),
    ],
)
def test_bad_arguments(
    tmp_path: Path,
    scenarios: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    expected: str,
) -> None:
    out = tmp_path / "results"
    argv = tune_args(scenarios, out, "--jobs", "1")
    for flag, value in change.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    _fails(capsys, out, argv, expected)


def test_the_policy_is_required(
    tmp_path: Path, scenarios: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    argv = tune_args(scenarios, out, "--jobs", "1")
    at = argv.index("--policy")
    del argv[at : at + 2]
    _fails(capsys, out, argv, "tune: --policy NAME is required")


def test_an_unknown_parameter_and_an_empty_space(
    tmp_path: Path, scenarios: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    space = tmp_path / "space.toml"
    space.write_text("smoothing_factor = 0.5\n")  # a jetkvm setting; feedback reads none
    argv = tune_args(scenarios, out, "--jobs", "1", "--space", str(space))
    _fails(capsys, out, argv, f"{space}: smoothing_factor: not a setting the feedback policy")
    space.write_text(
        "min_buffer_size = 3\ndefault_buffer_size = 4\nmax_buffer_size = 9\n"
        "historical_weight = 0.5\n"
    )
    argv[argv.index("feedback")] = "roc"
    _fails(capsys, out, argv, f"{space}: empty space: every parameter of roc is fixed")
    space.write_text("max_buffer_size = [")
    _fails(capsys, out, argv, f"{space}: invalid TOML")
    _fails(capsys, out, [*argv[:-2], "--space", str(tmp_path / "gone.toml")], "not found")


def test_bad_scenarios_settings_and_output(
    tmp_path: Path, scenarios: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[phases]]\nduration = "3s"\njitter = "lots"\n')
    argv = tune_args((bad, scenarios[1]), out, "--jobs", "1")
    _fails(capsys, out, argv, "bad.toml: phases[1].jitter:")
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = tune_args(scenarios, out, "--jobs", "1")
    argv[argv.index("--scenarios") + 1] = str(empty)
    _fails(capsys, out, argv, "no *.toml scenario in this folder")
    argv = tune_args(scenarios, out, "--jobs", "1", "--max-buffer-size", "0")
    _fails(capsys, out, argv, "invalid settings: max_buffer_size")
    taken = tmp_path / "taken"
    taken.write_text("a file")
    _fails(capsys, out, tune_args(scenarios, taken, "--jobs", "1"), "is not a folder")
    assert taken.read_text() == "a file"


def test_an_unreachable_dask_scheduler_fails_fast(
    tmp_path: Path, scenarios: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "results"
    argv = tune_args(scenarios, out, "--dask", "tcp://127.0.0.1:9", "--dask-timeout", "0.5")
    _fails(capsys, out, argv, "--dask tcp://127.0.0.1:9: no Dask scheduler answered within 0.5 s")


def test_a_failing_scenario_writes_nothing_and_keeps_the_finished_trials(
    tmp_path: Path,
    scenarios: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("optuna")
    import optuna

    from adaptive_stream.tune.runs import run_scores

    calls = {"n": 0}

    def flaky(scenario: Any, settings: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 8:
            raise ValueError("arrival log ends at frame 120")
        return run_scores(scenario, settings)

    monkeypatch.setattr("adaptive_stream.tune.study.run_scores", flaky)
    out = tmp_path / "results"
    journal = tmp_path / "tune.journal"
    argv = tune_args(scenarios, out, "--jobs", "1", "--storage", str(journal))
    _fails(capsys, out, argv, "short-jitter.toml (seed 1) failed in trial 2: ValueError: arrival")
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    study = optuna.load_study(study_name="feedback-mos", storage=storage)
    states = [t.state.name for t in study.trials]
    assert states[:2] == ["COMPLETE", "COMPLETE"]
    assert states[2] == "FAIL"


def test_the_core_commands_do_not_import_the_tune_extra(scenarios: tuple[Path, Path]) -> None:
    code = (
        "import sys\n"
        "from adaptive_stream.cli import build_parser, main\n"
        "import adaptive_stream.live\n"
        "build_parser()\n"
        "assert main(['settings']) == 0\n"
        f"assert main(['simulate', '--scenario', {str(scenarios[1])!r}, '--no-timeline']) == 0\n"
        "heavy = sorted(m for m in ('optuna', 'distributed', 'dask', 'tqdm', 'sqlalchemy')\n"
        "               if m in sys.modules)\n"
        "print('imported:', heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported: []" in result.stdout


def test_tune_is_documented_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    text = capsys.readouterr().out
    for flag in (
        "--policy",
        "--scenarios",
        "--seeds",
        "--trials",
        "--objective",
        "--sampler-seed",
        "--jobs",
        "--dask",
        "--storage",
        "--space",
        "--out",
    ):
        assert flag in text
