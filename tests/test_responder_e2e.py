"""Every device event of the protocol, sent as the spec writes it, gets its answer from HA.

A raw client logs in to the hub's device server as a configured gateway and publishes
the spec's example of each event code. The checks assert the exact reply (status and data)
or what changed in Home Assistant: registry, device state, bus events, commands issued back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from homeassistant.core import Event, HomeAssistant

from custom_components.rlink.const import CONF_REMOTE_CONFIG, DOMAIN
from custom_components.rlink.local.device_logs import URL_BASE, upload_signature
from custom_components.rlink.local.hub import LocalHub
from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials, is_device_uuid
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.session import MqttSession
from custom_components.rlink.protocol.topics import Topic, TopicKind, device_topic
from tools.rlink_sim import TEMPLATES, make_uuid

from .brokers import until
from .hub import (
    add_device,
    create_embedded_hub,
    device,
    find_device,
    store_device_settings,
    write_models,
)
from .spec_examples import SPEC_PATH, spec_examples
from .test_spec_examples import EXPECTED

pytestmark = [
    pytest.mark.usefixtures("custom_integrations", "sockets"),
    pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"protocol document not at {SPEC_PATH}"),
]

SUB_PID = "EEE01"  # the sub_model example asks for this product


@dataclass
class Rig:
    hass: HomeAssistant
    hub: LocalHub
    uuid: str
    pid: str
    client: MqttSession
    replies: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    issued: list[Message] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def device(self) -> Any:
        return self.hub.devices[self.uuid]

    @staticmethod
    def real(placeholder: str) -> str:
        """The device uuid a test uses where the spec writes a placeholder such as uuid1."""
        return placeholder if is_device_uuid(placeholder) else make_uuid(placeholder)

    async def send(self, body: dict[str, Any], *, as_written: bool = False) -> Message | None:
        """Publish an event as the gateway; return the hub's reply when it asked for one.

        The spec's placeholder uuids become real ones, unless `as_written`."""
        if not as_written:
            body = _real_uuids(body)
        event = messages.decode(TopicKind.REPORT, json.dumps(body))
        self.client.publish(device_topic(TopicKind.REPORT, self.pid, self.uuid), event)
        if not event.ack:
            return None
        async with asyncio.timeout(5):
            reply = await self.replies.get()
        assert reply.id == event.id
        assert reply.code == event.code
        return reply

    async def issued_code(self, code: str) -> Message:
        await until(lambda: any(str(m.code) == code for m in self.issued))
        return next(m for m in self.issued if str(m.code) == code)


_UUID_KEYS = frozenset({"uuid", "subUuid", "subUuids", "deviceUuids", "trdUuid"})


def _real_uuids(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _real_uuids(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_real_uuids(v, key) for v in value]
    if key in _UUID_KEYS and isinstance(value, str) and value:
        return Rig.real(value)
    return value


def _spec_reports() -> dict[str, list[dict[str, Any]]]:
    by_line = {e.line: e for e in spec_examples()}
    reports: dict[str, list[dict[str, Any]]] = {}
    for line, kind, code in EXPECTED:
        if kind == "report" and line > 150:  # the generic envelope above is no event
            reports.setdefault(code, []).append(by_line[line].load())
    return reports


SPEC_REPORTS = _spec_reports() if SPEC_PATH.exists() else {}


@pytest.fixture(name="rig")
async def fixture_rig(hass: HomeAssistant) -> Any:
    write_models(hass, ["gateway", "plug"])
    sub_model = TEMPLATES["plug"].model(SUB_PID)
    (write_models(hass, []) / f"{SUB_PID}.json").write_text(json.dumps(sub_model))
    gateway = device("gateway")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, gateway)
    store_device_settings(hass, entry, gateway.uuid, {CONF_REMOTE_CONFIG: {"led": 1}})
    hub = entry.runtime_data.coordinator.transport
    assert isinstance(hub, LocalHub)
    pid = gateway.product_id
    client = MqttSession(
        "127.0.0.1",
        hub.broker.port,
        lambda: device_credentials(gateway.uuid, gateway.secret),
        name="raw gateway",
    )
    rig = Rig(hass, hub, gateway.uuid, pid, client)

    def on_reply(topic: Topic, message: Message) -> None:
        rig.replies.put_nowait(message)

    def on_issue(topic: Topic, message: Message) -> None:
        rig.issued.append(message)

    client.subscribe(device_topic(TopicKind.REPORT_RESPONSE, pid, gateway.uuid), on_reply)
    client.subscribe(device_topic(TopicKind.ISSUE, pid, gateway.uuid), on_issue)
    for event_type in (f"{DOMAIN}_event", f"{DOMAIN}_find_alert", f"{DOMAIN}_found_devices"):
        hass.bus.async_listen(event_type, rig.events.append)
    await client.connect()
    await until(lambda: rig.device.online)
    await asyncio.sleep(0.1)  # SUBACK
    yield rig
    await client.close()
    assert await hass.config_entries.async_unload(entry.entry_id)


def _ok(reply: Message | None) -> Message:
    assert reply is not None
    assert reply.res == 0, (reply.res, reply.msg)
    assert reply.msg == "success"
    return reply


def _not_activated(reply: Message | None) -> None:
    assert reply is not None
    assert reply.res == 1006
    assert reply.data == {}


async def _bind_sub(rig: Rig, uuid: str = "xxxxxx", pid: str = "xxxxxxxxxxxxx") -> None:
    _ok(
        await rig.send(
            {
                "id": "pre",
                "ts": 1,
                "code": "sub_bind",
                "ack": 1,
                "data": {"devices": [{"uuid": uuid, "pid": pid, "version": "1.0.0"}]},
            }
        )
    )


# --- one check per code: (rig, spec example) -> assertions ---------------------------------


async def check_reset(rig: Rig, body: dict[str, Any]) -> None:
    rig.device.values["permit_join"] = 1
    assert await rig.send(body) is None  # ack 0, and cleanData false keeps the data
    await rig.send({**body, "id": "r2", "data": {"cleanData": True}})
    await until(lambda: rig.device.values == {})


async def check_time(rig: Rig, body: dict[str, Any]) -> None:
    data = _ok(await rig.send(body)).data
    assert data["sys_tz"] == rig.hass.config.time_zone
    assert set(data) >= {"ts", "zone_offset", "local_date_time", "is_dst", "is_zone_dst"}


async def check_model(rig: Rig, body: dict[str, Any]) -> None:
    data = _ok(await rig.send(body)).data
    assert data["format"] == "complete"
    assert [p["identifier"] for p in data["properties"]] == ["permit_join"]
    mini = _ok(await rig.send({**body, "data": {"format": "mini"}})).data
    assert mini["properties"][0]["i"] == "permit_join"


async def check_config(rig: Rig, body: dict[str, Any]) -> None:
    assert _ok(await rig.send(body)).data == {"config": {"led": 1}}


async def check_bind(rig: Rig, body: dict[str, Any]) -> None:
    assert _ok(await rig.send(body)).data == {}
    entry = find_device(rig.hass, rig.uuid)
    assert entry.sw_version == "1.1.2"
    assert entry.hw_version == "1.0.0"


async def check_info(rig: Rig, body: dict[str, Any]) -> None:
    data = _ok(await rig.send(body)).data
    assert data == {
        "bindStatus": 1,
        "isClearData": 0,
        "tcpUrl": rig.hass.config.api.local_ip,  # Home Assistant's own address
        "logUploadUrl": f"http://{rig.hass.config.api.local_ip}:8123{URL_BASE}/{rig.uuid}/"
        + upload_signature(rig.uuid, rig.hub.secrets[rig.uuid]),
        "logSwitch": {"enable": 0},
    }
    assert rig.device.network["currentSsid"] == "PT_2.4G"
    assert "12345678" not in json.dumps(rig.device.snapshot())  # the wifi list's password


async def check_property_report(rig: Rig, body: dict[str, Any]) -> None:
    # The example's color/brightness are not in the gateway's model: nothing changes.
    assert await rig.send(body) is None
    await rig.send({**body, "id": "p2", "data": {"properties": {"permit_join": 1}}})
    await until(lambda: rig.device.values.get("permit_join") == 1)
    assert "color" not in rig.device.values


async def check_ota_progress(rig: Rig, body: dict[str, Any]) -> None:
    await _bind_sub(rig, "xxxxxxxxxx", "xxxxx")
    assert await rig.send(body) is None
    sub = rig.hub.devices[rig.real("xxxxxxxxxx")]
    await until(lambda: sub.ota.get("type") == body["data"]["type"])


async def check_sub_bind(rig: Rig, body: dict[str, Any]) -> None:
    # As written, the example's placeholder is no device uuid: nothing is bound.
    refused = _ok(await rig.send(body, as_written=True)).data
    assert refused == {"devices": []}
    assert find_device(rig.hass, "aaaaaxxxx") is None
    data = _ok(await rig.send(body)).data
    assert data == {"devices": [{"uuid": rig.real("aaaaaxxxx"), "pid": "2vRXuUhlmmDZCGUa"}]}
    sub = find_device(rig.hass, rig.real("aaaaaxxxx"))
    gateway = find_device(rig.hass, rig.uuid)
    assert sub.via_device_id == gateway.id
    assert sub.sw_version == "1.1.2"


async def check_sub_delete(rig: Rig, body: dict[str, Any]) -> None:
    assert _ok(await rig.send(body)).data == {"devices": []}  # never bound: nothing removed
    await _bind_sub(rig)
    data = _ok(await rig.send({**body, "id": "d2"})).data
    assert data == {"devices": [{"uuid": rig.real("xxxxxx"), "pid": "xxxxxxxxxxxxx"}]}
    assert find_device(rig.hass, rig.real("xxxxxx")) is None


async def check_sub_login(rig: Rig, body: dict[str, Any]) -> None:
    await _bind_sub(rig)
    assert await rig.send(body) is None
    await until(lambda: rig.hub.devices[rig.real("xxxxxx")].online)


async def check_sub_loginout(rig: Rig, body: dict[str, Any]) -> None:
    await _bind_sub(rig)
    rig.hub.devices[rig.real("xxxxxx")].online = True
    assert await rig.send(body) is None
    await until(lambda: not rig.hub.devices[rig.real("xxxxxx")].online)


async def check_sub_model(rig: Rig, body: dict[str, Any]) -> None:
    data = _ok(await rig.send(body)).data
    assert data["format"] == "simple"
    assert data["subPid"] == SUB_PID
    assert {p["identifier"] for p in data["properties"]} == {
        "switch",
        "power",
        "energy",
        "countdown",
    }
    unknown = await rig.send({**body, "data": {"format": "simple", "subPid": "nope"}})
    assert unknown is not None
    assert unknown.res == 1005


async def check_sub_property_report(rig: Rig, body: dict[str, Any]) -> None:
    await _bind_sub(rig, "uuid1", "xxxxxxx")
    assert await rig.send(body) is None
    sub = rig.hub.devices[rig.real("uuid1")]
    # The values are taken at once, the model they teach follows.
    await until(lambda: sub.values == {"color": "red", "brightness": 80} and sub.model_inferred)


async def check_local_config(rig: Rig, body: dict[str, Any]) -> None:
    # The hub knows nothing of the gateway's groups and rules: it sends nothing over them.
    assert await rig.send(body) is None  # the example asks for no reply
    await rig.send({**body, "id": "marker", "code": "time", "ack": 1})  # answered after it
    assert not any(str(m.code) == "update_local_config" for m in rig.issued)
    # A group made through Home Assistant is known in full; rules still are not sent.
    rig.hub.configs.store(rig.device.uuid)["groups"].append(
        {"shortId": 1, "name": "Hall", "deviceUuids": [rig.real("xxxxxx")]}
    )
    assert await rig.send({**body, "id": "again"}) is None
    issued = await rig.issued_code("update_local_config")
    assert issued.data == {
        "updates": ["groups"],
        "groups": [{"shortId": 1, "deviceUuids": [rig.real("xxxxxx")]}],
    }


async def check_sub_list(rig: Rig, body: dict[str, Any]) -> None:
    await _bind_sub(rig, "ssssxxxx", "pidx")
    data = _ok(await rig.send(body)).data
    assert data["devices"][0]["uuid"] == rig.real("ssssxxxx")
    assert data["devices"][0]["pid"] == "pidx"
    assert set(data["devices"][0]) == {"pid", "uuid", "name", "assetId", "assetName"}


async def check_not_activated(rig: Rig, body: dict[str, Any]) -> None:
    _not_activated(await rig.send({**body, "ack": 1}))


async def check_p2p_config(rig: Rig, body: dict[str, Any]) -> None:
    _not_activated(await rig.send(body))
    data = _ok(await rig.send({**body, "data": {"type": "webrtc"}})).data
    assert data["type"] == "webrtc"
    assert data["webrtcConfig"]["stunUrl"].startswith("stun:")


async def check_event(rig: Rig, body: dict[str, Any]) -> None:
    assert await rig.send(body) is None
    await until(lambda: any(e.event_type == "rlink_event" for e in rig.events))
    assert rig.events[-1].data["identifier"] == "alarm"
    assert rig.events[-1].data["uuid"] == rig.uuid


async def check_ipc_token_bind(rig: Rig, body: dict[str, Any]) -> None:
    assert _ok(await rig.send(body)).data == {}


async def check_find_alert(rig: Rig, body: dict[str, Any]) -> None:
    assert await rig.send(body) is None
    await until(lambda: any(e.event_type == "rlink_find_alert" for e in rig.events))


async def check_find_report(rig: Rig, body: dict[str, Any]) -> None:
    assert await rig.send(body) is None
    await until(lambda: any(e.event_type == "rlink_found_devices" for e in rig.events))
    assert rig.events[-1].data["devices"] == [{"uuid": rig.real("xxxxxx"), "pid": "xxxxxxxxxxxxx"}]


async def check_pwd_sync(rig: Rig, body: dict[str, Any]) -> None:
    await _bind_sub(rig, "xxxxx", "xxxxx")  # the example's lock sits behind the gateway
    assert _ok(await rig.send(body)).data == {}
    assert [p["index"] for p in rig.hub.devices[rig.real("xxxxx")].passwords] == [1, 2, 3]
    own = {k: v for k, v in body["data"].items() if k not in ("subPid", "subUuid")}
    assert _ok(await rig.send({**body, "data": own})).data == {}
    assert len(rig.device.passwords) == 3


async def check_local_data_sync(rig: Rig, body: dict[str, Any]) -> None:
    """A gateway that arrives with sub-devices, groups and rules Home Assistant never saw:
    it learns the sub-devices, keeps the gateway's lists, and sends none it lacks."""
    await _bind_sub(rig, "uuid1", "pid1")
    assert _ok(await rig.send(body)).data == {}
    issued = await rig.issued_code("gateway_data_init")
    both = [rig.real("uuid1"), rig.real("uuid2")]
    assert issued.data["subUuids"] == both  # the gateway's own list, echoed
    assert [d["uuid"] for d in issued.data["subDevices"]] == both  # with names and rooms
    assert "localGroups" not in issued.data  # groups 1-3: content unknown to the hub
    assert "localScenes" not in issued.data
    assert rig.real("uuid2") in rig.hub.devices  # learned from the sync itself
    stored = rig.hub.configs.store(rig.device.uuid)
    assert [g["shortId"] for g in stored["groups"]] == [1, 2, 3]
    assert [r["shortId"] for r in stored["scenes"]] == [4, 5, 6]


async def check_webrtc_signal_exchange(rig: Rig, body: dict[str, Any]) -> None:
    from homeassistant.helpers.dispatcher import async_dispatcher_connect  # noqa: PLC0415

    from custom_components.rlink.const import SIGNAL_WEBRTC  # noqa: PLC0415

    seen: list[dict[str, Any]] = []
    async_dispatcher_connect(rig.hass, SIGNAL_WEBRTC.format(rig.uuid), seen.append)
    assert await rig.send(body) is None
    await until(lambda: seen)
    assert seen[0]["peerClientId"] == body["data"]["peerClientId"]


async def check_update_properties_info(rig: Rig, body: dict[str, Any]) -> None:
    assert await rig.send(body) is None
    await until(lambda: rig.device.info.get("ipcMaxConnection") == 10)


async def check_weather(rig: Rig, body: dict[str, Any]) -> None:
    data = _ok(await rig.send(body)).data
    assert data["sunriseTs"] < data["sunsetTs"]


async def check_sweeper_map_list(rig: Rig, body: dict[str, Any]) -> None:
    assert _ok(await rig.send(body)).data == {}
    added = _ok(
        await rig.send(
            {**body, "code": "sweeper_map_add", "data": {"mapName": "Ground floor", "mapPath": "p"}}
        )
    ).data
    assert _ok(await rig.send(body)).data["mapId"] == added["mapId"]


async def check_sweeper_map_add(rig: Rig, body: dict[str, Any]) -> None:
    data = _ok(await rig.send(body)).data
    assert data == {
        "mapId": "1",
        **{k: body["data"][k] for k in ("mapFormat", "mapName", "mapPath", "mapDesc")},
    }


async def check_sweeper_map_update(rig: Rig, body: dict[str, Any]) -> None:
    unknown = await rig.send(body)
    assert unknown is not None
    assert unknown.res == 1002  # no such map
    await rig.send({**body, "code": "sweeper_map_add", "data": {"mapName": "a"}})
    data = _ok(await rig.send({**body, "data": {**body["data"], "mapId": "1"}})).data
    assert data["mapName"] == body["data"]["mapName"]


async def check_sweeper_map_del(rig: Rig, body: dict[str, Any]) -> None:
    assert _ok(await rig.send(body)).data == {"result": False}
    await rig.send({**body, "code": "sweeper_map_add", "data": {"mapName": "a"}})
    assert _ok(await rig.send({**body, "data": {"mapId": "1"}})).data == {"result": True}


async def check_sweeper_record_add(rig: Rig, body: dict[str, Any]) -> None:
    data = _ok(await rig.send(body)).data
    assert data == {"recordId": "1", **body["data"]}


async def check_webrtc_config(rig: Rig, body: dict[str, Any]) -> None:
    data = _ok(await rig.send(body)).data
    assert data["stunUrl"] == "stun:stun.home-assistant.io:3478"
    assert data["turnUrls"] == []


CHECKS: dict[str, Callable[[Rig, dict[str, Any]], Awaitable[None]]] = {
    "reset": check_reset,
    "time": check_time,
    "model": check_model,
    "config": check_config,
    "bind": check_bind,
    "info": check_info,
    "property_report": check_property_report,
    "ota_progress": check_ota_progress,
    "sub_bind": check_sub_bind,
    "sub_delete": check_sub_delete,
    "sub_login": check_sub_login,
    "sub_loginout": check_sub_loginout,
    "sub_model": check_sub_model,
    "sub_property_report": check_sub_property_report,
    "local_config": check_local_config,
    "sub_list": check_sub_list,
    "ipc_cloud": check_not_activated,
    "p2p_config": check_p2p_config,
    "agora_token": check_not_activated,
    "event": check_event,
    "ipc_token_bind": check_ipc_token_bind,
    "find_alert": check_find_alert,
    "find_report": check_find_report,
    "ipc_live_get": check_not_activated,
    "pwd_sync": check_pwd_sync,
    "local_data_sync": check_local_data_sync,
    "webrtc_signal_exchange": check_webrtc_signal_exchange,
    "update_properties_info": check_update_properties_info,
    "agora_ai_token": check_not_activated,
    "weather": check_weather,
    "sweeper_sts_token": check_not_activated,
    "sweeper_map_list": check_sweeper_map_list,
    "sweeper_map_add": check_sweeper_map_add,
    "sweeper_map_update": check_sweeper_map_update,
    "sweeper_map_del": check_sweeper_map_del,
    "sweeper_record_add": check_sweeper_record_add,
    "webrtc_config": check_webrtc_config,
}


def test_every_event_code_has_a_check_and_an_example() -> None:
    assert set(CHECKS) == {str(code) for code in DeviceEvent}
    assert set(SPEC_REPORTS) == set(CHECKS)


@pytest.mark.parametrize(
    ("code", "index"),
    [(code, i) for code, bodies in SPEC_REPORTS.items() for i in range(len(bodies))],
)
async def test_spec_example_is_answered(rig: Rig, code: str, index: int) -> None:
    await CHECKS[code](rig, SPEC_REPORTS[code][index])


async def test_a_gateway_from_another_cloud_is_learned_from_what_it_says(rig: Rig) -> None:
    """Home Assistant never saw this gateway's sub-devices bound: it does not claim an empty
    list, and it learns each sub-device from the gateway's own reports."""
    ask = {"id": "l1", "ts": 1, "code": "sub_list", "ack": 1}
    refused = await rig.send(ask)
    assert refused is not None
    assert refused.res == 1006  # not "no sub-devices"
    first, second = rig.real("first"), rig.real("second")
    await rig.send(
        {
            "id": "s1",
            "ts": 1,
            "code": "sub_login",
            "ack": 0,
            "data": {"devices": [{"uuid": first, "pid": "pid1"}]},
        }
    )
    await rig.send(
        {
            "id": "s2",
            "ts": 1,
            "code": "sub_property_report",
            "ack": 0,
            "data": {"devices": [{"uuid": second, "pid": "pid2", "properties": {"x": 1}}]},
        }
    )
    await until(lambda: first in rig.hub.devices and second in rig.hub.devices)
    assert rig.hub.devices[first].online
    await until(lambda: rig.hub.devices[second].values == {"x": 1})
    listed = _ok(await rig.send({**ask, "id": "l2"})).data
    assert {(d["uuid"], d["pid"]) for d in listed["devices"]} == {
        (first, "pid1"),
        (second, "pid2"),
    }
    # A placeholder is no device: it is not learned.
    await rig.send(
        {
            "id": "s3",
            "ts": 1,
            "code": "sub_login",
            "ack": 0,
            "data": {"devices": [{"uuid": "aaaaaxxxx", "pid": "p"}]},
        },
        as_written=True,
    )
    await rig.send({**ask, "id": "l3"})
    assert "aaaaaxxxx" not in rig.hub.devices
