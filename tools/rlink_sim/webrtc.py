"""The camera's side of WebRTC signalling: an SDP answer and ICE candidates.

With aiortc installed the answer is negotiated for real from the offer; otherwise a
well-formed canned answer is returned, which is enough to exercise signalling.
"""

from __future__ import annotations

from typing import Any

_CANNED_ANSWER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:simc",
        "a=ice-pwd:simulatedcameraicepassword0",
        "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
        "a=setup:active",
        "a=mid:0",
        "a=sendonly",
        "a=rtcp-mux",
        "a=rtpmap:96 H264/90000",
        "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        "",
    ]
)
_CANNED_CANDIDATES = [
    {
        "candidate": "candidate:1 1 UDP 2130706431 127.0.0.1 50000 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    },
]


async def sdp_answer(offer: str) -> tuple[str, list[dict[str, Any]]]:
    """Answer `offer`; returns the SDP and the candidates to trickle after it."""
    try:
        from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: PLC0415
    except ImportError:
        return _CANNED_ANSWER, list(_CANNED_CANDIDATES)
    peer = RTCPeerConnection()
    try:
        await peer.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await peer.setLocalDescription(await peer.createAnswer())
        sdp = peer.localDescription.sdp
    finally:
        await peer.close()
    candidates = [
        {"candidate": line[2:], "sdpMid": "0", "sdpMLineIndex": 0}
        for line in sdp.splitlines()
        if line.startswith("a=candidate:")
    ]
    return sdp, candidates
