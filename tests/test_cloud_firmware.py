"""Firmware through a cloud account: otaIssue, the device downloads, progress as notifications."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from rlink_sim.cloud import FakeCloud

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.firmware import DATA_FIRMWARE

from .brokers import until
from .hub import device, write_models
from .test_cloud_e2e import _entity, cloud_entry
from .test_kind_firmware_camera import _firmware, _serve_http

PLUGS = [device("plug", f"cloud-fw-{n}") for n in range(3)]


@pytest.fixture(name="cloud")
async def fixture_cloud(
    hass: HomeAssistant, custom_integrations: None, sockets: None
) -> AsyncIterator[FakeCloud]:
    write_models(hass, ["plug"])
    cloud = FakeCloud(PLUGS)
    await cloud.start(with_devices=False)
    yield cloud
    await cloud.stop()


async def test_firmware_through_the_cloud(
    hass: HomeAssistant, cloud: FakeCloud, hass_client_no_auth: Any
) -> None:
    await cloud_entry(hass, cloud)
    await _serve_http(hass, hass_client_no_auth)
    body = b"\x7fELF cloud firmware " * 300
    _firmware(hass, PLUGS[0].product_id, "plug_v1.1.0.bin", body)
    await hass.data[DATA_FIRMWARE].async_scan()
    await cloud.start_devices()
    ids = [cloud.device_id(p.uuid) for p in PLUGS]
    update = await _entity(hass, "update", ids[0], "firmware")
    await until(lambda: hass.states.get(update).attributes.get("latest_version") == "1.1.0", 10)
    assert hass.states.get(update).attributes["installed_version"] is None  # the cloud never said
    cloud.calls.clear()
    await hass.services.async_call("update", "install", {"entity_id": update}, blocking=True)

    (call,) = cloud.calls
    assert call.endpoint == "otaIssue"
    assert call.body["deviceId"] == ids[0]
    assert (call.body["version"], call.body["fileSize"]) == ("1.1.0", len(body))
    assert call.body["md5sum"] == hashlib.md5(body).hexdigest()
    assert cloud.simulator is not None
    assert cloud.simulator.device(PLUGS[0].uuid).downloaded == body
    # Progress came back in the app's words, and the entity followed it to the new version.
    kinds = [m.data["type"] for _t, m in cloud.notifications if m.code == "ota_progress"]
    assert kinds[0] == "download"
    assert kinds[-1] == "done"
    state = hass.states.get(update)
    assert (state.state, state.attributes["installed_version"]) == ("off", "1.1.0")
    assert state.attributes["in_progress"] is False

    # A whole product: one task, opened with the first device and given the rest in a batch.
    cloud.calls.clear()
    reply = await hass.services.async_call(
        DOMAIN,
        "firmware_update",
        {"product": PLUGS[0].product_id},
        blocking=True,
        return_response=True,
    )
    assert [c.endpoint for c in cloud.calls] == ["otaIssue", "otaBatchIssue"]
    task = cloud.calls[0].body["taskId"]
    batch = cloud.calls[1].body
    assert {entry["taskId"] for entry in batch} == {task}
    assert {cloud.calls[0].body["deviceId"], *(e["deviceId"] for e in batch)} == set(ids)
    assert reply == {
        "product": PLUGS[0].product_id,
        "version": "1.1.0",
        "devices": {device_id: {"result": "accepted"} for device_id in ids},
    }
    for device_id in ids[1:]:
        other = await _entity(hass, "update", device_id, "firmware")
        await until(
            lambda other=other: (
                hass.states.get(other).attributes.get("installed_version") == "1.1.0"
            )
        )
