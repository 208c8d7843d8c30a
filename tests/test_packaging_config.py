"""The bundled profiles, scenarios and sample trace: one copy each, found by name from any
working directory (package data, read with importlib.resources)."""

from __future__ import annotations

from pathlib import Path

import pytest

import adaptive_stream
from adaptive_stream import load_settings
from adaptive_stream.config_files import bundled
from adaptive_stream.simulation import bundled_scenarios, load_scenario

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(adaptive_stream.__file__).resolve().parent


def test_top_level_config_is_the_package_folder_not_a_copy() -> None:
    assert (ROOT / "config").is_symlink()
    assert (ROOT / "config").resolve() == PACKAGE / "config"
    assert Path(str(bundled())).resolve() == PACKAGE / "config"


def test_the_sample_trace_has_one_copy() -> None:
    copies = [
        path
        for path in [*ROOT.glob("tests/data/*.csv"), *PACKAGE.glob("data/*.csv")]
        if path.name == "sample.trace.csv" and not path.is_symlink()
    ]
    assert copies == [PACKAGE / "data" / "sample.trace.csv"]
    assert (ROOT / "tests" / "data" / "sample.trace.csv").resolve() == copies[0]


@pytest.mark.parametrize("name", ["jetkvm", "desktop", "feedback"])
def test_profiles_are_found_by_name_from_another_directory(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(name) == load_settings(PACKAGE / "config" / f"{name}.toml")


def test_scenarios_are_found_by_name_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    names = sorted(bundled_scenarios())
    assert "cpu-spikes" in names
    assert names == sorted(p.stem for p in (PACKAGE / "config" / "scenarios").glob("*.toml"))
    assert load_scenario("cpu-spikes").name == "cpu-spikes"


def test_a_local_config_copy_is_found_before_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jetkvm.toml").write_text("max_buffer_size = 12\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings("jetkvm").max_buffer_size == 12
