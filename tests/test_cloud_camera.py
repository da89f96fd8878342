"""A camera's WebRTC session through a cloud account.

The browser's offer goes out as `webrtcSignalExchange` over REST (after `wakeUpIssue` for a
battery camera); the simulated camera answers with its own aiortc peer, and its answer and
candidates come back as `webrtc_signal_exchange` notifications.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from rlink_sim.cloud import FakeCloud

from tools.rlink_sim.webrtc import viewer_offer

from .brokers import until
from .hub import device, write_models
from .test_cloud_e2e import _entity, cloud_entry
from .test_kind_firmware_camera import open_webrtc_session

CAMERA = device("camera", "cloud-camera")


@pytest.fixture(name="cloud")
async def fixture_cloud(
    hass: HomeAssistant, custom_integrations: None, sockets: None
) -> AsyncIterator[FakeCloud]:
    write_models(hass, ["camera"])
    cloud = FakeCloud([CAMERA])
    await cloud.start(with_devices=False)
    yield cloud
    await cloud.stop()


def _exchanges(cloud: FakeCloud) -> list[dict[str, Any]]:
    return [c.body for c in cloud.calls if c.endpoint == "webrtcSignalExchange"]


@pytest.mark.usefixtures("loopback_ice")
async def test_webrtc_session_through_rest_and_notifications(
    hass: HomeAssistant, cloud: FakeCloud, hass_ws_client: Any
) -> None:
    entry = await cloud_entry(hass, cloud)
    await cloud.start_devices()
    camera_id = cloud.device_id(CAMERA.uuid)
    cam = await _entity(hass, "camera", camera_id, "camera")
    await until(lambda: hass.states.get(cam).state == "idle", 10)
    assert entry.runtime_data.coordinator.devices[camera_id].profile.sleeping
    client = await hass_ws_client(hass)

    cloud.calls.clear()
    offer = await viewer_offer()
    subscribed, session = await open_webrtc_session(client, cam, offer)

    # The camera was woken first, then given the offer; its answer came as a notification.
    endpoints = [c.endpoint for c in cloud.calls]
    assert endpoints.index("wakeUpIssue") < endpoints.index("webrtcSignalExchange")
    sent = _exchanges(cloud)[0]
    peer = f"live_{session['session_id']}"
    assert (sent["deviceId"], sent["peerClientId"], sent["method"]) == (
        camera_id,
        peer,
        "SDP_OFFER",
    )
    assert json.loads(sent["params"]) == {"type": "offer", "sdp": offer}
    answers = [
        m.data
        for _topic, m in cloud.notifications
        if m.code == "webrtc_signal_exchange" and m.data.get("method") == "SDP_ANSWER"
    ]
    assert answers
    assert answers[0]["deviceId"] == camera_id
    assert answers[0]["peerClientId"] == peer

    # The browser's own candidates trickle out through REST as well.
    await client.send_json_auto_id(
        {
            "type": "camera/webrtc/candidate",
            "entity_id": cam,
            "session_id": session["session_id"],
            "candidate": {"candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host"},
        }
    )
    assert (await client.receive_json())["success"]
    await until(lambda: any(b["method"] == "ICE_CANDIDATE" for b in _exchanges(cloud)))
    trickled = next(b for b in _exchanges(cloud) if b["method"] == "ICE_CANDIDATE")
    assert trickled["peerClientId"] == peer
    assert json.loads(trickled["params"])[0]["candidate"].startswith("candidate:1")
    assert cloud.simulator is not None
    virtual = cloud.simulator.device(CAMERA.uuid)
    await until(
        lambda: any(
            m.code == "webrtc_signal_exchange" and m.data.get("method") == "ICE_CANDIDATE"
            for m in virtual.received
        )
    )

    # The browser leaves: the camera hears the session is over.
    await client.send_json_auto_id({"type": "unsubscribe_events", "subscription": subscribed["id"]})
    assert (await client.receive_json())["success"]
    await until(lambda: any(b["method"] == "CLOSE" for b in _exchanges(cloud)))
    await until(
        lambda: any(
            m.code == "webrtc_signal_exchange" and m.data.get("method") == "CLOSE"
            for m in virtual.received
        )
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
