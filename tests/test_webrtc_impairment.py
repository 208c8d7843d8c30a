"""The impaired link's schedules, its ordering, and the recording readers behind them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("aiortc")

from adaptive_stream.webrtc.impairment import ImpairedLink, PeriodicStalls, RecordedArrivals
from adaptive_stream.webrtc.recordings import (
    RecordingError,
    arrivals_from_link_trace,
    read_arrivals,
)


def test_periodic_stalls_hold_what_is_sent_during_them() -> None:
    stalls = PeriodicStalls(every_s=5.0, stall_s=0.2)
    assert stalls.release_at(0, 4.99) == 4.99
    assert stalls.release_at(1, 5.0) == pytest.approx(5.2)
    assert stalls.release_at(2, 5.19) == pytest.approx(5.2)
    assert stalls.release_at(3, 5.2) == pytest.approx(5.2)
    assert stalls.release_at(4, 10.1) == pytest.approx(10.2)
    assert stalls.stalls_until(10.5) == 2


@pytest.mark.parametrize(("every", "stall"), [(0.0, 0.0), (1.0, 1.0), (1.0, -0.1)])
def test_impossible_stalls_are_refused(every: float, stall: float) -> None:
    with pytest.raises(ValueError, match="stall"):
        PeriodicStalls(every, stall)


def test_recorded_arrivals_keep_the_delays_and_the_losses() -> None:
    schedule = RecordedArrivals([(0.0, 50.0), (20.0, 70.0), (40.0, None), (60.0, 140.0)])
    assert schedule.release_at(0, 1.0) == pytest.approx(1.05)  # the whole recorded delay
    assert schedule.release_at(2, 1.04) is None
    assert schedule.release_at(3, 1.06) == pytest.approx(1.14)
    assert schedule.release_at(4, 2.0) == pytest.approx(2.05)  # the log repeats


class FakeTransport:
    def __init__(self) -> None:
        self.out: list[bytes] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.out.append(data)


class Shrinking:
    """Each packet would leave earlier than the one before: the link must keep them in order."""

    def release_at(self, index: int, sent_s: float) -> float | None:
        return None if index == 2 else 1.0 - 0.1 * index


def test_the_link_keeps_the_order_passes_rtcp_and_loses_what_the_schedule_loses() -> None:
    clock = [100.0]

    async def main() -> tuple[FakeTransport, ImpairedLink]:
        transport = FakeTransport()
        link = ImpairedLink(Shrinking(), clock=lambda: clock[0])
        link.attach(transport)
        rtp = [bytes([0x80, 111, 0, n]) for n in range(5)]
        rtcp = bytes([0x80, 200, 0, 6])  # a sender report
        for data in rtp[:3]:
            await transport._send_rtp(data)
        await transport._send_rtp(rtcp)
        for data in rtp[3:]:
            await transport._send_rtp(data)
        assert transport.out == [rtcp]  # RTCP at once, RTP held for a second
        clock[0] += 2.0
        for _ in range(20):
            await asyncio.sleep(0)
        await link.close()
        assert transport._send_rtp.__func__ is FakeTransport._send_rtp  # type: ignore[attr-defined]
        return transport, link

    transport, link = asyncio.run(main())
    assert [d[3] for d in transport.out] == [6, 0, 1, 3, 4]
    assert (link.sent, link.lost) == (5, 1)


def test_an_arrival_log_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("capture_ms,arrival_ms\n0,30\n20,\n40,75.5\n")
    assert read_arrivals(path, 20.0) == [(0.0, 30.0), (20.0, None), (40.0, 75.5)]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("t,a\n0,1\n", ":1:"),
        ("capture_ms,arrival_ms\n0,1\n20,x\n", ":3:"),
    ],
)
def test_a_bad_arrival_log_names_the_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(RecordingError, match=f"bad.csv{where}"):
        read_arrivals(path, 20.0)


def test_an_arrival_log_of_another_frame_duration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ten.csv"
    path.write_text("capture_ms,arrival_ms\n0,5\n10,15\n20,25\n")
    with pytest.raises(RecordingError, match="frames are 10 ms apart; the demo plays 20 ms"):
        read_arrivals(path, 20.0)


def test_a_link_trace_becomes_in_order_arrivals(tmp_path: Path) -> None:
    # One opportunity every 10 ms, but none from 100 to 300 ms: frames queue, then leave
    # nine to an opportunity (1500 // 160).
    lines = [str(t) for t in range(0, 1000, 10) if not 100 < t < 300]
    path = tmp_path / "link.trace"
    path.write_text("\n".join(lines) + "\n")
    rows = arrivals_from_link_trace(path, 20.0, frames=40)
    assert len(rows) == 40
    arrivals = [a for _, a in rows]
    assert arrivals == sorted(arrivals)  # never overtaking
    assert all(a is not None and a >= c for c, a in rows)
    assert rows[5] == (100.0, 100.0)
    assert rows[6] == (120.0, 300.0)  # held for the outage
    assert rows[14] == (280.0, 300.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [("0\n5\nx\n", ":3: expected a whole number"), ("5\n3\n", ":2:"), ("", "no delivery")],
)
def test_a_bad_link_trace_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.trace"
    path.write_text(text)
    with pytest.raises(RecordingError, match=message):
        arrivals_from_link_trace(path, 20.0)
