"""Device log uploads: the `info` answer names a signed link, uploads are kept bounded, and
administrators reach them from diagnostics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from yarl import URL

from custom_components.rlink.const import CONF_LOG_ENABLE, CONF_LOG_MODE
from custom_components.rlink.diagnostics import async_get_device_diagnostics
from custom_components.rlink.local import device_logs
from custom_components.rlink.local.device_logs import (
    DATA_DEVICE_LOGS,
    KEEP_PER_DEVICE,
    MAX_UPLOAD,
    URL_BASE,
    upload_signature,
)
from tools.rlink_sim import Simulator

from .brokers import until
from .hub import device, device_entry, hub_with, store_device_settings

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def _serve_http(hass: HomeAssistant, hass_client_no_auth: Any) -> Any:
    assert await async_setup_component(hass, "http", {})
    client = await hass_client_no_auth()
    await hass.config.async_update(internal_url=str(client.make_url("")).rstrip("/"))
    return client


def _log_folder(hass: HomeAssistant, uuid: str) -> Path:
    return Path(hass.config.path("rlink", "device_logs", uuid))


async def test_a_device_told_to_upload_its_logs_gets_a_link_and_is_kept(
    hass: HomeAssistant, hass_client_no_auth: Any, hass_client: Any
) -> None:
    plug = device("plug")
    entry = await hub_with(hass, plug)
    anonymous = await _serve_http(hass, hass_client_no_auth)
    store_device_settings(hass, entry, plug.uuid, {CONF_LOG_ENABLE: True, CONF_LOG_MODE: 1})
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug]
    ) as sim:
        virtual = sim.device(plug.uuid)
        await until(lambda: virtual.log_uploads == [200])
        link = URL(virtual.log_upload_url or "")
        assert link.path == f"{URL_BASE}/{plug.uuid}/{upload_signature(plug.uuid, plug.secret)}"
        diagnostics = await async_get_device_diagnostics(hass, entry, device_entry(hass, plug.uuid))
    (kept,) = diagnostics["device"]["uploaded_logs"]
    assert kept["bytes"] > 0
    # The link in diagnostics opens the log for an administrator, and for nobody else.
    admin = await hass_client()
    opened = await admin.get(kept["open_at"])
    assert opened.status == 200
    assert "sent info" in await opened.text()
    assert (await anonymous.get(kept["open_at"])).status == 401
    # The upload link itself is a credential: diagnostics never show it.
    assert link.parts[-1] not in str(diagnostics)

    # The device leaves the hub: its logs go with it.
    subentry_id = device_entry(hass, plug.uuid).config_subentry_id
    assert subentry_id is not None
    hass.config_entries.async_remove_subentry(entry, subentry_id)
    await until(lambda: not _log_folder(hass, plug.uuid).exists())


async def test_uploads_are_signed_bounded_and_never_leave_their_folder(
    hass: HomeAssistant, hass_client_no_auth: Any, hass_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    plug, other = device("plug"), device("sensor")
    await hub_with(hass, plug, other)
    client = await _serve_http(hass, hass_client_no_auth)
    good = f"{URL_BASE}/{plug.uuid}/{upload_signature(plug.uuid, plug.secret)}"

    # Another device's signature, a made-up one, an unknown device: all the same answer.
    for path in (
        f"{URL_BASE}/{plug.uuid}/{upload_signature(other.uuid, other.secret)}",
        f"{URL_BASE}/{plug.uuid}/{'0' * 32}",
        f"{URL_BASE}/rn01ffffffffffff/{upload_signature('rn01ffffffffffff', plug.secret)}",
    ):
        assert (await client.post(path, data=b"x")).status == 404
    assert (await client.post(good, data=b"x" * (MAX_UPLOAD + 1))).status == 413
    assert not _log_folder(hass, plug.uuid).exists()

    assert (await client.post(good, data=b"first")).status == 200
    assert (await client.post(good, data=b"too soon")).status == 429  # one per interval
    monkeypatch.setattr(device_logs, "MIN_INTERVAL", 0.0)
    for n in range(KEEP_PER_DEVICE + 3):
        assert (await client.put(good, data=f"log {n}".encode())).status == 200
    files = await hass.data[DATA_DEVICE_LOGS].async_files(plug.uuid)
    assert len(files) == KEEP_PER_DEVICE  # the oldest are gone
    admin = await hass_client()
    newest = await admin.get(files[0]["open_at"])
    assert await newest.text() == f"log {KEEP_PER_DEVICE + 2}"

    (Path(hass.config.path("rlink")) / "secret.txt").write_text("not a log")
    # Home Assistant's own filter stops an encoded way up (400); the view serves nothing
    # but the names it gives its files (404).
    assert (await admin.get(f"{URL_BASE}/{plug.uuid}/files/..%2F..%2Fsecret.txt")).status == 400
    for name in ("secret.txt", "..", "20260101T000000_000000.log"):
        assert (await admin.get(f"{URL_BASE}/{plug.uuid}/files/{name}")).status == 404
