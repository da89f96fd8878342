"""Lights and locks end to end: what goes over MQTT and what Home Assistant shows."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import probatio
import pytest
from homeassistant.components.lock import LockEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event

from custom_components.rlink.const import CONF_SETTINGS, DOMAIN
from custom_components.rlink.light import HsvCodec
from custom_components.rlink.lock import locked_value
from custom_components.rlink.protocol.model import DataType, Property
from tools.rlink_sim import Simulator

from .brokers import until
from .hub import device, device_subentry, entity_id, hub_with, set_device_settings

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def test_light_scales_brightness_and_colour_temperature(hass: HomeAssistant) -> None:
    light = device("light")
    entry = await hub_with(hass, light)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [light]
    ) as sim:
        virtual = sim.device(light.uuid)
        lamp = entity_id(hass, "light", light.uuid, "light")
        await until(lambda: hass.states.get(lamp).state == "off")
        state = hass.states.get(lamp)
        assert state.attributes["supported_color_modes"] == ["color_temp"]
        assert state.attributes["min_color_temp_kelvin"] == 2700
        assert state.attributes["max_color_temp_kelvin"] == 6500

        waiter = hass.async_create_task(virtual.wait_for("property_set"))
        await hass.services.async_call(
            "light",
            "turn_on",
            {"entity_id": lamp, "brightness": 128, "color_temp_kelvin": 5000},
            blocking=True,
        )
        sent = await waiter
        # 128/255 of the model's 1-100 range, on its step of 1; Kelvin as is.
        assert sent.data == {"properties": {"switch_led": 1, "brightness": 50, "color_temp": 5000}}
        await until(lambda: hass.states.get(lamp).state == "on")
        state = hass.states.get(lamp)
        assert state.attributes["brightness"] == 128
        assert state.attributes["color_temp_kelvin"] == 5000
        assert state.attributes["color_mode"] == "color_temp"

        virtual.set("brightness", 100)  # the wall dimmer
        await until(lambda: hass.states.get(lamp).attributes["brightness"] == 255)

        await hass.services.async_call("light", "turn_off", {"entity_id": lamp}, blocking=True)
        await until(lambda: hass.states.get(lamp).state == "off")
        assert virtual.values["switch_led"] in (0, False)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_lock_unlocks_with_the_configured_password(hass: HomeAssistant) -> None:
    lock = device("lock", relock_after=0.3)
    entry = await hub_with(hass, lock)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [lock]
    ) as sim:
        virtual = sim.device(lock.uuid)
        door = entity_id(hass, "lock", lock.uuid, "lock")
        await until(lambda: hass.states.get(door).state == "locked")
        # The lock-state property is shown by the lock entity, not a second binary sensor.
        assert hass.states.get(f"binary_sensor.{door.split('.')[1]}_locked") is None

        with pytest.raises(ServiceValidationError) as refused:
            await hass.services.async_call("lock", "unlock", {"entity_id": door}, blocking=True)
        assert refused.value.translation_key == "unlock_not_configured"
        assert not [m for m in virtual.received if m.code == "remote_unlock"]

        await set_device_settings(
            hass, entry, lock.uuid, lock={"unlock_index": 901, "unlock_password": "70f05e98"}
        )
        waiter = hass.async_create_task(virtual.wait_for("remote_unlock"))
        await hass.services.async_call("lock", "unlock", {"entity_id": door}, blocking=True)
        sent = await waiter
        assert sent.data == {"type": 9, "index": 901, "pwd": "70f05e98"}
        await until(lambda: hass.states.get(door).state == "unlocked")
        await until(lambda: hass.states.get(door).state == "locked")  # it relocks by itself

        # It locks itself: "Lock" says so and sends nothing; "Open" is offered instead.
        assert hass.states.get(door).attributes["supported_features"] == LockEntityFeature.OPEN
        sent_before = len(virtual.received)
        with pytest.raises(ServiceValidationError) as no_lock:
            await hass.services.async_call("lock", "lock", {"entity_id": door}, blocking=True)
        assert no_lock.value.translation_key == "lock_locks_itself"
        assert "locks itself again shortly after it opens" in str(no_lock.value)
        assert len(virtual.received) == sent_before

        # "Open" is the remote unlock; the entity shows it opening until the lock reports.
        shown: list[str] = []
        unsubscribe = async_track_state_change_event(
            hass, door, lambda event: shown.append(event.data["new_state"].state)
        )
        waiter = hass.async_create_task(virtual.wait_for("remote_unlock"))
        await hass.services.async_call("lock", "open", {"entity_id": door}, blocking=True)
        assert (await waiter).data == {"type": 9, "index": 901, "pwd": "70f05e98"}
        await until(lambda: hass.states.get(door).state == "locked")
        unsubscribe()
        assert shown[0] == "opening"
        assert "unlocked" in shown

        # Re-opening the settings keeps the stored password when the field is left empty.
        await set_device_settings(hass, entry, lock.uuid, lock={"unlock_index": 901})
        settings = device_subentry(entry, lock.uuid).data[CONF_SETTINGS]
        assert settings["unlock_password"] == "70f05e98"

        # A code typed in Home Assistant's lock dialog is the password sent.
        waiter = hass.async_create_task(virtual.wait_for("remote_unlock"))
        await hass.services.async_call(
            "lock", "unlock", {"entity_id": door, "code": "2580abcd"}, blocking=True
        )
        assert (await waiter).data == {"type": 9, "index": 901, "pwd": "2580abcd"}
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        (Property("lock_state", DataType.BOOL), True),
        (Property("lock_state", DataType.ENUM, enums=("0", "1")), "1"),
        (
            Property(
                "lock_state",
                DataType.ENUM,
                enums=("3", "7"),
                enum_labels=MappingProxyType({"3": "Open", "7": "Closed"}),
            ),
            "7",
        ),
        # Nothing means "locked": nothing is written (not None).
        (Property("lock_state", DataType.ENUM, enums=("0", "2")), None),
        (Property("lock_state", DataType.INT), None),
    ],
)
def test_the_value_that_locks(prop: Property, value: Any) -> None:
    assert locked_value(prop) == value


async def test_lock_passwords(hass: HomeAssistant) -> None:
    lock = device("lock")
    entry = await hub_with(hass, lock)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [lock]
    ) as sim:
        virtual = sim.device(lock.uuid)
        count = entity_id(hass, "sensor", lock.uuid, "lock_passwords")
        await until(lambda: hass.states.get(count).state == "0")  # pwd_sync of an empty lock
        door = entity_id(hass, "lock", lock.uuid, "lock")
        target = {"entity_id": door}

        waiter = hass.async_create_task(virtual.wait_for("pwd_set"))
        reply = await hass.services.async_call(
            DOMAIN,
            "set_lock_password",
            {
                **target,
                "index": 5,
                "code": "135790",
                "user": "007",
                "time_type": "limited",
                "active": "2026-12-01 08:00:00",
                "expire": "2026-12-31 20:00:00",
                "start_time": "08:00",
                "end_time": "18:30",
                "weekdays": ["mon", "wed", "fri"],
            },
            blocking=True,
            return_response=True,
        )
        sent = await waiter
        reply = reply[door]  # an entity service answers per entity
        entry_sent = sent.data["pwdData"]
        assert sent.data["operatorType"] == 1
        assert entry_sent["pwd"] == "135790"
        assert entry_sent["type"] == 1
        assert entry_sent["timeType"] == 3
        assert entry_sent["loops"] == "1010100"
        assert (entry_sent["startTime"], entry_sent["endTime"]) == ("08:00", "18:30")
        assert entry_sent["expireTime"] - entry_sent["activeTime"] == 30 * 86400 + 12 * 3600
        assert virtual.passwords[5]["pwd"] == "135790"
        assert "pwd" not in str(reply)
        assert reply["password"]["type_name"] == "digital"

        await until(lambda: hass.states.get(count).state == "1")
        listed = hass.states.get(count).attributes["passwords"]
        assert listed[0]["index"] == 5
        assert "135790" not in str(listed)

        reply = await hass.services.async_call(
            DOMAIN, "get_lock_passwords", target, blocking=True, return_response=True
        )
        assert [p["index"] for p in reply[door]["passwords"]] == [5]
        assert "135790" not in str(reply)

        bad_inputs: list[tuple[dict[str, Any], str | None]] = [
            ({"index": 6, "time_type": "limited", "code": "1234"}, "lock_times_required"),
            ({"index": 6, "type": "digital"}, "lock_code_required"),
            (
                {
                    "index": 6,
                    "code": "1234",
                    "time_type": "limited",
                    "active": "2026-12-02 00:00:00",
                    "expire": "2026-12-01 00:00:00",
                },
                "lock_times_order",
            ),
            ({"index": 1000, "code": "1234"}, None),
            ({"index": 6, "code": "12"}, "lock_code_invalid"),
            ({"index": 6, "code": "12 34"}, "lock_code_invalid"),
            ({"index": 6, "code": "1234", "weekdays": ["funday"]}, None),
        ]
        for data, key in bad_inputs:
            with pytest.raises((ServiceValidationError, probatio.Invalid)) as invalid:
                await hass.services.async_call(
                    DOMAIN, "set_lock_password", {**target, **data}, blocking=True
                )
            if key is not None:
                assert getattr(invalid.value, "translation_key", None) == key
        assert list(virtual.passwords) == [5]  # nothing invalid reached the lock

        waiter = hass.async_create_task(virtual.wait_for("pwd_set"))
        await hass.services.async_call(
            DOMAIN, "delete_lock_password", {**target, "index": 5}, blocking=True
        )
        assert (await waiter).data == {"operatorType": 2, "pwdData": {"index": 5}}
        await until(lambda: hass.states.get(count).state == "0")
        assert virtual.passwords == {}

    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_sleeping_lock_gets_held_writes_when_it_wakes(hass: HomeAssistant) -> None:
    lock, plug = device("lock"), device("plug")
    entry = await hub_with(hass, lock, plug)
    hub = entry.runtime_data.coordinator
    assert hub.devices[lock.uuid].profile.sleeping  # a battery lock sleeps
    assert not hub.devices[plug.uuid].profile.sleeping
    volume = entity_id(hass, "select", lock.uuid, "volume")
    switch = entity_id(hass, "switch", plug.uuid, "switch")

    # Asleep: the write is held, and shown.
    await hub.async_set_properties(hub.devices[lock.uuid], {"volume": "2"})
    await hub.async_set_properties(hub.devices[lock.uuid], {"volume": "0"})
    assert hub.devices[lock.uuid].pending["volume"][0] == 0  # the latest value wins
    await hass.async_block_till_done()
    assert hass.states.get(volume).attributes["pending"] == {"volume": 0}

    # An always-on device that is offline fails at once, clearly.
    with pytest.raises(HomeAssistantError) as offline:
        await hub.async_set_properties(hub.devices[plug.uuid], {"switch": True})
    assert offline.value.translation_key == "device_offline"
    assert hass.states.get(switch).state == "unavailable"

    async with Simulator("127.0.0.1", hub.transport.broker.port, [lock]) as sim:
        virtual = sim.device(lock.uuid)
        await until(lambda: any(m.code == "property_set" for m in virtual.received))
        (sent,) = [m for m in virtual.received if m.code == "property_set"]
        assert sent.data == {"properties": {"volume": 0}}
        await until(lambda: hass.states.get(volume).state == "mute")
        await until(lambda: "pending" not in hass.states.get(volume).attributes)
        assert hub.devices[lock.uuid].pending == {}

    # A write that waits too long is dropped, with a repair issue naming it.
    await until(lambda: not hub.devices[lock.uuid].online)
    assert hass.states.get(volume).state == "mute"  # asleep, not gone: its last state holds
    await hub.async_set_properties(hub.devices[lock.uuid], {"volume": "1"})
    hub.desired.max_age = 0
    hub.desired.expire_all()
    assert hub.devices[lock.uuid].pending == {}
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"pending_expired_{lock.uuid}")
    assert issue is not None
    assert issue.translation_placeholders["properties"] == "volume"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_kinds_can_be_overridden_in_options(hass: HomeAssistant) -> None:
    plug = device("plug")
    entry = await hub_with(hass, plug)
    power = entity_id(hass, "switch", plug.uuid, "switch")
    registry = er.async_get(hass)
    registry.async_update_entity(power, name="Lamp relay", area_id="kitchen")
    # A plug whose relay drives a lamp: make it a light, its "switch" the light's on/off.
    await set_device_settings(
        hass, entry, plug.uuid, settings={"kinds": ["light"], "roles": {"on": "switch"}}
    )
    hub = entry.runtime_data.coordinator
    assert hub.devices[plug.uuid].profile.kinds == {"light"}
    assert entity_id(hass, "light", plug.uuid, "light")
    # The switch is no longer provided, but what the user made of it is kept.
    await until(
        lambda: hass.states.get(power) is None or hass.states.get(power).state == "unavailable"
    )
    kept = registry.async_get(power)
    assert kept is not None
    assert (kept.name, kept.area_id) == ("Lamp relay", "kitchen")
    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug]) as sim:
        lamp = entity_id(hass, "light", plug.uuid, "light")
        await until(lambda: hass.states.get(lamp).state == "off")
        assert hass.states.get(lamp).attributes["supported_color_modes"] == ["onoff"]
        await hass.services.async_call("light", "turn_on", {"entity_id": lamp}, blocking=True)
        await until(lambda: sim.device(plug.uuid).values["switch"] in (1, True))
        # Back to a plug: the same switch returns, with its name and area.
        await set_device_settings(hass, entry, plug.uuid, settings={"kinds": []})
        await until(lambda: hass.states.get(power).state == "on")
        assert entity_id(hass, "switch", plug.uuid, "switch") == power
        assert hass.states.get(power).attributes["friendly_name"].endswith("Lamp relay")
    assert await hass.config_entries.async_unload(entry.entry_id)


_HSV_STRUCT = Property(
    "colour_data",
    DataType.STRUCT,
    members=(
        Property("h", DataType.INT, max=360),
        Property("s", DataType.INT, max=1000),
        Property("v", DataType.INT, max=1000),
    ),
)


def test_colour_in_a_struct_keeps_its_brightness() -> None:
    codec = HsvCodec(_HSV_STRUCT)
    assert codec.read({"h": 120, "s": 500, "v": 800}) == (120.0, 50.0)
    assert codec.write((240.4, 25.0), {"h": 1, "s": 1, "v": 800}) == {"h": 240, "s": 250, "v": 800}
    assert codec.write((10, 100), None) == {"h": 10, "s": 1000, "v": 1000}


def test_colour_as_json_text() -> None:
    codec = HsvCodec(Property("colour_data", DataType.TEXT))
    assert codec.read('{"h": 30, "s": 1000, "v": 10}') == (30.0, 100.0)
    written = codec.write((60, 50), '{"h": 30, "s": 1000, "v": 10}')
    assert json.loads(written) == {"h": 60, "s": 500, "v": 10}
    assert json.loads(codec.write((60, 50), "not json")) == {"h": 60, "s": 500, "v": 1000}


@pytest.mark.parametrize("raw", ["not json", '["h"]', {"h": 1}, {"h": "x", "s": 2}, None, 7])
def test_colour_values_that_are_not_colours(raw: Any) -> None:
    assert HsvCodec(_HSV_STRUCT).read(raw) is None
