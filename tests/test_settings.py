"""Settings: defaults, profiles, environment, flags, and what invalid values say."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adaptive_stream import AdaptiveBufferSettings, SettingsError, load_settings
from adaptive_stream.cli import main

ROOT = Path(__file__).parent.parent


def test_defaults_are_the_jetkvm_values() -> None:
    s = AdaptiveBufferSettings()
    assert (s.min_buffer_size, s.default_buffer_size, s.max_buffer_size) == (3, 6, 20)
    assert (s.cpu_low_threshold, s.cpu_high_threshold) == (20.0, 60.0)
    assert (s.memory_low_threshold, s.memory_high_threshold) == (50.0, 75.0)
    assert s.target_latency == timedelta(milliseconds=20)
    assert s.max_latency == timedelta(milliseconds=50)
    assert s.adaptation_interval == timedelta(milliseconds=500)
    assert s.smoothing_factor == 0.3
    assert (s.historical_weight, s.current_weight) == (0.7, 0.3)
    assert (s.cpu_weight, s.memory_weight, s.latency_weight) == (0.5, 0.3, 0.2)
    assert s.percentage_multiplier == 100.0
    assert s.policy == "jetkvm"


def test_every_field_is_documented() -> None:
    for name, field in AdaptiveBufferSettings.model_fields.items():
        assert field.description, f"{name} has no docstring"


def test_jetkvm_profile_reproduces_the_defaults() -> None:
    assert load_settings(ROOT / "config" / "jetkvm.toml") == AdaptiveBufferSettings()
    assert load_settings("jetkvm") == AdaptiveBufferSettings()


def test_every_bundled_profile_is_valid() -> None:
    for profile in sorted((ROOT / "config").glob("*.toml")):
        load_settings(profile)


def test_desktop_profile_is_lower_latency() -> None:
    desktop = load_settings("desktop")
    assert desktop.max_buffer_size < AdaptiveBufferSettings().max_buffer_size
    assert desktop.target_latency == timedelta(milliseconds=10)


def test_sources_override_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('max_buffer_size = 15\nmin_buffer_size = 2\ntarget_latency = "15ms"\n')
    assert load_settings(profile).max_buffer_size == 15
    monkeypatch.setenv("ADAPTIVE_STREAM_MAX_BUFFER_SIZE", "14")
    monkeypatch.setenv("ADAPTIVE_STREAM_TARGET_LATENCY", "0.012")
    s = load_settings(profile)
    assert (s.max_buffer_size, s.min_buffer_size) == (14, 2)  # env over profile
    assert s.target_latency == timedelta(milliseconds=12)
    s = load_settings(profile, max_buffer_size="13")
    assert s.max_buffer_size == 13  # flags over env


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20ms", timedelta(milliseconds=20)),
        ("0.5 s", timedelta(milliseconds=500)),
        ("15000us", timedelta(microseconds=15000)),
        ("2", timedelta(seconds=2)),
        (0.25, timedelta(milliseconds=250)),
        ("PT0.5S", timedelta(milliseconds=500)),
    ],
)
def test_durations_accept_units(text: object, expected: timedelta) -> None:
    assert load_settings(adaptation_interval=text).adaptation_interval == expected


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        ({"min_buffer_size": 0}, ["min_buffer_size", "greater than or equal to 1"]),
        ({"min_buffer_size": 7}, ["1 <= min <= default <= max", "got 7, 6, 20"]),
        ({"max_buffer_size": 5}, ["min_buffer_size, default_buffer_size, max_buffer_size"]),
        ({"cpu_low_threshold": 70}, ["cpu_low_threshold, cpu_high_threshold", "below high"]),
        ({"memory_high_threshold": 120}, ["memory_high_threshold", "less than or equal to 100"]),
        ({"target_latency": "60ms"}, ["0 < target_latency < max_latency", "60ms and 50ms"]),
        ({"target_latency": "0ms"}, ["target_latency: must be from 0.1ms to 60s"]),
        ({"smoothing_factor": 0}, ["smoothing_factor", "greater than 0"]),
        ({"smoothing_factor": 1.5}, ["smoothing_factor", "less than or equal to 1"]),
        ({"cpu_weight": -0.1}, ["cpu_weight", "greater than or equal to 0"]),
        ({"historical_weight": 0.6}, ["historical_weight, current_weight", "sum to 1"]),
        ({"adaptation_interval": "0s"}, ["adaptation_interval", "from 1ms to 60s"]),
        ({"adaptation_interval": "soon"}, ["adaptation_interval"]),
        ({"policy": "magic"}, ["policy", "jetkvm"]),
    ],
)
def test_invalid_values_name_the_setting_and_the_range(
    overrides: dict[str, object], fragments: list[str]
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)  # type: ignore[arg-type]
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_profile_problems_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("max_buffer_size = \n")
    with pytest.raises(SettingsError, match=r"bad\.toml.*invalid TOML"):
        load_settings(bad)
    bad.write_text("max_bufer_size = 12\n")
    with pytest.raises(SettingsError, match=r"unknown setting 'max_bufer_size'"):
        load_settings(bad)
    with pytest.raises(SettingsError, match="profile file not found"):
        load_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["--smoothing-factor", "2"], {}, "smoothing_factor"),
        ([], {"ADAPTIVE_STREAM_MAX_BUFFER_SIZE": "abc"}, "max_buffer_size"),
        (["--profile", "no-such-profile"], {}, "profile file not found"),
    ],
)
def test_cli_reports_invalid_settings_in_one_line_with_exit_2(
    args: list[str],
    env: dict[str, str],
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["settings", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("adaptive-stream: invalid settings:")
    assert fragment in err and err.count("\n") == 1


def test_cli_settings_prints_what_is_in_force(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "--profile", "desktop", "--max-buffer-size", "10"]) == 0
    rows = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert rows["max_buffer_size"] == "10"
    assert rows["target_latency"] == "10ms"
    assert rows["min_buffer_size"] == "2"


def test_log_level_is_a_setting_from_any_source(monkeypatch: pytest.MonkeyPatch) -> None:
    from adaptive_stream.settings import LOG_LEVELS, SettingsError, load_settings
    from adaptive_stream.sinks.log import LOG_LEVELS as LEVELS

    assert LEVELS == LOG_LEVELS  # the sink's copy (no pydantic import there) stays in step
    assert load_settings().log_level is None  # unset: the run picks WARNING or INFO
    monkeypatch.setenv("ADAPTIVE_STREAM_LOG_LEVEL", " debug ")
    assert load_settings().log_level == "DEBUG"
    assert load_settings(log_level="error").log_level == "ERROR"  # a flag wins
    with pytest.raises(SettingsError, match=r"log_level: must be one of TRACE, DEBUG"):
        load_settings(log_level="loud")
