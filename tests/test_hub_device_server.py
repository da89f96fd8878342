"""The local hub on its device server: entries from before it, logins across restarts,
devices that leave, and presence taken from the connections themselves."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rlink.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.rlink.protocol import auth
from custom_components.rlink.protocol.session import AuthRefused, MqttSession
from tools.rlink_sim import Simulator

from .brokers import free_port, self_signed, until
from .hub import create_embedded_hub, device, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def test_an_entry_from_before_the_device_server_keeps_its_port_and_tls(
    hass: HomeAssistant, tmp_path: Any
) -> None:
    """Entries keep the shape they had with the earlier broker: same port, same TLS files,
    and no listen address, which means every interface."""
    cert, key = self_signed(tmp_path)
    port, tls_port = free_port(), free_port()
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            "mode": "local",
            "broker": "embedded",
            "port": port,
            "certfile": str(cert),
            "keyfile": str(key),
            "tls_port": tls_port,
        },
        unique_id=f"embedded:{port}",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    server = entry.runtime_data.coordinator.transport.broker
    assert (server.host, server.port, server.tls_port) == ("0.0.0.0", port, tls_port)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_captured_login_stays_refused_after_a_restart(hass: HomeAssistant) -> None:
    plug = device("plug")
    entry = await hub_with(hass, plug)
    captured = auth.device_credentials(plug.uuid, plug.secret)
    port = entry.runtime_data.coordinator.transport.broker.port
    first = MqttSession("127.0.0.1", port, lambda: captured)
    await first.connect()
    await first.close()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    with pytest.raises(AuthRefused):
        await MqttSession("127.0.0.1", port, lambda: captured).connect()
    fresh = MqttSession("127.0.0.1", port, lambda: auth.device_credentials(plug.uuid, plug.secret))
    await fresh.connect()
    await fresh.close()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_removed_device_is_disconnected_and_kept_out(hass: HomeAssistant) -> None:
    plug, other = device("plug"), device("plug", "other")
    entry = await hub_with(hass, plug, other)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug, other]):
        await until(
            lambda: hub.transport.broker.is_connected(plug.uuid) and hub.devices[plug.uuid].online
        )
        (subentry_id,) = [
            s.subentry_id
            for s in entry.subentries.values()
            if s.subentry_type == SUBENTRY_DEVICE and s.data["uuid"] == plug.uuid
        ]
        hass.config_entries.async_remove_subentry(entry, subentry_id)
        await hass.async_block_till_done()
        await until(lambda: not hub.transport.broker.is_connected(plug.uuid))
        assert hub.transport.broker.is_connected(other.uuid)
        with pytest.raises(AuthRefused):
            await MqttSession(
                "127.0.0.1",
                hub.transport.broker.port,
                lambda: auth.device_credentials(plug.uuid, plug.secret),
            ).connect()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_presence_is_the_connection(hass: HomeAssistant) -> None:
    plug = device("plug")
    entry = await hub_with(hass, plug)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug]):
        await until(lambda: hub.devices[plug.uuid].online)
    await until(lambda: not hub.devices[plug.uuid].online)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_busy_device_does_not_keep_its_cache_from_being_written(
    hass: HomeAssistant,
) -> None:
    """Changes keep coming; the write is due SAVE_DELAY after the first, not after the last."""
    from unittest import mock  # noqa: PLC0415

    entry = await create_embedded_hub(hass)
    hub = entry.runtime_data.coordinator
    with mock.patch.object(hub._cache, "async_delay_save") as delay_save:
        for _ in range(5):
            hub.save_soon()
        assert delay_save.call_count == 1
        data_func = delay_save.call_args.args[0]
        assert "devices" in data_func()  # the write happens: the next change schedules again
        hub.save_soon()
        assert delay_save.call_count == 2
    await hass.config_entries.async_unload(entry.entry_id)


async def test_devices_are_let_go_when_home_assistant_stops(hass: HomeAssistant) -> None:
    from homeassistant.const import EVENT_HOMEASSISTANT_STOP  # noqa: PLC0415

    plug = device("plug")
    entry = await hub_with(hass, plug)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", hub.transport.broker.port, [plug]) as sim:
        await until(lambda: hub.devices[plug.uuid].online)
        sim.device(plug.uuid).set("power", 12.5)  # reported and acknowledged
        await until(lambda: hub.devices[plug.uuid].values.get("power") == 12.5)
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
        assert not hub.transport.broker.running
        assert not hub.transport.broker.is_connected(plug.uuid)
    assert hub._cache_data()["devices"][plug.uuid]["values"]["power"] == 12.5
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_removed_device_takes_its_options_and_issues_and_the_entry_its_cache(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    from homeassistant.helpers import issue_registry as ir  # noqa: PLC0415

    plug, other = device("plug"), device("plug", "other")
    entry = await hub_with(hass, plug, other)
    hass.config_entries.async_update_entry(
        entry,
        options={"devices": {plug.uuid: {"time_zone": "Europe/Paris"}, other.uuid: {}}},
    )
    await hass.async_block_till_done()
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"pending_expired_{plug.uuid}",
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="pending_expired",
    )
    (subentry_id,) = [
        s.subentry_id for s in entry.subentries.values() if s.data.get("uuid") == plug.uuid
    ]
    hass.config_entries.async_remove_subentry(entry, subentry_id)
    await hass.async_block_till_done()
    assert set(entry.options["devices"]) == {other.uuid}
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pending_expired_{plug.uuid}") is None

    assert await hass.config_entries.async_unload(entry.entry_id)  # writes the cache
    key = f"rlink.{entry.entry_id}.devices"
    assert key in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
