"""Gateway services refuse what cannot be done, in words, and keep the hub's copy right;
the gateway's buttons do what needs no input."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import area_registry as ar
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.protocol.codes import DeviceEvent as Evt
from tools.rlink_sim import Simulator

from .brokers import until
from .hub import device, device_entry, enable_entity, entity_id, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

ACTION = {"orderNum": 1, "actionType": "device", "actionData": {"switch": True}}


async def _call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def _refused(hass: HomeAssistant, service: str, data: dict[str, Any]) -> str:
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    assert raised.value.translation_key is not None
    return raised.value.translation_key


async def test_gateway_services_refusals_and_edits(hass: HomeAssistant) -> None:
    kids = [device("plug", "kid-a", name="Kid a"), device("plug", "kid-b", name="Kid b")]
    nearby = device("sensor", "gw-two-nearby")
    gateway = device("gateway", "gw-two", sub_devices=kids, found_devices=[nearby])
    stranger = device("plug", "stranger")
    enable_entity(hass, "button", gateway.uuid, "button_list_nearby_sub_devices")
    entry = await hub_with(hass, gateway, stranger)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", hub.transport.broker.port, [gateway]) as sim:
        gw = sim.device(gateway.uuid)
        kid_switch = entity_id(hass, "switch", kids[0].uuid, "switch")
        await until(lambda: hass.states.get(kid_switch).state == "off")
        gw_target = {"device_id": device_entry(hass, gateway.uuid).id}
        kid_target = {"device_id": device_entry(hass, kids[0].uuid).id}
        stranger_id = device_entry(hass, stranger.uuid).id

        # Gateway services on a sub-device, sub-device services on a gateway.
        control = {**kid_target, "short_id": 4, "properties": {"switch": True}}
        assert await _refused(hass, "local_group_control", control) == "not_a_gateway"
        renew = {**gw_target, "new_uuid": "rn01c0ffee000002"}
        assert await _refused(hass, "replace_sub_device", renew) == "not_a_sub_device"
        # A uuid the hub already has cannot be the replacement.
        replace = {**kid_target, "new_uuid": kids[1].uuid}
        assert await _refused(hass, "replace_sub_device", replace) == "uuid_in_use"
        # A device of another gateway (or none) is no member of this one's groups.
        group = {**gw_target, "short_id": 4, "name": "Mixed", "members": [stranger_id]}
        assert await _refused(hass, "update_local_group", group) == "not_a_member"
        scene = {**gw_target, "short_id": 5, "name": "Nothing", "actions": []}
        assert await _refused(hass, "update_local_scene", scene) == "scene_without_actions"
        # The hub knows none of the gateway's lists in full: asked for them, it sends
        # nothing over them (the answer comes once the request is handled).
        assert await gw.send(Evt.LOCAL_CONFIG, {}, ack=True) is not None
        assert not [m for m in gw.received if m.code == "update_local_config"]

        # Listing nearby sub-devices binds none of them: the gateway reports what it found.
        found = async_capture_events(hass, f"{DOMAIN}_found_devices")
        waiter = hass.async_create_task(gw.wait_for("find_bind"))
        list_nearby = entity_id(hass, "button", gateway.uuid, "button_list_nearby_sub_devices")
        await hass.services.async_call("button", "press", {"entity_id": list_nearby}, blocking=True)
        assert (await waiter).data == {"second": 60, "bind": False, "find": True}
        await until(lambda: found)
        assert found[0].data["devices"] == [{"uuid": nearby.uuid, "pid": nearby.product_id}]
        assert nearby.uuid not in hub.devices

        # A group in an area, then deleted: the gateway and the hub's copy follow.
        porch = ar.async_get(hass).async_create("Porch")
        members = [device_entry(hass, k.uuid).id for k in kids]
        waiter = hass.async_create_task(gw.wait_for("local_group_update"))
        await _call(
            hass,
            "update_local_group",
            {**gw_target, "short_id": 4, "name": "Pair", "members": members, "area_id": porch.id},
        )
        sent = (await waiter).data
        assert (sent["assetId"], sent["assetName"]) == (porch.id, "Porch")
        assert [g["shortId"] for g in hub.transport.configs.store(gateway.uuid)["groups"]] == [4]
        await _call(hass, "update_local_group", {**gw_target, "short_id": 4, "operation": "delete"})
        assert 4 not in gw.local_groups
        assert hub.transport.configs.store(gateway.uuid)["groups"] == []

        # A rule: disabled, enabled, then deleted.
        rule = {
            **gw_target,
            "short_id": 6,
            "name": "On",
            "actions": [{**ACTION, "uuid": kids[0].uuid}],
        }
        await _call(hass, "update_local_scene", rule)
        stored = hub.transport.configs.store(gateway.uuid)
        await _call(
            hass, "update_local_scene", {**gw_target, "short_id": 6, "operation": "disable"}
        )
        assert stored["executes"][0]["enabled"] is False
        await _call(hass, "update_local_scene", {**gw_target, "short_id": 6, "operation": "enable"})
        assert stored["executes"][0]["enabled"] is True
        await _call(hass, "update_local_scene", {**gw_target, "short_id": 6, "operation": "delete"})
        assert stored["executes"] == []
        assert 6 not in gw.local_rules

        # Once the gateway has said what it holds, the hub can send its copy back.
        await _call(hass, "update_local_group", {**gw_target, "short_id": 8, "members": members})
        waiter = hass.async_create_task(gw.wait_for("gateway_data_init"))
        await gw.send(Evt.LOCAL_DATA_SYNC, gw.local_data())
        await waiter
        waiter = hass.async_create_task(gw.wait_for("update_local_config"))
        await gw.send(Evt.LOCAL_CONFIG, {})
        assert (await waiter).data["groups"] == [
            {"shortId": 8, "deviceUuids": [k.uuid for k in kids]}
        ]

        # The gateway no longer has the sub-device it is asked to replace: it says fail.
        gw.subs.pop(kids[1].uuid)
        kid_b = {"device_id": device_entry(hass, kids[1].uuid).id, "new_uuid": "rn01c0ffee000001"}
        assert await _refused(hass, "replace_sub_device", kid_b) == "gateway_refused"
        assert kids[1].uuid in hub.devices  # nothing moved
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_gateway_service_without_a_device(hass: HomeAssistant) -> None:
    entry = await hub_with(hass, device("gateway", "gw-three"))
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "local_group_control",
            {"device_id": "no-such-device", "short_id": 1, "properties": {"switch": True}},
            blocking=True,
        )
    assert await hass.config_entries.async_unload(entry.entry_id)
