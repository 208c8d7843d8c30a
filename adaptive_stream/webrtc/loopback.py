"""Two ``RTCPeerConnection``s in one process over loopback (no STUN servers: it works on a
machine whose only interface is ``lo``): Opus audio from a generated tone, the sender's RTP
through an :class:`~.impairment.ImpairedLink`, played out by an
:class:`~.track.AdaptivePlayoutTrack` whose size the manager decides. What
``adaptive-stream demo --webrtc`` and ``examples/webrtc_loopback.py`` run.

Figures (:func:`run_loopback`'s :class:`LoopbackResult`) use the simulator's names; the
capture time of a frame is when the tone track made it (both ends share this process's
clock), so ``latency_*_ms`` is capture-to-playout as in the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from array import array
from collections.abc import Callable
from typing import Any, NamedTuple

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from av import AudioFrame

from adaptive_stream.manager import AdaptiveBufferManager
from adaptive_stream.settings import AdaptiveBufferSettings
from adaptive_stream.simulation import emodel
from adaptive_stream.sources.processes import MetricsSampler, ProcessSampler
from adaptive_stream.webrtc.impairment import ImpairedLink, LinkSchedule
from adaptive_stream.webrtc.jitter import use_in_order_jitter_buffer
from adaptive_stream.webrtc.playout import Slot
from adaptive_stream.webrtc.track import AdaptivePlayoutTrack

__all__ = ["ArrivalLogError", "LoopbackResult", "ToneTrack", "ViewRow", "run_loopback"]

SAMPLE_RATE = 48_000
#: Added to the latency for the E-model's mouth-to-ear delay: the simulator's default
#: ``device_delay`` (codec look-ahead and the sound device).
DEVICE_DELAY_MS = 20.0


class ToneTrack(AudioStreamTrack):
    """A sine tone (``hz``, s16 mono, 48 kHz) in frames of ``samples``, paced in real time;
    ``started`` is when it made its first frame (``time.monotonic``)."""

    def __init__(self, hz: float = 440.0, samples: int = 960) -> None:
        super().__init__()
        self._hz = hz
        self._samples = samples
        self._next = 0
        self.started: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.started is None:
            self.started = time.monotonic()
        else:
            wait = self.started + self._next / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        step = 2 * math.pi * self._hz / SAMPLE_RATE
        pcm = array(
            "h", (round(9830 * math.sin(step * (self._next + i))) for i in range(self._samples))
        )
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._next
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._next += self._samples
        return frame


class ArrivalLogError(OSError):
    """The arrival log could not be written (nothing of it was)."""


class ViewRow(NamedTuple):
    """One line of the live view (once a second)."""

    seconds: float
    size: int
    depth: int
    underruns: int
    latency_ms: float
    delay_ms: float
    r_factor: float
    mos: float


class LoopbackResult(NamedTuple):
    """What a loopback run measured.

    Attributes:
        figures: the simulator's figure names (``played``, ``late``, ``dropped``,
            ``stretched``, ``lost``, ``prefill``, ``underruns``, ``latency_mean_ms``,
            ``latency_p95_ms``, ``mean_size``, ``size_changes``, ``loss_percent``,
            ``burst_ratio``, ``mouth_to_ear_ms``, ``r_factor``, ``mos``) plus ``deadline_misses``
            and the link's ``link_lost``, ``link_held``.
        latency_ms: each played frame's capture-to-playout latency.
        events: per slot after the first played frame, ``True`` for an audible event (late,
            lost, dropped, stretched), ``False`` for a played frame: for the E-model.
        sizes: ``(seconds, size)`` at each change of the target.
        underrun_s: when each underrun (late slot) was, in seconds.

    Seconds count from when the remote track appeared (about when the first packet left).
    """

    figures: dict[str, Any]
    latency_ms: list[float]
    events: list[bool]
    sizes: list[tuple[float, int]]
    underrun_s: list[float]


async def run_loopback(
    settings: AdaptiveBufferSettings,
    schedule: LinkSchedule,
    *,
    duration_s: float,
    in_order: bool = True,
    on_view: Callable[[ViewRow], None] | None = None,
    record_arrivals: str | None = None,
    metrics: MetricsSampler | None = None,
) -> LoopbackResult:
    """Run the loopback call for ``duration_s`` of playout (from the first frame's arrival)
    and return its figures. Leaves no task, thread or socket behind (also when cancelled).

    Args:
        settings: the manager's settings (policy, sizes, frame duration: 20 ms for Opus).
        schedule: the link's impairment.
        duration_s: seconds of playout.
        in_order: replace aiortc's audio jitter buffer with the in-order one.
        on_view: called once a second on the loop with a :class:`ViewRow`.
        record_arrivals: write the arrival log there at the end.
        metrics: the manager's metrics sampler (default: this process, ``ProcessSampler``).

    Raises:
        ArrivalLogError: ``record_arrivals`` could not be written.
    """
    samples = round(settings.frame_duration.total_seconds() * SAMPLE_RATE)
    frame_s = samples / SAMPLE_RATE
    config = RTCConfiguration(iceServers=[])
    sender_pc = RTCPeerConnection(config)
    receiver_pc = RTCPeerConnection(config)
    tone = ToneTrack(samples=samples)
    link = ImpairedLink(schedule)
    sampler = metrics if metrics is not None else ProcessSampler()
    manager = AdaptiveBufferManager(settings, metrics=sampler)
    remote: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    playout: AdaptivePlayoutTrack | None = None

    @receiver_pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if in_order:
            for transceiver in receiver_pc.getTransceivers():
                if transceiver.receiver.track is track:
                    use_in_order_jitter_buffer(transceiver.receiver)
        if not remote.done():
            remote.set_result(track)

    latencies: list[float] = []
    events: list[bool] = []
    sizes: list[tuple[float, int]] = []
    underruns: list[float] = []
    try:
        sender_pc.addTrack(tone)
        await sender_pc.setLocalDescription(await sender_pc.createOffer())
        await receiver_pc.setRemoteDescription(sender_pc.localDescription)
        await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
        await sender_pc.setRemoteDescription(receiver_pc.localDescription)
        link.attach(sender_pc.getSenders()[0].transport)
        track = await asyncio.wait_for(remote, 10)
        manager.start()
        playout = AdaptivePlayoutTrack(
            track,
            manager,
            sample_rate=SAMPLE_RATE,
            samples_per_frame=samples,
            record_arrivals=record_arrivals is not None,
        )
        t0 = time.monotonic()

        def on_slot(slot: Slot[AudioFrame], at: float) -> None:
            assert playout is not None
            if not sizes or sizes[-1][1] != playout.buffer.target:
                sizes.append((at - t0, playout.buffer.target))
            if slot.kind == "prefill":
                return
            if slot.kind == "late":
                underruns.append(at - t0)
            events.extend([True] * slot.dropped)
            if slot.frame is not None and tone.started is not None:
                frame_pts = slot.frame.pts or 0
                latencies.append((at - tone.started - frame_pts / SAMPLE_RATE) * 1000)
                events.append(False)
            else:
                events.append(True)

        playout.on_slot = on_slot
        slots = round(duration_s / frame_s)
        next_view = 1.0
        for _ in range(slots):
            await playout.recv()
            now = time.monotonic() - t0
            if on_view is not None and now >= next_view:
                next_view += 1.0
                on_view(_view_row(now, playout, latencies, events))
        figures = _figures(playout, link, latencies, events, sizes, duration_s=slots * frame_s)
        if record_arrivals is not None:
            try:
                playout.write_arrivals(record_arrivals)
            except OSError as exc:
                raise ArrivalLogError(f"{record_arrivals}: {exc.strerror or exc}") from exc
        return LoopbackResult(figures, latencies, events, sizes, underruns)
    finally:
        if playout is not None:
            await playout.wait_stopped()
        manager.stop()
        await link.close()
        with contextlib.suppress(Exception):
            tone.stop()
        await sender_pc.close()
        await receiver_pc.close()


def _view_row(
    now: float, playout: AdaptivePlayoutTrack, latencies: list[float], events: list[bool]
) -> ViewRow:
    recent = latencies[-50:]
    _, _, _, r = _quality(latencies, events)
    return ViewRow(
        seconds=now,
        size=playout.buffer.target,
        depth=playout.buffer.depth,
        underruns=playout.buffer.counts().late,
        latency_ms=sum(recent) / len(recent) if recent else 0.0,
        delay_ms=playout.latest_delay_s * 1000,
        r_factor=r,
        mos=emodel.mos(r),
    )


def _quality(latencies: list[float], events: list[bool]) -> tuple[float, float, float, float]:
    """``(loss %, burst ratio, mouth-to-ear ms, R)`` of the playout so far (the E-model over
    the slots from the first played frame on, as the simulator scores a run)."""
    heard = events[events.index(False) :] if False in events else []
    played = heard.count(False)
    ppl = emodel.loss_percent(len(heard) - played, played)
    burst = emodel.burst_ratio(heard)
    mean = sum(latencies) / len(latencies) if latencies else 0.0
    mouth_to_ear = mean + DEVICE_DELAY_MS
    return ppl, burst, mouth_to_ear, emodel.r_factor(mouth_to_ear, ppl, burst)


def _figures(
    playout: AdaptivePlayoutTrack,
    link: ImpairedLink,
    latencies: list[float],
    events: list[bool],
    sizes: list[tuple[float, int]],
    *,
    duration_s: float,
) -> dict[str, Any]:
    stats = playout.stats()
    ppl, burst, mouth_to_ear, r = _quality(latencies, events)
    ordered = sorted(latencies)
    mean = sum(ordered) / len(ordered) if ordered else 0.0
    p95 = ordered[max(1, math.ceil(0.95 * len(ordered))) - 1] if ordered else 0.0
    weighted = 0.0
    for (at, size), following in zip(sizes, [*sizes[1:], (duration_s, 0)], strict=True):
        weighted += size * (min(following[0], duration_s) - min(at, duration_s))
    return {
        "played": stats["played"],
        "late": stats["late"],
        "dropped": stats["dropped"],
        "stretched": stats["stretched"],
        "lost": stats["lost"],
        "prefill": stats["prefill"],
        "underruns": stats["underruns"],
        "latency_mean_ms": mean,
        "latency_p95_ms": p95,
        "mean_size": weighted / duration_s if duration_s > 0 else 0.0,
        "size_changes": max(0, len(sizes) - 1),
        "loss_percent": ppl,
        "burst_ratio": burst,
        "mouth_to_ear_ms": mouth_to_ear,
        "r_factor": r,
        "mos": emodel.mos(r),
        "deadline_misses": stats["deadline_misses"],
        "link_lost": link.lost,
        "link_held": link.held,
    }
