"""The hub over time: external brokers that restart, models that arrive late, restarts of
Home Assistant, time-zone changes, options, reauth and reconfigure, diagnostics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rlink.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.rlink.diagnostics import (
    async_get_config_entry_diagnostics,
    async_get_device_diagnostics,
)
from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.session import MqttSession
from custom_components.rlink.protocol.topics import TopicKind, device_topic
from tools.rlink_sim import TEMPLATES, Simulator

from .brokers import Mosquitto, free_port, until
from .hub import (
    add_device,
    create_embedded_hub,
    device,
    device_entry,
    enable_entity,
    entity_id,
    entity_id_soon,
    store_device_settings,
    write_models,
)

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def _external_hub(hass: HomeAssistant, port: int, **extra: Any) -> Any:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    for step in ("local_hub", "external"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": step}
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port, **extra}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return result["result"]


async def test_mosquitto_as_external_broker(hass: HomeAssistant, mosquitto: Mosquitto) -> None:
    write_models(hass, ["plug"])
    plug = device("plug")
    entry = await _external_hub(hass, mosquitto.port)
    await add_device(hass, entry, plug)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", mosquitto.port, [plug]) as sim:
        switch = entity_id(hass, "switch", plug.uuid, "switch")
        await until(lambda: hass.states.get(switch).state == "off")
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        await until(lambda: hass.states.get(switch).state == "on")

        # A stranger on the broker reporting as an unknown device gets 1004.
        stranger = MqttSession("127.0.0.1", mosquitto.port, lambda: _anonymous("stranger"))
        await stranger.connect()
        try:
            unknown = "rn01ffffffffffff"
            stranger.subscribe(
                device_topic(TopicKind.REPORT_RESPONSE, "p", unknown), lambda _t, _m: None
            )
            await until(lambda: stranger.connected)
            with pytest.raises(Exception) as refused:  # noqa: PT011
                await stranger.request(
                    device_topic(TopicKind.REPORT, "p", unknown),
                    messages.event(DeviceEvent.TIME, ack=True),
                    timeout=5,
                )
            assert getattr(refused.value, "code", None) == 1004
        finally:
            await stranger.close()

        # The broker goes away during a command: the command fails clearly, at once.
        await mosquitto.stop()
        await until(lambda: not hub.transport.session.connected)
        assert hass.states.get(switch).state == "unavailable"
        with pytest.raises(HomeAssistantError) as down:
            await hass.services.async_call(
                DOMAIN,
                "set_properties",
                {"device_id": device_entry(hass, plug.uuid).id, "properties": {"switch": False}},
                blocking=True,
            )
        assert down.value.translation_key == "not_connected"
        # It comes back: the hub reconnects, asks for a full report, entities return.
        sim.device(plug.uuid).values["power"] = 42.0
        await mosquitto.start()
        power = entity_id(hass, "sensor", plug.uuid, "power")
        await until(lambda: hass.states.get(power).state == "42.0", 30)
        assert hass.states.get(switch).state == "on"
    await hass.config_entries.async_unload(entry.entry_id)


def _anonymous(client_id: str) -> Any:
    from custom_components.rlink.protocol.auth import Credentials  # noqa: PLC0415

    return Credentials(client_id=client_id, username="", password="", ts=0)


async def test_silent_device_is_pinged_and_marked_unavailable(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    write_models(hass, ["plug"])
    plug = device("plug")
    enable_entity(hass, "sensor", plug.uuid, "diag_signal")  # added disabled
    entry = await _external_hub(hass, mosquitto.port)
    await add_device(hass, entry, plug)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", mosquitto.port, [plug]):
        switch = entity_id(hass, "switch", plug.uuid, "switch")
        await until(lambda: hass.states.get(switch).state == "off")
        reply = await hub.async_ping(hub.devices[plug.uuid])
        assert reply["networkType"] == 1
        signal = entity_id(hass, "sensor", plug.uuid, "diag_signal")
        await until(lambda: hass.states.get(signal).state not in ("unknown", "unavailable"))
    # The simulator is gone; nothing on an external broker says so except a failed ping.
    assert hub.devices[plug.uuid].online
    await hub.transport._ping_quiet(hub.devices[plug.uuid])
    assert hass.states.get(switch).state == "unavailable"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_model_arrives_later(hass: HomeAssistant) -> None:
    sensor = device("sensor")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, sensor)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", hub.transport.broker.port, [sensor]) as sim:
        # No model: the device's own `model` request is refused, entities are inferred.
        assert [e for e in sim.device(sensor.uuid).errors if e.startswith("model:")]
        humidity = await entity_id_soon(hass, "sensor", sensor.uuid, "humidity")
        await until(lambda: hass.states.get(humidity).state == "45")
        assert ir.async_get(hass).async_get_issue(DOMAIN, f"missing_model_{sensor.product_id}")
        assert "unit_of_measurement" not in hass.states.get(humidity).attributes
        hub.models.async_set(sensor.product_id, TEMPLATES["sensor"].model())
        await hass.async_block_till_done()
        await until(lambda: hass.states.get(humidity).attributes.get("unit_of_measurement") == "%")
        assert hass.states.get(humidity).attributes["device_class"] == "humidity"
        assert (
            ir.async_get(hass).async_get_issue(DOMAIN, f"missing_model_{sensor.product_id}") is None
        )
    await hass.config_entries.async_unload(entry.entry_id)


async def test_values_survive_a_restart(hass: HomeAssistant) -> None:
    write_models(hass, ["sensor"])
    sensor = device("sensor")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, sensor)
    hub = entry.runtime_data.coordinator
    temperature = entity_id(hass, "sensor", sensor.uuid, "temperature")
    async with Simulator("127.0.0.1", hub.transport.broker.port, [sensor]) as sim:
        sim.device(sensor.uuid).set("temperature", 19.5)
        await until(lambda: hass.states.get(temperature).state == "19.5")
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    hub = entry.runtime_data.coordinator
    assert hub.devices[sensor.uuid].values["temperature"] == 19.5
    assert hass.states.get(temperature).state == "unavailable"
    # Online again, before any report: the last known value shows.
    quiet = MqttSession(
        "127.0.0.1",
        hub.transport.broker.port,
        lambda: device_credentials(sensor.uuid, sensor.secret),
    )
    await quiet.connect()
    await until(lambda: hass.states.get(temperature).state == "19.5")
    await quiet.close()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_time_is_pushed_when_the_time_zone_changes(hass: HomeAssistant) -> None:
    write_models(hass, ["plug"])
    plug = device("plug")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, plug)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug]
    ) as sim:
        virtual = sim.device(plug.uuid)
        waiter = hass.async_create_task(virtual.wait_for("time"))
        await hass.config.async_update(time_zone="Asia/Shanghai")
        pushed = await waiter
        assert pushed.data["sys_tz"] == "Asia/Shanghai"
        assert pushed.data["zone_offset"] == 8 * 3600
    await hass.config_entries.async_unload(entry.entry_id)


async def _refused_external_hub(
    hass: HomeAssistant, port: int, username: str, password: str
) -> tuple[MockConfigEntry, str]:
    """A hub on an external broker that refuses its login: the entry, failed to set up,
    and the id of the reauth flow that opened for it."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            "mode": "local",
            "broker": "external",
            "host": "127.0.0.1",
            "port": port,
            "username": username,
            "password": password,
        },
        unique_id=f"127.0.0.1:{port}",
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = [
        f for f in hass.config_entries.flow.async_progress() if f["context"]["source"] == "reauth"
    ]
    return entry, str(flow["flow_id"])


async def test_options_reauth_reconfigure(hass: HomeAssistant, strict_mosquitto: Mosquitto) -> None:
    write_models(hass, ["plug"])
    plug = device("plug")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, plug)
    # A device server has no options of its own, so Home Assistant offers none (and the
    # flow, opened anyway, asks nothing and changes nothing).
    assert not entry.supports_options
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["data_schema"].schema == {}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert (result["type"], entry.options) == (FlowResultType.CREATE_ENTRY, {})
    # The device's settings (its subentry's reconfigure) change what the hub answers it.
    subentry = next(iter(entry.subentries.values()))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE),
        context={"source": "reconfigure", "subentry_id": subentry.subentry_id},
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["step_id"] == "settings"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "remote_config": {"led": 0},
            "log_enable": True,
            "log_mode": "2",
            "log_interval": 30,
            "time_zone": "Europe/Paris",
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[subentry.subentry_id].data["settings"]["time_zone"] == "Europe/Paris"
    assert "devices" not in entry.options
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug]
    ) as sim:
        virtual = sim.device(plug.uuid)
        reply = await virtual.send(DeviceEvent.CONFIG)
        assert reply.data == {"config": {"led": 0}}
        assert virtual.replies["info"].data["logSwitch"] == {
            "enable": 1,
            "tttype": 2,
            "intervalTime": 30,
        }
        assert virtual.replies["time"].data["sys_tz"] == "Europe/Paris"

    # A device's secret changes: the same reconfigure, its other choice.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE),
        context={"source": "reconfigure", "subentry_id": subentry.subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "credentials"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"secret": "z" * 32}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.transport.secrets[plug.uuid] == "z" * 32

    # Reconfigure the broker port: the hub restarts on the new port.
    new_port = free_port()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"port": new_port})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator.transport.broker.port == new_port
    await hass.config_entries.async_unload(entry.entry_id)

    # An external broker that starts refusing the hub: setup asks for new credentials.
    external, reauth_id = await _refused_external_hub(hass, strict_mosquitto.port, "old", "old")
    result = await hass.config_entries.flow.async_configure(
        reauth_id, {"username": "still", "password": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert external.state is ConfigEntryState.SETUP_ERROR


async def test_diagnostics_hold_no_secret(hass: HomeAssistant) -> None:
    write_models(hass, ["lock"])
    lock = device("lock")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, lock)
    store_device_settings(
        hass, entry, lock.uuid, {"unlock_password": "unlockme99", "store_secret_key": "s3cretkey"}
    )
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [lock]
    ) as sim:
        await sim.device(lock.uuid).send(
            DeviceEvent.INFO,
            {
                "version": "1",
                "config": json.dumps(
                    {"currentSsid": "home", "wifiList": [{"ssid": "x", "pwd": "wifipass1"}]}
                ),
                "currentSsid": "MyHomeWifi",
                "mac": "a4:cf:12:34:56:78",
                "ip": "192.168.77.41",
            },
        )
        await sim.device(lock.uuid).send(
            DeviceEvent.PWD_SYNC, {"pwdList": [{"index": 1, "type": 1, "pwd": "4711"}]}
        )
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        per_device = await async_get_device_diagnostics(hass, entry, device_entry(hass, lock.uuid))
        # A registry device the hub does not know: diagnostics still answer.
        stranger = dr.async_get(hass).async_get_or_create(
            config_entry_id=entry.entry_id, identifiers={(DOMAIN, "rn01strangerdev01")}
        )
        unknown = await async_get_device_diagnostics(hass, entry, stranger)
    assert unknown["device"] is None
    text = json.dumps(diagnostics, default=str) + json.dumps(per_device, default=str)
    for secret in (
        lock.secret,
        "wifipass1",
        "4711",
        "unlockme99",
        "s3cretkey",
        "MyHomeWifi",
        "a4:cf:12:34:56:78",
        "192.168.77.41",
    ):
        if secret:
            assert secret not in text
    assert diagnostics["hub"]["devices"] == 1
    assert diagnostics["devices"][0]["model"]["properties"]["lock_state"]["type"] == "bool"
    kept = per_device["device"]["last_messages"]
    received = [
        m for m in kept if m["direction"] == "in" and m["code"] == str(DeviceEvent.PWD_SYNC)
    ]
    assert received
    assert received[-1]["data"]["pwdList"][0]["index"] == 1  # kept, with its pwd redacted
    assert per_device["device"]["password_slots"] == 1
    await hass.config_entries.async_unload(entry.entry_id)


async def test_removing_devices_from_the_ui(hass: HomeAssistant) -> None:
    from custom_components.rlink import async_remove_config_entry_device  # noqa: PLC0415

    write_models(hass, ["gateway", "sensor"])
    gateway = device("gateway", sub_devices=[device("sensor", "under-gateway")])
    sub_uuid = gateway.sub_devices[0].uuid
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, gateway)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", hub.transport.broker.port, [gateway]):
        await until(lambda: sub_uuid in hub.devices)
        # A device of its own goes with its subentry; a sub-device can go on its own.
        assert not await async_remove_config_entry_device(
            hass, entry, device_entry(hass, gateway.uuid)
        )
        assert await async_remove_config_entry_device(hass, entry, device_entry(hass, sub_uuid))
        assert sub_uuid not in hub.devices
    await hass.config_entries.async_unload(entry.entry_id)


async def test_external_broker_reauth_through_to_success(
    hass: HomeAssistant, sockets: None, tmp_path: Any
) -> None:
    """Mosquitto with a password file: the old password is refused, the new one is taken."""
    from .brokers import MOSQUITTO  # noqa: PLC0415

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (scripts/setup installs it when run as root)")
    broker = Mosquitto(tmp_path, users={"homeassistant": "n3w-pa55"})
    await broker.start()
    try:
        entry, reauth_id = await _refused_external_hub(
            hass, broker.port, "homeassistant", "old-pass"
        )
        result = await hass.config_entries.flow.async_configure(
            reauth_id, {"username": "homeassistant", "password": "still-old"}
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            reauth_id, {"username": "homeassistant", "password": "n3w-pa55"}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert entry.data["password"] == "n3w-pa55"
        assert entry.runtime_data.coordinator.transport.session.connected
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await broker.stop()


async def test_a_password_changed_on_the_broker_asks_for_new_credentials(
    hass: HomeAssistant, sockets: None, tmp_path: Any
) -> None:
    """Set up fine, then the broker's password changes: the hub, refused at its next
    login, opens a reauth flow (once) instead of retrying in silence."""
    from .brokers import MOSQUITTO, _password_file  # noqa: PLC0415

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (scripts/setup installs it when run as root)")
    broker = Mosquitto(tmp_path, users={"hub": "right"})
    await broker.start()
    try:
        entry = MockConfigEntry(
            domain=DOMAIN,
            data={
                "mode": "local",
                "broker": "external",
                "host": "127.0.0.1",
                "port": broker.port,
                "username": "hub",
                "password": "right",
            },
            unique_id=f"127.0.0.1:{broker.port}",
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        await broker.stop()
        _password_file(tmp_path, {"hub": "changed"})
        await broker.start()
        await until(
            lambda: any(
                f["context"]["source"] == "reauth"
                for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
            ),
            20,
        )
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await broker.stop()
