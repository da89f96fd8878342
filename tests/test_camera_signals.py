"""What a camera's signalling tells the browser when a live view cannot start, in words.

A fake runtime stands in for the hub; the end-to-end live view (browser websocket, device
server, simulated camera) is in test_kind_firmware_camera.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.components.camera.webrtc import (
    WebRTCAnswer,
    WebRTCCandidate,
    WebRTCError,
    WebRTCMessage,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_load_integrations
from homeassistant.setup import async_setup_component

from custom_components.rlink.camera import CAMERA, RlinkCamera
from custom_components.rlink.const import DOMAIN
from custom_components.rlink.device import RlinkDevice
from custom_components.rlink.protocol.codes import DeviceCommand as Cmd

pytestmark = pytest.mark.usefixtures("custom_integrations")


class FakeRuntime:
    def __init__(self, *, reachable: bool = True) -> None:
        self.reachable = reachable
        self.signals: list[tuple[str, dict[str, Any]]] = []

    def target(self, device: RlinkDevice) -> str:
        return device.gateway or device.uuid

    async def async_command(self, target: str, code: Cmd, data: dict[str, Any], **_: Any) -> None:
        if not self.reachable:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="device_offline",
                translation_placeholders={"device": "Porch camera"},
            )
        assert code is Cmd.WEBRTC_SIGNAL_EXCHANGE
        self.signals.append((target, data))


async def _camera(
    hass: HomeAssistant, *, reachable: bool = True, gateway: str | None = None
) -> tuple[FakeRuntime, RlinkCamera, list[WebRTCMessage]]:
    assert await async_setup_component(hass, "web_rtc", {})  # Home Assistant's ICE servers
    # The words of the errors: Home Assistant reads them for integrations it has loaded.
    await async_load_integrations(hass, {DOMAIN})
    hass.config.components.add(DOMAIN)
    hub = FakeRuntime(reachable=reachable)
    device = RlinkDevice("rn01a1b2c3d4e5f6", "pid1", "Porch camera", gateway=gateway)
    camera = RlinkCamera(hub, device, CAMERA)  # type: ignore[arg-type]
    camera.hass = hass
    sent: list[WebRTCMessage] = []
    await camera.async_handle_async_webrtc_offer("v=0 offer", "s1", sent.append)
    return hub, camera, sent


async def test_an_unreachable_camera_says_why(hass: HomeAssistant) -> None:
    _, _, sent = await _camera(hass, reachable=False)
    (error,) = sent
    assert isinstance(error, WebRTCError)
    assert error.code == "device_unreachable"
    assert error.message.startswith("Cannot reach the camera: ")
    assert "Porch camera" in error.message


@pytest.mark.parametrize(
    ("signal", "code", "message"),
    [
        ({"error": -2}, "device_busy", "The camera is busy with another viewer"),
        ({"error": 7}, "device_error", "The camera refused the live view (error 7)"),
        (
            {"method": "SDP_ANSWER", "params": json.dumps({"type": "answer"})},
            "invalid_answer",
            "The camera answered the live view request without a session description",
        ),
        (
            {"method": "SDP_ANSWER", "params": "not json"},
            "invalid_answer",
            "The camera answered the live view request without a session description",
        ),
    ],
)
async def test_a_refused_live_view_reaches_the_browser_in_words(
    hass: HomeAssistant, signal: dict[str, Any], code: str, message: str
) -> None:
    _, camera, sent = await _camera(hass)
    camera._on_signal({"peerClientId": "live_s1", **signal})
    assert sent == [WebRTCError(code, message)]


async def test_answers_and_candidates_reach_the_browser(hass: HomeAssistant) -> None:
    hub, camera, sent = await _camera(hass, gateway="rn01gateway00001")
    # A sub-device's camera is reached through its gateway, named by subUuid.
    ((target, offer),) = hub.signals
    assert target == "rn01gateway00001"
    assert offer["subUuid"] == "rn01a1b2c3d4e5f6"
    assert offer["peerClientId"] == "live_s1"

    camera._on_signal({"peerClientId": "live_other", "method": "SDP_ANSWER"})  # not ours
    camera._on_signal(
        {"peerClientId": "live_s1", "method": "SDP_ANSWER", "params": {"sdp": "v=0 answer"}}
    )
    candidates = [
        {"candidate": "candidate:1 1 udp 1 10.0.0.2 5000 typ host", "sdpMid": "0"},
        {"candidate": "candidate:2 1 udp 1 10.0.0.2 5001 typ host", "sdpMLineIndex": 0},
        {"no": "candidate"},
    ]
    camera._on_signal(
        {"peerClientId": "live_s1", "method": "ICE_CANDIDATE", "params": json.dumps(candidates)}
    )
    assert sent[0] == WebRTCAnswer("v=0 answer")
    assert [m.candidate.candidate for m in sent[1:] if isinstance(m, WebRTCCandidate)] == [
        c["candidate"] for c in candidates[:2]
    ]
    assert len(sent) == 3


async def test_the_alarm_picture_is_read_only_from_image_url(hass: HomeAssistant) -> None:
    _, camera, _ = await _camera(hass)
    camera.async_write_ha_state = lambda: None  # type: ignore[method-assign]
    # Other keys, an empty address, another event: no picture.
    for identifier, output in (
        ("alarm", {"picUrl": "https://cdn.example.net/a.jpg"}),
        ("alarm", {"image": "https://cdn.example.net/a.jpg"}),
        ("alarm", {"imageUrl": ""}),
        ("doorbell", {"imageUrl": "https://cdn.example.net/a.jpg"}),
        ("alarm", {"imageUrl": "gopher://cdn.example.net/a.jpg"}),
    ):
        camera._on_event(identifier, output)
        assert await camera.async_camera_image() is None
    camera._on_event("alarm", {"imageUrl": "https://cdn.example.net/a.jpg"})
    assert str(camera._alarm_image) == "https://cdn.example.net/a.jpg"


async def test_a_picture_the_camera_keeps_is_asked_of_the_camera_only(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, camera, _ = await _camera(hass)
    camera.async_write_ha_state = lambda: None  # type: ignore[method-assign]
    camera.device.network["ip"] = "192.168.1.23"

    async def public(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(2, 1, 6, "", ("93.184.215.14", port or 0))]

    monkeypatch.setattr(hass.loop, "getaddrinfo", public)
    url = "https://pictures.example.net/a.jpg"
    camera._on_event("alarm", {"imageUrl": url, "storage": "local"})
    assert await camera.async_camera_image() is None
    assert "is not the device" in caplog.text
