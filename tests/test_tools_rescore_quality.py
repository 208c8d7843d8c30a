"""tools/rescore_quality.py: ``quality`` run again on the scenarios of ``compare`` JSON files,
against the other policies' figures in them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_simulation import SHORT
from tool_modules import load_tool

from adaptive_stream.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
rescore_quality = load_tool("rescore_quality")


@pytest.fixture
def compared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A folder with a scenario and its ``compare --format json`` (two seeds, three
    policies): ``short.toml`` and ``short.json``."""
    scenario = tmp_path / "short.toml"
    scenario.write_text(SHORT)
    args = ["compare", "--scenario", str(scenario), "--policies", "quality,roc,neteq"]
    assert cli([*args, "--seeds", "1,2", "--format", "json"]) == 0
    (tmp_path / "short.json").write_text(capsys.readouterr().out)
    return tmp_path


def _edited(path: Path, mos: float) -> None:
    """``path``'s quality rows given MOS ``mos`` on every seed (a policy that scored so)."""
    document = json.loads(path.read_text())
    for scenarios in document["per_seed"].values():
        scenarios["short"]["quality"]["mos"] = mos
    path.write_text(json.dumps(document))


class TestRescore:
    def test_the_same_policy_scores_the_same(self, compared: Path) -> None:
        runs = rescore_quality.load_runs([compared / "short.json"])
        [row] = rescore_quality.rescore(runs, compared, None, 1)
        document = json.loads((compared / "short.json").read_text())
        assert row.before == row.now == document["scenarios"]["short"]["quality"]["mos"]
        others = {p: v["mos"] for p, v in document["scenarios"]["short"].items()}
        del others["quality"]
        assert row.best_other == max(others.values())
        assert row.best_name == max(others, key=lambda p: (others[p], p))
        assert "quality's mean MOS +0.0000" in rescore_quality.summary([row])

    def test_a_change_of_the_policy_shows(self, compared: Path) -> None:
        _edited(compared / "short.json", 1.0)  # as if the committed policy had scored 1.0
        [row] = rescore_quality.rescore(
            rescore_quality.load_runs([compared / "short.json"]), compared, None, 1
        )
        assert row.before == 1.0
        assert row.now > 1.0
        line = rescore_quality.summary([row])
        assert f"quality's mean MOS {row.now - 1.0:+.4f}" in line
        wins_now = int(row.now >= row.best_other)
        assert f"best of all on 0 -> {wins_now}" in line

    def test_a_file_with_quality_alone_is_an_error(self, compared: Path) -> None:
        document = json.loads((compared / "short.json").read_text())
        for scenarios in document["per_seed"].values():
            scenarios["short"] = {"quality": scenarios["short"]["quality"]}
        (compared / "short.json").write_text(json.dumps(document))
        runs = rescore_quality.load_runs([compared / "short.json"])
        with pytest.raises(rescore_quality.ToolError, match="no other policy on every seed"):
            rescore_quality.rescore(runs, compared, None, 1)

    def test_jobs_give_the_same_rows(self, compared: Path) -> None:
        runs = rescore_quality.load_runs([compared / "short.json"])
        alone = rescore_quality.rescore(runs, compared, None, 1)
        assert rescore_quality.rescore(runs, compared, None, 2) == alone

    def test_scenarios_one_folder_down_and_bundled_names(self, tmp_path: Path) -> None:
        (tmp_path / "set").mkdir()
        (tmp_path / "set" / "short.toml").write_text(SHORT)
        assert rescore_quality.scenario_file("short", tmp_path) == str(
            tmp_path / "set" / "short.toml"
        )
        assert rescore_quality.scenario_file("steady", None) == "steady"
        with pytest.raises(rescore_quality.ToolError, match=r"no other\.toml"):
            rescore_quality.scenario_file("other", tmp_path)


class TestCommandLine:
    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "tools" / "rescore_quality.py"), *args],
            capture_output=True,
            check=False,
            text=True,
            timeout=300,
            cwd=ROOT,
        )

    def test_prints_the_summary_and_a_line_per_scenario(self, compared: Path) -> None:
        done = self._run("--scenarios", str(compared), "--verbose", str(compared / "short.json"))
        assert done.returncode == 0, done.stderr
        detail, summary = done.stdout.splitlines()
        assert detail.startswith("  short: quality ")
        assert "(+0.000)" in detail
        assert summary.startswith("1 scenarios: best of all on ")
        assert "quality's mean MOS +0.0000" in summary

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            (None, "cannot read"),
            ("{not json", "not the JSON of compare --format json"),
            ('{"seeds": [1]}', "not the JSON of compare --format json"),
            ('{"per_seed": {"1": {"short": {"roc": {"mos": 3.0}}}}}', "has no quality row"),
            ('{"per_seed": {}}', "no scenario in the files"),
        ],
    )
    def test_a_bad_file_is_one_line_and_exit_2(
        self, tmp_path: Path, content: str | None, expected: str
    ) -> None:
        path = tmp_path / "set.json"
        if content is not None:
            path.write_text(content)
        done = self._run(str(path))
        assert done.returncode == 2
        assert done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith(f"rescore_quality: {path}")
        assert expected in line

    def test_a_missing_scenario_is_one_line_and_exit_2(self, compared: Path) -> None:
        (compared / "short.toml").unlink()
        done = self._run("--scenarios", str(compared), str(compared / "short.json"))
        assert done.returncode == 2
        [line] = done.stderr.splitlines()
        assert line == f"rescore_quality: {compared}: no short.toml (in it or one folder below)"

    def test_bad_settings_are_one_line_and_exit_2(self, compared: Path) -> None:
        done = self._run(
            "--scenarios", str(compared), "--profile", "nope", str(compared / "short.json")
        )
        assert done.returncode == 2
        [line] = done.stderr.splitlines()
        assert line.startswith("rescore_quality: ")
        assert "nope" in line
