"""tools/policy_tables.py: the summaries behind docs/policies.md's tables, and ``--rounds``
(the recommended policy of a git revision against the current one, read from the JSON)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tool_modules import load_tool

ROOT = Path(__file__).resolve().parent.parent
policy_tables = load_tool("policy_tables")


def _rows(quality: float, other: float, fixed: float) -> dict[str, dict[str, float]]:
    return {"quality": {"mos": quality}, "neteq": {"mos": other}, "best-fixed": {"mos": fixed}}


def _document(scenarios: dict[str, dict[str, dict[str, float]]]) -> str:
    return json.dumps({"seeds": [1, 2], "scenarios": scenarios})


class TestSummary:
    def test_counts_wins_against_live_policies_and_best_fixed(self) -> None:
        summary = policy_tables.summarise(
            {
                "a": _rows(4.0, 3.9, 3.8),  # best of all
                "b": _rows(4.0, 3.9, 4.2),  # best live, below best-fixed
                "c": _rows(3.0, 3.5, 2.0),  # above best-fixed, below a live one
            }
        )
        assert summary.scenarios == 3
        assert summary.wins == 1
        assert summary.best_live == 2
        assert summary.beats_fixed == 2
        assert summary.mean_margin == pytest.approx((0.1 - 0.2 - 0.5) / 3)

    def test_a_tie_is_a_win(self) -> None:
        assert policy_tables.summarise({"a": _rows(4.0, 4.0, 4.0)}).wins == 1

    def test_no_scenarios(self) -> None:
        assert policy_tables.summarise({}) == policy_tables.Summary(0, 0, 0, 0, 0.0)


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class TestRounds:
    def test_reads_the_revision_and_the_working_tree(self, tmp_path: Path) -> None:
        _git(tmp_path, "init", "-q")
        data = tmp_path / "data"
        data.mkdir()
        (data / "a.json").write_text(_document({"a": _rows(3.0, 3.5, 3.4)}))
        _git(tmp_path, "add", ".")
        _git(tmp_path, "commit", "-q", "-m", "before")
        before = _git(tmp_path, "rev-parse", "--short", "HEAD")
        (data / "a.json").write_text(_document({"a": _rows(3.6, 3.5, 3.4)}))
        (data / "b.json").write_text(_document({"b": _rows(4.0, 4.1, 4.2)}))
        (tmp_path / "new").mkdir()
        (tmp_path / "new" / "c.json").write_text(_document({"c": _rows(4.0, 3.0, 3.0)}))

        table = policy_tables.rounds(
            tmp_path, before, [("old set", "data/*.json"), ("new set", "new/*.json")]
        ).splitlines()

        assert table[0].startswith(f"| set | scenarios | wins, {before} | wins, now |")
        # Then: one scenario (b not committed), lost by 0.5; now: a won by 0.1, b lost by 0.2.
        assert table[2] == "| old set | 2 | 0 | 1 | -0.500 | -0.050 |"
        # Not committed at the revision: empty cells.
        assert table[3] == "| new set | 1 |  | 1 |  | +1.000 |"

    def test_a_set_with_no_files_is_an_error(self, tmp_path: Path) -> None:
        _git(tmp_path, "init", "-q")
        with pytest.raises(ValueError, match="no JSON files match"):
            policy_tables.rounds(tmp_path, "HEAD", [("none", "data/*.json")])

    def test_command_line_error_is_one_line_and_exit_2(self, tmp_path: Path) -> None:
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools" / "policy_tables.py"),
                "--rounds",
                "HEAD",
                "none=docs/data/no-such-set/*.json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert "docs/data/no-such-set/*.json: no JSON files match" in done.stderr.splitlines()[-1]
