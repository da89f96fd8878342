"""Both ends of WebRTC with aiortc: a camera that streams, and a viewer's offer for tests.

The simulated camera answers an offer with a real peer connection that stays open and sends a
moving test picture with a clock (`TestPicture`), until the viewer closes the session, the
connection fails, or `MAX_SESSION` passes. `viewer_offer` plays the browser in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import io
import logging
import time
from datetime import datetime
from typing import Any, Final

import av
from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from PIL import Image, ImageDraw

_LOGGER = logging.getLogger(__name__)

WIDTH: Final = 640
HEIGHT: Final = 360
FPS: Final = 10
MAX_SESSION: Final = 600.0
"""Seconds a live view lasts at most; a real camera also ends long sessions."""
_CLOCK_RATE: Final = 90000


def _peer() -> RTCPeerConnection:
    # No STUN: aiortc would otherwise ask Google's, which a test machine cannot reach.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class BadOffer(ValueError):
    """The offer could not be negotiated."""


def picture(label: str, now: datetime | None = None, phase: float | None = None) -> Image.Image:
    """The test picture: colour bars, a bar that sweeps across, the camera's name and a clock."""
    now = now or datetime.now()
    phase = time.monotonic() if phase is None else phase
    image = Image.new("RGB", (WIDTH, HEIGHT), (16, 16, 16))
    draw = ImageDraw.Draw(image)
    bars = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192), (192, 0, 0)]
    width = WIDTH // len(bars)
    for index, colour in enumerate(bars):
        draw.rectangle((index * width, 0, (index + 1) * width, HEIGHT * 2 // 3), fill=colour)
    x = int((phase * 120) % WIDTH)
    draw.rectangle((x, 0, x + 24, HEIGHT * 2 // 3), fill=(255, 255, 255))
    draw.text((16, HEIGHT * 2 // 3 + 16), label, fill=(255, 255, 255), font_size=28)
    draw.text(
        (16, HEIGHT * 2 // 3 + 60),
        now.strftime("%Y-%m-%d %H:%M:%S"),
        fill=(255, 255, 0),
        font_size=36,
    )
    return image


def snapshot(label: str) -> bytes:
    """The test picture as a JPEG, for alarm pictures."""
    out = io.BytesIO()
    picture(label).save(out, format="JPEG", quality=80)
    return out.getvalue()


class TestPicture(MediaStreamTrack):
    """A video track of the test picture at `FPS` frames a second."""

    kind = "video"

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self._start: float | None = None
        self._frames = 0

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._frames / FPS
        if (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        frame: av.VideoFrame = av.VideoFrame.from_image(picture(self.label))  # type: ignore[no-untyped-call]
        frame.pts = self._frames * _CLOCK_RATE // FPS
        frame.time_base = fractions.Fraction(1, _CLOCK_RATE)
        self._frames += 1
        return frame


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


class LiveViews:
    """A camera's open live views, one peer connection per viewer (`peerClientId`)."""

    def __init__(self, label: str, *, stream: bool = True) -> None:
        self.label = label
        self.stream = stream
        """False: negotiate only, then close (tests that check signalling alone)."""
        self.peers: dict[str, RTCPeerConnection] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._jobs: dict[str, set[asyncio.Task[Any]]] = {}
        """The tasks aiortc started for each peer; closing a peer leaves its ICE connect
        pending, so they are cancelled with it."""

    async def answer(self, viewer: str, offer: str) -> tuple[str, list[dict[str, Any]]]:
        """Answer `offer`; returns the SDP and the candidates to trickle after it."""
        await self.close(viewer)  # a viewer that offers again starts over
        peer = _peer()
        before = asyncio.all_tasks()
        try:
            peer.addTrack(TestPicture(self.label))
            try:
                await peer.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            except ValueError as err:
                raise BadOffer(str(err)) from err
            await peer.setLocalDescription(await peer.createAnswer())
            sdp = str(peer.localDescription.sdp)
        except BaseException:
            await _close(peer, asyncio.all_tasks() - before)
            raise
        jobs = asyncio.all_tasks() - before
        if not self.stream:
            await _close(peer, jobs)
            return sdp, _candidates(sdp)
        self.peers[viewer] = peer
        self._jobs[viewer] = jobs

        @peer.on("connectionstatechange")
        async def _changed() -> None:
            if peer.connectionState in ("failed", "closed") and self.peers.get(viewer) is peer:
                await self.close(viewer)

        loop = asyncio.get_running_loop()
        self._timers[viewer] = loop.call_later(
            MAX_SESSION, lambda: loop.create_task(self.close(viewer))
        )
        return sdp, _candidates(sdp)

    async def candidate(self, viewer: str, params: Any) -> None:
        """A candidate the viewer trickled (one object or a list of them)."""
        peer = self.peers.get(viewer)
        if peer is None:
            return
        entries = params if isinstance(params, list) else [params]
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("candidate"):
                continue
            text = str(entry["candidate"]).removeprefix("candidate:")
            try:
                found: RTCIceCandidate = candidate_from_sdp(text)
            except ValueError, IndexError:
                continue
            found.sdpMid = entry.get("sdpMid")
            found.sdpMLineIndex = entry.get("sdpMLineIndex")
            with contextlib.suppress(ValueError):
                await peer.addIceCandidate(found)

    async def close(self, viewer: str) -> None:
        if (timer := self._timers.pop(viewer, None)) is not None:
            timer.cancel()
        jobs = self._jobs.pop(viewer, set())
        if (peer := self.peers.pop(viewer, None)) is not None:
            await _close(peer, jobs)

    async def close_all(self) -> None:
        for viewer in list(self.peers):
            await self.close(viewer)


def _aiortc_jobs(tasks: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """Of new tasks, those aiortc or aioice started (not other devices' work)."""
    found = set()
    for task in tasks:
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and ("/aiortc/" in code.co_filename or "/aioice/" in code.co_filename):
            found.add(task)
    return found


async def _close(peer: RTCPeerConnection, jobs: set[asyncio.Task[Any]]) -> None:
    jobs = _aiortc_jobs(jobs)
    await peer.close()
    current = asyncio.current_task()
    for job in jobs:
        if job is not current:
            job.cancel()
    for job in jobs:
        if job is not current:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job


async def sdp_answer(offer: str) -> tuple[str, list[dict[str, Any]]]:
    """Answer `offer` as a camera without streaming; the SDP and its candidates."""
    return await LiveViews("camera", stream=False).answer("", offer)


async def viewer_offer() -> str:
    """An offer as a browser makes it: receive video only."""
    peer = _peer()
    try:
        peer.addTransceiver("video", direction="recvonly")
        await peer.setLocalDescription(await peer.createOffer())
        return str(peer.localDescription.sdp)
    finally:
        await peer.close()
