"""Cloud account end to end: Home Assistant, the fake rlink cloud, and simulated devices.

Every test goes through the config flow, the cloud's broker and REST server and real
device sessions: nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_capture_events
from rlink_sim.cloud import DEFAULT_HOME, DEFAULT_SECRET, DEFAULT_USER, FakeCloud

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.protocol.codes import AppNotification as Note
from custom_components.rlink.protocol.codes import DeviceCommand as Cmd
from custom_components.rlink.protocol.codes import DeviceEvent as Evt

from .brokers import free_port, until
from .hub import create_embedded_hub, device, entity_id, write_models

PLUG = device("plug", "cloud-plug")
LOCK = device("lock", "cloud-lock")
PLUG2 = device("plug", "cloud-plug-2")


def account(cloud: FakeCloud, **overrides: Any) -> dict[str, Any]:
    return {
        "user_id": DEFAULT_USER,
        "app_secret": DEFAULT_SECRET,
        "sign_method": "hmacSha256",
        "host": "127.0.0.1",
        "port": cloud.mqtt_port,
        "tls": False,
        "tls_insecure": False,
        "rest_url": cloud.rest_url,
        "homes": [DEFAULT_HOME],
        **overrides,
    }


async def start_flow(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "cloud_account"}
    )
    assert result["step_id"] == "cloud_account"
    return str(result["flow_id"])


async def cloud_entry(hass: HomeAssistant, cloud: FakeCloud) -> ConfigEntry:
    flow_id = await start_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, account(cloud))
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.unique_id == f"{DEFAULT_USER}@127.0.0.1:{cloud.mqtt_port}"
    return entry


async def connect_devices(entry: ConfigEntry, cloud: FakeCloud, *configs: Any) -> list[str]:
    """Connect the cloud's simulated devices; the deviceIds of `configs`, once Home Assistant
    knows each and has it online."""
    await cloud.start_devices()
    ids = [cloud.device_id(config.uuid) for config in configs]
    devices = entry.runtime_data.coordinator.devices
    await until(lambda: all(i in devices and devices[i].online for i in ids), 10)
    return ids


@pytest.fixture(name="cloud")
async def fixture_cloud(
    hass: HomeAssistant, custom_integrations: None, sockets: None
) -> AsyncIterator[FakeCloud]:
    write_models(hass, ["plug", "lock"])
    cloud = FakeCloud([PLUG, LOCK, PLUG2])
    await cloud.start(with_devices=False)
    yield cloud
    await cloud.stop()


async def test_setup_devices_and_a_switch_write_round_trip(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    entry = await cloud_entry(hass, cloud)
    (plug_id,) = await connect_devices(entry, cloud, PLUG)
    switch = await _entity(hass, "switch", plug_id, "switch")
    await until(lambda: hass.states.get(switch).state == "off", 10)
    device = entry.runtime_data.coordinator.devices[plug_id]
    assert device.hardware_uuid == PLUG.uuid  # learned from bind_result, and kept
    assert device.pid == PLUG.product_id

    cloud.calls.clear()
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    await until(lambda: hass.states.get(switch).state == "on")
    assert cloud.simulator is not None
    assert cloud.simulator.device(PLUG.uuid).values["switch"] == 1
    assert [c.endpoint for c in cloud.calls] == ["propsIssue"]
    assert cloud.calls[0].body == {"deviceId": plug_id, "data": {"switch": 1}}

    # Two plugs at once through the service: one batch call.
    other_id = cloud.device_id(PLUG2.uuid)
    other = await _entity(hass, "switch", other_id, "switch")
    cloud.calls.clear()
    await hass.services.async_call(
        DOMAIN,
        "set_properties",
        {
            "device_id": [_device_id(hass, plug_id), _device_id(hass, other_id)],
            "properties": {"switch": False},
        },
        blocking=True,
    )
    assert [c.endpoint for c in cloud.calls] == ["batchPropsIssue"]
    assert cloud.calls[0].body == {"deviceIds": [plug_id, other_id], "data": {"switch": 0}}
    await until(lambda: hass.states.get(switch).state == "off")
    await until(lambda: hass.states.get(other).state == "off")

    # The device list survives a restart.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert plug_id in entry.runtime_data.coordinator.devices
    assert entry.runtime_data.coordinator.devices[plug_id].hardware_uuid == PLUG.uuid


async def _entity(hass: HomeAssistant, platform: str, key: str, identifier: str) -> str:
    await until(lambda: _maybe(hass, platform, key, identifier) is not None, 10)
    return entity_id(hass, platform, key, identifier)


def _maybe(hass: HomeAssistant, platform: str, key: str, identifier: str) -> str | None:
    try:
        return entity_id(hass, platform, key, identifier)
    except AssertionError:
        return None


async def test_flow_errors_are_told_apart(hass: HomeAssistant, cloud: FakeCloud) -> None:
    flow_id = await start_flow(hass)
    cases = [
        ({"app_secret": "wrong"}, {"base": "invalid_auth"}),
        ({"port": 9}, {"base": "cannot_connect"}),
        ({"rest_url": "http://127.0.0.1:9"}, {"base": "rest_failed"}),
        ({"homes": []}, {"homes": "homes_required"}),
        ({"user_id": "bad|id"}, {"user_id": "invalid_user_id"}),
    ]
    for overrides, errors in cases:
        result = await hass.config_entries.flow.async_configure(
            flow_id, account(cloud, **overrides)
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors, overrides
    cloud.token = "expected-token"
    result = await hass.config_entries.flow.async_configure(flow_id, account(cloud))
    assert result["errors"] == {"base": "rest_refused"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, account(cloud, access_token="expected-token")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The token went with the REST check, and the same account cannot be added twice.
    assert cloud.calls[-1].headers["Authorization"] == "Bearer expected-token"
    flow_id = await start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, account(cloud, access_token="expected-token")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_rest_failures_give_clear_errors_and_change_nothing(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    entry = await cloud_entry(hass, cloud)
    await cloud.start_devices()
    plug_id = cloud.device_id(PLUG.uuid)
    switch = await _entity(hass, "switch", plug_id, "switch")
    await until(lambda: hass.states.get(switch).state == "off", 10)
    cloud.faults.rest_status = 500
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert err.value.translation_key == "cloud_rest_failed"
    cloud.faults.rest_status = None
    cloud.faults.rest_code = 1004
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert err.value.translation_key == "device_refused"
    cloud.faults.rest_code = None
    await asyncio.sleep(0.3)
    assert hass.states.get(switch).state == "off"
    assert cloud.simulator is not None
    assert cloud.simulator.device(PLUG.uuid).values["switch"] == 0
    # A command the app API cannot carry says so.
    lock_id = cloud.device_id(LOCK.uuid)
    await until(lambda: lock_id in entry.runtime_data.coordinator.devices, 10)
    door = await _entity(hass, "lock", lock_id, "lock")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "delete_lock_password", {"entity_id": door, "index": 1}, blocking=True
        )
    assert err.value.translation_key == "cloud_unsupported"
    assert entry.state is ConfigEntryState.LOADED


async def _lock_passwords(hass: HomeAssistant, lock_id: str) -> Any:
    door = await _entity(hass, "lock", lock_id, "lock")
    listed = await hass.services.async_call(
        DOMAIN, "get_lock_passwords", {"entity_id": door}, blocking=True, return_response=True
    )
    return listed[door]


def _device_id(hass: HomeAssistant, key: str) -> str:
    from .hub import device_entry  # noqa: PLC0415

    return device_entry(hass, key).id


async def test_replies_arrive_as_response_data(hass: HomeAssistant, cloud: FakeCloud) -> None:
    entry = await cloud_entry(hass, cloud)
    plug_id, lock_id = await connect_devices(entry, cloud, PLUG, LOCK)
    runtime = entry.runtime_data.coordinator
    plug = runtime.devices[plug_id]

    async def pass_through(cmd_data: dict[str, Any]) -> Any:
        """A command the cloud answers with a notification; `commonCmd`'s answer echoes
        what it was sent, so alike commands can be told apart."""
        data = {"cmdType": "start_talk", "cmdData": cmd_data}
        reply = await runtime.async_command(plug, Cmd.COMMON_CMD, data, ack=True)
        assert reply is not None
        return reply.data

    assert await pass_through({"a": 1}) == {"respType": "start_talk", "respData": {"a": 1}}
    assert [c.endpoint for c in cloud.calls if c.endpoint == "commonCmd"] == ["commonCmd"]
    # Two alike commands at once: each gets its own answer, not both the first.
    both = await asyncio.gather(*(pass_through({"n": n}) for n in (1, 2)))
    assert sorted(r["respData"]["n"] for r in both) == [1, 2]
    # A code added on the lock's keypad: the lock syncs its list, the cloud passes it on as
    # pwd_set_result, and the list is the response of get_lock_passwords (codes left out).
    assert cloud.simulator is not None
    lock = cloud.simulator.device(LOCK.uuid)
    lock.passwords[3] = {"index": 3, "type": 1, "timeType": 1, "pwd": "123456"}
    await lock.send(Evt.PWD_SYNC, {"pwdList": lock.password_list()})
    await until(lambda: entry.runtime_data.coordinator.devices[lock_id].passwords)
    listed = await _lock_passwords(hass, lock_id)
    assert [p["index"] for p in listed["passwords"]] == [3], listed

    # Single results in the spec's shape: one added (its code must not be kept), one deleted.
    for operator, pwd_data in ((1, {"index": 4, "type": 1, "pwd": "654321"}), (2, {"index": 3})):
        cloud.notify(
            Note.PWD_SET_RESULT,
            {"deviceId": lock_id, "operatorType": operator, "pwdData": pwd_data},
        )
    await until(
        lambda: (
            [p["index"] for p in entry.runtime_data.coordinator.devices[lock_id].passwords] == [4]
        )
    )
    listed = await _lock_passwords(hass, lock_id)
    assert [p["index"] for p in listed["passwords"]] == [4], listed
    assert "654321" not in repr(listed)


async def test_watchdog_reconnects_a_silent_session(hass: HomeAssistant, cloud: FakeCloud) -> None:
    entry = await cloud_entry(hass, cloud)
    (plug_id,) = await connect_devices(entry, cloud, PLUG)
    runtime = entry.runtime_data.coordinator
    await until(lambda: "switch" in runtime.devices[plug_id].values, 10)
    await asyncio.sleep(1.0)  # let the start-up news settle before push goes quiet
    logins = len(cloud.app_logins)
    first_client = cloud.app_logins[-1]
    cloud.faults.muted = True  # push dies silently: the broker still holds the session
    runtime.transport.last_notification -= runtime.transport.watchdog_interval + 1
    await runtime.transport._probe()
    assert [c.endpoint for c in cloud.calls][-1] == "propsGet"  # the probe went out
    assert runtime.transport.watchdog_reconnects == 1
    await until(lambda: len(cloud.app_logins) > logins, 10)
    assert cloud.app_logins[-1] != first_client  # a fresh ts, a new client id
    await asyncio.wait_for(runtime.transport.session.wait_subscribed(), 10)
    # Notifications flow again.
    cloud.notify(Note.ALERT, {"deviceId": plug_id})
    await until(lambda: runtime.transport.router.handled.get(Note.ALERT, 0) == 1)
    # With push alive, a probe answered in time does not reconnect.
    runtime.transport.last_notification -= runtime.transport.watchdog_interval + 1
    await runtime.transport._probe()
    assert runtime.transport.watchdog_reconnects == 1


async def test_refused_credentials_start_reauth(hass: HomeAssistant, cloud: FakeCloud) -> None:
    entry = await cloud_entry(hass, cloud)
    cloud.faults.refuse_apps = True
    entry.runtime_data.coordinator.transport.session.reconnect("test")
    await until(lambda: any(hass.config_entries.flow.async_progress_by_handler(DOMAIN)), 10)
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    assert flow["context"]["source"] == "reauth"
    cloud.faults.refuse_apps = False
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"app_secret": "still-the-old-one"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"app_secret": DEFAULT_SECRET}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    # Refused at start-up as well: the entry waits for new credentials instead of retrying.
    cloud.faults.refuse_apps = True
    assert not await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "refused the account's credentials" in str(entry.reason)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == ["reauth"]


async def test_rest_refused_at_runtime_starts_reauth(hass: HomeAssistant, cloud: FakeCloud) -> None:
    """The account's secret changes on the platform while the push session stays up: the
    first REST call answered 401 opens a reauth flow (one, however many calls fail), and the
    new secret brings commands back."""
    entry = await cloud_entry(hass, cloud)
    (plug_id,) = await connect_devices(entry, cloud, PLUG)
    switch = await _entity(hass, "switch", plug_id, "switch")
    await until(lambda: hass.states.get(switch).state == "off", 10)
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)

    cloud.secret = "rotated-on-the-platform"  # old signatures now get HTTP 401
    for _ in range(2):
        with pytest.raises(HomeAssistantError) as refused:
            await hass.services.async_call(
                "switch", "turn_on", {"entity_id": switch}, blocking=True
            )
        assert refused.value.translation_key == "cloud_rest_refused"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == ["reauth"]
    assert flows[0]["context"]["entry_id"] == entry.entry_id

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"app_secret": "rotated-on-the-platform"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    devices = entry.runtime_data.coordinator.devices  # a new runtime: the entry was reloaded
    await until(lambda: plug_id in devices and devices[plug_id].online, 10)
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    await until(lambda: hass.states.get(switch).state == "on")


async def test_rest_forbidden_starts_reauth_too(hass: HomeAssistant, cloud: FakeCloud) -> None:
    entry = await cloud_entry(hass, cloud)
    (plug_id,) = await connect_devices(entry, cloud, PLUG)
    cloud.faults.rest_status = 403
    with pytest.raises(HomeAssistantError) as refused:
        await entry.runtime_data.coordinator.async_refresh(
            entry.runtime_data.coordinator.devices[plug_id]
        )
    assert refused.value.translation_key == "cloud_rest_refused"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == ["reauth"]


async def test_reconfigure_and_options(
    hass: HomeAssistant, cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.rlink.flows import cloud as cloud_flow  # noqa: PLC0415

    entry = await cloud_entry(hass, cloud)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "reconfigure"
    location = {
        k: v for k, v in account(cloud).items() if k not in ("user_id", "app_secret", "sign_method")
    }
    # TLS asked of a plain listener: a TLS error, not a minute's wait for "cannot connect".
    monkeypatch.setattr(cloud_flow, "CHECK_TIMEOUT", 1.0)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**location, "tls": True}
    )
    assert result["errors"] == {"base": "tls_failed"}
    assert entry.data["tls"] is False
    # No home: the form says so, and nothing changes.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**location, "homes": [" "]}
    )
    assert result["errors"] == {"homes": "homes_required"}
    assert entry.data["homes"] == [DEFAULT_HOME]
    # The broker of an account already set up: that account, not this one.
    async with FakeCloud([]) as other_cloud:
        other = await cloud_entry(hass, other_cloud)
        moving = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
        )
        moving = await hass.config_entries.flow.async_configure(
            moving["flow_id"], {**location, "port": other_cloud.mqtt_port}
        )
        assert (moving["type"], moving["reason"]) == (FlowResultType.ABORT, "already_configured")
        assert entry.data["port"] == cloud.mqtt_port
        assert await hass.config_entries.async_unload(other.entry_id)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**location, "homes": [DEFAULT_HOME, "home02"]}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["homes"] == [DEFAULT_HOME, "home02"]
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"watchdog_interval": 120}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.runtime_data.coordinator.transport.watchdog_interval == 120


async def test_device_subentry_and_inferred_entities(hass: HomeAssistant, cloud: FakeCloud) -> None:
    entry = await cloud_entry(hass, cloud)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "device"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"device_id": "devmeter01", "pid": "meter", "name": "Meter"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.devices["devmeter01"].name == "Meter"
    # No model for "meter": values become read-only entities, and a repair says why.
    cloud.notify(
        Note.PROPERTY_CHANGE,
        {"devices": [{"deviceId": "devmeter01", "properties": {"power": 12.5}}]},
    )
    sensor = await _entity(hass, "sensor", "devmeter01", "power")
    await until(lambda: hass.states.get(sensor).state == "12.5")
    assert any(i.domain == DOMAIN for i in ir.async_get(hass).issues.values())
    events = async_capture_events(hass, f"{DOMAIN}_cloud_notice")
    cloud.notify(Note.MATTER_FIND, {"clientId": "c", "userId": DEFAULT_USER})
    await until(lambda: events)


async def test_diagnostics_keep_the_account_secret(hass: HomeAssistant, cloud: FakeCloud) -> None:
    from custom_components.rlink.diagnostics import (  # noqa: PLC0415
        async_get_config_entry_diagnostics,
    )

    entry = await cloud_entry(hass, cloud)
    report = await async_get_config_entry_diagnostics(hass, entry)
    text = repr(report)
    assert DEFAULT_SECRET not in text
    # Nor who the account is, or where its cloud lives.
    assert DEFAULT_USER not in text
    assert cloud.rest_url not in text
    assert report["hub"]["mode"] == "cloud"
    assert report["hub"]["rest"]["base_url"] == "**REDACTED**"
    assert report["hub"]["session"]["host"] == "**REDACTED**"
    for key in ("app_secret", "user_id", "host", "rest_url"):
        assert report["entry"]["data"][key] == "**REDACTED**", key


async def test_cloud_groups_scenes_and_reports(hass: HomeAssistant, cloud: FakeCloud) -> None:
    entry = await cloud_entry(hass, cloud)
    await cloud.start_devices()
    plug_id, other_id = cloud.device_id(PLUG.uuid), cloud.device_id(PLUG2.uuid)
    switch = await _entity(hass, "switch", plug_id, "switch")
    other = await _entity(hass, "switch", other_id, "switch")
    await until(lambda: hass.states.get(switch).state == "off", 10)
    notices = async_capture_events(hass, f"{DOMAIN}_cloud_notice")

    # A group the cloud keeps: one call, both plugs on, and the group's news on the bus.
    cloud.groups["grp01"] = [plug_id, other_id]
    await hass.services.async_call(
        DOMAIN,
        "cloud_group_control",
        {"config_entry_id": entry.entry_id, "group_id": "grp01", "properties": {"switch": 1}},
        blocking=True,
    )
    assert cloud.calls[-1].body == {"groupId": "grp01", "data": {"switch": 1}}
    await until(lambda: hass.states.get(switch).state == "on")
    await until(lambda: hass.states.get(other).state == "on")
    await until(lambda: any(e.data.get("group_id") == "grp01" for e in notices))

    # A one-click scene of the cloud.
    cloud.scenes["scene01"] = [(plug_id, {"switch": 0})]
    await hass.services.async_call(
        DOMAIN,
        "cloud_execute_scene",
        {"config_entry_id": entry.entry_id, "scene_id": "scene01"},
        blocking=True,
    )
    await until(lambda: hass.states.get(switch).state == "off")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "cloud_execute_scene",
            {"config_entry_id": entry.entry_id, "scene_id": "nosuchscene"},
            blocking=True,
        )
    assert err.value.translation_key == "device_refused"
    assert err.value.translation_placeholders["code"] == "24029"

    # Values reported on the device's behalf, checked against its model first.
    power = await _entity(hass, "sensor", plug_id, "power")
    await hass.services.async_call(
        DOMAIN,
        "cloud_report_properties",
        {"device_id": _device_id(hass, plug_id), "properties": {"power": 12.5}},
        blocking=True,
    )
    assert cloud.calls[-1].endpoint == "propsReport"
    await until(lambda: hass.states.get(power).state == "12.5")
    for properties, key in (({"power": 99999}, "invalid_value"), ({"nope": 1}, "unknown_property")):
        cloud.calls.clear()
        with pytest.raises(ServiceValidationError) as invalid:
            await hass.services.async_call(
                DOMAIN,
                "cloud_report_properties",
                {"device_id": _device_id(hass, plug_id), "properties": properties},
                blocking=True,
            )
        assert invalid.value.translation_key == key
        assert not cloud.calls
    assert hass.states.get(power).state == "12.5"

    # These need a cloud account: not an entry at all (Home Assistant says so), not a hub.
    with pytest.raises(ServiceValidationError) as invalid:
        await hass.services.async_call(
            DOMAIN,
            "cloud_execute_scene",
            {"config_entry_id": "not-an-entry", "scene_id": "scene01"},
            blocking=True,
        )
    assert invalid.value.translation_key == "service_config_entry_not_found"
    hub = await create_embedded_hub(hass)
    for service, data in (
        ("cloud_execute_scene", {"config_entry_id": hub.entry_id, "scene_id": "scene01"}),
        (
            "cloud_group_control",
            {"config_entry_id": hub.entry_id, "group_id": "g", "properties": {"switch": 1}},
        ),
    ):
        with pytest.raises(ServiceValidationError) as invalid:
            await hass.services.async_call(DOMAIN, service, data, blocking=True)
        assert invalid.value.translation_key == "not_a_cloud_account"
    assert await hass.config_entries.async_unload(hub.entry_id)


async def test_the_cloud_broker_going_away_and_coming_back(
    hass: HomeAssistant,
    custom_integrations: None,
    sockets: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entities turn unavailable with their values kept, commands fail clearly, and all
    comes back when the broker does."""
    assert await async_setup_component(hass, "homeassistant", {})
    write_models(hass, ["plug"])
    async with FakeCloud([PLUG], mqtt_port=free_port()) as cloud:
        entry = await cloud_entry(hass, cloud)
        runtime = entry.runtime_data.coordinator
        plug_id = cloud.device_id(PLUG.uuid)
        switch = await _entity(hass, "switch", plug_id, "switch")
        await until(lambda: hass.states.get(switch).state == "off", 10)  # resynced
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        await until(lambda: hass.states.get(switch).state == "on", 10)

        await cloud.broker.stop()
        await until(lambda: hass.states.get(switch).state == "unavailable", 10)
        # Asked for its values while it cannot be reached: nothing is sent, nothing fails
        # (the entity says it is unavailable), and no traceback reaches the log.
        calls = len(cloud.calls)
        await hass.services.async_call(
            "homeassistant", "update_entity", {"entity_id": switch}, blocking=True
        )
        assert len(cloud.calls) == calls
        assert not [r for r in caplog.records if r.exc_info]
        assert entry.state is ConfigEntryState.LOADED
        assert runtime.devices[plug_id].values["switch"] == 1

        await cloud.broker.start()
        await until(lambda: runtime.transport.session.connected, 20)
        # The cloud's own link and the plug come back on their own schedules.
        await until(lambda: cloud.session.connected and cloud.broker.is_connected(PLUG.uuid), 20)
        await until(lambda: hass.states.get(switch).state == "on", 20)
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        await until(lambda: hass.states.get(switch).state == "off", 10)
        # Said once each way in the log, however many attempts it took.
        lines = [
            r.getMessage().removeprefix(f"{entry.title} ")
            for r in caplog.records
            if "its broker" in r.getMessage()
        ]
        assert len(lines) == 2, lines
        assert lines[0].startswith("lost its broker connection")
        assert lines[1] == "is connected to its broker again"


async def test_a_reconnect_asks_for_values_a_few_devices_at_a_time(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    from custom_components.rlink.cloud.account import RESYNC_PARALLEL  # noqa: PLC0415
    from custom_components.rlink.protocol.session import SessionState  # noqa: PLC0415

    entry = await cloud_entry(hass, cloud)
    runtime = entry.runtime_data.coordinator
    await hass.async_block_till_done()
    for n in range(12):
        runtime.transport.device_for(f"devmany{n:02d}", pid="simplug01")
    active, most, asked = 0, 0, []
    release = asyncio.Event()

    async def slow_resync(device: Any) -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        asked.append(device.uuid)
        await release.wait()
        active -= 1

    runtime.transport._resync = slow_resync
    runtime.transport._on_session_state(SessionState.CONNECTED, None)
    await until(lambda: active == RESYNC_PARALLEL)
    release.set()
    await until(lambda: len(asked) == len(runtime.devices))
    assert most == RESYNC_PARALLEL


async def test_a_sub_device_command_names_the_sub_device_not_its_gateway(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    entry = await cloud_entry(hass, cloud)
    (plug_id,) = await connect_devices(entry, cloud, PLUG)
    runtime = entry.runtime_data.coordinator
    sub = runtime.transport.device_for("devsub0001", pid="simplug01", gateway=plug_id)
    sub.online = True
    # Shown under its gateway, in the gateway's own subentry, as on a local hub.
    registry = dr.async_get(hass)
    sub_entry = registry.async_get(_device_id(hass, sub.uuid))
    gateway_entry = registry.async_get(_device_id(hass, plug_id))
    assert sub_entry.via_device_id == gateway_entry.id
    assert sub_entry.config_subentry_id == gateway_entry.config_subentry_id
    reboot = await _entity(hass, "button", sub.uuid, "button_reboot")
    with contextlib.suppress(HomeAssistantError):  # the fake cloud knows no such device
        await hass.services.async_call("button", "press", {"entity_id": reboot}, blocking=True)
    (call,) = [c for c in cloud.calls if c.endpoint == "reboot"]
    assert call.body["deviceId"] == "devsub0001"


async def test_a_lock_in_a_cloud_account_says_how_to_unlock_it(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    """The app interface has no remote unlock: the error says what the user can do."""
    entry = await cloud_entry(hass, cloud)
    (lock_id,) = await connect_devices(entry, cloud, LOCK)
    lock = await _entity(hass, "lock", lock_id, "lock")
    await until(lambda: hass.states.get(lock).state == "locked", 10)
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call("lock", "unlock", {"entity_id": lock}, blocking=True)
    assert refused.value.translation_key == "unlock_not_in_cloud"
    assert "own app" in str(refused.value)
    # Nothing to open with, so no "Open"; "Lock" says the lock does that itself.
    assert hass.states.get(lock).attributes["supported_features"] == 0
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call("lock", "lock", {"entity_id": lock}, blocking=True)
    assert refused.value.translation_key == "lock_locks_itself_cloud"
    assert "locks itself" in str(refused.value)
