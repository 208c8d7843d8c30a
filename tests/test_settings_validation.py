"""Every invalid setting, from a profile, the environment or a flag, is one message that names
it, its allowed range, the value given and where it came from; at the CLI: one line, exit 2."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adaptive_stream import AdaptiveBufferSettings, SettingsError, load_settings
from adaptive_stream.cli import main

# (setting, a bad value as text, fragments the message must hold besides the name)
BAD_VALUES = [
    ("min_buffer_size", "0", [">= 1 and <= 10000"]),
    ("min_buffer_size", "7", ["1 <= min <= default <= max", "got 7, 6, 20"]),
    ("default_buffer_size", "abc", ["valid integer", ">= 1 and <= 10000"]),
    ("max_buffer_size", "10001", ["<= 10000"]),
    ("max_buffer_size", "2", ["1 <= min <= default <= max"]),
    ("cpu_low_threshold", "-1", [">= 0"]),
    ("cpu_high_threshold", "10", ["low must be below high", "got 20.0 and 10.0"]),
    ("memory_low_threshold", "101", [">= 0 and <= 100"]),
    ("memory_high_threshold", "nope", ["valid number", ">= 0 and <= 100"]),
    ("target_latency", "60ms", ["0 < target_latency < max_latency", "60ms and 50ms"]),
    ("target_latency", "-5ms", ["target_latency: must be from 0.1ms to 60s"]),
    ("max_latency", "soon", ["a duration such as 20ms"]),
    ("adaptation_interval", "0s", ["adaptation_interval: must be from 1ms to 60s"]),
    ("adaptation_interval", "1us", ["adaptation_interval: must be from 1ms", "got 0.001ms"]),
    ("adaptation_interval", "1e300", ["at most 3.16224e+07 s (a year)"]),
    ("adaptation_interval", "true", ["a duration such as 20ms"]),
    ("smoothing_factor", "0", ["> 0 and <= 1"]),
    ("smoothing_factor", "1.5", ["> 0 and <= 1"]),
    ("historical_weight", "0.6", ["must sum to 1", "0.6 + 0.3"]),
    ("current_weight", "2", [">= 0 and <= 1"]),
    ("cpu_weight", "-0.1", [">= 0"]),
    ("memory_weight", "x", ["valid number"]),
    ("latency_weight", "-1", [">= 0"]),
    ("percentage_multiplier", "0", ["> 0"]),
    ("policy", "magic", ["must be one of: ", "fixed", "jetkvm", "quality", "roc"]),
    ("latency_ceiling", "20ms", ["latency_ceiling: must be at least max_latency"]),
    ("latency_ceiling", "never", ["a duration such as 20ms"]),
    ("stale_after", "100ms", ["stale_after: must be at least adaptation_interval"]),
    ("stale_after", "later", ["a duration such as 20ms"]),
    ("frame_duration", "0ms", ["frame_duration: must be from 1ms to 1s"]),
    ("frame_duration", "1us", ["frame_duration: must be from 1ms to 1s", "0.001ms"]),
    ("frame_duration", "2s", ["frame_duration: must be from 1ms to 1s", "2s"]),
    ("buffer_size_override", "0", ["unset or an integer", ">= 1 and <= 10000"]),
    ("startup_grace", "-1s", ["startup_grace: must be from 0ms to 600s"]),
    ("shrink_after", "2h", ["shrink_after: must be from 1ms to 3600s"]),
    ("jitter_window", "1e300s", ["at most 3.16224e+07 s"]),
    ("cpu_high_threshold", "inf", ["finite number"]),
    ("cpu_weight", "1e400", ["finite number"]),
    ("latency_ceiling", "2m", ["latency_ceiling: must be from 1ms to 60s"]),
    ("shrink_after", "100ms", ["shrink_after: must be at least adaptation_interval"]),
    ("jitter_window", "0.1", ["jitter_window: must be at least adaptation_interval"]),
    ("jitter_quantile", "0.4", [">= 0.5 and <= 1"]),
    ("jitter_quantile", "1.01", [">= 0.5 and <= 1"]),
    ("underrun_growth", "0.9", [">= 1 and <= 4"]),
    ("load_headroom", "-1", ["an integer", ">= 0 and <= 10000"]),
]
IDS = [f"{name}={value}" for name, value, _ in BAD_VALUES]


def problems_of(error: SettingsError, name: str) -> list[str]:
    return [p for p in error.problems if name in p]


@pytest.mark.parametrize(("name", "value", "fragments"), BAD_VALUES, ids=IDS)
def test_a_bad_flag_is_named_with_its_range(name: str, value: str, fragments: list[str]) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**{name: value})
    [problem] = problems_of(caught.value, name)
    for fragment in fragments:
        assert fragment in problem
    assert "--" + name.replace("_", "-") in problem


@pytest.mark.parametrize(("name", "value", "fragments"), BAD_VALUES, ids=IDS)
def test_a_bad_environment_variable_is_named_as_such(
    name: str, value: str, fragments: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = "ADAPTIVE_STREAM_" + name.upper()
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [problem] = problems_of(caught.value, name)
    for fragment in fragments:
        assert fragment in problem
    assert f"environment variable {variable}" in problem


@pytest.mark.parametrize(("name", "value", "fragments"), BAD_VALUES, ids=IDS)
def test_a_bad_profile_value_names_the_file(
    name: str, value: str, fragments: list[str], tmp_path: Path
) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text(f"{name} = {value!r}\n".replace("'", '"'))
    with pytest.raises(SettingsError) as caught:
        load_settings(profile)
    [problem] = problems_of(caught.value, name)
    for fragment in fragments:
        assert fragment in problem
    assert f"profile {profile}" in problem


@pytest.mark.parametrize("bad", BAD_VALUES, ids=IDS)
@pytest.mark.parametrize("source", ["flag", "env", "profile"])
def test_the_cli_says_it_in_one_line_with_exit_2(
    bad: tuple[str, str, list[str]],
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, value, fragments = bad
    args = ["settings"]
    if source == "flag":
        args += ["--" + name.replace("_", "-") + "=" + value]
    elif source == "env":
        monkeypatch.setenv("ADAPTIVE_STREAM_" + name.upper(), value)
    else:
        profile = tmp_path / "p.toml"
        profile.write_text(f'{name} = "{value}"\n')
        args += ["--profile", str(profile)]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("adaptive-stream: invalid settings: ")
    assert len(err.splitlines()) == 1 and err.endswith("\n")
    assert name in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_the_winning_source_is_blamed_not_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "ok.toml"
    profile.write_text("max_buffer_size = 12\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(profile, smoothing_factor="2")
    message = str(caught.value)
    assert "flag --smoothing-factor" in message
    assert "ok.toml" not in message  # the profile was fine
    monkeypatch.setenv("ADAPTIVE_STREAM_MAX_BUFFER_SIZE", "2")
    with pytest.raises(SettingsError) as caught:
        load_settings(profile)
    message = str(caught.value)
    assert "max_buffer_size from environment variable ADAPTIVE_STREAM_MAX_BUFFER_SIZE" in message


def test_environment_names_are_case_insensitive_in_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("adaptive_stream_smoothing_factor", "3")
    with pytest.raises(SettingsError, match="environment variable adaptive_stream_smoothing"):
        load_settings()


def test_several_problems_are_one_message_each_in_one_line() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(min_buffer_size="0", smoothing_factor="9", policy="x")
    assert len(caught.value.problems) == 3
    assert "\n" not in str(caught.value)


def test_an_unknown_environment_variable_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, log_lines: list[str]
) -> None:
    monkeypatch.setenv("ADAPTIVE_STREAM_MAX_BUFER_SIZE", "12")
    assert load_settings() == AdaptiveBufferSettings()  # ignored, as pydantic-settings does
    assert any(
        "ADAPTIVE_STREAM_MAX_BUFER_SIZE names no setting" in line
        and "did you mean ADAPTIVE_STREAM_MAX_BUFFER_SIZE" in line
        for line in log_lines
    )


def test_the_new_settings_have_sane_defaults_and_accept_units(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = AdaptiveBufferSettings()
    assert s.latency_ceiling == timedelta(seconds=10)
    assert s.stale_after is None and s.metrics_stale_after == timedelta(milliseconds=1500)
    assert s.describe()["stale_after"] == "1500ms (3 x adaptation_interval)"
    assert load_settings(adaptation_interval="1s").metrics_stale_after == timedelta(seconds=3)
    monkeypatch.setenv("ADAPTIVE_STREAM_STALE_AFTER", "2.5s")
    monkeypatch.setenv("ADAPTIVE_STREAM_LATENCY_CEILING", "3000ms")
    s = load_settings()
    assert s.metrics_stale_after == timedelta(seconds=2.5)
    assert s.latency_ceiling == timedelta(seconds=3)


def test_a_bad_environment_gives_the_manager_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adaptive_stream import AdaptiveBufferManager

    monkeypatch.setenv("ADAPTIVE_STREAM_ADAPTATION_INTERVAL", "-1s")
    with pytest.raises(SettingsError, match="environment variable ADAPTIVE_STREAM_ADAPTATION"):
        AdaptiveBufferManager()


@pytest.mark.parametrize(
    "command", [["replay", "tests/data/sample.trace.csv"], ["demo"], ["run", "--duration", "1"]]
)
@pytest.mark.parametrize("source", ["flag", "env"])
def test_every_subcommand_reports_bad_settings_the_same_way(
    command: list[str],
    source: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(Path(__file__).parent.parent)
    args = list(command)
    if source == "flag":
        args += ["--stale-after", "100ms"]
    else:
        monkeypatch.setenv("ADAPTIVE_STREAM_STALE_AFTER", "100ms")
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("adaptive-stream: invalid settings: stale_after: must be at least")
    assert len(err.splitlines()) == 1
