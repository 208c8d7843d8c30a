"""The command line: help, demo, usage errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adaptive_stream.cli import main

DATA = Path(__file__).parent / "data"


def test_help_documents_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["replay", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    from adaptive_stream.settings import AdaptiveBufferSettings

    assert "--profile" in out
    for name in AdaptiveBufferSettings.model_fields:
        assert "--" + name.replace("_", "-") in out, name
    assert "(default: 20ms)" in out
    assert "(default: None)" not in out  # stale_after reads "unset", as its help explains


def test_demo_replays_the_bundled_trace_with_a_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Summary: 300 ticks, 295 decisions, 89 adjustments" in out
    assert "input size over time:" in out
    assert "3.000000,10,10,3.231,30.743,19.358705,1,1,1" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "adaptive_stream", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("adaptive-stream ")


def test_env_prefix_matches_the_settings() -> None:
    from adaptive_stream import cli, settings

    assert cli.ENV_PREFIX == settings.ENV_PREFIX


def _in_child(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTIVE_STREAM_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_plain_replay_does_not_import_pydantic() -> None:
    """Start-up time: replay with default settings needs neither pydantic nor loguru, nor
    the live command's module (its setting flags are declared from setting_names)."""
    unwanted = ("pydantic", "loguru", "psutil", "adaptive_stream.live")
    code = (
        "import sys, io, contextlib\n"
        "from adaptive_stream.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['replay', {str(DATA / 'sample.trace.csv')!r}]) == 0\n"
        f"print(sorted(m for m in {unwanted!r} if m in sys.modules))\n"
    )
    assert _in_child(code) == "[]"


def test_plain_replay_imports_no_other_policy_and_no_simulator() -> None:
    """The policies beyond jetkvm and the simulator are imported on first use only."""
    code = (
        "import sys, io, contextlib\n"
        "from adaptive_stream.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['replay', {str(DATA / 'sample.trace.csv')!r}]) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('adaptive_stream.')\n"
        "      and m.split('.')[-1] in ('feedback', 'oboe', 'neteq', 'roc', 'pulseaudio',\n"
        "                               'arrivals', 'simulation')))\n"
    )
    assert _in_child(code) == "[]"


def test_policies_are_imported_when_named() -> None:
    from adaptive_stream.policies import POLICIES, FeedbackPolicy

    assert POLICIES["feedback"] is FeedbackPolicy
    assert list(POLICIES)[:6] == ["jetkvm", "feedback", "oboe", "pulseaudio", "neteq", "roc"]
    assert "fixed" in POLICIES
    assert "roc" in POLICIES and "magic" not in POLICIES


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    """``replay`` declares only its own subcommand; help still shows them all."""
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for command in ("replay", "demo", "run", "simulate", "compare", "settings"):
        assert command in out, command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-buffer-size"], "argument --max-buffer-size: expected one argument"),
        (["stray"], "unrecognized arguments: stray"),
        (["--max-bufer-size", "3"], "unrecognized arguments: --max-bufer-size 3"),
        (["--max-buffer"], "unrecognized arguments: --max-buffer"),
    ],
)
def test_bad_setting_flags_are_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["replay", str(DATA / "sample.trace.csv"), *args])
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_setting_flags_accept_both_spellings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "--max-buffer-size=11", "--min-buffer-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "max_buffer_size" in out
    rows = dict(line.split(None, 1) for line in out.splitlines())
    assert (rows["max_buffer_size"], rows["min_buffer_size"]) == ("11", "2")


def test_a_setting_flag_before_the_trace_file_works(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--max-buffer-size", "8", str(DATA / "sample.trace.csv")]) == 0
    before = capsys.readouterr().out
    assert main(["replay", str(DATA / "sample.trace.csv"), "--max-buffer-size", "8"]) == 0
    assert capsys.readouterr().out == before
    assert max(int(row.split(",")[1]) for row in before.splitlines()[1:]) <= 8
    assert main(["replay", str(DATA / "sample.trace.csv")]) == 0
    assert capsys.readouterr().out != before  # the flag was not ignored


def test_setting_names_are_the_settings_fields() -> None:
    from adaptive_stream.setting_names import SETTING_NAMES
    from adaptive_stream.settings import AdaptiveBufferSettings

    assert tuple(AdaptiveBufferSettings.model_fields) == SETTING_NAMES


def test_every_setting_flag_is_an_argparse_option() -> None:
    from adaptive_stream.cli import build_parser
    from adaptive_stream.setting_names import SETTING_NAMES

    parser = build_parser()
    for command in ("replay", "demo", "run", "simulate", "compare", "settings"):
        needs = {"replay": ["trace.csv"], "simulate": ["--scenario", "steady"]}
        args = parser.parse_args(
            [command, *needs.get(command, []), "--jitter-quantile", "0.9", "--log-level=debug"]
        )
        assert (args.setting_jitter_quantile, args.setting_log_level) == ("0.9", "debug")
        for name in SETTING_NAMES:
            assert hasattr(args, f"setting_{name}"), (command, name)
