"""The policy-evaluation scenario sets (tools/make_scenarios.py): seeded, committed as
generated (the held-out set cannot drift from its definition), and every one runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from adaptive_stream.simulation import load_scenario

ROOT = Path(__file__).parent.parent
SETS = ROOT / "adaptive_stream" / "config" / "scenarios"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_scenarios", ROOT / "tools" / "make_scenarios.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_scenarios"] = module
    spec.loader.exec_module(module)
    return module


def test_the_committed_sets_are_what_the_generator_writes(tmp_path: Path) -> None:
    written = generator().write_sets(tmp_path, 2026)
    assert len(written) == 100
    for path in written:
        relative = path.relative_to(tmp_path)
        assert (SETS / relative).read_bytes() == path.read_bytes(), relative
    committed = {p.relative_to(SETS) for s in ("dev", "heldout") for p in (SETS / s).iterdir()}
    assert committed == {p.relative_to(tmp_path) for p in written}


def test_the_second_held_out_set_is_what_the_generator_writes(tmp_path: Path) -> None:
    written = generator().write_heldout2(tmp_path, 3035)
    assert {p.relative_to(tmp_path) for p in written} == {
        p.relative_to(SETS) for p in (SETS / "heldout2").iterdir()
    }
    for path in written:
        assert (SETS / path.relative_to(tmp_path)).read_bytes() == path.read_bytes()
    names = {p.stem for p in written if p.suffix == ".toml"}
    assert {"wifi-1", "wifi-2", "rtt-ramp-1", "rtt-ramp-2", "cpu-1"} <= names


def test_another_seed_draws_other_scenarios(tmp_path: Path) -> None:
    generator().write_sets(tmp_path, 7)
    assert (tmp_path / "dev" / "cpu-1.toml").read_text() != (
        SETS / "dev" / "cpu-1.toml"
    ).read_text()


@pytest.mark.parametrize(
    "path", sorted(SETS.glob("*/*.toml")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.duration.total_seconds() > 30


def test_the_sets_ship_with_the_package_but_are_not_bundled_scenarios() -> None:
    """``compare --scenario all`` runs the bundled top-level scenarios only; the sets are
    passed as folders or files."""
    from adaptive_stream.simulation import bundled_scenarios

    bundled = set(bundled_scenarios())
    assert bundled == {p.stem for p in SETS.glob("*.toml")}
    for name in ("dev", "heldout", "heldout2"):
        stems = {p.stem for p in (SETS / name).glob("*.toml")}
        assert stems, name
        assert not stems & bundled, name
