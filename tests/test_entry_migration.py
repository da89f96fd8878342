"""Entries saved by earlier releases: each device's settings move onto its own subentry."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rlink.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.rlink.protocol.codes import DeviceEvent
from tools.rlink_sim import Simulator

from .brokers import free_port
from .hub import device, device_subentry, set_device_settings, write_models

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

PLUG_SETTINGS = {
    "remote_config": {"led": 1},
    "log_enable": True,
    "log_mode": 2,
    "log_interval": 30,
    "time_zone": "Asia/Shanghai",
    "weather_entity": None,
    "kinds": [],
    "sleeping": "auto",
    "roles": {},
}
# A gateway's sub-device has no subentry: what it has stays where it was.
SUB_UUID = "rn01subdev000001"
SUB_SETTINGS = {"unlock_index": 901}


def _version_1_hub(port: int, *configs: Any, options: dict[str, Any]) -> MockConfigEntry:
    """A hub as release 1 saved it: its devices' settings in the options, by uuid."""
    return MockConfigEntry(
        domain=DOMAIN,
        version=1,
        minor_version=1,
        data={"mode": "local", "broker": "embedded", "port": port},
        options=options,
        unique_id=f"embedded:{port}",
        subentries_data=[
            {
                "data": {"uuid": c.uuid, "secret": c.secret, "pid": c.product_id},
                "subentry_type": SUBENTRY_DEVICE,
                "title": c.kind.title(),
                "unique_id": c.uuid,
            }
            for c in configs
        ],
    )


async def test_settings_move_from_the_options_onto_the_device_subentries(
    hass: HomeAssistant,
) -> None:
    write_models(hass, ["plug"])
    plug, bare = device("plug"), device("plug", "bare")
    entry = _version_1_hub(
        free_port(),
        plug,
        bare,
        options={"devices": {plug.uuid: PLUG_SETTINGS, SUB_UUID: SUB_SETTINGS}},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (2, 1)
    assert device_subentry(entry, plug.uuid).data == {
        "uuid": plug.uuid,
        "secret": plug.secret,
        "pid": plug.product_id,
        "settings": PLUG_SETTINGS,
    }
    assert "settings" not in device_subentry(entry, bare.uuid).data
    assert entry.options == {"devices": {SUB_UUID: SUB_SETTINGS}}
    hub = entry.runtime_data.coordinator
    assert hub.device_options(plug.uuid) == PLUG_SETTINGS
    assert hub.device_options(bare.uuid) == {}
    assert hub.device_options(SUB_UUID) == SUB_SETTINGS

    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug]) as sim:
        virtual = sim.device(plug.uuid)
        # The device is answered with what it was set to before the migration.
        assert (await virtual.send(DeviceEvent.CONFIG)).data == {"config": {"led": 1}}
        assert virtual.replies["time"].data["sys_tz"] == "Asia/Shanghai"
        assert virtual.replies["info"].data["logSwitch"] == {
            "enable": 1,
            "tttype": 2,
            "intervalTime": 30,
        }
        # And a change through its settings step reaches it as it did through the options.
        await set_device_settings(
            hass,
            entry,
            plug.uuid,
            settings={"remote_config": {"led": 0}, "time_zone": "Europe/Paris"},
        )
        assert (await virtual.send(DeviceEvent.CONFIG)).data == {"config": {"led": 0}}
        reply = await virtual.send(DeviceEvent.TIME)
        assert reply is not None
        assert reply.data["sys_tz"] == "Europe/Paris"
    assert device_subentry(entry, plug.uuid).data["settings"]["log_enable"] is False
    assert entry.options == {"devices": {SUB_UUID: SUB_SETTINGS}}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entry_with_nothing_to_move_loses_no_option(hass: HomeAssistant) -> None:
    entry = _version_1_hub(free_port(), options={"devices": {}, "ping_interval": 90})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (entry.version, entry.minor_version) == (2, 1)
    assert entry.options == {"ping_interval": 90}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entry_from_a_later_release_is_left_alone(hass: HomeAssistant) -> None:
    """Home Assistant refuses it before asking the integration; nothing of it is changed."""
    port = free_port()
    later = MockConfigEntry(
        domain=DOMAIN,
        version=3,
        data={"mode": "local", "broker": "embedded", "port": port},
        options={"devices": {SUB_UUID: SUB_SETTINGS}},
        unique_id=f"embedded:{port}",
    )
    later.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(later.entry_id)
    assert later.state is ConfigEntryState.MIGRATION_ERROR
    assert later.version == 3
    assert later.options == {"devices": {SUB_UUID: SUB_SETTINGS}}
