"""Diagnostics keep what commands carried to a device to themselves, and answer for anyone."""

from __future__ import annotations

import json

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from custom_components.rlink.diagnostics import (
    async_get_config_entry_diagnostics,
    async_get_device_diagnostics,
)

from .hub import device, device_entry, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

SIGNED_LINK = "http://192.168.1.10:8123/api/rlink/firmware/p1/fw.bin?authSig=eyJhbGciOi.secret"
OFFER = json.dumps({"type": "offer", "sdp": "c=IN IP4 203.0.113.7\r\na=candidate:1 192.168.1.23"})


async def test_what_commands_carried_stays_out_of_diagnostics(hass: HomeAssistant) -> None:
    camera = device("camera")
    entry = await hub_with(hass, camera)
    known = entry.runtime_data.coordinator.devices[camera.uuid]
    # What the hub sends: a firmware link signed for the device, a live-view offer with
    # TURN credentials, the answer to `info` naming the broker.
    known.record("out", "ota", {"url": SIGNED_LINK, "version": "2.0.0"})
    known.record(
        "out",
        "webrtc_signal_exchange",
        {
            "method": "SDP_OFFER",
            "params": OFFER,
            "auth": {"userName": "1764600000:ha-turn-user", "password": "turnpass"},
        },
    )
    known.record("out", "info", {"tcpUrl": "mqtt://192.168.1.10:1883"})
    report = json.dumps(await async_get_config_entry_diagnostics(hass, entry), default=str)
    per_device = json.dumps(
        await async_get_device_diagnostics(hass, entry, device_entry(hass, camera.uuid)),
        default=str,
    )
    for text in (report, per_device):
        for secret in ("authSig", "203.0.113.7", "192.168.1.23", "ha-turn-user", "turnpass"):
            assert secret not in text
        assert "192.168.1.10" not in text
        assert '"version": "2.0.0"' in text  # what is not private stays
    await hass.config_entries.async_unload(entry.entry_id)


async def test_device_diagnostics_for_a_device_the_hub_does_not_know(
    hass: HomeAssistant,
) -> None:
    entry = await hub_with(hass, device("plug"))
    stranger = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("other_domain", "abc")}
    )
    report = await async_get_device_diagnostics(hass, entry, stranger)
    assert report["device"] is None
    assert report["hub"]["devices"] == 1
    await hass.config_entries.async_unload(entry.entry_id)
