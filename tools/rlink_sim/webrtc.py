"""Both ends of WebRTC signalling with aiortc: a camera's answer and a viewer's offer.

The simulated camera negotiates a real SDP answer (with a video track) from the offer it is
sent. `viewer_offer` plays the browser in tests. Nothing is streamed: the peers are closed
once the descriptions exist, which is all signalling needs.
"""

from __future__ import annotations

from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)


def _peer() -> RTCPeerConnection:
    # No STUN: aiortc would otherwise ask Google's, which a test machine cannot reach.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class BadOffer(ValueError):
    """The offer could not be negotiated."""


def _candidates(sdp: str) -> list[dict[str, Any]]:
    """The answer's candidates as a device trickles them, in the spec's shape."""
    lines = sdp.splitlines()
    ufrag = next(
        (line[len("a=ice-ufrag:") :] for line in lines if line.startswith("a=ice-ufrag:")), None
    )
    return [
        {
            "candidate": line[2:],
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            **({"usernameFragment": ufrag} if ufrag else {}),
        }
        for line in lines
        if line.startswith("a=candidate:")
    ]


async def sdp_answer(offer: str) -> tuple[str, list[dict[str, Any]]]:
    """Answer `offer` as a camera; returns the SDP and the candidates to trickle after it."""
    peer = _peer()
    try:
        peer.addTrack(VideoStreamTrack())
        try:
            await peer.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        except ValueError as err:
            raise BadOffer(str(err)) from err
        await peer.setLocalDescription(await peer.createAnswer())
        sdp = peer.localDescription.sdp
    finally:
        await peer.close()
    return sdp, _candidates(sdp)


async def viewer_offer() -> str:
    """An offer as a browser makes it: receive video only."""
    peer = _peer()
    try:
        peer.addTransceiver("video", direction="recvonly")
        await peer.setLocalDescription(await peer.createOffer())
        return str(peer.localDescription.sdp)
    finally:
        await peer.close()
