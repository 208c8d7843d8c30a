"""An in-order audio jitter buffer for aiortc's receiver, so the playout buffer is the only
place audio waits.

aiortc's ``RTCRtpReceiver`` puts each audio RTP packet into a packet-driven
``JitterBuffer(capacity=16, prefetch=4)``: a frame leaves only when four more have come,
and a missing packet holds everything behind it until the buffer overflows (16 packets,
320 ms), after which the backlog stays as latency (aiortc issue #543).
:class:`InOrderJitterBuffer` releases each packet at once, skips a gap as soon as a later
packet arrives, and drops late and duplicate packets: a lost packet costs one frame.

:func:`use_in_order_jitter_buffer` swaps it in. It reaches into a private attribute
(``RTCRtpReceiver._RTCRtpReceiver__jitter_buffer``), so it checks that the installed aiortc
is in :data:`SUPPORTED_AIORTC` (the versions whose receiver was read and tested) and raises
:class:`UnsupportedAiortcError` outside it, rather than silently doing nothing.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

__all__ = [
    "SUPPORTED_AIORTC",
    "InOrderJitterBuffer",
    "UnsupportedAiortcError",
    "use_in_order_jitter_buffer",
]

#: aiortc versions ``[low, high)`` whose receiver keeps its jitter buffer where this expects.
SUPPORTED_AIORTC = ((1, 9), (1, 17))
_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"
#: A packet this far behind the newest is taken as a sequence restart, not a late packet.
_RESTART = 3000


class UnsupportedAiortcError(RuntimeError):
    """The installed aiortc is outside :data:`SUPPORTED_AIORTC`, or its receiver does not
    look as expected."""


class InOrderJitterBuffer:
    """Drop-in for aiortc's audio ``JitterBuffer`` (``add(packet) -> (pli, frame)``): each
    packet is a frame, released at once if it is newer than the last one released; older
    ones (late or duplicate) are dropped. Called from the receiver on the event loop.

    Attributes:
        released: packets released. dropped: late or duplicate packets dropped.
        skipped: sequence numbers skipped over (gaps; lost, or late and then dropped).
    """

    capacity = 1  # aiortc reads nothing else of its buffer; kept for its shape

    def __init__(self) -> None:
        self._last: int | None = None
        self.released = 0
        self.dropped = 0
        self.skipped = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        """Release ``packet`` as a frame, or drop it; never asks for a picture (``False``)."""
        seq = packet.sequence_number
        if self._last is not None:
            ahead = uint16_add(seq, -self._last)
            if ahead == 0 or (ahead > 0x8000 and 0x10000 - ahead < _RESTART):
                self.dropped += 1
                return False, None
            if ahead < 0x8000:
                self.skipped += ahead - 1
        self._last = seq
        self.released += 1
        data: bytes = getattr(packet, "_data", packet.payload)
        return False, JitterFrame(data=data, timestamp=packet.timestamp)


def aiortc_version() -> tuple[int, int]:
    """The installed aiortc's ``(major, minor)``."""
    parts = metadata.version("aiortc").split(".")
    return int(parts[0]), int(parts[1])


def use_in_order_jitter_buffer(receiver: Any) -> InOrderJitterBuffer:
    """Replace the audio ``receiver``'s (an ``aiortc.RTCRtpReceiver``) jitter buffer with an
    :class:`InOrderJitterBuffer` and return it. Call it before media flows (e.g. in the
    ``track`` event).

    Raises:
        UnsupportedAiortcError: aiortc outside :data:`SUPPORTED_AIORTC`, or the receiver has
            no audio jitter buffer where that version keeps it.
        ValueError: ``receiver`` is not an audio receiver.
    """
    low, high = SUPPORTED_AIORTC
    version = aiortc_version()
    if not low <= version < high:
        raise UnsupportedAiortcError(
            f"use_in_order_jitter_buffer supports aiortc {low[0]}.{low[1]} to before "
            f"{high[0]}.{high[1]} (it replaces a private attribute); installed: "
            f"{version[0]}.{version[1]}"
        )
    kind = getattr(receiver, "_RTCRtpReceiver__kind", None)
    if kind != "audio":
        raise ValueError(f"receiver: must be an audio RTCRtpReceiver (got kind {kind!r})")
    if not hasattr(receiver, _ATTRIBUTE):
        raise UnsupportedAiortcError(
            f"this aiortc {version[0]}.{version[1]} receiver has no {_ATTRIBUTE}: "
            "its internals changed; use the default jitter buffer"
        )
    buffer = InOrderJitterBuffer()
    setattr(receiver, _ATTRIBUTE, buffer)
    return buffer
