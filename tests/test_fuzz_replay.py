"""Fuzzing the trace reader through ``adaptive-stream replay -``: any input gives either the
decision CSV (exit 0) or exactly one error line naming a line number (exit 2), never a
traceback. Bounded: 300 examples per strategy (``FUZZ_EXAMPLES`` to change it), no deadline."""

from __future__ import annotations

import io
import os
import re
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adaptive_stream.cli import main
from adaptive_stream.replay import OUTPUT_HEADER

HEADER = "t,kind,cpu_percent,memory_percent,latency_ms"
ERROR_LINE = re.compile(r"^adaptive-stream: -: line [1-9]\d*: \S.*\n\Z", re.DOTALL)
#: A replay that succeeds may say, in one line, that some rows held values no live source
#: gives (replayed unchecked, as the original took them).
NOTE_LINE = re.compile(
    r"^adaptive-stream: note: .*: [1-9]\d* rows? holds? values .*\(first: line [1-9]\d*: .*\)"
    r".*\n\Z",
    re.DOTALL,
)
#: Examples per strategy: 300 in the suite; FUZZ_EXAMPLES=20000 for a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def run_replay(
    data: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``adaptive-stream replay -`` with ``data`` on standard input (decoded as UTF-8, as a
    UTF-8 locale's stdin is), so undecodable bytes reach the reader as they would live."""
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdin", stdin)
    capsys.readouterr()  # drop what an earlier example printed
    code = main(["replay", "-"])
    out, err = capsys.readouterr()
    return code, out, err


def check(code: int, out: str, err: str) -> None:
    if code == 0:
        assert err == "" or (NOTE_LINE.match(err) and len(err.splitlines()) == 1), err
        assert out.startswith(OUTPUT_HEADER + "\n")
        for row in out.splitlines()[1:]:
            assert row.count(",") == 8, row
    else:
        assert code == 2
        assert out == ""
        assert ERROR_LINE.match(err), err
        assert len(err.splitlines()) == 1, err  # no \v, \f, \x1c.. or \u2028 line breaks
        assert "Traceback" not in err


@FUZZ
@given(data=st.binary(max_size=400))
@example(data=b"")
@example(data=b"\xff\xfe")
@example(data=HEADER.encode() + b"\n\xff")
@example(data=HEADER.encode() + b"\n1,tick,,,\n\x00")
def test_arbitrary_bytes(
    data: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check(*run_replay(data, monkeypatch, capsys))


@FUZZ
@given(text=st.text(max_size=300))
def test_arbitrary_text_after_a_valid_header(
    text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (HEADER + "\n" + text).encode("utf-8", "surrogatepass")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data = data.decode("utf-8", "replace").encode()
    check(*run_replay(data, monkeypatch, capsys))


# Near-valid rows: the right shape, with values from the edges of what a float can say.
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-0",
            "1e308",
            "1e-320",
            "9e15",
            "1e12",
            "-1e12",
            "nan",
            "-inf",
            "Infinity",
            "1_000",
            " 5 ",
            "0x10",
            "١٢",  # Arabic-Indic digits: float() accepts them
            "5\u2028",
            "5\x0b",
            '"5"',
            "5,",
        ]
    ),
)
KINDS = st.sampled_from(["tick", "metrics", "latency", "Tick", " tick", "", "bogus", '"tick"'])
ROWS = st.tuples(NUMBERS, KINDS, NUMBERS, NUMBERS, NUMBERS).map(",".join)
NEAR_VALID = st.lists(ROWS, max_size=12).map(lambda rows: "\n".join([HEADER, *rows]) + "\n")


@FUZZ
@given(trace=NEAR_VALID)
@example(trace=HEADER + "\n1e12,tick,,,\n")  # a tick beyond the year 9999
@example(trace=HEADER + "\n0,metrics,5,10,\n-1e12,tick,,,\n")
@example(trace=HEADER + "\n0,latency,,,1e308\n0,metrics,5,10,\n1,tick,,,\n")  # ns overflow
@example(trace=HEADER + "\n0,latency,,,9e15\n0,metrics,5,10,\n1,tick,,,\n")
@example(trace=HEADER + "\n5\u2028,metrics,1,1,\n1,tick,,,\n")
@example(trace=HEADER + "\n5,metrics,1,1,\n3\u2028,tick,,,\n")  # backwards, odd whitespace
@example(trace=HEADER + "\n0,latency,,,-1\x0b\n")
@example(trace=HEADER + "\n0,metrics,-1\x0c,1,\n")
@example(trace=HEADER + "\n0,metrics,1e308,1,\n1,tick,,,\n")
def test_near_valid_traces(
    trace: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check(*run_replay(trace.encode("utf-8"), monkeypatch, capsys))


@FUZZ
@given(
    events=st.lists(
        st.one_of(
            st.tuples(st.just("metrics"), st.floats(0, 1e6), st.floats(0, 100)),
            st.tuples(st.just("latency"), st.floats(0, 1e9)),
            st.tuples(st.just("tick")),
        ),
        max_size=40,
    )
)
def test_valid_traces_always_replay(
    events: list[tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [HEADER]
    ticks_with_metrics = 0
    have_metrics = False
    for i, event in enumerate(events):
        kind = event[0]
        if kind == "metrics":
            rows.append(f"{i},metrics,{event[1]!r},{event[2]!r},")
            have_metrics = True
        elif kind == "latency":
            rows.append(f"{i},latency,,,{event[1]!r}")
        else:
            rows.append(f"{i},tick,,,")
            ticks_with_metrics += have_metrics
    code, out, err = run_replay(("\n".join(rows) + "\n").encode(), monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 1 + ticks_with_metrics


@FUZZ
@given(
    data=st.lists(
        st.one_of(ROWS, st.binary(max_size=30).map(lambda b: b.decode("latin-1"))),
        max_size=8,
    ),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_trace_files_with_any_line_ending(
    data: list[str],
    newline: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The file path (opened with ``newline=""``), not standard input."""
    path = tmp_path_factory.mktemp("fuzz") / "trace.csv"
    path.write_bytes(newline.join([HEADER, *data]).encode("utf-8", "surrogateescape"))
    capsys.readouterr()
    code = main(["replay", str(path)])
    out, err = capsys.readouterr()
    if code == 0:
        assert err == "" or (NOTE_LINE.match(err) and len(err.splitlines()) == 1), err
        assert out.startswith(OUTPUT_HEADER + "\n")
    else:
        assert code == 2 and out == ""
        assert re.match(rf"^adaptive-stream: {re.escape(str(path))}: line [1-9]\d*: \S", err), err
        assert len(err.splitlines()) == 1, err
