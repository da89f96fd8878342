"""What the hub keeps across a restart: configuration is written at once, live values on a
fixed cadence (one write per SAVE_DELAY however many reports come), both bounded."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.rlink import roster as rlink_roster
from custom_components.rlink.const import SAVE_DELAY
from custom_components.rlink.roster import cache_key
from tools.rlink_sim import Simulator

from .brokers import until
from .hub import device, entity_id, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

CADENCE = 1.0
"""SAVE_DELAY in this test, so it need not wait ten seconds for the values' write."""
REPORTS = 30


async def test_configuration_at_once_live_values_on_a_cadence(
    hass: HomeAssistant, hass_storage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kid = device("plug", "durable-kid")
    gateway = device("gateway", "durable-gateway", sub_devices=[kid])
    sensor = device("sensor", "durable-sensor")
    entry = await hub_with(hass, gateway, sensor)
    hub = entry.runtime_data.coordinator
    key = cache_key(entry.entry_id)
    delays: list[float] = []
    schedule = hub._cache.async_delay_save

    def counted(data_func: Any, delay: float = 0) -> None:
        delays.append(delay)
        schedule(data_func, delay)

    hub._cache.async_delay_save = counted

    def stored() -> dict[str, Any]:
        return dict(hass_storage.get(key, {}).get("data", {}).get("devices", {}))

    async with Simulator("127.0.0.1", hub.transport.broker.port, [gateway, sensor]) as sim:
        # The gateway's sub-device list is configuration: on disk long before SAVE_DELAY.
        await until(lambda: kid.uuid in stored(), SAVE_DELAY / 2)
        await until(lambda: hub.devices[sensor.uuid].online)
        temperature = entity_id(hass, "sensor", sensor.uuid, "temperature")
        await until(lambda: hass.states.get(temperature).state != "unavailable")
        await until(lambda: not hub._save_due, SAVE_DELAY * 2)  # start-up's write is done
        monkeypatch.setattr(rlink_roster, "SAVE_DELAY", CADENCE)

        delays.clear()
        simulated = sim.device(sensor.uuid)
        for step in range(REPORTS):
            simulated.set("temperature", round(10 + step / 10, 1))
        last = round(10 + (REPORTS - 1) / 10, 1)
        await until(lambda: hass.states.get(temperature).state == str(last))
        # Thirty changes, one write, due a cadence after the first of them.
        assert delays == [CADENCE]
        await until(lambda: stored()[sensor.uuid]["values"].get("temperature") == last, 10)
        assert delays == [CADENCE]
    await hass.config_entries.async_unload(entry.entry_id)
