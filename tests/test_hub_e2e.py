"""End to end: Home Assistant + device server + simulated devices, set up through the UI flow."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.rlink.const import EVENT_DEVICE_EVENT
from tools.rlink_sim import Simulator

from .brokers import until
from .hub import add_device, create_embedded_hub, device, device_entry, entity_id, write_models

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def test_plug_switch_sensor_and_alarm(hass: HomeAssistant) -> None:
    write_models(hass, ["plug", "sensor", "lock"])
    plug, sensor, lock = device("plug"), device("sensor"), device("lock")
    entry = await create_embedded_hub(hass)
    for config in (plug, sensor, lock):
        await add_device(hass, entry, config)
    hub = entry.runtime_data.coordinator
    assert entry.state is ConfigEntryState.LOADED

    switch = entity_id(hass, "switch", plug.uuid, "switch")
    power = entity_id(hass, "sensor", plug.uuid, "power")
    assert hass.states.get(switch).state == STATE_UNAVAILABLE

    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug, sensor, lock]) as sim:
        await until(lambda: hass.states.get(switch).state == STATE_OFF)
        # The start sequence was answered: time, model and info replies all succeeded.
        virtual = sim.device(plug.uuid)
        assert virtual.errors == []
        assert virtual.replies["model"].data["properties"]
        registry_entry = device_entry(hass, plug.uuid)
        assert registry_entry.sw_version == "1.0.0"
        assert registry_entry.model == "Smart plug"  # the product's name from its model
        assert registry_entry.model_id == plug.product_id

        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        assert virtual.values["switch"] is True or virtual.values["switch"] == 1
        await until(lambda: hass.states.get(switch).state == STATE_ON)

        virtual.set("power", 12.5)
        await until(lambda: hass.states.get(power).state == "12.5")
        assert hass.states.get(power).attributes["unit_of_measurement"] == "W"
        assert hass.states.get(power).attributes["device_class"] == "power"

        temperature = entity_id(hass, "sensor", sensor.uuid, "temperature")
        sim.device(sensor.uuid).set("temperature", 23.4)
        await until(lambda: hass.states.get(temperature).state == "23.4")

        events: list[Any] = []
        hass.bus.async_listen(EVENT_DEVICE_EVENT, events.append)
        alarm = entity_id(hass, "event", lock.uuid, "event_alarm")
        await sim.device(lock.uuid).emit("alarm", {"type": "tamper", "imageUrl": ""})
        await until(lambda: events and hass.states.get(alarm).state not in ("unknown", None))
        assert events[0].data["identifier"] == "alarm"
        assert events[0].data["output"] == {"type": "tamper", "imageUrl": ""}
        assert events[0].data["device_id"] == device_entry(hass, lock.uuid).id
        assert hass.states.get(alarm).attributes["event_type"] == "alarm"

    # Devices went away: their entities follow.
    await until(lambda: hass.states.get(switch).state == STATE_UNAVAILABLE)
    port = hub.transport.broker.port
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", port))  # the broker let go of its port


async def test_entities_follow_the_model(hass: HomeAssistant) -> None:
    write_models(hass, ["light", "vacuum"])
    light = device("light")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, light)
    registry = er.async_get(hass)
    platforms = {
        e.unique_id.removeprefix(f"{light.uuid}_"): e.domain
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    # The light's switch, brightness and colour temperature make one light entity.
    assert platforms["light"] == "light"
    assert {"switch_led", "brightness", "color_temp"}.isdisjoint(platforms)
    assert platforms["work_mode"] == "select"
    assert platforms["diag_signal"] == "sensor"
    assert platforms["button_reboot"] == "button"
    assert platforms["firmware"] == "update"
    select = hass.states.get(entity_id(hass, "select", light.uuid, "work_mode"))
    # Options whose model labels name known ones are translated (entity.select.work_mode).
    assert select.attributes["options"] == ["white", "colour", "scene"]
    # Names: the device's own for the main entity, translated standard names, the model's.
    assert hass.states.get(entity_id(hass, "light", light.uuid, "light")).name == "Light"
    assert select.name == "Light Mode"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_number_and_select_write_through_the_device(hass: HomeAssistant) -> None:
    write_models(hass, ["light", "plug"])
    light, plug = device("light"), device("plug")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, light)
    await add_device(hass, entry, plug)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [light, plug]
    ) as sim:
        countdown = entity_id(hass, "number", plug.uuid, "countdown")
        mode = entity_id(hass, "select", light.uuid, "work_mode")
        await until(lambda: hass.states.get(countdown).state == "0")
        assert hass.states.get(countdown).attributes["max"] == 86400
        await hass.services.async_call(
            "number", "set_value", {"entity_id": countdown, "value": 42}, blocking=True
        )
        await until(lambda: hass.states.get(countdown).state == "42")
        assert sim.device(plug.uuid).values["countdown"] == 42
        # An integer property takes the nearest integer, not the one below.
        await hass.services.async_call(
            "number", "set_value", {"entity_id": countdown, "value": 58.7}, blocking=True
        )
        await until(lambda: hass.states.get(countdown).state == "59")
        assert sim.device(plug.uuid).values["countdown"] == 59
        await hass.services.async_call(
            "select", "select_option", {"entity_id": mode, "option": "scene"}, blocking=True
        )
        await until(lambda: hass.states.get(mode).state == "scene")
        assert sim.device(light.uuid).values["work_mode"] == 2
    assert await hass.config_entries.async_unload(entry.entry_id)
