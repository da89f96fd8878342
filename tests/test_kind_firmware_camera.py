"""Firmware updates over Home Assistant's HTTP server, and WebRTC camera signalling."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from homeassistant.components.camera import async_get_image
from homeassistant.components.event import DoorbellEventType, EventDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from yarl import URL

from custom_components.rlink import FIRMWARE_WATCH_INTERVAL
from custom_components.rlink import event as event_platform
from custom_components.rlink import firmware as firmware_module
from custom_components.rlink.const import DOMAIN
from custom_components.rlink.device import RlinkDevice
from custom_components.rlink.firmware import DATA_FIRMWARE
from custom_components.rlink.picture import MAX_BYTES, PictureRefused, checked_url
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.model import ModelEvent, ModelFormat, ObjectModel
from tools.rlink_sim import Simulator
from tools.rlink_sim.webrtc import viewer_offer

from .brokers import until
from .hub import device, device_entry, enable_entity, entity_id, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def _serve_http(hass: HomeAssistant, hass_client_no_auth: Any) -> None:
    """Home Assistant's HTTP app on a real port, as devices reach it on the LAN."""
    assert await async_setup_component(hass, "http", {})
    client = await hass_client_no_auth()
    await hass.config.async_update(internal_url=str(client.make_url("")).rstrip("/"))


async def open_webrtc_session(
    client: Any, camera: str, offer: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send a browser's offer; the camera must answer with its SDP and a loopback candidate.

    Returns the subscription's result and the session event."""
    await client.send_json_auto_id(
        {"type": "camera/webrtc/offer", "entity_id": camera, "offer": offer}
    )
    subscribed = await client.receive_json()
    assert subscribed["success"]
    session = (await client.receive_json())["event"]
    assert session["type"] == "session"
    answer = (await client.receive_json())["event"]
    assert answer["type"] == "answer"
    assert "a=sendonly" in answer["answer"]
    candidate = (await client.receive_json())["event"]
    assert candidate["type"] == "candidate"
    assert "127.0.0.1" in candidate["candidate"]["candidate"]
    # The device's usernameFragment reaches the browser (as Home Assistant names it).
    ufrag = next(line for line in answer["answer"].splitlines() if line.startswith("a=ice-ufrag:"))
    assert candidate["candidate"]["userFragment"] == ufrag.removeprefix("a=ice-ufrag:")
    return subscribed, session


def sim_events(virtual: Any) -> list[Any]:
    return [m for m in virtual.sent if m.code == "ota_progress"]


def _firmware(hass: HomeAssistant, pid: str, name: str, body: bytes) -> Path:
    folder = Path(hass.config.path("rlink", "firmware", pid))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(body)
    return path


async def test_firmware_install_downloads_from_home_assistant(
    hass: HomeAssistant, hass_client_no_auth: Any
) -> None:
    plug = device("plug")
    entry = await hub_with(hass, plug)
    await _serve_http(hass, hass_client_no_auth)
    body = b"\x7fELF firmware " * 500
    _firmware(hass, plug.product_id, "plug_v1.1.0.bin", body)
    await hass.data[DATA_FIRMWARE].async_scan()
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug]
    ) as sim:
        virtual = sim.device(plug.uuid)
        update = entity_id(hass, "update", plug.uuid, "firmware")
        await until(lambda: hass.states.get(update).state == "on")
        state = hass.states.get(update)
        assert state.attributes["installed_version"] == "1.0.0"
        assert state.attributes["latest_version"] == "1.1.0"

        waiter = hass.async_create_task(virtual.wait_for("ota"))
        await hass.services.async_call("update", "install", {"entity_id": update}, blocking=True)
        order = (await waiter).data
        assert order["version"] == "1.1.0"
        assert order["fileSize"] == len(body)
        assert order["md5sum"] == hashlib.md5(body).hexdigest()
        assert "authSig=" in order["url"]  # a signed, expiring link
        assert virtual.downloaded == body
        await until(lambda: hass.states.get(update).state == "off")
        assert hass.states.get(update).attributes["installed_version"] == "1.1.0"
        assert device_entry(hass, plug.uuid).sw_version == "1.1.0"
        progress = [m.data["type"] for m in sim_events(virtual)]
        assert progress[:2] == ["downloading", "downloading"]

        # Without the signature, the file is not served.
        client = await hass_client_no_auth()
        assert (await client.get(URL(order["url"]).path)).status == 401

        # A file that changed after it was offered fails the device's MD5 check.
        _firmware(hass, plug.product_id, "plug_v1.2.0.bin", b"new firmware")
        await hass.data[DATA_FIRMWARE].async_scan()
        (
            Path(hass.config.path("rlink", "firmware", plug.product_id)) / "plug_v1.2.0.bin"
        ).write_bytes(b"tampered firmware")
        await until(lambda: hass.states.get(update).state == "on")
        with pytest.raises(HomeAssistantError) as failed:
            await hass.services.async_call(
                "update", "install", {"entity_id": update}, blocking=True
            )
        assert failed.value.translation_key == "ota_md5_mismatch"
        assert hass.states.get(update).attributes["installed_version"] == "1.1.0"
        assert hass.states.get(update).attributes["in_progress"] is False
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_download_progress_as_devices_send_it(hass: HomeAssistant) -> None:
    plug = device("plug")
    entry = await hub_with(hass, plug)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug]
    ) as sim:
        update = entity_id(hass, "update", plug.uuid, "firmware")
        virtual = sim.device(plug.uuid)
        for percent, shown in ((40, 40), (37.5, 38), ("61", 61), (140, 100), ("soon", None)):
            await virtual.send(
                DeviceEvent.OTA_PROGRESS, {"type": "downloading", "percent": percent}
            )
            await until(
                lambda p=percent: (
                    entry.runtime_data.coordinator.devices[plug.uuid].ota.get("percent") == p
                )
            )
            await hass.async_block_till_done()
            assert hass.states.get(update).attributes["update_percentage"] == shown, percent
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_firmware_of_one_device_then_of_a_whole_product(
    hass: HomeAssistant, hass_client_no_auth: Any
) -> None:
    """One device is its update entity's (a version named in a sidecar); a whole product is
    the service's, one offer that every device of it hears."""
    plugs = [device("plug", f"plug-{n}") for n in range(2)]
    entry = await hub_with(hass, *plugs)
    await _serve_http(hass, hass_client_no_auth)
    path = _firmware(hass, plugs[0].product_id, "plug.bin", b"firmware with a sidecar")
    path.with_name("plug.bin.json").write_text(json.dumps({"version": "2.0.0"}))
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, plugs
    ) as sim:
        await hass.data[DATA_FIRMWARE].async_scan()  # the sidecar came after its file
        update = entity_id(hass, "update", plugs[0].uuid, "firmware")
        await until(lambda: hass.states.get(update).attributes["latest_version"] == "2.0.0")
        waiter = hass.async_create_task(sim.device(plugs[0].uuid).wait_for("ota"))
        await hass.services.async_call(
            "update", "install", {"entity_id": update, "version": "2.0.0"}, blocking=True
        )
        assert (await waiter).data["version"] == "2.0.0"
        assert sim.device(plugs[0].uuid).version == "2.0.0"
        assert hass.states.get(update).attributes["installed_version"] == "2.0.0"

        waiters = [
            hass.async_create_task(sim.device(p.uuid).wait_for("silence_ota")) for p in plugs
        ]
        reply = await hass.services.async_call(
            DOMAIN,
            "firmware_update",
            {"product": plugs[0].product_id},
            blocking=True,
            return_response=True,
        )
        for waiter in waiters:
            order = (await waiter).data
            assert (order["pid"], order["targetVersion"], order["version"]) == (
                plugs[0].product_id,
                "2.0.0",
                "ALL",
            )
        # Each device answered on the product topic; the one already on 2.0.0 took no part.
        assert reply["devices"][plugs[1].uuid] == {"result": "accepted"}
        assert reply["devices"][plugs[0].uuid] == {"result": "not_accepted"}
        await until(lambda: sim.device(plugs[1].uuid).version == "2.0.0")

        with pytest.raises(HomeAssistantError) as missing:
            await hass.services.async_call(
                DOMAIN, "firmware_update", {"product": "nosuchpid"}, blocking=True
            )
        assert missing.value.translation_key == "no_firmware"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_product_offer_for_sub_devices_reaches_their_gateway(
    hass: HomeAssistant, hass_client_no_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway hears its sub-devices' product topic and answers once for all of them;
    the offer is complete with that one answer, long before its window ends."""
    subs = [device("sensor", f"sub-{n}") for n in range(2)]
    gateway = device("gateway", sub_devices=subs)
    entry = await hub_with(hass, gateway)
    await _serve_http(hass, hass_client_no_auth)
    pid = subs[0].product_id
    _firmware(hass, pid, "sensor.bin", b"sub-device firmware")
    _firmware(hass, pid, "sensor.bin.json", b'{"version": "3.0.0"}')
    monkeypatch.setattr(firmware_module, "SILENCE_WINDOW", 600.0)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [gateway]
    ) as sim:
        await until(lambda: all(s.uuid in entry.runtime_data.coordinator.devices for s in subs))
        async with asyncio.timeout(30):
            reply = await hass.services.async_call(
                DOMAIN, "firmware_update", {"product": pid}, blocking=True, return_response=True
            )
        assert reply["devices"] == {s.uuid: {"result": "accepted"} for s in subs}
        virtual = sim.device(gateway.uuid)
        await until(lambda: all(virtual.subs[s.uuid].config.version == "3.0.0" for s in subs))
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("loopback_ice")
async def test_camera_webrtc_through_the_websocket_api(
    hass: HomeAssistant, hass_ws_client: Any
) -> None:
    camera, busy = device("camera"), device("camera", "busy", busy=True, name="Busy")
    entry = await hub_with(hass, camera, busy)
    hub = entry.runtime_data.coordinator
    assert hub.devices[camera.uuid].profile.sleeping  # a battery camera: wake it first
    async with Simulator("127.0.0.1", hub.transport.broker.port, [camera, busy]) as sim:
        virtual = sim.device(camera.uuid)
        cam = entity_id(hass, "camera", camera.uuid, "camera")
        await until(lambda: hass.states.get(cam).state == "idle")
        client = await hass_ws_client(hass)
        await client.send_json_auto_id({"type": "camera/capabilities", "entity_id": cam})
        assert (await client.receive_json())["result"] == {
            "frontend_stream_types": ["web_rtc"],
            "two_way_audio": False,
        }

        offer = await viewer_offer()
        subscribed, session = await open_webrtc_session(client, cam, offer)

        sent = [m for m in virtual.received if m.code == "webrtc_signal_exchange"]
        assert [m.code for m in virtual.received].index("wake_up") < [
            m.code for m in virtual.received
        ].index("webrtc_signal_exchange")
        peer = sent[0].data["peerClientId"]
        assert peer == f"live_{session['session_id']}"
        assert sent[0].data["method"] == "SDP_OFFER"
        assert json.loads(sent[0].data["params"]) == {"type": "offer", "sdp": offer}

        waiter = hass.async_create_task(virtual.wait_for("webrtc_signal_exchange"))
        await client.send_json_auto_id(
            {
                "type": "camera/webrtc/candidate",
                "entity_id": cam,
                "session_id": session["session_id"],
                # Home Assistant's websocket API names the fragment userFragment.
                "candidate": {
                    "candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host",
                    "sdpMid": "0",
                    "userFragment": "T3TR",
                },
            }
        )
        assert (await client.receive_json())["success"]
        trickled = (await waiter).data
        assert trickled["method"] == "ICE_CANDIDATE"
        assert trickled["peerClientId"] == peer
        # To the device in the browser's (and the spec's) shape: usernameFragment.
        assert json.loads(trickled["params"]) == [
            {
                "candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host",
                "sdpMid": "0",
                "usernameFragment": "T3TR",
            }
        ]

        # The browser leaves: the device is told the session is over.
        waiter = hass.async_create_task(virtual.wait_for("webrtc_signal_exchange"))
        await client.send_json_auto_id(
            {"type": "unsubscribe_events", "subscription": subscribed["id"]}
        )
        assert (await client.receive_json())["success"]
        closing = (await waiter).data
        assert (closing["method"], closing["peerClientId"]) == ("CLOSE", peer)
        # A late candidate for the closed session: a translated error, nothing sent.
        await client.send_json_auto_id(
            {
                "type": "camera/webrtc/candidate",
                "entity_id": cam,
                "session_id": session["session_id"],
                "candidate": {"candidate": "candidate:2 1 UDP 1 127.0.0.1 9 typ host"},
            }
        )
        late = await client.receive_json()
        assert not late["success"]
        assert late["error"]["message"].startswith(
            f"There is no live view {session['session_id']} on this camera any more"
        )

        # A busy camera: the browser gets a clear error.
        busy_cam = entity_id(hass, "camera", busy.uuid, "camera")
        await client.send_json_auto_id(
            {"type": "camera/webrtc/offer", "entity_id": busy_cam, "offer": offer}
        )
        assert (await client.receive_json())["success"]
        assert (await client.receive_json())["event"]["type"] == "session"
        error = (await client.receive_json())["event"]
        assert error == {
            "type": "error",
            "code": "device_busy",
            "message": "The camera is busy with another viewer",
        }

        assert hass.states.get(entity_id(hass, "event", camera.uuid, "event_alarm")) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


DOORBELL_WARNING = "is a doorbell event entity but does not support"
"""What Home Assistant logs for a doorbell event without `ring` (it stops working in 2027.4)."""


async def test_a_doorbell_press_rings(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The doorbell's button fires Home Assistant's standard `ring`; the alarm keeps its
    own event type, and Home Assistant has nothing to warn about."""
    camera = device("camera")
    entry = await hub_with(hass, camera)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [camera]
    ) as sim:
        virtual = sim.device(camera.uuid)
        press = entity_id(hass, "event", camera.uuid, "event_doorbell")
        alarm = entity_id(hass, "event", camera.uuid, "event_alarm")
        await until(lambda: hass.states.get(press).state != "unavailable")
        assert hass.states.get(press).attributes["device_class"] == "doorbell"
        assert hass.states.get(press).attributes["event_types"] == ["ring"]
        assert hass.states.get(alarm).attributes["event_types"] == ["alarm"]

        await virtual.emit("doorbell", {})
        await until(lambda: hass.states.get(press).attributes.get("event_type") == "ring")
        await virtual.emit("alarm", {"type": "ipc_motion"})
        await until(lambda: hass.states.get(alarm).attributes.get("event_type") == "alarm")
        assert hass.states.get(alarm).attributes["type"] == "ipc_motion"
        assert hass.states.get(press).attributes["event_type"] == "ring"  # not the alarm's
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert DOORBELL_WARNING not in caplog.text


DOORBELL_IDENTIFIERS = sorted(
    identifier
    for identifier, device_class in event_platform.DEVICE_CLASSES.items()
    if device_class is EventDeviceClass.DOORBELL
)


@pytest.mark.parametrize("identifier", DOORBELL_IDENTIFIERS)
def test_whatever_a_model_calls_its_doorbell_press_it_rings(identifier: str) -> None:
    device = RlinkDevice("rn01a1b2c3d4e5f6", "pid1", "Porch")
    device.model = ObjectModel(
        None,
        None,
        ModelFormat.COMPLETE,
        (),
        (ModelEvent(identifier), ModelEvent("low_battery")),
    )
    entities = {
        e.entity_description.model_event: e.entity_description  # type: ignore[attr-defined]
        for e in event_platform.build(None, device)  # type: ignore[arg-type]
    }
    assert entities[identifier].device_class is EventDeviceClass.DOORBELL
    assert entities[identifier].event_types == [DoorbellEventType.RING]
    assert entities["low_battery"].event_types == ["low_battery"]
    assert "alarm" not in entities  # only what the model lists


def test_events_come_from_the_model_alone() -> None:
    """A plug whose model lists no events has no event entity; one without a real model
    has none until it gets one (its events still reach the bus)."""
    device = RlinkDevice("rn01a1b2c3d4e5f6", "pid1", "Plug")
    assert event_platform.build(None, device) == []  # type: ignore[arg-type]
    device.model = ObjectModel(None, None, ModelFormat.COMPLETE, (), ())
    assert event_platform.build(None, device) == []  # type: ignore[arg-type]
    device.model = ObjectModel(None, None, ModelFormat.COMPLETE, (), (ModelEvent("alarm"),))
    device.model_inferred = True
    assert event_platform.build(None, device) == []  # type: ignore[arg-type]
    device.model_inferred = False
    built = event_platform.build(None, device)  # type: ignore[arg-type]
    assert [e.entity_description.key for e in built] == ["event_alarm"]


async def test_an_alarm_entity_the_model_never_listed_leaves_the_registry(
    hass: HomeAssistant,
) -> None:
    """An install from before every device's Alarm entity depended on its model: the plug's
    (its model lists no alarm) leaves the registry at the next start; the lock's stays,
    with what the user gave it."""
    plug, lock = device("plug"), device("lock")
    entry = await hub_with(hass, plug, lock)
    registry = er.async_get(hass)
    lock_alarm = entity_id(hass, "event", lock.uuid, "event_alarm")
    registry.async_update_entity(lock_alarm, name="Tamper alarm")
    legacy = registry.async_get_or_create(
        "event",
        DOMAIN,
        f"{plug.uuid}_event_alarm",
        config_entry=entry,
        device_id=device_entry(hass, plug.uuid).id,
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get(legacy.entity_id) is None
    assert registry.async_get(lock_alarm).name == "Tamper alarm"  # type: ignore[union-attr]
    assert hass.states.get(lock_alarm) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_alarm_picture_comes_only_from_where_a_device_may_point(
    hass: HomeAssistant, loopback_ice: None
) -> None:
    """A device names its alarm picture's address; Home Assistant fetches it only from the
    device itself or a public host, and never shows the address."""
    camera_device = device("camera")
    entry = await hub_with(hass, camera_device)
    served = b"\xff\xd8 a jpeg"
    hits: list[str] = []

    async def picture(request: web.Request) -> web.Response:
        hits.append(request.path)
        answers = {
            "/page": web.Response(text="<html>", content_type="text/html"),
            "/missing": web.Response(status=404),
            "/moved": web.Response(status=302, headers={"Location": "/a.jpg"}),
            "/huge.jpg": web.Response(body=b"\0" * (MAX_BYTES + 1), content_type="image/jpeg"),
        }
        return answers.get(request.path) or web.Response(body=served, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", picture)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Simulator(
            "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [camera_device]
        ) as sim:
            virtual = sim.device(camera_device.uuid)
            cam = entity_id(hass, "camera", camera_device.uuid, "camera")
            await until(lambda: hass.states.get(cam).state == "idle")
            url = f"http://127.0.0.1:{port}/a.jpg"
            alarm = entity_id(hass, "event", camera_device.uuid, "event_alarm")

            async def alarm_with(address: str) -> None:
                """The device raises an alarm; wait until Home Assistant has it."""
                before = hass.states.get(alarm).state
                await virtual.emit("alarm", {"type": "ipc_motion", "imageUrl": address})
                await until(lambda: hass.states.get(alarm).state != before)

            # The device has not said it is 127.0.0.1: that is Home Assistant's own host.
            await alarm_with(url)
            with pytest.raises(HomeAssistantError):
                await async_get_image(hass, cam)
            assert hits == []

            # Once it has, the picture is its own to show.
            info = {"version": "1.1.0", "config": json.dumps({"ip": "127.0.0.1"})}
            await virtual.send(DeviceEvent.INFO, info)
            await until(
                lambda: entry.runtime_data.coordinator.devices[camera_device.uuid].network.get("ip")
            )
            assert (await async_get_image(hass, cam)).content == served
            assert "alarm_image" not in hass.states.get(cam).attributes
            assert url not in repr(hass.states.get(cam).attributes)

            # Not a picture, or not an address Home Assistant fetches from: nothing.
            await alarm_with(f"http://127.0.0.1:{port}/page")
            with pytest.raises(HomeAssistantError):
                await async_get_image(hass, cam)
            for refused in ("file:///etc/passwd", "http://user:pw@127.0.0.1/x", "x" * 5000):
                await alarm_with(refused)
            with pytest.raises(HomeAssistantError):  # the last good address was the page
                await async_get_image(hass, cam)
            # Missing, moved elsewhere (not followed), too large: nothing either.
            for path in ("/missing", "/moved", "/huge.jpg"):
                await alarm_with(f"http://127.0.0.1:{port}{path}")
                with pytest.raises(HomeAssistantError):
                    await async_get_image(hass, cam)
            # A name, not an address: it must resolve to the device or to a public host.
            await alarm_with(f"http://localhost:{port}/a.jpg")
            with pytest.raises(HomeAssistantError):
                await async_get_image(hass, cam)
            assert hits == ["/a.jpg", "/page", "/page", "/missing", "/moved", "/huge.jpg"]
    finally:
        await runner.cleanup()
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    "address",
    [
        None,
        42,
        "",
        "x" * 3000,
        "ftp://host/a.jpg",
        "http:///a.jpg",
        "http://u:p@host/a",
        "http://[::1",
    ],
)
def test_picture_addresses_a_device_may_not_give(address: object) -> None:
    with pytest.raises(PictureRefused):
        checked_url(address)


def test_picture_addresses_a_device_may_give() -> None:
    assert str(checked_url("https://cdn.example.net/alarm/1.jpg?sig=x")).startswith("https://")


async def test_the_simulated_doorbell_has_a_still_image(
    hass: HomeAssistant, hass_client: Any
) -> None:
    """Motion and doorbell alarms carry a photo from the camera's own address; the camera
    proxy serves it as a JPEG."""
    assert await async_setup_component(hass, "http", {})
    camera_device = device("camera", ip="127.0.0.1", event_interval=0.5)
    enable_entity(hass, "sensor", camera_device.uuid, "diag_signal")  # added disabled
    entry = await hub_with(hass, camera_device)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [camera_device]
    ):
        cam = entity_id(hass, "camera", camera_device.uuid, "camera")
        doorbell = entity_id(hass, "event", camera_device.uuid, "event_doorbell")
        await until(lambda: hass.states.get(doorbell).state not in ("unknown", "unavailable"))
        assert hass.states.get(doorbell).name == "Camera Doorbell"
        client = await hass_client()
        response = await client.get(f"/api/camera_proxy/{cam}")
        assert response.status == 200
        assert response.content_type == "image/jpeg"
        assert (await response.read()).startswith(b"\xff\xd8")
        signal = entity_id(hass, "sensor", camera_device.uuid, "diag_signal")
        assert hass.states.get(signal).state == "92"


async def test_a_firmware_file_is_noticed_within_seconds_and_progress_shows(
    hass: HomeAssistant, hass_client_no_auth: Any
) -> None:
    """A file dropped in the folder is offered once the watch sees it settle, or at once when
    the entity is checked; a device that downloads slowly shows its progress."""
    plug = device("plug", download_rate=40_000)
    entry = await hub_with(hass, plug)
    await _serve_http(hass, hass_client_no_auth)
    async with Simulator("127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug]):
        update = entity_id(hass, "update", plug.uuid, "firmware")
        await until(lambda: hass.states.get(update).state == "off")
        _firmware(hass, plug.product_id, "plug_v1.1.0.bin", b"\x7f" * 100_000)
        for _ in range(2):  # seen once, then seen unchanged
            async_fire_time_changed(hass, dt_util.utcnow() + FIRMWARE_WATCH_INTERVAL)
            await hass.async_block_till_done()
        await until(lambda: hass.states.get(update).state == "on")

        _firmware(hass, plug.product_id, "plug_v1.2.0.bin", b"\x7f" * 100_000)
        await hass.services.async_call(
            "homeassistant", "update_entity", {"entity_id": update}, blocking=True
        )
        assert hass.states.get(update).attributes["latest_version"] == "1.2.0"

        percentages: set[int] = set()

        def progress() -> bool:
            value = hass.states.get(update).attributes.get("update_percentage")
            if isinstance(value, int):
                percentages.add(value)
            return len(percentages) >= 3

        install = hass.async_create_task(
            hass.services.async_call("update", "install", {"entity_id": update}, blocking=True)
        )
        await until(progress, seconds=20)
        await install
        assert hass.states.get(update).attributes["installed_version"] == "1.2.0"
