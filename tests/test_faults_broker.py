"""Faults around an external broker (Debian's Mosquitto), with numbered reports before,
during and after each: every report a device got an acknowledgement for becomes a state.

The hub's session is persistent (a fixed client id, no clean session), so the broker keeps
its subscriptions and queues what devices report while the hub is away; its subscriptions
are in place before any device's first report after a restart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.local.hub import hub_client_id

from .brokers import MOSQUITTO, Mosquitto, until
from .faults import COUNTER, NumberedReporter, StateLog, missing
from .hub import add_device, device, entity_id, write_models

pytestmark = [
    pytest.mark.usefixtures("custom_integrations", "sockets"),
    pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed"),
]

PLUG = device("plug", "numbered-plug")


async def _hub(hass: HomeAssistant, port: int) -> ConfigEntry:
    write_models(hass, ["plug"])
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    for step in ("local_hub", "external"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": step}
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    await add_device(hass, entry, PLUG)
    return entry


async def _shown(hass: HomeAssistant, entity: str, number: int) -> None:
    await until(lambda: (s := hass.states.get(entity)) is not None and s.state == str(number), 30)


async def test_reports_while_the_hub_is_away_are_not_lost(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Home Assistant stops its hub (a restart, an update) while the device goes on
    reporting; the broker acknowledges those reports, and they arrive when the hub is back,
    each as a state of its own, as do the reports sent right after it came back."""
    broker = Mosquitto(tmp_path)
    await broker.start()
    reporter = NumberedReporter("127.0.0.1", broker.port, PLUG)
    try:
        entry = await _hub(hass, broker.port)
        counter = entity_id(hass, "number", PLUG.uuid, COUNTER)
        log = StateLog(hass, counter)
        await reporter.start()
        await reporter.send_paced(range(1, 11))
        await _shown(hass, counter, 10)

        assert await hass.config_entries.async_unload(entry.entry_id)
        await reporter.send_paced(range(11, 21))
        await until(reporter.all_acknowledged, 15)  # the broker has them all

        assert await hass.config_entries.async_setup(entry.entry_id)
        await reporter.send_paced(range(21, 31), every=0)  # at once, right after connect
        await _shown(hass, counter, 30)
        await until(reporter.all_acknowledged, 15)
        log.close()
        assert reporter.acknowledged == set(range(1, 31))
        assert missing(reporter.acknowledged, log.numbers()) == []
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        reporter.stop()
        await broker.stop()


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_broker_restarted_mid_stream(hass: HomeAssistant, tmp_path: Path, how: str) -> None:
    """The broker goes away mid-stream (stopped, or killed with SIGKILL) and comes back:
    reports before, during (queued by the device) and after all become states."""
    broker = Mosquitto(tmp_path, persistent=True)
    await broker.start()
    reporter = NumberedReporter("127.0.0.1", broker.port, PLUG)
    try:
        entry = await _hub(hass, broker.port)
        hub = entry.runtime_data.coordinator
        counter = entity_id(hass, "number", PLUG.uuid, COUNTER)
        log = StateLog(hass, counter)
        await reporter.start()
        await reporter.send_paced(range(1, 21))
        await _shown(hass, counter, 20)
        # Saved once with the hub's session in it: what Debian's broker has after a while.
        await until(broker.database.exists, 10)

        outage: Any = broker.kill if how == "kill" else broker.stop
        await outage()
        await until(lambda: not hub.transport.session.connected, 15)
        await reporter.send_paced(range(21, 31))  # the device queues them meanwhile
        await broker.start()
        await reporter.send_paced(range(31, 61))
        await until(reporter.all_acknowledged, 30)
        await _shown(hass, counter, 60)
        log.close()
        assert reporter.acknowledged == set(range(1, 61))
        assert missing(reporter.acknowledged, log.numbers()) == []
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        reporter.stop()
        await broker.stop()


def _session_present(port: int, client_id: str) -> bool:
    """Whether the broker keeps a session for `client_id` (it still does after this)."""
    present: list[bool] = []
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=False,
    )
    client.on_connect = lambda _c, _u, flags, *_a: present.append(bool(flags.session_present))
    client.connect("127.0.0.1", port, 10)
    while not present:
        client.loop(0.1)
    client.disconnect()
    return present[0]


async def test_removing_the_entry_ends_the_brokers_session(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """The broker keeps the hub's session while the entry is unloaded (that is the point);
    deleting the entry ends it, so nothing queues reports for a hub that is gone."""
    broker = Mosquitto(tmp_path)
    await broker.start()
    try:
        entry = await _hub(hass, broker.port)
        client_id = hub_client_id(entry.entry_id)
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert await asyncio.to_thread(_session_present, broker.port, client_id)
        await hass.config_entries.async_remove(entry.entry_id)
        assert not await asyncio.to_thread(_session_present, broker.port, client_id)
    finally:
        await broker.stop()
