"""A gateway's sub-devices have no subentry of their own: their settings are set from the
gateway's reconfigure, and kept in the hub's options."""

from __future__ import annotations

import json

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.rlink.const import SUBENTRY_DEVICE
from custom_components.rlink.diagnostics import async_get_config_entry_diagnostics
from tools.rlink_sim import Simulator

from .brokers import until
from .hub import device, device_subentry, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def test_a_sub_device_is_set_from_its_gateway(hass: HomeAssistant) -> None:
    lock = device("lock", "sub")
    plug, gateway = device("plug"), device("gateway", sub_devices=[lock])
    entry = await hub_with(hass, plug, gateway)
    hub = entry.runtime_data.coordinator
    flows = hass.config_entries.subentries

    async def reconfigure(uuid: str) -> dict:
        subentry = device_subentry(entry, uuid)
        return await flows.async_init(
            (entry.entry_id, SUBENTRY_DEVICE),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id},
        )

    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug, gateway]):
        await until(lambda: lock.uuid in hub.devices and hub.devices[lock.uuid].online)
        assert hub.devices[lock.uuid].profile.sleeping  # a lock sleeps, unless told

        # Only a gateway with sub-devices offers them.
        assert "sub_devices" not in (await reconfigure(plug.uuid))["menu_options"]
        flow = await reconfigure(gateway.uuid)
        assert flow["menu_options"] == ["credentials", "settings", "sub_devices"]
        flow = await flows.async_configure(flow["flow_id"], {"next_step_id": "sub_devices"})
        assert flow["step_id"] == "sub_devices"
        choices = flow["data_schema"].schema["sub_device"].config["options"]
        assert [c["value"] for c in choices] == [lock.uuid]

        # What a sub-device can have: how it is read, and, being a lock, how to unlock it.
        flow = await flows.async_configure(flow["flow_id"], {"sub_device": lock.uuid})
        assert flow["step_id"] == "sub_settings"
        assert set(flow["data_schema"].schema) == {"kinds", "sleeping", "roles"}
        flow = await flows.async_configure(flow["flow_id"], {"sleeping": "no"})
        assert flow["step_id"] == "lock"
        flow = await flows.async_configure(
            flow["flow_id"], {"unlock_index": 3, "unlock_password": "246810"}
        )
        assert (flow["type"], flow["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
        await hass.async_block_till_done()

        settings = entry.options["devices"][lock.uuid]
        assert (settings["sleeping"], settings["unlock_index"]) == ("no", 3)
        assert settings["unlock_password"] == "246810"
        assert not hub.devices[lock.uuid].profile.sleeping  # read anew, without a restart
        assert "settings" not in device_subentry(entry, gateway.uuid).data
        shown = await async_get_config_entry_diagnostics(hass, entry)
        assert "246810" not in json.dumps(shown, default=str)

        # Shown again, the form starts from what was saved; an empty password keeps it.
        flow = await reconfigure(gateway.uuid)
        flow = await flows.async_configure(flow["flow_id"], {"next_step_id": "sub_devices"})
        flow = await flows.async_configure(flow["flow_id"], {"sub_device": lock.uuid})
        sleeping = next(k for k in flow["data_schema"].schema if k == "sleeping")
        assert sleeping.default() == "no"
        flow = await flows.async_configure(flow["flow_id"], {"sleeping": "auto"})
        flow = await flows.async_configure(flow["flow_id"], {"unlock_index": 3})
        await hass.async_block_till_done()
        assert entry.options["devices"][lock.uuid]["unlock_password"] == "246810"
        assert hub.devices[lock.uuid].profile.sleeping
    assert await hass.config_entries.async_unload(entry.entry_id)
