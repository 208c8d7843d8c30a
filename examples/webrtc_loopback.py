"""A WebRTC call in one process, its audio played out at the size the manager decides.

Two ``RTCPeerConnection``s talk over loopback (no STUN servers: ``lo`` is enough). The
sender plays a 440 Hz tone as Opus; its RTP stalls for 200 ms every 5 s. The receiver's
remote track goes through ``use_in_order_jitter_buffer`` (a lost packet costs one frame)
and an ``AdaptivePlayoutTrack``, which feeds the manager each frame's arrival delay and each
underrun, and follows the sizes it decides. This is what ``adaptive-stream demo --webrtc``
runs, written out with the library's pieces; in an application, the played frames would go
to a sound device (here a loop reads them, as a device callback would).

Run: ``.venv/bin/python examples/webrtc_loopback.py --seconds 15 --policy feedback``
"""

from __future__ import annotations

import argparse
import asyncio

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from adaptive_stream import AdaptiveBufferManager, AdaptiveBufferSettings
from adaptive_stream.webrtc import AdaptivePlayoutTrack, use_in_order_jitter_buffer
from adaptive_stream.webrtc.impairment import ImpairedLink, PeriodicStalls
from adaptive_stream.webrtc.loopback import ToneTrack


async def call(seconds: float, policy: str) -> None:
    config = RTCConfiguration(iceServers=[])
    caller, callee = RTCPeerConnection(config), RTCPeerConnection(config)
    remote: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    @callee.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        for transceiver in callee.getTransceivers():
            if transceiver.receiver.track is track:
                use_in_order_jitter_buffer(transceiver.receiver)  # before media flows
        remote.set_result(track)

    caller.addTrack(ToneTrack(440.0))
    await caller.setLocalDescription(await caller.createOffer())
    await callee.setRemoteDescription(caller.localDescription)
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(callee.localDescription)
    link = ImpairedLink(PeriodicStalls(every_s=5.0, stall_s=0.2))
    link.attach(caller.getSenders()[0].transport)

    manager = AdaptiveBufferManager(AdaptiveBufferSettings(policy=policy))
    manager.start()
    playout = AdaptivePlayoutTrack(await remote, manager)
    try:
        for slot in range(round(seconds / 0.02)):
            await playout.recv()  # a sound device would take this frame now
            if slot % 50 == 49:
                stats = playout.stats()
                print(
                    f"{(slot + 1) * 0.02:5.1f} s  target {stats['target']:2d} frames  "
                    f"played {stats['played']:4d}  underruns {stats['underruns']:3d}  "
                    f"lost {stats['lost']}  stretched {stats['stretched']}  "
                    f"dropped {stats['dropped']}"
                )
    finally:
        await playout.wait_stopped()
        manager.stop()
        await link.close()
        await caller.close()
        await callee.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--policy", default="feedback")
    args = parser.parse_args()
    asyncio.run(call(args.seconds, args.policy))


if __name__ == "__main__":
    main()
