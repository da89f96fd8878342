"""A cloud account's other flows: binding a device a gateway found, and device subentries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from rlink_sim.cloud import FakeCloud

from custom_components.rlink.const import DOMAIN

from .brokers import until
from .hub import device, device_entry, enable_entity, entity_id, write_models
from .test_cloud_e2e import account, cloud_entry, connect_devices, start_flow

FOUND = device("sensor", "cloud-found-sensor")
GATEWAY = device("gateway", "cloud-gateway", found_devices=[FOUND])


@pytest.fixture(name="cloud")
async def fixture_cloud(
    hass: HomeAssistant, custom_integrations: None, sockets: None
) -> AsyncIterator[FakeCloud]:
    write_models(hass, ["gateway", "sensor"])
    cloud = FakeCloud([GATEWAY])
    await cloud.start(with_devices=False)
    yield cloud
    await cloud.stop()


def _found_flows(hass: HomeAssistant) -> list[dict[str, object]]:
    return [
        f
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if f.get("step_id") == "bind_found"
    ]


async def test_a_found_device_is_bound_through_the_discovered_flow(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    list_nearby = "button_list_nearby_sub_devices"
    enable_entity(hass, "button", cloud.device_id(GATEWAY.uuid), list_nearby)
    entry = await cloud_entry(hass, cloud)
    (gateway_id,) = await connect_devices(entry, cloud, GATEWAY)
    target = {"entity_id": entity_id(hass, "button", gateway_id, list_nearby)}

    # A search that only looks: the gateway's find report becomes a discovered device.
    await hass.services.async_call("button", "press", target, blocking=True)
    assert cloud.calls[-1].body["bind"] is False
    assert cloud.calls[-1].endpoint == "scanIssue"
    await until(lambda: _found_flows(hass), 10)
    (flow,) = _found_flows(hass)
    assert FOUND.uuid not in {d.config.uuid for d in cloud.devices.values()}

    # Binding fails while the cloud refuses; the user is told, nothing is bound.
    cloud.faults.rest_code = 24001
    result = await hass.config_entries.flow.async_configure(str(flow["flow_id"]), {})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "bind_failed")
    cloud.faults.rest_code = None

    # Found again and confirmed: scanIssue for that uuid alone, and the sub-device appears
    # under its gateway.
    await hass.services.async_call("button", "press", target, blocking=True)
    await until(lambda: _found_flows(hass), 10)
    (flow,) = _found_flows(hass)
    result = await hass.config_entries.flow.async_configure(str(flow["flow_id"]), {})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "bind_requested")
    scan = [c for c in cloud.calls if c.endpoint == "scanIssue"][-1]
    assert (scan.body["deviceId"], scan.body["uuids"], scan.body["bind"]) == (
        gateway_id,
        [FOUND.uuid],
        True,
    )
    found_id = cloud.device_id(FOUND.uuid)
    await until(lambda: found_id in entry.runtime_data.coordinator.devices, 10)
    assert entry.runtime_data.coordinator.devices[found_id].gateway == gateway_id
    assert device_entry(hass, found_id).via_device_id == device_entry(hass, gateway_id).id


async def test_device_subentries_refuse_duplicates_and_can_be_reconfigured(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    entry = await cloud_entry(hass, cloud)

    async def add(name: str) -> FlowResultType:
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, "device"), context={"source": SOURCE_USER}
        )
        assert result["step_id"] == "user"
        return await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"device_id": "devmeter02", "pid": "meter", "name": name}
        )

    assert (await add("Meter"))["type"] is FlowResultType.CREATE_ENTRY
    duplicate = await add("Meter again")
    assert (duplicate["type"], duplicate["reason"]) == (FlowResultType.ABORT, "already_configured")
    await hass.async_block_till_done()

    (subentry,) = [s for s in entry.subentries.values() if s.unique_id == "devmeter02"]
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "device"),
        context={"source": "reconfigure", "subentry_id": subentry.subentry_id},
    )
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"uuid": "rn01meter0000002", "pid": "meter2", "name": "Hall meter"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    subentry = entry.subentries[subentry.subentry_id]
    assert subentry.title == "Hall meter"
    assert dict(subentry.data) == {
        "device_id": "devmeter02",
        "uuid": "rn01meter0000002",
        "pid": "meter2",
    }
    runtime = entry.runtime_data.coordinator
    await until(lambda: runtime.devices["devmeter02"].name == "Hall meter")
    assert runtime.devices["devmeter02"].hardware_uuid == "rn01meter0000002"


async def test_a_bad_port_is_a_sentence_and_the_secret_stays(
    hass: HomeAssistant, cloud: FakeCloud
) -> None:
    """The form says what is wrong in words of its own and keeps what was typed, the app
    secret too, also after the server refused."""
    flow_id = await start_flow(hass)
    flow = await hass.config_entries.flow.async_configure(flow_id, account(cloud, port=99999))
    assert flow["errors"] == {"port": "invalid_port"}

    def suggested(result: Any) -> dict[str, Any]:
        return {
            str(key): key.description.get("suggested_value")
            for key in result["data_schema"].schema
            if key.description
        }

    assert suggested(flow)["app_secret"] == account(cloud)["app_secret"]
    wrong = account(cloud, app_secret="not-the-secret")
    flow = await hass.config_entries.flow.async_configure(flow_id, wrong)
    assert flow["errors"]
    assert suggested(flow)["app_secret"] == "not-the-secret"
