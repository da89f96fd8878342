"""Cameras and doorbells: live view over WebRTC, signalled through `webrtc_signal_exchange`.

Home Assistant's frontend talks WebRTC straight to the device. This entity only carries the
signalling: the browser's offer goes to the device as `SDP_OFFER` under a `peerClientId` of
its own, the device's answer and candidates come back as `webrtc_signal_exchange` events.
The still image is the picture of the last alarm, when the device attached one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.camera import Camera, CameraEntityDescription, CameraEntityFeature
from homeassistant.components.camera.webrtc import (
    WebRTCAnswer,
    WebRTCCandidate,
    WebRTCError,
    WebRTCSendMessage,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from webrtc_models import RTCIceCandidateInit
from yarl import URL

from . import RlinkConfigEntry
from .const import DOMAIN, SIGNAL_MODEL_EVENT, SIGNAL_WEBRTC
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription
from .ice import turn_auth
from .kinds import Kind
from .picture import PictureRefused, checked_url, fetch_picture
from .protocol.codes import DeviceCommand as Cmd

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0

SOURCE_APP: Final = 1
VIEWER_TURN_LIFETIME: Final = 3600
LIVE_PREFIX: Final = "live_"
CLOSE_METHOD: Final = "CLOSE"
"""Not in the protocol, which has no way to end a session; devices that do not know it
ignore it and end the session when the peer goes quiet."""

# Device error in a signal -> WebRTCError code (its message is `webrtc_<code>`).
SIGNAL_ERRORS: Final = {-2: "device_busy"}
ALARM_IMAGE_KEY: Final = "imageUrl"
"""The one place the protocol's alarm event carries a picture (its thumbnail)."""


@dataclass(frozen=True, kw_only=True)
class RlinkCameraDescription(RlinkEntityDescription, CameraEntityDescription):
    """The camera of a device."""


CAMERA: Final = RlinkCameraDescription(key="camera", identifier="camera", name=None)


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    if not device.profile.has(Kind.CAMERA):
        return []
    return [RlinkCamera(coordinator, device, CAMERA)]


def _json(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None
    return raw


def _webrtc_error(code: str, **placeholders: str) -> WebRTCError:
    """An error for the browser, its message from the translated `webrtc_<code>`."""
    message = HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=f"webrtc_{code}",
        translation_placeholders=placeholders,
    )
    return WebRTCError(code, str(message))


def _candidates(params: Any) -> list[RTCIceCandidateInit]:
    """A device sends one candidate object; some send a list. Both are accepted."""
    parsed = _json(params)
    entries = parsed if isinstance(parsed, list) else [parsed]
    found = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("candidate"), str):
            found.append(
                RTCIceCandidateInit(
                    entry["candidate"],
                    sdp_mid=entry.get("sdpMid"),
                    sdp_m_line_index=entry.get("sdpMLineIndex"),
                    user_fragment=entry.get("usernameFragment"),
                )
            )
    return found


def _candidate_json(candidate: RTCIceCandidateInit) -> dict[str, Any]:
    """A candidate as browsers write it (RTCIceCandidateInit), which devices expect:
    `usernameFragment`, where Home Assistant's own serialisation says `userFragment`."""
    out: dict[str, Any] = {"candidate": candidate.candidate}
    for key, value in (
        ("sdpMid", candidate.sdp_mid),
        ("sdpMLineIndex", candidate.sdp_m_line_index),
        ("usernameFragment", candidate.user_fragment),
    ):
        if value is not None:
            out[key] = value
    return out


class RlinkCamera(RlinkEntity, Camera):
    """A camera that streams over WebRTC, peer to peer with the browser."""

    entity_description: RlinkCameraDescription
    _attr_supported_features = CameraEntityFeature.STREAM

    def __init__(
        self,
        coordinator: RlinkCoordinator,
        device: RlinkDevice,
        description: RlinkCameraDescription,
    ) -> None:
        RlinkEntity.__init__(self, coordinator, device, description)
        Camera.__init__(self)
        self._sessions: dict[str, WebRTCSendMessage] = {}
        self._alarm_image: URL | None = None
        self._image_on_device = False

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        hass, uuid = self.hass, self.device.uuid
        self.async_on_remove(
            async_dispatcher_connect(hass, SIGNAL_WEBRTC.format(uuid), self._on_signal)
        )
        self.async_on_remove(
            async_dispatcher_connect(hass, SIGNAL_MODEL_EVENT.format(uuid), self._on_event)
        )

    def watched(self) -> frozenset[str] | None:
        return frozenset()  # nothing the device reports changes the camera entity itself

    # --- signalling from the browser ------------------------------------------------------

    @staticmethod
    def _peer(session_id: str) -> str:
        return f"{LIVE_PREFIX}{session_id}"

    async def _signal(self, session_id: str, method: str, params: str, **extra: Any) -> None:
        data: dict[str, Any] = {
            "peerClientId": self._peer(session_id),
            "method": method,
            "params": params,
            "rawData": "{}",
            **extra,
        }
        if self.device.gateway:
            data["subUuid"] = self.device.uuid
        await self.coordinator.async_command(
            self.coordinator.target(self.device), Cmd.WEBRTC_SIGNAL_EXCHANGE, data, ack=False
        )

    async def async_handle_async_webrtc_offer(
        self, offer_sdp: str, session_id: str, send_message: WebRTCSendMessage
    ) -> None:
        self._sessions[session_id] = send_message
        extra: dict[str, Any] = {"autoPlay": True, "source": SOURCE_APP}
        if (auth := turn_auth(self.hass, VIEWER_TURN_LIFETIME)) is not None:
            extra["auth"] = auth
        try:
            if self.device.profile.sleeping:
                await self.coordinator.async_wake(self.device)
            await self._signal(
                session_id,
                "SDP_OFFER",
                json.dumps({"type": "offer", "sdp": offer_sdp}),
                **extra,
            )
        except HomeAssistantError as err:
            self._sessions.pop(session_id, None)
            send_message(_webrtc_error("device_unreachable", reason=str(err)))

    async def async_on_webrtc_candidate(
        self, session_id: str, candidate: RTCIceCandidateInit
    ) -> None:
        if session_id not in self._sessions:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="no_webrtc_session",
                translation_placeholders={"session_id": session_id},
            )
        await self._signal(session_id, "ICE_CANDIDATE", json.dumps([_candidate_json(candidate)]))

    @callback
    def close_webrtc_session(self, session_id: str) -> None:
        if self._sessions.pop(session_id, None) is None:
            return
        self.coordinator.spawn(self._close(session_id), f"rlink webrtc close {session_id}")

    async def _close(self, session_id: str) -> None:
        try:
            await self._signal(session_id, CLOSE_METHOD, "{}")
        except HomeAssistantError as err:
            _LOGGER.debug("Could not tell %s the session ended: %s", self.device.name, err)

    # --- signalling from the device ---------------------------------------------------------

    @callback
    def _on_signal(self, data: dict[str, Any]) -> None:
        peer = str(data.get("peerClientId") or "")
        session_id = peer.removeprefix(LIVE_PREFIX)
        send = self._sessions.get(session_id)
        if send is None:
            _LOGGER.debug("%s signalled %s, which has no session", self.device.name, peer)
            return
        error = data.get("error")
        if isinstance(error, int) and error != 0:
            self._sessions.pop(session_id, None)
            code = SIGNAL_ERRORS.get(error)
            send(_webrtc_error(code) if code else _webrtc_error("device_error", error=str(error)))
            return
        method = data.get("method")
        if method == "SDP_ANSWER":
            answer = _json(data.get("params"))
            sdp = answer.get("sdp") if isinstance(answer, dict) else None
            if not sdp:
                send(_webrtc_error("invalid_answer"))
                return
            send(WebRTCAnswer(sdp))
        elif method == "ICE_CANDIDATE":
            for candidate in _candidates(data.get("params")):
                send(WebRTCCandidate(candidate))

    # --- alarms and the still image -----------------------------------------------------------

    @callback
    def _on_event(self, identifier: str, output: dict[str, Any]) -> None:
        image = output.get(ALARM_IMAGE_KEY)
        if identifier != "alarm" or not image:
            return
        try:
            self._alarm_image = checked_url(image)
            # A recording the device keeps ("local") has its picture on the device too.
            self._image_on_device = output.get("storage") == "local"
        except PictureRefused as err:
            _LOGGER.info("Ignored the alarm picture address of %s: %s", self.device.name, err)
            return
        # The address is the device's word: it is used, never shown.
        self.async_write_ha_state()

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        if self._alarm_image is None:
            return None
        try:
            return await fetch_picture(
                self.hass,
                self._alarm_image,
                self.device.network.get("ip"),
                on_device=self._image_on_device,
            )
        except PictureRefused as err:
            _LOGGER.info("Could not fetch the alarm picture of %s: %s", self.device.name, err)
            return None


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.CAMERA, build, async_add_entities)
