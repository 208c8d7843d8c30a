"""Input that used to hang, eat memory or raise a traceback is one line and exit code 2:
``/dev/zero`` as a trace, profile or scenario (memory capped), deeply nested TOML, a closed
standard input, durations that overflow, booleans where a duration belongs, and a decode
error reported on its own line."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from adaptive_stream.cli import main

ROOT = Path(__file__).resolve().parent.parent
HEADER = "t,kind,cpu_percent,memory_percent,latency_ms\n"
MEMORY_CAP = 1 << 30  # 1 GiB of address space: far more than any of these needs


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _cli(args: list[str], tmp_path: Path, stdin: int | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "adaptive_stream", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        stdin=stdin,
        preexec_fn=_capped,
        check=False,
    )
    return done.returncode, done.stderr


def _one_line(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    [line] = err.splitlines()
    assert line.startswith("adaptive-stream: "), line
    for fragment in fragments:
        assert fragment in line


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["replay", "/dev/zero"], ["/dev/zero: line 1: longer than 64 KiB"]),
        (["settings", "--profile", "/dev/zero"], ["/dev/zero: cannot use profile: larger"]),
        (["simulate", "--scenario", "/dev/zero"], ["/dev/zero: cannot use scenario: larger"]),
    ],
    ids=["trace", "profile", "scenario"],
)
def test_dev_zero_is_refused_with_bounded_memory(
    args: list[str], fragments: list[str], tmp_path: Path
) -> None:
    _one_line(*_cli(args, tmp_path), *fragments)


@pytest.mark.parametrize("kind", ["profile", "scenario"])
def test_deeply_nested_toml_is_one_line(kind: str, tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    args = (
        ["settings", "--profile", str(deep)]
        if kind == "profile"
        else ["simulate", "--scenario", str(deep)]
    )
    _one_line(*_cli(args, tmp_path), "nested too deeply")


def test_a_closed_standard_input_for_replay_dash(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m adaptive_stream replay - <&-"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    _one_line(done.returncode, done.stderr, "cannot read trace -: standard input is closed")


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_a_decode_error_names_its_own_line(source: str, tmp_path: Path) -> None:
    trace = tmp_path / "bad.csv"
    rows = "".join(f"{i},metrics,10,20,\n" for i in range(1, 401))
    trace.write_bytes(HEADER.encode() + rows.encode() + b"401,metrics,1\xff,20,\n")
    if source == "file":
        code, err = _cli(["replay", str(trace)], tmp_path)
    else:
        with trace.open("rb") as handle:
            code, err = _cli(["replay", "-"], tmp_path, stdin=handle.fileno())
    _one_line(code, err, "line 402: not UTF-8 text")


@pytest.mark.parametrize(
    ("where", "value"),
    [("flag", "1e300"), ("env", "1e300"), ("profile", "1e300"), ("profile", "true")],
)
def test_overflowing_or_boolean_durations_are_one_line(
    where: str,
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["settings"]
    if where == "flag":
        args.append(f"--shrink-after={value}")
    elif where == "env":
        monkeypatch.setenv("ADAPTIVE_STREAM_SHRINK_AFTER", value)
    else:
        profile = tmp_path / "p.toml"
        profile.write_text(f"shrink_after = {value}\n")
        args += ["--profile", str(profile)]
    assert main(args) == 2
    _, err = capsys.readouterr()
    [line] = err.splitlines()
    assert "shrink_after:" in line
    assert ("a year" in line) if value == "1e300" else ("a boolean is not a duration" in line)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("duration", "1e300", "at most"),
        ("duration", "true", "a boolean is not a duration"),
        ("jitter", "1e300", "at most"),
        ("cpu_percent", "1e300", "must be a number from 0 to 400"),
        ("cpu_percent", "true", "must be a number"),
    ],
)
def test_bad_scenario_values_are_one_line(
    field: str, value: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "bad.toml"
    duration = "" if field == "duration" else 'duration = "1s"\n'
    scenario.write_text(f'name = "bad"\n[[phases]]\n{duration}{field} = {value}\n')
    assert main(["simulate", "--scenario", str(scenario)]) == 2
    _, err = capsys.readouterr()
    [line] = err.splitlines()
    assert f"phases[1].{field}" in line or field in line
    assert fragment in line


@pytest.mark.parametrize(
    "flag", ["--frame-duration=1us", "--adaptation-interval=1us", "--jitter-window=1e9"]
)
def test_settings_that_would_never_finish_are_refused(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--scenario", "steady", flag]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("adaptive-stream: invalid settings: ")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_a_simulation_too_large_to_plan_is_refused(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "day.toml"
    scenario.write_text('name = "day"\n[[phases]]\nduration = "24h"\n')
    assert main([command, "--scenario", str(scenario), "--frame-duration", "1ms"]) == 2
    _, err = capsys.readouterr()
    assert err.splitlines() == [
        "adaptive-stream: scenario day: 86400 s of 1 ms frames is 86,400,000 frames; at most "
        "5,000,000 can be simulated (use a longer frame_duration or a shorter scenario)"
    ]
