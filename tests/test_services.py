"""What a device is asked to do reaches it as the protocol says: through the services an
automation needs, and through the entities that took the place of the others."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import paho.mqtt.client as mqtt
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.topics import TopicKind, device_topic
from tools.rlink_sim import TEMPLATES, Simulator

from .brokers import until
from .hub import device, device_entry, enable_entity, entity_id, hub_with, write_models

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


# A plug whose product also has a schedule: a struct, which no entity can write.
SCHEDULE: Final = {
    "identifier": "schedule",
    "name": "Schedule",
    "accessMode": "rw",
    "dataType": {
        "type": "struct",
        "specs": [
            {"identifier": "on_at", "dataType": {"type": "int", "specs": {"min": 0, "max": 1439}}},
            {"identifier": "enabled", "dataType": {"type": "bool", "specs": {}}},
        ],
    },
}


async def test_set_properties_in_one_message_per_device(hass: HomeAssistant) -> None:
    """Several values at once, for several devices; a sub-device's through its gateway; a
    struct, checked against the model."""
    kid = device("plug", "kid")
    plug, gateway = device("plug", pid="simplugtimer"), device("gateway", sub_devices=[kid])
    model = TEMPLATES["plug"].model("simplugtimer")
    model["properties"] = [*model["properties"], SCHEDULE]
    models = write_models(hass, ["plug"])
    (models / "simplugtimer.json").write_text(json.dumps(model))
    entry = await hub_with(hass, plug, gateway)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug, gateway]) as sim:
        own, gw = sim.device(plug.uuid), sim.device(gateway.uuid)
        own.model = model  # the simulated plug knows its schedule too
        switch = entity_id(hass, "switch", plug.uuid, "switch")
        await until(lambda: hass.states.get(switch).state == "off")
        await until(lambda: kid.uuid in hub.devices and hub.devices[kid.uuid].online)

        sent_own = hass.async_create_task(own.wait_for("property_set"))
        sent_gw = hass.async_create_task(gw.wait_for("sub_property_set"))
        await hass.services.async_call(
            DOMAIN,
            "set_properties",
            {
                "device_id": [device_entry(hass, u).id for u in (plug.uuid, kid.uuid)],
                "properties": {"switch": True, "countdown": 60},
            },
            blocking=True,
        )
        assert (await sent_own).data == {"properties": {"switch": 1, "countdown": 60}}
        assert (await sent_gw).data == {
            "devices": [{"uuid": kid.uuid, "properties": {"switch": 1, "countdown": 60}}]
        }
        await until(lambda: hass.states.get(switch).state == "on")

        # The schedule is only shown (a sensor); the service writes it, as the model says.
        assert entity_id(hass, "sensor", plug.uuid, "schedule").startswith("sensor.")
        sent_own = hass.async_create_task(own.wait_for("property_set"))
        schedule = {"device_id": device_entry(hass, plug.uuid).id}
        await hass.services.async_call(
            DOMAIN,
            "set_properties",
            {**schedule, "properties": {"schedule": {"on_at": 420, "enabled": True}}},
            blocking=True,
        )
        assert (await sent_own).data == {"properties": {"schedule": {"on_at": 420, "enabled": 1}}}
        with pytest.raises(ServiceValidationError):
            await hass.services.async_call(
                DOMAIN,
                "set_properties",
                {**schedule, "properties": {"schedule": {"on_at": 2000}}},
                blocking=True,
            )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_device_actions_are_entities(hass: HomeAssistant) -> None:
    """What needs no input is an entity: a refresh is `homeassistant.update_entity`, a
    restart and a factory reset are buttons; each reaches the device as the protocol says."""
    assert await async_setup_component(hass, "homeassistant", {})
    plug = device("plug")
    gateway = device("gateway", sub_devices=[device("sensor", "sub")])
    enable_entity(hass, "button", plug.uuid, "button_factory_reset")
    entry = await hub_with(hass, plug, gateway)
    hub = entry.runtime_data.coordinator
    sub_uuid = gateway.sub_devices[0].uuid
    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug, gateway]) as sim:
        own, gw = sim.device(plug.uuid), sim.device(gateway.uuid)
        switch = entity_id(hass, "switch", plug.uuid, "switch")
        await until(lambda: hass.states.get(switch).state == "off")
        await until(lambda: sub_uuid in hub.devices and hub.devices[sub_uuid].online)

        async def press(uuid: str, button: str) -> None:
            target = {"entity_id": entity_id(hass, "button", uuid, button)}
            await hass.services.async_call("button", "press", target, blocking=True)

        # Any entity of a device asks the device for all its values; a sub-device's
        # request goes through its gateway.
        waiter = hass.async_create_task(own.wait_for("property_get"))
        await hass.services.async_call(
            "homeassistant", "update_entity", {"entity_id": switch}, blocking=True
        )
        assert (await waiter).data == {"reportAll": True}
        waiter = hass.async_create_task(gw.wait_for("property_get"))
        temperature = entity_id(hass, "sensor", sub_uuid, "temperature")
        await hass.services.async_call(
            "homeassistant", "update_entity", {"entity_id": temperature}, blocking=True
        )
        assert (await waiter).data == {"reportAll": True, "subUuids": [sub_uuid]}

        # A restart; a sub-device's goes through its gateway, which names it.
        waiter = hass.async_create_task(gw.wait_for("reboot"))
        await press(sub_uuid, "button_reboot")
        assert (await waiter).data == {"subUuid": sub_uuid}
        waiter = hass.async_create_task(own.wait_for("reboot"))
        await press(plug.uuid, "button_reboot")
        assert (await waiter).data == {}
        await until(lambda: hass.states.get(switch).state == "unavailable")
        await until(lambda: own.started.is_set() and hass.states.get(switch).state == "off")

        # The factory reset is there, disabled unless the user enables it, for devices of
        # their own only: the protocol gives `reset` no sub-device form. It resets the
        # device and erases what it keeps.
        registry = er.async_get(hass)
        unique_ids = {e.unique_id: e for e in registry.entities.values()}
        reset = unique_ids[f"{gateway.uuid}_button_factory_reset"]
        assert reset.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert f"{sub_uuid}_button_factory_reset" not in unique_ids
        own.values["switch"] = 1  # what the reset must erase
        waiter = hass.async_create_task(own.wait_for("reset"))
        await press(plug.uuid, "button_factory_reset")
        assert (await waiter).data == {"clearData": True}
        await until(lambda: own.started.is_set() and own.values["switch"] == 0)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_command_to_a_device_not_yet_listening_fails_out_loud(
    hass: HomeAssistant,
) -> None:
    """Between its login and its SUBSCRIBE a device cannot hear commands: a restart pressed
    then says so, instead of going nowhere (the command asks for no reply, so nothing else
    would notice). Once it has subscribed, the same press reaches it."""
    plug = device("plug")
    entry = await hub_with(hass, plug)
    hub = entry.runtime_data.coordinator
    loop = asyncio.get_running_loop()
    subscribed, commands = asyncio.Event(), asyncio.Queue[dict[str, Any]]()
    credentials = device_credentials(plug.uuid, plug.secret)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=credentials.client_id,
        protocol=mqtt.MQTTProtocolVersion.MQTTv311,
    )
    client.username_pw_set(credentials.username, credentials.password)
    client.on_subscribe = lambda *_a: loop.call_soon_threadsafe(subscribed.set)
    client.on_message = lambda _c, _u, m: loop.call_soon_threadsafe(
        commands.put_nowait, json.loads(m.payload)
    )
    client.connect("127.0.0.1", hub.transport.broker.port)
    client.loop_start()
    try:
        await until(lambda: hub.devices[plug.uuid].online)
        restart = {"entity_id": entity_id(hass, "button", plug.uuid, "button_reboot")}
        with pytest.raises(HomeAssistantError) as refused:
            await hass.services.async_call("button", "press", restart, blocking=True)
        assert refused.value.translation_key == "not_listening"

        client.subscribe(device_topic(TopicKind.ISSUE, plug.product_id, plug.uuid), qos=1)
        await subscribed.wait()
        await hass.services.async_call("button", "press", restart, blocking=True)
        async with asyncio.timeout(5):
            while (await commands.get())["code"] != "reboot":
                pass  # whatever else the hub says to a device that just came
    finally:
        client.loop_stop()
        client.disconnect()
    assert await hass.config_entries.async_unload(entry.entry_id)
