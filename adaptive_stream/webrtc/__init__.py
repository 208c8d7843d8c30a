"""An adaptive playout buffer for aiortc (WebRTC) audio: the real audio path.

Needs the optional extra ``webrtc`` (``pip install 'adaptive-stream[webrtc]'``: aiortc).

* :class:`AdaptivePlayoutTrack`: plays a remote audio track out on its own clock, at the
  size the :class:`~adaptive_stream.manager.AdaptiveBufferManager` decides, feeding it
  arrival delays and underruns.
* :func:`use_in_order_jitter_buffer`: replaces aiortc's packet-driven audio jitter buffer
  with an in-order one (supported aiortc versions: :data:`SUPPORTED_AIORTC`).
* :mod:`~adaptive_stream.webrtc.playout`: the playout logic alone, on any clock.
* :mod:`~adaptive_stream.webrtc.loopback`: two peer connections over loopback with an
  impaired link (``adaptive-stream demo --webrtc``).
"""

from __future__ import annotations

try:
    import aiortc  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "adaptive_stream.webrtc needs aiortc: pip install 'adaptive-stream[webrtc]'"
    ) from exc

from adaptive_stream.webrtc.jitter import (
    SUPPORTED_AIORTC,
    InOrderJitterBuffer,
    UnsupportedAiortcError,
    use_in_order_jitter_buffer,
)
from adaptive_stream.webrtc.playout import ArrivalDelay, PlayoutBuffer, PlayoutCounts, Slot
from adaptive_stream.webrtc.track import (
    AdaptivePlayoutTrack,
    LoopClock,
    PlayoutClock,
    WrongFrameError,
)

__all__ = [
    "SUPPORTED_AIORTC",
    "AdaptivePlayoutTrack",
    "ArrivalDelay",
    "InOrderJitterBuffer",
    "LoopClock",
    "PlayoutBuffer",
    "PlayoutClock",
    "PlayoutCounts",
    "Slot",
    "UnsupportedAiortcError",
    "WrongFrameError",
    "use_in_order_jitter_buffer",
]
