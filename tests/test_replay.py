"""Trace replay: the byte-for-byte contract, other traces, and bad input."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_stream.cli import main
from adaptive_stream.gonum import format_float
from adaptive_stream.model import BufferDecision
from adaptive_stream.replay import (
    EPOCH,
    OUTPUT_HEADER,
    TraceError,
    format_decision,
    replay,
    replay_decisions,
)

DATA = Path(__file__).parent / "data"
HEADER = "t,kind,cpu_percent,memory_percent,latency_ms\n"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_trace_replays_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["replay", str(DATA / "sample.trace.csv")], capsys)
    assert (code, err) == (0, "")
    assert out == (DATA / "sample.expected.csv").read_text()


def test_replay_as_a_real_process_from_standard_input() -> None:
    trace = (DATA / "sample.trace.csv").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "adaptive_stream", "replay", "-"],
        input=trace,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (DATA / "sample.expected.csv").read_bytes()


@pytest.mark.parametrize("trace", sorted(DATA.glob("*.trace.csv")), ids=lambda p: p.name)
def test_every_bundled_trace_matches_its_expected_output(trace: Path) -> None:
    """Other traces are checked the same way: drop NAME.trace.csv + NAME.expected.csv here."""
    expected = trace.with_name(trace.name.replace(".trace.csv", ".expected.csv"))
    out = io.StringIO()
    with trace.open(newline="") as lines:
        replay(lines, out)
    assert out.getvalue() == expected.read_text()


def test_ticks_before_metrics_print_nothing_and_t_is_copied_verbatim() -> None:
    trace = HEADER + "0.5,tick,,,\n0.6,metrics,5,10,\n1.000,tick,,,\n1e0,tick,,,\n"
    out = io.StringIO()
    replay(io.StringIO(trace), out)
    assert out.getvalue().splitlines() == [
        OUTPUT_HEADER,
        "1.000,10,10,5,10,0,1,1,1",
        "1e0,13,13,5,10,0,1,1,2",
    ]


def test_latency_milliseconds_round_to_whole_nanoseconds() -> None:
    trace = HEADER + "0,metrics,5,10,\n0.1,latency,,,12.3456785\n0.5,tick,,,\n"
    result = replay_decisions(io.StringIO(trace))
    assert result.rows[0][1].average_latency_ns == 12_345_679  # .5 ns rounds away from zero


def test_crlf_and_blank_lines_are_accepted() -> None:
    trace = HEADER.replace("\n", "\r\n") + "0,metrics,5,10,\r\n\r\n0.5,tick,,,\r\n"
    assert len(replay_decisions(io.StringIO(trace, newline="")).rows) == 1


@pytest.mark.parametrize(
    ("trace", "line", "message"),
    [
        ("", 1, "empty trace"),
        ("t,kind,cpu,mem,latency\n", 1, "bad header"),
        (HEADER + "0,metrics,5,10,\n0.5,tock,,,\n", 3, "unknown kind 'tock'"),
        (HEADER + "0,metrics,5,\n", 2, "expected 5 fields, got 4"),
        (HEADER + "0,metrics,,10,\n", 2, "missing cpu_percent"),
        (HEADER + "0,metrics,five,10,\n", 2, "cpu_percent is not a number"),
        (HEADER + "0,latency,,,nan\n", 2, "latency_ms is not a finite number"),
        (HEADER + "0,latency,,,-inf\n", 2, "latency_ms is not a finite number"),
        (HEADER + "0,latency,,,-1e13\n", 2, "latency_ms out of range"),
        (HEADER + "0,metrics,5,nan,\n", 2, "memory_percent is not a finite number"),
        (HEADER + "x,tick,,,\n", 2, "t is not a number"),
        (HEADER + "1,tick,,,\n0.5,tick,,,\n", 3, "time goes backwards"),
        (HEADER + '0,"metrics,5,10,\n', 2, "malformed CSV"),
    ],
)
def test_bad_traces_name_the_line(trace: str, line: int, message: str) -> None:
    with pytest.raises(TraceError) as caught:
        replay_decisions(io.StringIO(trace))
    assert caught.value.line == line
    assert message in caught.value.message


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", ""])
@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("0,latency,,,", "missing latency_ms"),
        ("0,latency,,,x", "latency_ms is not a number: 'x'"),
        ("0,latency,,, ", "latency_ms is not a number: ' '"),
        ("0,tick,,", "expected 5 fields, got 4"),
    ],
)
def test_the_line_break_is_not_part_of_the_last_field(newline: str, row: str, message: str) -> None:
    """The reader leaves the line break on the last field for speed (float() ignores it);
    a complaint about that field must read the same with any line ending, or none."""
    trace = HEADER + row + newline
    with pytest.raises(TraceError) as caught:
        replay_decisions(io.StringIO(trace, newline=""))
    assert (caught.value.line, caught.value.message) == (2, message)


def test_bad_trace_at_the_cli_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "0,metrics,5,10,\n0.5,tick,,,\n0.7,latency,,,oops\n")
    code, out, err = run_cli(["replay", str(bad)], capsys)
    assert code == 2
    assert out == ""  # nothing is printed for a trace that has a problem
    assert err == f"adaptive-stream: {bad}: line 4: latency_ms is not a number: 'oops'\n"


@pytest.mark.parametrize(
    "content", [b"\xff\xfe\x00garbage", HEADER.encode() + b"0,metrics,5,\xff10,\n"]
)
def test_binary_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    bad = tmp_path / "binary.csv"
    bad.write_bytes(content)
    code, out, err = run_cli(["replay", str(bad)], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "line " in err and "Traceback" not in err


def test_unreadable_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["replay", str(tmp_path / "missing.csv")], capsys)
    assert code == 2
    assert err.startswith("adaptive-stream: cannot read trace") and err.count("\n") == 1
    code, _, err = run_cli(["replay", str(tmp_path)], capsys)  # a directory
    assert code == 2
    assert err.startswith("adaptive-stream: cannot read trace") and err.count("\n") == 1


def test_replay_honours_settings_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        ["replay", str(DATA / "sample.trace.csv"), "--max-buffer-size", "12"], capsys
    )
    assert code == 0
    sizes = [int(row.split(",")[1]) for row in out.splitlines()[1:]]
    assert max(sizes) == 11  # 12 is never reached, for the same reason 20 is not


def test_quoted_fields_and_a_byte_order_mark_are_accepted() -> None:
    trace = "\ufeff" + HEADER + '"0","metrics","5","10",""\n0.5,tick,,,\n'
    rows = replay_decisions(io.StringIO(trace)).rows
    assert [(t, d.input_size) for t, d in rows] == [("0.5", 10)]


def test_a_quoted_row_with_an_unterminated_quote_is_a_line_error() -> None:
    trace = HEADER + '0,metrics,5,10,"\n'
    with pytest.raises(TraceError) as caught:
        replay_decisions(io.StringIO(trace))
    assert caught.value.line == 2


def test_the_trace_clock_only_tells_time() -> None:
    from adaptive_stream.replay import EPOCH, TraceClock

    clock = TraceClock()
    assert clock.now == EPOCH
    assert TraceClock(EPOCH + timedelta(seconds=1.5)).now - EPOCH == timedelta(seconds=1.5)
    ran: list[int] = []
    clock.schedule(lambda _scheduler, _state: ran.append(1))
    assert ran == [1]
    with pytest.raises(NotImplementedError):
        clock.schedule_relative(1.0, lambda _s, _t: None)
    with pytest.raises(NotImplementedError):
        clock.schedule_absolute(EPOCH, lambda _s, _t: None)


def test_values_the_original_did_not_check_are_replayed_as_it_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The firmware validated nothing (SPEC): a negative latency, a negative CPU figure and
    memory over 100 % reach its arithmetic as they are, so a replay must decide on them too.
    By hand: avg = -1 ms (replaces 0); factors cpu +1 (below 20), memory -1 (above 75),
    latency +1 (below 20 ms); 0.5 - 0.3 + 0.2 = 0.4; 6 + 0.3 * 0.4 * 14 = 7.68 -> 8. Then
    avg = int(-1e6 * 0.7 + 1e7 * 0.3) = 2_300_000 ns; 8 + 0.3 * 0.4 * 12 = 9.44 -> 9."""
    trace = tmp_path / "odd.csv"
    trace.write_text(
        HEADER + "0,latency,,,-1\n0.1,metrics,-5,120,\n0.5,tick,,,\n0.6,latency,,,10\n1,tick,,,\n"
    )
    code, out, err = run_cli(["replay", str(trace)], capsys)
    assert code == 0
    assert out.splitlines()[1:] == ["0.5,8,8,-5,120,-1,0.4,1,1", "1,9,9,-5,120,2.3,0.4,1,2"]
    assert err == (
        f"adaptive-stream: note: {trace}: 2 rows hold values the live manager would reject "
        "(first: line 2: latency_ms -1 is negative); replayed as the original takes them, "
        "unchecked\n"
    )


def test_the_live_pipeline_still_drops_what_the_replay_lets_through() -> None:
    """``validate_metrics`` is on by default: only a replay of recorded inputs turns it off."""
    trace = HEADER + "0,metrics,5,101,\n0.5,tick,,,\n1,metrics,5,10,\n1.5,tick,,,\n"
    result = replay_decisions(io.StringIO(trace))
    assert [d.memory_percent for _, d in result.rows] == [101.0, 10.0]
    assert (result.unusual, result.first_unusual) == (
        1,
        "line 2: memory_percent 101 is outside 0..100",
    )

    import reactivex as rx

    from adaptive_stream import SystemMetrics, buffer_decisions

    seen: list[float] = []
    buffer_decisions(rx.of(SystemMetrics(5.0, 101.0)), rx.empty(), rx.of(1)).subscribe(
        lambda d: seen.append(d.memory_percent)
    )
    assert seen == []


@given(
    cpu=st.floats(),
    memory=st.floats(),
    latency_ns=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    combined=st.floats() | st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 999999.0, 1e6]),
    adjusted=st.booleans(),
)
def test_a_row_formats_each_float_as_format_float_does(
    cpu: float, memory: float, latency_ns: int, combined: float, adjusted: bool
) -> None:
    """format_decision writes the four floats in one go when all are below 1e6 in size; the
    row must be what format_float gives field by field (-0, 1e-05, 100, NaN, 1e+06, ...)."""
    decision = BufferDecision(
        EPOCH, 7, 8, adjusted, combined, 0.0, 0.0, 0.0, cpu, memory, latency_ns, 3, 0.0, 0.0
    )
    floats = [cpu, memory, latency_ns / 1e6, combined]
    expected = ",".join(["2.5", "7", "8", *map(format_float, floats), str(int(adjusted)), "3"])
    assert format_decision("2.5", decision) == expected


def test_a_replay_feed_has_one_subscriber_until_it_is_disposed() -> None:
    """The feed calls its subscriber's on_next directly (no AutoDetachObserver): it takes
    callbacks or an observer, refuses a second subscriber, and disposing detaches it."""
    from reactivex import Observer

    from adaptive_stream.replay import _Feed

    feed: _Feed[int] = _Feed()
    with pytest.raises(RuntimeError, match="nothing is subscribed"):
        feed.push(0)
    seen: list[int] = []
    subscription = feed.subscribe(seen.append)
    with pytest.raises(RuntimeError, match="one subscriber"):
        feed.subscribe(seen.append)
    feed.push(1)
    subscription.dispose()
    with pytest.raises(RuntimeError, match="nothing is subscribed"):
        feed.push(2)
    feed.subscribe(Observer(lambda value: seen.append(value * 10)))
    feed.push(3)
    assert seen == [1, 30]
