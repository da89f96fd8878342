"""Services reach the device with the right command and return its answer."""

from __future__ import annotations

import probatio
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.rlink.const import DOMAIN
from tools.rlink_sim import Simulator

from .brokers import until
from .hub import (
    add_device,
    create_embedded_hub,
    device,
    device_entry,
    enable_entity,
    entity_id,
    hub_with,
    write_models,
)

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def test_every_service(hass: HomeAssistant) -> None:
    write_models(hass, ["plug", "gateway", "sensor"])
    plug = device("plug")
    gateway = device("gateway", sub_devices=[device("sensor", "sub")])
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, plug)
    await add_device(hass, entry, gateway)
    async with Simulator("127.0.0.1", entry.runtime_data.broker.port, [plug, gateway]) as sim:
        virtual = sim.device(plug.uuid)
        target = {"device_id": device_entry(hass, plug.uuid).id}
        switch = entity_id(hass, "switch", plug.uuid, "switch")
        await until(lambda: hass.states.get(switch).state == "off")

        async def call(service: str, data: dict, code: str, response: bool = False):  # type: ignore[no-untyped-def,type-arg]
            waiter = hass.async_create_task(virtual.wait_for(code))
            result = await hass.services.async_call(
                DOMAIN, service, {**target, **data}, blocking=True, return_response=response
            )
            return result, await waiter

        _, sent = await call(
            "set_properties", {"properties": {"switch": True, "countdown": 60}}, "property_set"
        )
        assert sent.data == {"properties": {"switch": 1, "countdown": 60}}
        await until(lambda: hass.states.get(switch).state == "on")

        reply, sent = await call("send_command", {"code": "ping"}, "ping", response=True)
        assert reply["res"] == 0
        assert reply["data"]["networkType"] == 1

        reply, sent = await call(
            "common_cmd", {"cmd_type": "start_talk", "cmd_data": {"uid": 3}}, "common_cmd", True
        )
        assert sent.data == {"cmdType": "start_talk", "cmdData": {"uid": 3}}
        assert reply == {"respType": "start_talk", "respData": {"uid": 3}}

        reply, sent = await call(
            "config_settings",
            {
                "type": "wifi_list",
                "settings": {"operatorType": 1, "wifis": [{"ssid": "x", "pwd": "secretpw"}]},
            },
            "config_settings",
            True,
        )
        assert sent.data["settings"]["wifis"][0]["pwd"] == "secretpw"  # the device needs it
        assert reply["result"] == "success"
        assert "secretpw" not in str(reply)  # the response does not echo it

        _, sent = await call(
            "log_switch",
            {"enable": True, "mode": "cyclic", "interval": 30, "level": "warn"},
            "log_switch",
        )
        assert sent.data == {"enable": 1, "type": 2, "intervalTime": 30, "level": 3}
        _, sent = await call("clear_data", {}, "clean_data")
        assert sent.data == {}

        # A sub-device's commands travel through its gateway, naming the sub-device.
        sub_uuid = gateway.sub_devices[0].uuid
        await until(lambda: sub_uuid in entry.runtime_data.devices)
        gw = sim.device(gateway.uuid)
        # Commands with no sub-device form would act on the gateway itself: refused.
        before = len(gw.received)
        sub_target = {"device_id": device_entry(hass, sub_uuid).id}
        for service, data in (
            ("log_switch", {"enable": False}),
            ("config_settings", {"type": "white_list", "settings": {}}),
            ("common_cmd", {"cmd_type": "x", "cmd_data": {}}),
        ):
            with pytest.raises(ServiceValidationError) as refused:
                await hass.services.async_call(
                    DOMAIN, service, {**sub_target, **data}, blocking=True
                )
            assert refused.value.translation_key == "not_for_sub_device"
        waiter = hass.async_create_task(gw.wait_for("clean_data"))
        await hass.services.async_call(DOMAIN, "clear_data", sub_target, blocking=True)
        assert (await waiter).data == {"subUuid": sub_uuid}
        assert [str(m.code) for m in gw.received[before:]] == ["clean_data"]

        with pytest.raises(probatio.Invalid, match="unknown command code"):
            await hass.services.async_call(
                DOMAIN,
                "send_command",
                {**target, "code": "no_such_code"},
                blocking=True,
                return_response=True,
            )
    await hass.config_entries.async_unload(entry.entry_id)


async def test_device_actions_are_entities(hass: HomeAssistant) -> None:
    """What needs no input is an entity: a refresh is `homeassistant.update_entity`, a
    restart and a factory reset are buttons; each reaches the device as the protocol says."""
    assert await async_setup_component(hass, "homeassistant", {})
    plug = device("plug")
    gateway = device("gateway", sub_devices=[device("sensor", "sub")])
    enable_entity(hass, "button", plug.uuid, "button_factory_reset")
    entry = await hub_with(hass, plug, gateway)
    hub = entry.runtime_data
    sub_uuid = gateway.sub_devices[0].uuid
    async with Simulator("127.0.0.1", hub.broker.port, [plug, gateway]) as sim:
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
