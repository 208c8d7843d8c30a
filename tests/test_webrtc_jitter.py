"""The in-order jitter buffer and the helper that puts it into aiortc's receiver."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("aiortc")

from aiortc import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from adaptive_stream.webrtc import jitter
from adaptive_stream.webrtc.jitter import (
    InOrderJitterBuffer,
    UnsupportedAiortcError,
    use_in_order_jitter_buffer,
)


def packet(seq: int) -> RtpPacket:
    return RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960, payload=b"x")


def released(buffer: InOrderJitterBuffer, sequence: list[int]) -> list[int]:
    out = []
    for seq in sequence:
        pli, frame = buffer.add(packet(seq))
        assert pli is False
        if frame is not None:
            out.append(frame.timestamp // 960)
    return out


def test_packets_in_order_are_released_at_once() -> None:
    buffer = InOrderJitterBuffer()
    assert released(buffer, [10, 11, 12]) == [10, 11, 12]
    assert (buffer.released, buffer.dropped, buffer.skipped) == (3, 0, 0)


def test_a_gap_is_skipped_as_soon_as_a_later_packet_comes_and_the_late_one_dropped() -> None:
    buffer = InOrderJitterBuffer()
    assert released(buffer, [1, 2, 4, 3, 5]) == [1, 2, 4, 5]
    assert (buffer.skipped, buffer.dropped) == (1, 1)


def test_duplicates_are_dropped() -> None:
    buffer = InOrderJitterBuffer()
    assert released(buffer, [7, 7, 8, 7]) == [7, 8]
    assert buffer.dropped == 2


def test_the_sequence_number_wraps() -> None:
    buffer = InOrderJitterBuffer()
    got = []
    for seq in [65534, 65535, 0, 1]:
        _, frame = buffer.add(packet(seq))
        got.append(frame is not None)
    assert got == [True, True, True, True]
    assert buffer.skipped == 0


def test_the_receiver_gets_the_in_order_buffer() -> None:
    receiver = RTCRtpReceiver("audio", SimpleNamespace(state="new"))  # type: ignore[arg-type]
    buffer = use_in_order_jitter_buffer(receiver)
    assert getattr(receiver, "_RTCRtpReceiver__jitter_buffer") is buffer  # noqa: B009


def test_a_video_receiver_is_refused() -> None:
    receiver = RTCRtpReceiver("video", SimpleNamespace(state="new"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be an audio RTCRtpReceiver"):
        use_in_order_jitter_buffer(receiver)


@pytest.mark.parametrize("version", [(1, 8), (1, 17), (2, 0)])
def test_an_aiortc_outside_the_supported_range_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, version: tuple[int, int]
) -> None:
    monkeypatch.setattr(jitter, "aiortc_version", lambda: version)
    receiver = RTCRtpReceiver("audio", SimpleNamespace(state="new"))  # type: ignore[arg-type]
    with pytest.raises(UnsupportedAiortcError, match=f"installed: {version[0]}.{version[1]}"):
        use_in_order_jitter_buffer(receiver)


def test_a_receiver_without_the_private_attribute_fails_clearly() -> None:
    imitation = SimpleNamespace(_RTCRtpReceiver__kind="audio")
    with pytest.raises(UnsupportedAiortcError, match="internals changed"):
        use_in_order_jitter_buffer(imitation)
