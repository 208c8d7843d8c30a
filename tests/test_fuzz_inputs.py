"""Fuzzing everything else a user hands the command: setting flags, profiles, scenario files,
and outputs that fail at any point. Any input gives either the result (exit 0) or one line
on stderr (exit 2), never a traceback; an output is written whole or reported, never half.
Bounded: ``FUZZ_EXAMPLES`` examples per test (150 by default), no deadline."""

from __future__ import annotations

import contextlib
import errno
import io
import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adaptive_stream.cli import main
from adaptive_stream.output import OutputError, write_file
from adaptive_stream.setting_names import SETTING_NAMES
from adaptive_stream.simulation import ScenarioError, load_scenario

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Values as a user (or a careless script) might type them.
VALUE_TEXT = st.one_of(
    st.sampled_from(
        [
            "0",
            "-1",
            "1e300",
            "-1e300",
            "inf",
            "-inf",
            "nan",
            "true",
            "false",
            "",
            " ",
            "1us",
            "20ms",
            "0.5s",
            "2m",
            "1h",
            "PT1S",
            "P9999999999D",
            "10001",
            "0.95",
            "jetkvm",
            "feedback",
            "debug",
            "1e-300",
            "9" * 400,
        ]
    ),
    st.text(max_size=30),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


def _toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


#: TOML values, written as literals.
TOML_VALUE = st.one_of(
    st.booleans().map(lambda b: "true" if b else "false"),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(_toml_float),
    VALUE_TEXT.map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.just("[1, 2]"),
    st.just("{ a = 1 }"),
    st.just("1979-05-27T07:32:00Z"),
)


def _main(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def _one_line_or_success(code: int, err: str) -> None:
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("adaptive-stream: "), err
        assert "Traceback" not in err


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(SETTING_NAMES), VALUE_TEXT), min_size=1, max_size=4))
def test_any_setting_flags(flags: list[tuple[str, str]]) -> None:
    args = ["settings", *(f"--{name.replace('_', '-')}={value}" for name, value in flags)]
    try:
        code, _, err = _main(args)
    except SystemExit as exit_:  # argparse: a usage error, one line, exit 2
        code, err = int(exit_.code or 0), "adaptive-stream: usage\n"
    _one_line_or_success(code, err)


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from([*SETTING_NAMES, "adaptive_stream", "nonsense"]), TOML_VALUE),
        max_size=6,
    ),
    st.booleans(),
)
def test_any_profile(entries: list[tuple[str, str]], sectioned: bool) -> None:
    body = "".join(f"{name} = {value}\n" for name, value in dict(entries).items())
    text = ("[adaptive_stream]\n" if sectioned else "") + body
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "p.toml"
        profile.write_text(text)
        code, _, err = _main(["settings", "--profile", str(profile)])
    _one_line_or_success(code, err)


@FUZZ
@given(st.binary(max_size=300))
def test_any_profile_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "p.toml"
        profile.write_bytes(data)
        code, _, err = _main(["settings", "--profile", str(profile)])
    _one_line_or_success(code, err)


PHASE_FIELDS = [
    "name",
    "duration",
    "cpu_percent",
    "memory_percent",
    "network_delay",
    "jitter",
    "burst_rate",
    "burst_length",
    "metrics",
    "bogus",
]
TOP_FIELDS = ["name", "description", "seed", "startup", "startup_delay", "bogus"]


@FUZZ
@given(
    st.dictionaries(st.sampled_from(TOP_FIELDS), TOML_VALUE, max_size=4),
    st.lists(st.dictionaries(st.sampled_from(PHASE_FIELDS), TOML_VALUE, max_size=5), max_size=3),
)
def test_any_scenario_file(top: dict[str, str], phases: list[dict[str, str]]) -> None:
    text = "".join(f"{k} = {v}\n" for k, v in top.items())
    for phase in phases:
        text += "[[phases]]\n" + "".join(f"{k} = {v}\n" for k, v in phase.items())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.toml"
        path.write_text(text)
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            message = str(exc)
            assert "\n" not in message and str(path) in message
        else:
            assert scenario.phases and scenario.duration.total_seconds() > 0


@FUZZ
@given(
    payload=st.binary(min_size=0, max_size=5000),
    chunk=st.integers(min_value=1, max_value=700),
    fail_after=st.one_of(st.none(), st.integers(min_value=0, max_value=5000)),
    code=st.sampled_from([errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG]),
)
def test_outputs_failing_anywhere_are_whole_or_reported(
    payload: bytes, chunk: int, fail_after: int | None, code: int, tmp_path: Path
) -> None:
    """The kernel writes at most ``chunk`` bytes per call and fails with ``code`` once
    ``fail_after`` bytes are written: the file is then the old one, never a part."""
    real_write = os.write
    written = 0

    def flaky(fd: int, data: bytes | memoryview) -> int:
        nonlocal written
        if fail_after is not None and written >= fail_after:
            raise OSError(code, os.strerror(code))
        count = real_write(fd, bytes(data[:chunk]))
        written += count
        return count

    target = tmp_path / "results.csv"
    target.write_bytes(b"previous")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "write", flaky)
        try:
            write_file(target, payload)
        except OutputError as exc:
            assert str(exc).startswith(f"cannot write output {target}: ")
            assert target.read_bytes() == b"previous"
        else:
            assert target.read_bytes() == payload
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]
    target.unlink()
