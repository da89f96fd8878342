"""Every app notification code, as the fake cloud pushes it, and what Home Assistant does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_capture_events
from rlink_sim.cloud import FakeCloud

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.protocol.codes import AppNotification as Note
from custom_components.rlink.protocol.messages import Message, notification
from custom_components.rlink.protocol.topics import TopicKind, app_topic

from .brokers import until
from .hub import find_device
from .test_cloud_e2e import cloud_entry

DEV = "devknown01"


@dataclass(frozen=True)
class Case:
    code: str
    data: dict[str, Any]
    check: Callable[[HomeAssistant, Any, list[Any]], bool]
    """(hass, runtime, captured events) -> whether the notification had its effect."""


def _notified(hass: HomeAssistant, title: str) -> bool:
    from homeassistant.components.persistent_notification import (  # noqa: PLC0415
        _async_get_or_create_notifications,
    )

    return any(n["title"] == title for n in _async_get_or_create_notifications(hass).values())


def _device(runtime: Any) -> Any:
    return runtime.devices[DEV]


CASES = [
    Case(
        "property_change",
        {"devices": [{"deviceId": DEV, "properties": {"power": 7}}], "groups": []},
        lambda h, r, e: _device(r).values.get("power") == 7,
    ),
    Case(
        "status",
        {"deviceId": DEV, "online": 0, "tcpOnlineStatus": 1},
        lambda h, r, e: not _device(r).online and _device(r).info["tcpOnlineStatus"] == 1,
    ),
    Case(
        "ota_progress",
        {"deviceId": DEV, "type": "download", "percent": 40, "resCode": 0, "version": "2"},
        lambda h, r, e: _device(r).ota.get("type") == "downloading",
    ),
    Case(
        "bind_result",
        {"devices": [{"deviceId": "devnew02", "uuid": "rn01aaaabbbbcccc", "type": "add"}]},
        lambda h, r, e: (
            r.devices.get("devnew02") is not None
            and r.devices["devnew02"].hardware_uuid == "rn01aaaabbbbcccc"
        ),
    ),
    Case("ipc_token_used", {"token": "3rgfG5", "uuid": "u"}, lambda h, r, e: bool(e)),
    Case("wake_up_success", {"deviceId": DEV}, lambda h, r, e: _device(r).online),
    Case("alert", {"deviceId": DEV}, lambda h, r, e: bool(e)),
    Case(
        "common_cmd_resp",
        {"deviceId": DEV, "respType": "x", "respData": {}},
        lambda h, r, e: bool(e),
    ),
    Case(
        "find",
        {"devices": [{"pid": "p", "uuid": "rn01ddddeeeeffff", "gatewayId": DEV}]},
        lambda h, r, e: bool(e) and bool(h.config_entries.flow.async_progress_by_handler(DOMAIN)),
    ),
    Case(
        "sub_replace_result",
        {"deviceId": DEV, "newUuid": "rn01999988887777", "result": "success"},
        lambda h, r, e: _device(r).hardware_uuid == "rn01999988887777" and bool(e),
    ),
    Case("matter_find", {"clientId": "c", "userId": "u"}, lambda h, r, e: bool(e)),
    Case("matter_pair", {"clientId": "c", "devices": []}, lambda h, r, e: bool(e)),
    Case("local_group_result", {"groupId": "g", "devices": []}, lambda h, r, e: bool(e)),
    Case("local_scene_result", {"instanceId": "s", "devices": []}, lambda h, r, e: bool(e)),
    Case(
        "config_settings_resp",
        {"deviceId": DEV, "type": "wifi_set", "settings": {}, "result": "success"},
        lambda h, r, e: bool(e),
    ),
    Case(
        "pwd_list_resp",
        {"deviceId": DEV, "operatorType": 1, "pwdData": {"index": 2, "type": 1}},
        lambda h, r, e: [p["index"] for p in _device(r).passwords] == [2],
    ),
    Case(
        "signal_check_result",
        {"deviceId": DEV, "propertiesInfo": {"signal": 1, "signalValue": 80}},
        lambda h, r, e: _device(r).network.get("signalValue") == 80,
    ),
    Case(
        "webrtc_signal_exchange",
        {"deviceId": DEV, "peerClientId": "p", "method": "SDP_ANSWER", "params": "{}"},
        lambda h, r, e: bool(e),
    ),
    Case(
        "device_properties_update",
        {"deviceId": DEV, "propertiesInfo": {"currentSsid": "home", "wifiList": [{"pwd": "x"}]}},
        lambda h, r, e: (
            _device(r).network.get("currentSsid") == "home" and "wifiList" not in _device(r).info
        ),
    ),
    Case(
        "sys_notice",
        {"type": "message", "messageInfo": {"title": "Alarm", "body": "Smoke"}},
        lambda h, r, e: bool(e) and _notified(h, "Alarm"),
    ),
]

EVENTS = {
    "ipc_token_used": f"{DOMAIN}_cloud_notice",
    "alert": f"{DOMAIN}_find_alert",
    "common_cmd_resp": f"{DOMAIN}_cloud_reply",
    "find": f"{DOMAIN}_found_devices",
    "sub_replace_result": f"{DOMAIN}_cloud_reply",
    "matter_find": f"{DOMAIN}_cloud_notice",
    "matter_pair": f"{DOMAIN}_cloud_notice",
    "local_group_result": f"{DOMAIN}_cloud_reply",
    "local_scene_result": f"{DOMAIN}_cloud_reply",
    "config_settings_resp": f"{DOMAIN}_cloud_reply",
    "sys_notice": f"{DOMAIN}_cloud_notice",
}


def test_every_code_and_alias_has_a_case() -> None:
    codes = {c.code for c in CASES}
    assert {str(n) for n in Note} - {"pwd_set_result", "device_property_update"} <= codes
    assert {"pwd_list_resp", "device_properties_update"} <= codes


@pytest.fixture(name="cloud")
async def fixture_cloud(
    hass: HomeAssistant, custom_integrations: None, sockets: None
) -> AsyncIterator[FakeCloud]:
    cloud = FakeCloud([])
    await cloud.start(with_devices=False)
    yield cloud
    await cloud.stop()


def _publish(cloud: FakeCloud, code: str, data: dict[str, Any]) -> None:
    """Publish with the exact code spelling, aliases included."""
    message = notification(Note.ALERT, data)
    raw = Message(message.kind, code, message.id, message.ts, message.data)  # type: ignore[arg-type]
    assert cloud.session is not None
    cloud.session.publish(app_topic(TopicKind.NOTIFY, cloud.home), raw)


@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
async def test_notification(hass: HomeAssistant, cloud: FakeCloud, case: Case) -> None:
    entry = await cloud_entry(hass, cloud)
    runtime = entry.runtime_data.coordinator
    runtime.transport.device_for(DEV, pid="simplug01")
    runtime.devices[DEV].online = case.code != "wake_up_success"
    event_type = EVENTS.get(case.code, f"{DOMAIN}_webrtc")
    events = async_capture_events(hass, event_type)
    if case.code == "webrtc_signal_exchange":
        from homeassistant.helpers.dispatcher import async_dispatcher_connect  # noqa: PLC0415

        from custom_components.rlink.const import SIGNAL_WEBRTC  # noqa: PLC0415

        async_dispatcher_connect(hass, SIGNAL_WEBRTC.format(DEV), events.append)
    _publish(cloud, case.code, case.data)
    await until(lambda: case.check(hass, runtime, events), 5)
    canonical = _canonical(case.code)
    await until(lambda: runtime.transport.router.handled.get(canonical, 0) == 1)
    # Malformed input of the same code is logged and changes nothing; later news still flows.
    if case.code not in LENIENT:
        _publish(cloud, case.code, {"devices": "nope", "deviceId": 5, "propertiesInfo": 3})
    _publish(cloud, "property_change", {"devices": [{"deviceId": DEV, "properties": {"ok": 1}}]})
    await until(lambda: _device(runtime).values.get("ok") == 1)
    expected = 2 if canonical == Note.PROPERTY_CHANGE else 1
    assert runtime.transport.router.handled.get(canonical) == expected


LENIENT = frozenset(
    {
        "ipc_token_used",
        "matter_find",
        "matter_pair",
        "local_group_result",
        "local_scene_result",
        "sys_notice",
    }
)
"""Codes passed on as they come: there is nothing in them to be malformed."""


def _canonical(code: str) -> Note:
    from custom_components.rlink.protocol.codes import ALIASES  # noqa: PLC0415

    return Note(ALIASES[Note].get(code, code))


async def test_a_device_named_automatically_takes_its_product_when_bound(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    """Status news may come before the bind result that tells the product; a name the user
    gave is kept."""
    entry = await cloud_entry(hass, cloud)
    runtime = entry.runtime_data.coordinator
    runtime.transport.device_for("devnamed01", pid=None).name = "Porch"
    for device_id in ("devfresh01", "devnamed01"):
        _publish(cloud, "status", {"deviceId": device_id, "online": 1})
    await until(lambda: "devfresh01" in runtime.devices)
    assert runtime.devices["devfresh01"].name == "rlink device sh01"

    bound = [
        {"deviceId": d, "pid": "simplug01", "type": "add"} for d in ("devfresh01", "devnamed01")
    ]
    _publish(cloud, "bind_result", {"devices": bound})
    await until(lambda: runtime.devices["devfresh01"].pid == "simplug01")
    await until(lambda: runtime.devices["devnamed01"].pid == "simplug01")
    fresh = find_device(hass, "devfresh01")
    assert fresh is not None
    # No model here names the product: its id, and the end of the device's.
    assert fresh.name == "simplug01 sh01"
    assert runtime.devices["devnamed01"].name == "Porch"


async def test_a_device_dropping_off_is_logged_once_and_its_return_once(
    hass: HomeAssistant, cloud: FakeCloud, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await cloud_entry(hass, cloud)
    runtime = entry.runtime_data.coordinator
    runtime.transport.device_for(DEV, pid="simplug01")
    for online in (1, 0, 0, 1, 1):  # the first one is the start, not a return
        _publish(cloud, "status", {"deviceId": DEV, "online": online})
    await until(lambda: runtime.transport.router.handled.get(Note.STATUS) == 5)
    name = _device(runtime).name
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(name)]
    assert lines == [f"{name} is offline", f"{name} is back online"]


async def test_a_repeated_notice_is_one_notification(hass: HomeAssistant, cloud: FakeCloud) -> None:
    from homeassistant.components.persistent_notification import (  # noqa: PLC0415
        _async_get_or_create_notifications,
    )

    entry = await cloud_entry(hass, cloud)
    runtime = entry.runtime_data.coordinator
    notice = {"type": "message", "messageInfo": {"title": "Filter", "body": "Change it"}}
    other = {"type": "message", "messageInfo": {"title": "Filter", "body": "Changed, thanks"}}
    for data in (notice, notice, other):
        _publish(cloud, "sys_notice", data)
    await until(lambda: runtime.transport.router.handled.get(Note.SYS_NOTICE, 0) == 3)
    titled = [
        n for n in _async_get_or_create_notifications(hass).values() if n["title"] == "Filter"
    ]
    assert sorted(n["message"] for n in titled) == ["Change it", "Changed, thanks"]
