"""Robot vacuums with maps, and gateways with sub-devices, local groups and rules."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.protocol.codes import DeviceEvent as Evt
from tools.rlink_sim import Simulator
from tools.rlink_sim.files import ObjectStore

from .brokers import free_port, until
from .hub import device, device_entry, entity_id, find_device, hub_with, set_device_settings

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

# A 1x1 transparent PNG: what a vacuum's map server would hand out.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


async def _map_server() -> tuple[web.AppRunner, str]:
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get("/maps/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def test_a_cleaning_run_ends_docked_with_its_map_drawn(
    hass: HomeAssistant, hass_client: Any
) -> None:
    """The simulated vacuum cleans, docks and uploads a `grid` map to its store; the image
    entity draws it as a PNG."""
    assert await async_setup_component(hass, "http", {})
    async with ObjectStore("maps") as store:
        vac = device("vacuum", clean_seconds=4.0, store_url=store.url)
        entry = await hub_with(hass, vac)
        await set_device_settings(
            hass,
            entry,
            vac.uuid,
            storage={
                "store_bucket": "maps",
                "store_access_key": store.access_key,
                "store_secret_key": store.secret_key,
                "store_public_url": store.public_url,
            },
        )
        async with Simulator(
            "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [vac]
        ):
            vacuum = entity_id(hass, "vacuum", vac.uuid, "vacuum")
            area = entity_id(hass, "sensor", vac.uuid, "clean_area")
            map_image = entity_id(hass, "image", vac.uuid, "vacuum_map")
            await until(lambda: hass.states.get(vacuum).state == "docked")
            assert hass.states.get(map_image).state == "unavailable"
            seen: set[str] = set()

            def saw(state: str) -> bool:
                seen.add(hass.states.get(vacuum).state)
                return state in seen

            await hass.services.async_call("vacuum", "start", {"entity_id": vacuum}, blocking=True)
            await until(lambda: saw("cleaning"))
            await until(lambda: float(hass.states.get(area).state) > 10, seconds=15)
            await until(lambda: saw("returning"), seconds=15)
            await until(lambda: saw("docked") and "returning" in seen, seconds=15)
            await until(lambda: hass.states.get(map_image).state != "unavailable")
            client = await hass_client()
            picture = await client.get(f"/api/image_proxy/{map_image}")
            assert picture.status == 200
            assert picture.content_type == "image/png"
            body = await picture.read()
            assert body.startswith(b"\x89PNG")
            width = int.from_bytes(body[16:20], "big")
            assert width > 100  # drawn, not a placeholder


async def test_vacuum_commands_maps_and_records(hass: HomeAssistant, hass_client: Any) -> None:
    assert await async_setup_component(hass, "http", {})
    vac = device("vacuum")
    entry = await hub_with(hass, vac)
    runner, base = await _map_server()
    try:
        async with Simulator(
            "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [vac]
        ) as sim:
            robot = sim.device(vac.uuid)
            vacuum = entity_id(hass, "vacuum", vac.uuid, "vacuum")
            await until(lambda: hass.states.get(vacuum).state == "docked")
            assert hass.states.get(vacuum).attributes["fan_speed_list"] == [
                "quiet",
                "standard",
                "strong",
                "max",
            ]

            for service, data, expected in (
                ("start", {}, {"power_go": 1}),
                ("pause", {}, {"power_go": 0}),
                ("return_to_base", {}, {"return_home": 1}),
                ("locate", {}, {"seek": 1}),
                ("set_fan_speed", {"fan_speed": "max"}, {"suction": 3}),
            ):
                waiter = hass.async_create_task(robot.wait_for("property_set"))
                await hass.services.async_call(
                    "vacuum", service, {"entity_id": vacuum, **data}, blocking=True
                )
                assert (await waiter).data == {"properties": expected}, service
            robot.set("status", 1)
            await until(lambda: hass.states.get(vacuum).state == "cleaning")
            assert hass.states.get(vacuum).attributes["fan_speed"] == "max"

            # Upload credentials: refused until a store is configured.
            reply = await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
            assert reply is None
            assert "1006" in robot.errors[-1]
            await set_device_settings(
                hass,
                entry,
                vac.uuid,
                storage={
                    "store_bucket": "maps",
                    "store_access_key": "AKIA1",
                    "store_secret_key": "s3cret",
                    "store_public_url": f"{base}/maps",
                },
            )
            reply = await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "record"})
            assert reply is not None
            assert reply.res == 0
            assert reply.data["bucketName"] == "maps"
            assert reply.data["secretAccessKey"] == "s3cret"
            assert reply.data["authDir"] == f"record/{vac.uuid}/"

            # Maps: stored, listed with a link, shown as an image and chosen with a select.
            map_image = entity_id(hass, "image", vac.uuid, "vacuum_map")
            choice = entity_id(hass, "select", vac.uuid, "vacuum_map_choice")
            assert hass.states.get(map_image).state == "unavailable"
            first = await robot.send(
                Evt.SWEEPER_MAP_ADD, {"mapName": "Ground floor", "mapPath": "first.png"}
            )
            second = await robot.send(
                Evt.SWEEPER_MAP_ADD, {"mapName": "Upstairs", "mapPath": f"{base}/maps/2.png"}
            )
            assert first is not None
            assert second is not None
            listed = await robot.send(Evt.SWEEPER_MAP_LIST, {})
            assert listed is not None
            assert listed.data["mapSignPath"] == f"{base}/maps/2.png"
            await until(lambda: hass.states.get(map_image).state != "unavailable")
            client = await hass_client()
            picture = await client.get(f"/api/image_proxy/{map_image}")
            assert picture.status == 200
            assert await picture.read() == PNG
            options = hass.states.get(choice).attributes["options"]
            assert options == [
                f"Ground floor ({first.data['mapId']})",
                f"Upstairs ({second.data['mapId']})",
            ]
            await hass.services.async_call(
                "select",
                "select_option",
                {"entity_id": choice, "option": options[0]},
                blocking=True,
            )
            await until(lambda: hass.states.get(choice).state == options[0])
            # The first map's path is a key in the store: its link comes from the public URL.
            hub = entry.runtime_data.coordinator
            assert hub.sweepers[vac.uuid].selected == first.data["mapId"]

            records = entity_id(hass, "sensor", vac.uuid, "vacuum_records")
            await robot.send(
                Evt.SWEEPER_RECORD_ADD,
                {"mapId": first.data["mapId"], "recordPath": "r1", "recordDesc": "25 m2"},
            )
            await until(lambda: hass.states.get(records).state == "1")
            assert hass.states.get(records).attributes["records"][0]["recordDesc"] == "25 m2"
    finally:
        await runner.cleanup()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_gateway_sub_devices_groups_and_rules(
    hass: HomeAssistant, hass_ws_client: Any
) -> None:
    assert await async_setup_component(hass, "config", {})  # the device page's delete
    kids = [device("plug", "kid-1", name="Kid one"), device("plug", "kid-2", name="Kid two")]
    newcomer = device("sensor", "newcomer")
    gateway = device("gateway", sub_devices=kids, found_devices=[newcomer])
    entry = await hub_with(hass, gateway)
    hub = entry.runtime_data.coordinator
    async with Simulator("127.0.0.1", hub.transport.broker.port, [gateway]) as sim:
        gw = sim.device(gateway.uuid)
        kid_switch = entity_id(hass, "switch", kids[0].uuid, "switch")
        await until(lambda: hass.states.get(kid_switch).state == "off")
        assert device_entry(hass, kids[0].uuid).via_device_id == device_entry(hass, gateway.uuid).id
        # The protocol names no sub-device: the product's name from its model, a short id.
        assert device_entry(hass, kids[0].uuid).name == f"Smart plug {kids[0].uuid[-4:]}"
        gw_target = {"device_id": device_entry(hass, gateway.uuid).id}

        # A sub-device's write goes through its gateway.
        waiter = hass.async_create_task(gw.wait_for("sub_property_set"))
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": kid_switch}, blocking=True
        )
        assert (await waiter).data == {
            "devices": [{"uuid": kids[0].uuid, "properties": {"switch": 1}}]
        }
        await until(lambda: hass.states.get(kid_switch).state == "on")

        # Renamed and moved in Home Assistant: the gateway is told.
        kitchen = ar.async_get(hass).async_create("Kitchen")
        waiter = hass.async_create_task(gw.wait_for("device_info_update"))
        dr.async_get(hass).async_update_device(
            device_entry(hass, kids[0].uuid).id, name_by_user="Kettle", area_id=kitchen.id
        )
        assert (await waiter).data == {
            "deviceInfo": {"name": "Kettle", "assetId": kitchen.id, "assetName": "Kitchen"},
            "subUuid": kids[0].uuid,
        }
        listed = await gw.send(Evt.SUB_LIST, {})
        assert listed is not None
        assert {"uuid": kids[0].uuid, "name": "Kettle", "assetId": kitchen.id}.items() <= next(
            d for d in listed.data["devices"] if d["uuid"] == kids[0].uuid
        ).items()

        # Search: the button starts it, what the gateway binds appears.
        search = entity_id(hass, "button", gateway.uuid, "button_search_sub_devices")
        waiter = hass.async_create_task(gw.wait_for("find_bind"))
        await hass.services.async_call("button", "press", {"entity_id": search}, blocking=True)
        assert (await waiter).data == {"second": 60, "bind": True, "find": True}
        await until(lambda: newcomer.uuid in hub.devices)
        await until(lambda: find_device(hass, newcomer.uuid) is not None)

        # Local group: created, stored, controlled.
        members = [device_entry(hass, k.uuid).id for k in kids]
        reply = await hass.services.async_call(
            DOMAIN,
            "update_local_group",
            {**gw_target, "short_id": 7, "name": "All kids", "members": members},
            blocking=True,
            return_response=True,
        )
        assert reply["result"] == "success"
        assert gw.local_groups == {7: [kids[0].uuid, kids[1].uuid]}
        waiter = hass.async_create_task(gw.wait_for("local_group_set"))
        await hass.services.async_call(
            DOMAIN,
            "local_group_control",
            {**gw_target, "short_id": 7, "properties": {"switch": False}},
            blocking=True,
        )
        assert (await waiter).data == {"shortId": 7, "properties": {"switch": False}}
        await until(lambda: hass.states.get(kid_switch).state == "off")

        # A rule without conditions is a one-click execution: a scene entity runs it.
        await hass.services.async_call(
            DOMAIN,
            "update_local_scene",
            {
                **gw_target,
                "short_id": 3,
                "name": "Kids on",
                "actions": [
                    {
                        "orderNum": 1,
                        "actionType": "device",
                        "uuid": kids[1].uuid,
                        "actionData": {"switch": True},
                    }
                ],
            },
            blocking=True,
        )
        scene = entity_id(hass, "scene", gateway.uuid, "execute_3")
        assert hass.states.get(scene).name == "Gateway Kids on"
        waiter = hass.async_create_task(gw.wait_for("local_rule_exec"))
        await hass.services.async_call("scene", "turn_on", {"entity_id": scene}, blocking=True)
        assert (await waiter).data == {"shortId": 3}
        other = entity_id(hass, "switch", kids[1].uuid, "switch")
        await until(lambda: hass.states.get(other).state == "on")

        # The gateway asks for its configuration: it gets the stored one.
        waiter = hass.async_create_task(gw.wait_for("update_local_config"))
        await gw.send(Evt.LOCAL_CONFIG, {})
        pushed = (await waiter).data
        assert pushed["groups"] == [{"shortId": 7, "deviceUuids": [kids[0].uuid, kids[1].uuid]}]
        assert pushed["executes"][0]["shortId"] == 3
        waiter = hass.async_create_task(gw.wait_for("gateway_data_init"))
        await gw.send(Evt.LOCAL_DATA_SYNC, gw.local_data())
        initial = (await waiter).data
        assert initial["localGroups"][0]["name"] == "All kids"
        assert initial["subUuids"] == list(gw.subs)  # the gateway's own list
        # One list in the spec's shape for scenes and one-click executions alike.
        assert initial["localScenes"][0]["shortId"] == 3
        assert initial["localScenes"][0]["actions"][0]["uuid"] == kids[1].uuid
        assert "scenes" not in initial
        assert "executes" not in initial

        # Replace: the new sub-device takes over the old one's entity ids.
        old_entity, old_uuid = kid_switch, kids[0].uuid
        new_uuid = "rn01feedfacecafe"
        reply = await hass.services.async_call(
            DOMAIN,
            "replace_sub_device",
            {"device_id": device_entry(hass, kids[0].uuid).id, "new_uuid": new_uuid},
            blocking=True,
            return_response=True,
        )
        assert reply == {"uuid": old_uuid, "new_uuid": new_uuid, "result": "success"}
        assert entity_id(hass, "switch", new_uuid, "switch") == old_entity
        assert device_entry(hass, new_uuid).name_by_user == "Kettle"
        assert find_device(hass, old_uuid) is None
        assert (
            hub.transport.configs.by_gateway[gateway.uuid]["groups"][0]["deviceUuids"][0]
            == new_uuid
        )
        await until(lambda: hass.states.get(old_entity).state in ("on", "off"))

        # Deleted on its device page: the gateway unbinds it, Home Assistant forgets it.
        waiter = hass.async_create_task(gw.wait_for("sub_delete"))
        client = await hass_ws_client(hass)
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove",
                "device_id": device_entry(hass, kids[1].uuid).id,
            }
        )
        assert (await client.receive_json())["success"]
        assert (await waiter).data == {"devices": [{"uuid": kids[1].uuid}]}
        assert kids[1].uuid not in gw.subs
        assert find_device(hass, kids[1].uuid) is None
        assert er.async_get(hass).async_get(other) is None
    assert await hass.config_entries.async_unload(entry.entry_id)
