"""The playout logic (adaptive_stream.webrtc.playout) on a virtual clock: every arrival and
every slot time is given by the test, so each run is exact and instant."""

from __future__ import annotations

from fractions import Fraction

import pytest
import reactivex as rx
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

pytest.importorskip("aiortc")  # the package adaptive_stream.webrtc needs the extra

from adaptive_stream.webrtc.playout import ArrivalDelay, PlayoutBuffer

on_next = ReactiveTest.on_next

F = 0.02  # 20 ms frames
STEP = 960  # samples per frame at 48 kHz
TB = Fraction(1, 48_000)


def drive(
    arrivals: list[float | None],
    target: int,
    slots: int,
    targets: dict[int, int] | None = None,
    rate: float = 1.0,
) -> tuple[PlayoutBuffer[int], list[str], list[float], list[int]]:
    """Frame ``k`` (pts ``k x STEP``) arrives at ``arrivals[k]`` (``None``: lost); slot
    ``j`` (1, 2, ...) is at ``t0 + j x F``, ``t0`` the first arrival; ``targets`` sets the
    target before slot ``j``. Returns the buffer, each slot's kind (``"d+"`` prefixed when
    it dropped a frame), each played frame's latency (slot time - capture time, the
    capture on the receiver's clock: ``k x F / rate`` for a sender clock ``rate`` fast) and
    the frames played, in order."""
    buffer: PlayoutBuffer[int] = PlayoutBuffer(STEP, TB, target)
    events = sorted(
        (t, k) for k, t in enumerate(arrivals) if t is not None
    )  # arrival order (in order here)
    t0 = events[0][0]
    kinds: list[str] = []
    latencies: list[float] = []
    played: list[int] = []
    cursor = 0
    for j in range(1, slots + 1):
        now = t0 + j * F
        while cursor < len(events) and events[cursor][0] <= now:
            t, k = events[cursor]
            buffer.push(k, k * STEP, t)
            cursor += 1
        if targets and j in targets:
            buffer.set_target(targets[j])
        slot = buffer.tick(now)
        kinds.append(("d+" if slot.dropped else "") + slot.kind)
        if slot.frame is not None:
            played.append(slot.frame)
            latencies.append(now - slot.frame * F / rate)
    return buffer, kinds, latencies, played


def steady(frames: int, delay: float = 0.005) -> list[float | None]:
    return [k * F + delay for k in range(frames)]


def stalled(frames: int, at: float, length: float, delay: float = 0.005) -> list[float | None]:
    """Frames sent during ``[at, at + length)`` arrive when it ends (in order)."""
    out: list[float | None] = []
    for k in range(frames):
        sent = k * F
        out.append((at + length if at <= sent < at + length else sent) + delay)
    return out


# -- the relative arrival delay ---------------------------------------------------------


def test_arrival_delay_removes_the_clock_offset() -> None:
    delays = ArrivalDelay()
    # The sender's media clock is 1000 s ahead of the receiver's: only variation remains.
    got = [
        delays.observe(5.0 + k * F + extra, 1005.0 + k * F)
        for k, extra in enumerate([0.0, 0.004, 0.0, 0.010])
    ]
    assert got == pytest.approx([0.0, 0.004, 0.0, 0.010])


def test_arrival_delay_minimum_slides_out_after_the_window() -> None:
    delays = ArrivalDelay(window_s=1.0)
    delays.observe(0.0, 0.0)  # a fast frame
    assert delays.observe(0.5, 0.45) == pytest.approx(0.05)
    # Once the fast frame is more than 1 s old, the minimum is the slower frames'.
    assert delays.observe(1.6, 1.55) == pytest.approx(0.0)


@pytest.mark.parametrize("rate", [1.005, 1 / 1.005])
def test_arrival_delay_stays_bounded_under_drift(rate: float) -> None:
    # The sender's clock runs 0.5 % fast (or slow): its 20 ms of media take 20/rate ms here.
    delays = ArrivalDelay()
    worst = 0.0
    for k in range(30_000):  # ten minutes
        arrival = k * F / rate + 0.003 * (k % 7 == 0)
        worst = max(worst, delays.observe(arrival, k * F))
    # At most the window x the drift (50 ms) plus the jitter, however long it runs.
    assert worst <= 10.0 * 0.005 + 0.003 + 1e-6


def test_arrival_delay_rejects_a_window_of_zero() -> None:
    with pytest.raises(ValueError, match="window_s"):
        ArrivalDelay(0.0)


# -- pre-fill, steady state, underruns ---------------------------------------------------


def test_prefill_to_the_target_then_one_frame_per_slot() -> None:
    buffer, kinds, latencies, _ = drive(steady(100), target=4, slots=60)
    assert kinds[:4] == ["prefill", "prefill", "prefill", "played"]
    assert set(kinds[4:]) == {"played"}
    # The first frame waits exactly the target: 4 slots beyond its arrival.
    assert latencies[0] == pytest.approx(4 * F + 0.005)
    assert max(latencies) - min(latencies) < 1e-9
    counts = buffer.counts()
    assert (counts.played, counts.late, counts.prefill) == (57, 0, 3)


def test_a_stall_longer_than_the_buffer_is_underruns_then_the_same_latency() -> None:
    # A 200 ms stall (10 frames) against 3 frames of buffer: about 7 slots find nothing.
    buffer, kinds, latencies, _ = drive(stalled(400, at=2.0, length=0.2), target=3, slots=300)
    counts = buffer.counts()
    assert 6 <= counts.late <= 8
    assert counts.underruns == counts.late
    assert counts.lost == counts.dropped == counts.stretched == 0
    # The held frames that came after their slot were discarded; the latency is unchanged.
    assert counts.discarded == counts.late
    assert max(latencies) - min(latencies) < 1e-9
    late = [j for j, kind in enumerate(kinds) if kind == "late"]
    assert late == list(range(late[0], late[0] + counts.late))  # one run of late slots


def test_a_buffer_longer_than_the_stall_rides_it_out() -> None:
    buffer, _, _, _ = drive(stalled(400, at=2.0, length=0.2), target=15, slots=300)
    assert buffer.counts().late == 0


def test_a_lost_frame_costs_one_slot_and_no_latency() -> None:
    arrivals = steady(200)
    arrivals[50] = None
    buffer, kinds, latencies, _ = drive(arrivals, target=3, slots=150)
    counts = buffer.counts()
    assert (counts.lost, counts.late) == (1, 0)
    assert kinds.count("lost") == 1
    assert max(latencies) - min(latencies) < 1e-9


def test_a_frame_after_its_slot_is_discarded_and_still_measured() -> None:
    buffer: PlayoutBuffer[int] = PlayoutBuffer(STEP, TB, 2)
    buffer.push(0, 0, 0.0)
    buffer.push(1, STEP, F)
    assert [buffer.tick(j * F).kind for j in (1, 2, 3)] == ["prefill", "played", "played"]
    assert buffer.tick(3 * F + F).kind == "late"  # frame 2 was due and had not come
    delay = buffer.push(2, 2 * STEP, 0.2)  # it comes much later
    assert delay == pytest.approx(0.2 - 2 * F)
    assert buffer.counts().discarded == 1
    assert buffer.depth == 0


def test_a_duplicate_is_discarded() -> None:
    buffer: PlayoutBuffer[int] = PlayoutBuffer(STEP, TB, 2)
    buffer.push(0, 0, 0.0)
    buffer.push(0, 0, 0.001)
    assert buffer.depth == 1
    assert buffer.counts().discarded == 1


# -- following the target ----------------------------------------------------------------


def test_shrinking_skips_at_most_one_frame_per_slot() -> None:
    buffer, kinds, latencies, _ = drive(steady(300), target=8, slots=200, targets={100: 3})
    assert kinds[99:104] == ["d+played"] * 5
    assert "d+" not in "".join(kinds[104:])
    assert buffer.counts().dropped == 5
    assert latencies[-1] == pytest.approx(3 * F + 0.005)


def test_growing_inserts_at_most_one_concealment_per_slot() -> None:
    buffer, kinds, latencies, _ = drive(steady(300), target=3, slots=200, targets={100: 7})
    assert kinds[99:103] == ["stretched", "stretched", "stretched", "stretched"]
    assert kinds[103] == "played"
    assert buffer.counts().stretched == 4
    assert latencies[-1] == pytest.approx(7 * F + 0.005)


def test_a_delay_hovering_at_a_band_edge_does_not_flap() -> None:
    # Arrivals alternate between 0 and 9 ms late: the playout delay never leaves the band.
    arrivals: list[float | None] = [k * F + 0.009 * (k % 2) for k in range(500)]
    buffer, _, _, _ = drive(arrivals, target=3, slots=400)
    counts = buffer.counts()
    assert counts.dropped + counts.stretched == 0


@pytest.mark.parametrize(("rate", "kind"), [(1.005, "dropped"), (1 / 1.005, "stretched")])
def test_drift_is_absorbed_one_frame_at_a_time(rate: float, kind: str) -> None:
    # Over 120 s a 0.5 % drift is 0.6 s = 30 frames, which the buffer must skip (fast
    # sender) or fill in (slow sender), without underruns.
    arrivals: list[float | None] = [k * F / rate + 0.002 for k in range(6200)]
    buffer, _, latencies, _ = drive(arrivals, target=4, slots=6000, rate=rate)
    counts = buffer.counts()
    assert 25 <= getattr(counts, kind) <= 35
    assert counts.late == 0
    # The latency stays within the window's drift (50 ms) plus a frame of the target.
    assert max(latencies) - min(latencies) <= 0.05 + F + 1e-6


def test_a_target_below_one_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="target"):
        PlayoutBuffer(STEP, TB, 0)
    buffer: PlayoutBuffer[int] = PlayoutBuffer(STEP, TB, 3)
    with pytest.raises(ValueError, match="target"):
        buffer.set_target(True)


# -- invariants --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    jitter=st.lists(st.floats(0, 0.3), min_size=50, max_size=250),
    lost=st.sets(st.integers(1, 249), max_size=20),
    targets=st.dictionaries(st.integers(1, 300), st.integers(1, 20), max_size=6),
)
def test_every_frame_is_accounted_for_once(
    jitter: list[float], lost: set[int], targets: dict[int, int]
) -> None:
    arrivals: list[float | None] = []
    last = 0.0
    for k, extra in enumerate(jitter):
        last = max(last, k * F + extra)  # in order, as the in-order jitter buffer delivers
        arrivals.append(None if k in lost else last)
    slots = len(jitter) + 60
    buffer, kinds, latencies, played = drive(arrivals, target=3, slots=slots, targets=targets)
    counts = buffer.counts()
    assert len(kinds) == slots
    assert counts.played + counts.late + counts.lost + counts.stretched + counts.prefill == slots
    assert counts.dropped == sum(kind.startswith("d+") for kind in kinds)  # <= 1 per slot
    # Frames play in order, each at most once, never before it arrived; every frame that
    # arrived was played, dropped, or was due before it came (late, then discarded).
    assert played == sorted(set(played))
    for k, latency in zip(played, latencies, strict=True):
        arrival = arrivals[k]
        assert arrival is not None
        assert k * F + latency >= arrival - 1e-9
    arrived = sum(t is not None for t in arrivals)
    assert counts.played + counts.dropped + counts.discarded >= arrived - buffer.depth - counts.late


# -- in the project's TestScheduler style -------------------------------------------------


def test_the_target_follows_a_stream_of_sizes_in_virtual_time() -> None:
    # One tick is one millisecond. Frames arrive every 20 ms from 201; the slots come every
    # 20 ms from 220; the sizes stream says 3 frames, then 6 (at 590), then 2 (at 990).
    scheduler = TestScheduler()
    sizes = scheduler.create_hot_observable(on_next(150, 3), on_next(590, 6), on_next(990, 2))
    arrivals = scheduler.create_hot_observable(*[on_next(201 + 20 * k, k) for k in range(60)])
    buffer: PlayoutBuffer[int] = PlayoutBuffer(STEP, TB, 1)
    codes = {"prefill": "_", "played": "o", "stretched": "s", "late": "l", "lost": "x"}

    def slot(_: int) -> str:
        played = buffer.tick(scheduler.clock / 1000)
        return ("d" if played.dropped else "") + codes[played.kind]

    def create() -> rx.Observable[str]:
        sizes.subscribe(buffer.set_target)
        arrivals.subscribe(lambda k: buffer.push(k, k * STEP, scheduler.clock / 1000))
        return rx.interval(20, scheduler=scheduler).pipe(ops.map(slot))

    results = scheduler.start(create, created=100, subscribed=200, disposed=1210)
    timeline = "".join(message.value.value for message in results.messages)
    assert timeline == "__" + "o" * 17 + "sss" + "o" * 17 + "dododo" + "o" * 8
    assert [m.time for m in results.messages][:3] == [220, 240, 260]
    assert buffer.counts().stretched == 3
    assert buffer.counts().dropped == 3
