"""Simulated devices speak the device side of the protocol against a real broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rlink_sim import DeviceConfig, Simulator, make_secret, make_uuid
from rlink_sim.__main__ import load
from rlink_sim.files import ObjectStore
from rlink_sim.webrtc import viewer_offer

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import DeviceCommand as Cmd
from custom_components.rlink.protocol.codes import DeviceEvent as Evt
from custom_components.rlink.protocol.errors import InvalidParameter
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.session import MqttSession
from custom_components.rlink.protocol.timeinfo import time_reply
from custom_components.rlink.protocol.topics import DeviceTopic, Topic, device_filter, device_topic
from custom_components.rlink.protocol.topics import TopicKind as K

from .brokers import EmbeddedRig, until


class MiniCloud:
    """The least a cloud must do: answer every event that asks, and remember them all."""

    def __init__(self, session: MqttSession) -> None:
        self.session = session
        self.events: list[tuple[str, Message]] = []
        self.grants: dict[Evt, dict[str, Any]] = {}
        """Replies to give vacuums (upload credentials, map ids)."""
        session.subscribe(device_filter(K.REPORT), self._on_report)
        session.subscribe(device_filter(K.ISSUE_RESPONSE), lambda t, m: None)

    def codes(self, uuid: str) -> list[str]:
        return [str(m.code) for u, m in self.events if u == uuid]

    def of(self, uuid: str, code: Evt) -> list[Message]:
        return [m for u, m in self.events if u == uuid and m.code is code]

    def _on_report(self, topic: Topic, message: Message) -> None:
        assert isinstance(topic, DeviceTopic)
        self.events.append((topic.uuid, message))
        if not message.ack:
            return
        answers: dict[Evt, dict[str, Any]] = {
            Evt.TIME: time_reply("Europe/Berlin"),
            **self.grants,
        }
        res = 1005 if message.code in (Evt.MODEL, Evt.SUB_MODEL) else 0  # no models here
        self.session.publish(
            device_topic(K.REPORT_RESPONSE, topic.pid, topic.uuid),
            messages.reply(message, answers.get(message.code), res=res),  # type: ignore[call-overload]
        )

    async def command(
        self, device: Any, code: Cmd, data: dict[str, Any] | None = None, **kw: Any
    ) -> Message | None:
        message = messages.command(code, data, **kw)
        topic = device_topic(K.ISSUE, device.pid, device.uuid)
        if message.ack:
            return await self.session.request(topic, message, timeout=5)
        self.session.publish(topic, message)
        return None


def _config(kind: str, **kw: Any) -> DeviceConfig:
    seed = f"{kind}-{kw.get('name', '')}"
    return DeviceConfig(make_uuid(seed), make_secret(seed), kind=kind, **kw)


@pytest.fixture(name="cloud")
async def fixture_cloud(sockets: None) -> Any:
    rig = EmbeddedRig()
    await rig.start()
    cloud = MiniCloud(rig.link)
    cloud.rig = rig  # type: ignore[attr-defined]
    yield cloud
    await rig.stop()


def _simulate(cloud: MiniCloud, *configs: DeviceConfig) -> Simulator:
    """Devices the broker knows, to be run with ``async with``."""
    rig: EmbeddedRig = cloud.rig  # type: ignore[attr-defined]
    for config in configs:
        rig.secrets[config.uuid] = config.secret
        for sub in config.sub_devices:
            rig.secrets[sub.uuid] = sub.secret
    return Simulator("127.0.0.1", rig.port, configs, reply_timeout=3)


async def test_start_sequences(cloud: MiniCloud) -> None:
    plug, lock = _config("plug"), _config("lock")
    sensor = _config("sensor", name="child")
    gateway = _config("gateway", sub_devices=[sensor])
    async with _simulate(cloud, plug, lock, gateway) as sim:
        for config in (plug, lock, gateway):  # the last report may still be on its way
            await until(lambda c=config: "property_report" in cloud.codes(c.uuid))
        assert cloud.codes(plug.uuid) == [
            "bind",
            "info",
            "update_properties_info",
            "time",
            "model",
            "property_report",
        ]
        assert cloud.codes(lock.uuid) == [
            "bind",
            "info",
            "update_properties_info",
            "time",
            "model",
            "pwd_sync",
            "property_report",
        ]
        assert cloud.codes(gateway.uuid) == [
            "bind",
            "info",
            "update_properties_info",
            "time",
            "model",
            "sub_bind",
            "sub_login",
            "sub_model",
            "sub_property_report",
            "property_report",
        ]
        device = sim.device(plug.uuid)
        assert device.started.is_set()
        assert device.replies["time"].data["sys_tz"] == "Europe/Berlin"
        # Every event that asked got its answer; the model was refused (this cloud has none).
        assert device.errors == ["model: rlink status 1005: failed"]
        bind = cloud.of(plug.uuid, Evt.BIND)[0]
        assert bind.data["version"] == "1.0.0"
        info = cloud.of(plug.uuid, Evt.INFO)[0]
        assert json.loads(info.data["config"])["currentSsid"] == "sim-wifi"
        assert cloud.of(plug.uuid, Evt.PROPERTY_REPORT)[0].data["properties"]["switch"] == 0
        sub_bind = cloud.of(gateway.uuid, Evt.SUB_BIND)[0]
        assert sub_bind.data["devices"][0]["uuid"] == sensor.uuid
        assert cloud.of(gateway.uuid, Evt.SUB_MODEL)[0].data["subPid"] == "simsensor01"


async def test_properties_ping_and_events(cloud: MiniCloud) -> None:
    light = _config("light", report_interval=0.2)
    async with _simulate(cloud, light) as sim:
        device = sim.device(light.uuid)
        reply = await cloud.command(
            device, Cmd.PROPERTY_SET, {"properties": {"brightness": 42}}, ack=True
        )
        assert reply is not None
        assert reply.data == {"properties": {"brightness": 42}}
        await until(
            lambda: any(
                m.data["properties"] == {"brightness": 42}
                for m in cloud.of(light.uuid, Evt.PROPERTY_REPORT)
            )
        )
        with pytest.raises(Exception, match="1002"):
            await cloud.command(device, Cmd.PROPERTY_SET, {"properties": {"warp": 9}}, ack=True)

        ping = await cloud.command(device, Cmd.PING)
        assert ping is not None
        assert ping.data["signalValue"] == 92

        device.set("switch_led", 1)
        await until(
            lambda: any(
                m.data["properties"] == {"switch_led": 1}
                for m in cloud.of(light.uuid, Evt.PROPERTY_REPORT)
            )
        )
        await device.emit("alarm", {"type": "ipc_motion"})
        await until(lambda: bool(cloud.of(light.uuid, Evt.EVENT)))
        assert cloud.of(light.uuid, Evt.EVENT)[0].data == {
            "identifier": "alarm",
            "output": {"type": "ipc_motion"},
        }

        before = len(cloud.of(light.uuid, Evt.PROPERTY_REPORT))
        await until(
            lambda: len(cloud.of(light.uuid, Evt.PROPERTY_REPORT)) >= before + 2
        )  # periodic
        await cloud.command(device, Cmd.PROPERTY_GET, {"reportAll": True})
        assert (await device.wait_for("property_get")).code is Cmd.PROPERTY_GET


async def test_ota_and_reboot(cloud: MiniCloud) -> None:
    plug = _config("plug")
    async with _simulate(cloud, plug) as sim:
        # A link the device cannot fetch: it says so and keeps its firmware.
        await cloud.command(
            sim.device(plug.uuid),
            Cmd.OTA,
            {"version": "2.0.0", "url": "http://127.0.0.1:9/fw.bin", "md5sum": "0"},
        )
        await until(lambda: bool(cloud.of(plug.uuid, Evt.OTA_PROGRESS)))
        failed = cloud.of(plug.uuid, Evt.OTA_PROGRESS)[0].data
        assert (failed["type"], failed["resCode"]) == ("fail", -1)
        cloud.events.clear()
        await cloud.command(sim.device(plug.uuid), Cmd.OTA, {"version": "2.0.0"})
        await until(lambda: len(cloud.of(plug.uuid, Evt.BIND)) == 1, 10)  # the new firmware boots
        steps = [
            (m.data["type"], m.data.get("percent")) for m in cloud.of(plug.uuid, Evt.OTA_PROGRESS)
        ]
        assert steps == [
            ("downloading", 0),
            ("downloading", 50),
            ("downloading", 100),
            ("burning", None),
        ]
        assert cloud.of(plug.uuid, Evt.BIND)[0].data["version"] == "2.0.0"

        await cloud.command(sim.device(plug.uuid), Cmd.REBOOT)
        await until(lambda: len(cloud.of(plug.uuid, Evt.BIND)) == 2, 10)
        await until(sim.device(plug.uuid).started.is_set)


async def test_lock_passwords_and_unlock(cloud: MiniCloud) -> None:
    lock = _config("lock", relock_after=0.3)
    async with _simulate(cloud, lock) as sim:
        device = sim.device(lock.uuid)
        entry = {"index": 3, "type": 1, "deviceUserId": "7", "pwd": "123456", "timeType": 1}
        reply = await cloud.command(
            device, Cmd.PWD_SET, {"subUuid": "", "operatorType": 1, "pwdData": entry}
        )
        assert reply is not None
        assert "pwd" not in reply.data["pwdData"]
        assert device.password_list() == [{k: v for k, v in entry.items() if k != "pwd"}]
        await cloud.command(
            device, Cmd.PWD_SET, {"subUuid": "", "operatorType": 2, "pwdData": {"index": 3}}
        )
        assert device.passwords == {}

        await cloud.command(
            device, Cmd.REMOTE_UNLOCK, {"subUuid": "", "type": 9, "index": 901, "pwd": "0" * 40}
        )
        await until(
            lambda: (
                [
                    m.data["properties"].get("lock_state")
                    for m in cloud.of(lock.uuid, Evt.PROPERTY_REPORT)
                ][-2:]
                == [0, 1]
            )
        )


async def test_a_lock_with_a_password_opens_only_to_it(cloud: MiniCloud) -> None:
    lock = _config("lock", name="pwd", relock_after=0.3, remote_unlock=(901, "right"))
    async with _simulate(cloud, lock) as sim:
        device = sim.device(lock.uuid)
        for index, pwd in ((901, "wrong"), (902, "right")):
            with pytest.raises(InvalidParameter):
                await cloud.command(
                    device,
                    Cmd.REMOTE_UNLOCK,
                    {"subUuid": "", "type": 9, "index": index, "pwd": pwd},
                    ack=True,
                )
        assert device.values["lock_state"] == 1
        opened = await cloud.command(
            device,
            Cmd.REMOTE_UNLOCK,
            {"subUuid": "", "type": 9, "index": 901, "pwd": "right"},
            ack=True,
        )
        assert opened is not None
        assert opened.res == 0
        await until(
            lambda: (
                [
                    m.data["properties"].get("lock_state")
                    for m in cloud.of(lock.uuid, Evt.PROPERTY_REPORT)
                ][-2:]
                == [0, 1]
            )
        )


@pytest.mark.usefixtures("loopback_ice")
async def test_camera_signalling(cloud: MiniCloud) -> None:
    camera, busy = _config("camera", name="a"), _config("camera", name="b", busy=True)
    async with _simulate(cloud, camera, busy) as sim:
        woke = await cloud.command(sim.device(camera.uuid), Cmd.WAKE_UP, {"subUuid": ""})
        assert woke is not None
        assert woke.res == 0
        offer = {"type": "offer", "sdp": await viewer_offer()}
        for config in (camera, busy):
            await cloud.command(
                sim.device(config.uuid),
                Cmd.WEBRTC_SIGNAL_EXCHANGE,
                {"peerClientId": "live_1", "method": "SDP_OFFER", "params": json.dumps(offer)},
            )
        await until(lambda: len(cloud.of(camera.uuid, Evt.WEBRTC_SIGNAL_EXCHANGE)) >= 2)
        answer, candidate = cloud.of(camera.uuid, Evt.WEBRTC_SIGNAL_EXCHANGE)[:2]
        assert answer.data["method"] == "SDP_ANSWER"
        assert answer.data["peerClientId"] == "live_1"
        sdp = json.loads(answer.data["params"])["sdp"]
        assert sdp.startswith("v=0")
        assert "m=video" in sdp
        assert "a=sendonly" in sdp
        assert candidate.data["method"] == "ICE_CANDIDATE"
        assert "candidate" in json.loads(candidate.data["params"])
        await until(lambda: bool(cloud.of(busy.uuid, Evt.WEBRTC_SIGNAL_EXCHANGE)))
        assert cloud.of(busy.uuid, Evt.WEBRTC_SIGNAL_EXCHANGE)[0].data["error"] == -2


async def test_gateway_search_and_sub_devices(cloud: MiniCloud) -> None:
    child = _config("plug", name="child")
    newcomer = _config("sensor", name="new")
    gateway = _config("gateway", sub_devices=[child], found_devices=[newcomer])
    rig: EmbeddedRig = cloud.rig  # type: ignore[attr-defined]
    rig.secrets[newcomer.uuid] = newcomer.secret
    async with _simulate(cloud, gateway) as sim:
        device = sim.device(gateway.uuid)
        await cloud.command(device, Cmd.FIND_BIND, {"second": 60, "bind": True, "find": True})
        await until(lambda: bool(cloud.of(gateway.uuid, Evt.FIND_REPORT)))
        assert (
            cloud.of(gateway.uuid, Evt.FIND_REPORT)[0].data["devices"][0]["uuid"] == newcomer.uuid
        )
        await until(lambda: len(cloud.of(gateway.uuid, Evt.SUB_BIND)) == 2)

        reply = await cloud.command(
            device,
            Cmd.SUB_PROPERTY_SET,
            {"devices": [{"uuid": child.uuid, "properties": {"switch": 1}}]},
            ack=True,
        )
        assert reply is not None
        await until(
            lambda: any(
                d["properties"] == {"switch": 1}
                for m in cloud.of(gateway.uuid, Evt.SUB_PROPERTY_REPORT)
                for d in m.data["devices"]
            )
        )
        with pytest.raises(Exception, match="1004"):
            await cloud.command(
                device,
                Cmd.SUB_PROPERTY_SET,
                {"devices": [{"uuid": "rn01ffffffffffff", "properties": {}}]},
                ack=True,
            )
        await cloud.command(device, Cmd.SUB_DELETE, {"devices": [{"uuid": child.uuid}]})
        await until(lambda: child.uuid not in device.subs)


def test_yaml_config(tmp_path: Path) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text(
        "devices:\n"
        "  - {uuid: rn014ebe0C20E122, secret: ef958e891ffa4c72ba6c64e73c5dd422, kind: plug}\n"
        "  - {kind: sensor, count: 3, report_interval: 30}\n"
        "  - kind: gateway\n"
        "    sub_devices: [{kind: light}]\n"
    )
    configs = load(path)
    assert [c.kind for c in configs] == ["plug", "sensor", "sensor", "sensor", "gateway"]
    assert configs[0].uuid == "rn014ebe0C20E122"
    assert len({c.uuid for c in configs}) == 5
    assert all(len(c.secret) == 32 for c in configs)
    assert configs[1].report_interval == 30
    assert configs[4].sub_devices[0].kind == "light"
    assert load(path)[1].uuid == configs[1].uuid  # stable across runs
    path.write_text("devices:\n  - {kind: toaster}\n")
    with pytest.raises(SystemExit, match="unknown kind 'toaster'"):
        load(path)


@pytest.mark.usefixtures("loopback_ice")
async def test_camera_streams_its_test_picture(cloud: MiniCloud) -> None:
    """A viewer that answers like a browser gets frames of the moving picture."""
    from aiortc import (  # noqa: PLC0415
        RTCConfiguration,
        RTCPeerConnection,
        RTCSessionDescription,
    )

    camera = _config("camera", name="live")
    async with _simulate(cloud, camera) as sim:
        viewer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        frames: list[Any] = []
        track_ready = asyncio.Event()

        @viewer.on("track")
        def _track(track: Any) -> None:
            async def pull() -> None:
                while len(frames) < 3:
                    frames.append(await track.recv())

            viewer_tasks.append(asyncio.get_running_loop().create_task(pull()))
            track_ready.set()

        viewer_tasks: list[asyncio.Task[None]] = []
        viewer.addTransceiver("video", direction="recvonly")
        await viewer.setLocalDescription(await viewer.createOffer())
        offer = {"type": "offer", "sdp": viewer.localDescription.sdp}
        await cloud.command(
            sim.device(camera.uuid),
            Cmd.WEBRTC_SIGNAL_EXCHANGE,
            {"peerClientId": "live_9", "method": "SDP_OFFER", "params": json.dumps(offer)},
        )
        await until(lambda: bool(cloud.of(camera.uuid, Evt.WEBRTC_SIGNAL_EXCHANGE)))
        answer = json.loads(cloud.of(camera.uuid, Evt.WEBRTC_SIGNAL_EXCHANGE)[0].data["params"])
        await viewer.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await until(lambda: len(frames) >= 3, seconds=20)
        assert frames[-1].width == 640
        assert frames[-1].pts > frames[0].pts
        await cloud.command(
            sim.device(camera.uuid),
            Cmd.WEBRTC_SIGNAL_EXCHANGE,
            {"peerClientId": "live_9", "method": "CLOSE", "params": "{}"},
        )
        await until(lambda: not sim.device(camera.uuid).live.peers)
        await viewer.close()


async def test_camera_alarms_carry_a_photo(cloud: MiniCloud) -> None:
    camera = _config("camera", name="events", event_interval=0.2)
    async with _simulate(cloud, camera):
        await until(lambda: len(cloud.of(camera.uuid, Evt.EVENT)) >= 3)
        motion, ring, visitor = (m.data for m in cloud.of(camera.uuid, Evt.EVENT)[:3])
        assert (motion["identifier"], motion["output"]["type"]) == ("alarm", "ipc_motion")
        assert ring["identifier"] == "doorbell"
        assert (visitor["identifier"], visitor["output"]["type"]) == ("alarm", "ipc_doorbell")
        async with aiohttp.ClientSession() as http, http.get(motion["output"]["imageUrl"]) as got:
            assert got.status == 200
            assert got.content_type == "image/jpeg"
            assert (await got.read()).startswith(b"\xff\xd8")
        info = cloud.of(camera.uuid, Evt.INFO)[0].data
        assert json.loads(info["config"])["signalValue"] > 0


async def test_vacuum_cleans_returns_docks_and_uploads_its_map(cloud: MiniCloud) -> None:
    async with ObjectStore("maps") as store:
        cloud.grants = {
            Evt.SWEEPER_STS_TOKEN: {
                "type": "map",
                "bucketName": "maps",
                "accessKeyId": store.access_key,
                "secretAccessKey": store.secret_key,
                "authDir": "map/vac/",
            },
            Evt.SWEEPER_MAP_ADD: {"mapId": "7"},
        }
        vacuum = _config("vacuum", name="busy", clean_seconds=2.0, store_url=store.url)
        async with _simulate(cloud, vacuum) as sim:
            device = sim.device(vacuum.uuid)
            await cloud.command(device, Cmd.PROPERTY_SET, {"properties": {"power_go": 1}})

            def statuses() -> list[int]:
                return [
                    m.data["properties"]["status"]
                    for m in cloud.of(vacuum.uuid, Evt.PROPERTY_REPORT)
                    if "status" in m.data["properties"]
                ]

            await until(lambda: statuses()[-3:] == [1, 3, 4], seconds=20)
            await until(lambda: bool(cloud.of(vacuum.uuid, Evt.SWEEPER_RECORD_ADD)))
            assert device.values["clean_area"] > 10
            assert device.values["battery"] < 100
            added = cloud.of(vacuum.uuid, Evt.SWEEPER_MAP_ADD)[0].data
            assert added["mapFormat"] == "grid"
            body, _type = store.objects[added["mapPath"]]
            grid = json.loads(body)
            assert len(grid["rows"]) == grid["height"]
            assert any("*" in row for row in grid["rows"])
            await until(lambda: device.values["battery"] == 100, seconds=20)
