"""Every command that writes results writes all of it, or says ``cannot write output: ...``
in one line and exits 2: a full device, a closed standard output, short writes. Standard
error closed or full never turns into a traceback either."""

from __future__ import annotations

import errno
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from adaptive_stream.output import OutputError, ReaderGone, write_file, write_stdout

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "sample.trace.csv"
CLI = f"{shlex.quote(sys.executable)} -m adaptive_stream"

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")

COMMANDS = {
    "replay": f"replay {SAMPLE}",
    "demo": "demo",
    "settings": "settings",
    "simulate": "simulate --scenario steady --no-timeline",
    "compare": "compare --scenario steady --policies jetkvm,feedback",
    "run": "run --duration 0.3s --adaptation-interval 100ms",
}


def _shell(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_full_device_is_blamed_on_the_output(name: str, tmp_path: Path) -> None:
    done = _shell(f"{CLI} {COMMANDS[name]} >/dev/full", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "adaptive-stream: cannot write output (standard output): No space left on device"
    ]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_closed_standard_output_is_one_line(name: str, tmp_path: Path) -> None:
    done = _shell(f"{CLI} {COMMANDS[name]} >&-", tmp_path)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("adaptive-stream: cannot write output (standard output):")
    assert "closed" in line


@pytest.mark.parametrize("redirect", ["2>&-", "2>/dev/full"])
@pytest.mark.parametrize("name", ["replay", "simulate", "run"])
def test_a_closed_or_full_standard_error_changes_nothing(
    name: str, redirect: str, tmp_path: Path
) -> None:
    done = _shell(f"{CLI} {COMMANDS[name]} {redirect} | wc -l", tmp_path)
    assert int(done.stdout) > 1


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    done = _shell(f"set -o pipefail; {CLI} {COMMANDS['replay']} | head -1", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("t,input_buffer_size")


def test_short_writes_are_completed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The kernel may write less than asked (a nearly full disk): the rest is written."""
    real_write = os.write
    calls: list[int] = []

    def short_write(fd: int, data: bytes | memoryview) -> int:
        calls.append(len(data))
        return real_write(fd, bytes(data[:7]))

    target = tmp_path / "out.csv"
    text = "a,b,c\n" * 1000
    monkeypatch.setattr(os, "write", short_write)
    write_file(target, text)
    monkeypatch.undo()
    assert target.read_text() == text
    assert len(calls) > 100


def test_a_write_that_fails_midway_leaves_the_old_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "figures.json"
    target.write_text("old")
    real_write = os.write
    state = {"written": 0}

    def fail_after_some(fd: int, data: bytes | memoryview) -> int:
        if state["written"] > 100:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        state["written"] += real_write(fd, bytes(data[:64]))
        return min(len(data), 64)

    monkeypatch.setattr(os, "write", fail_after_some)
    with pytest.raises(OutputError, match=f"cannot write output {target}: No space left"):
        write_file(target, "new" * 1000)
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["figures.json"]  # no temporary left


def test_write_file_keeps_the_mode_of_a_new_file_as_open_would(tmp_path: Path) -> None:
    target = tmp_path / "new.csv"
    write_file(target, b"x\n")
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_stdout_to_a_full_device(monkeypatch: pytest.MonkeyPatch) -> None:
    with open("/dev/full", "w") as full:
        monkeypatch.setattr(sys, "stdout", full)
        with pytest.raises(OutputError) as caught:
            write_stdout("x" * 100_000)
    assert str(caught.value) == "cannot write output (standard output): No space left on device"
    assert not isinstance(caught.value, ReaderGone)
