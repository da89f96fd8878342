"""Services reach the device with the right command and return its answer."""

from __future__ import annotations

import probatio
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from custom_components.rlink.const import DOMAIN
from tools.rlink_sim import Simulator

from .brokers import until
from .hub import add_device, create_embedded_hub, device, device_entry, entity_id, write_models

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def test_every_service(hass: HomeAssistant) -> None:
    write_models(hass, ["plug", "gateway", "sensor"])
    plug = device("plug")
    gateway = device("gateway", sub_devices=[device("sensor", "sub")])
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, plug)
    await add_device(hass, entry, gateway)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug, gateway]
    ) as sim:
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

        _, sent = await call("refresh", {}, "property_get")
        assert sent.data == {"reportAll": True}

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
        await until(lambda: sub_uuid in entry.runtime_data.coordinator.devices)
        gw = sim.device(gateway.uuid)
        waiter = hass.async_create_task(gw.wait_for("reboot"))
        await hass.services.async_call(
            DOMAIN, "reboot", {"device_id": device_entry(hass, sub_uuid).id}, blocking=True
        )
        assert (await waiter).data == {"subUuid": sub_uuid}
        # Commands with no sub-device form would act on the gateway itself: refused.
        before = len(gw.received)
        sub_target = {"device_id": device_entry(hass, sub_uuid).id}
        for service, data in (
            ("reset", {"clear_data": True}),
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

        # Both restart the plug, so they come last.
        _, sent = await call("reboot", {}, "reboot")
        assert sent.data == {}
        await until(lambda: hass.states.get(switch).state == "unavailable")
        await until(lambda: virtual.started.is_set() and hass.states.get(switch).state == "on")
        _, sent = await call("reset", {"clear_data": True}, "reset")
        assert sent.data == {"clearData": True}
    await hass.config_entries.async_unload(entry.entry_id)
