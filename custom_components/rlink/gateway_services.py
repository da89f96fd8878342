"""Gateway services: replacing a sub-device, and writing and controlling local groups and
rules. (A search is the gateway's button, a removal Home Assistant's device removal, and a
stored one-click execution a scene entity.)

The gateway runs its local groups, scenes and one-click executions without the hub, and is
their master (see `gateway_data`). The hub keeps a copy (`local.gateway_data.GatewayConfigs`) so
it can answer `local_config` and `local_data_sync`; every edit goes to the gateway and,
once accepted, into that copy.
"""

from __future__ import annotations

from typing import Final

import probatio
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .errors import invalid
from .protocol.codes import DeviceCommand as Cmd
from .protocol.messages import JsonObject
from .service_targets import ONE_DEVICE, Handler, targets
from .transport import GatewayConfigStore

SHORT_ID: Final = probatio.All(probatio.Coerce(int), probatio.Range(0, 9999))
GROUP_OPERATIONS: Final = {"set": 1, "delete": 2}
SCENE_OPERATIONS: Final = {"set": 1, "delete": 2, "disable": 6, "enable": 7}
EXECUTE_TYPES: Final = {"any": 1, "all": 2}

SCHEMAS: Final[dict[str, probatio.Schema]] = {
    "replace_sub_device": probatio.Schema(
        {
            **ONE_DEVICE,
            probatio.Required("new_uuid"): probatio.All(cv.string, probatio.Length(min=1)),
        }
    ),
    "local_group_control": probatio.Schema(
        {
            **ONE_DEVICE,
            probatio.Required("short_id"): SHORT_ID,
            probatio.Required("properties"): probatio.All(dict, probatio.Length(min=1)),
        }
    ),
    "update_local_group": probatio.Schema(
        {
            **ONE_DEVICE,
            probatio.Required("short_id"): SHORT_ID,
            probatio.Optional("operation", default="set"): probatio.In(GROUP_OPERATIONS),
            probatio.Optional("name", default=""): cv.string,
            probatio.Optional("members", default=list): probatio.All(cv.ensure_list, [cv.string]),
            probatio.Optional("area_id"): cv.string,
        }
    ),
    "update_local_scene": probatio.Schema(
        {
            **ONE_DEVICE,
            probatio.Required("short_id"): SHORT_ID,
            probatio.Optional("operation", default="set"): probatio.In(SCENE_OPERATIONS),
            probatio.Optional("name", default=""): cv.string,
            probatio.Optional("execute_type", default="any"): probatio.In(EXECUTE_TYPES),
            probatio.Optional("conditions", default=list): probatio.All(cv.ensure_list, [dict]),
            probatio.Optional("actions", default=list): probatio.All(cv.ensure_list, [dict]),
        }
    ),
}


def _gateway(call: ServiceCall) -> tuple[RlinkCoordinator, RlinkDevice]:
    ((coordinator, device),) = targets(call)
    if device.gateway is not None:
        raise invalid("not_a_gateway", device=device.name)
    return coordinator, device


def _sub_device(call: ServiceCall) -> tuple[RlinkCoordinator, RlinkDevice]:
    ((coordinator, device),) = targets(call)
    if device.gateway is None:
        raise invalid("not_a_sub_device", device=device.name)
    return coordinator, device


def _failed(reply_data: JsonObject) -> bool:
    return reply_data.get("result") == "fail"


def _refused(device: RlinkDevice, code: Cmd) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="gateway_refused",
        translation_placeholders={"device": device.name, "command": str(code)},
    )


async def _request(
    coordinator: RlinkCoordinator, gateway: RlinkDevice, code: Cmd, data: JsonObject
) -> JsonObject:
    reply = await coordinator.async_command(gateway, code, data, ack=True)
    answer = reply.data if reply is not None else {}
    if _failed(answer):
        raise _refused(gateway, code)
    return answer


# --- sub-devices ---------------------------------------------------------------------------


async def _replace(call: ServiceCall) -> ServiceResponse:
    coordinator, sub = _sub_device(call)
    # A local hub asks the gateway, naming the old uuid; a cloud account names the device
    # to be replaced itself (subReplace's deviceId), not its gateway.
    carrier = coordinator.target(sub)
    new_uuid = call.data["new_uuid"].strip()
    if new_uuid in coordinator.devices:
        raise invalid("uuid_in_use", uuid=new_uuid)
    old_uuid = sub.hardware_uuid or sub.uuid
    answer = await _request(
        coordinator, carrier, Cmd.SUB_REPLACE, {"uuid": old_uuid, "newUuid": new_uuid}
    )
    await coordinator.transport.async_subdevice_replaced(sub, new_uuid)
    return {"uuid": old_uuid, "new_uuid": new_uuid, "result": answer.get("result", "success")}


# --- local groups, scenes and one-click executions ------------------------------------------


def _configs(coordinator: RlinkCoordinator, gateway: RlinkDevice) -> GatewayConfigStore:
    """The hub's copy of the gateways' local data; a transport without one cannot
    send local configurations at all."""
    configs = coordinator.transport.gateway_configs
    if configs is None:
        raise invalid("cloud_unsupported", device=gateway.name, command=Cmd.UPDATE_LOCAL_CONFIG)
    return configs


def _put(entries: list[JsonObject], entry: JsonObject | None, short_id: int) -> None:
    entries[:] = [e for e in entries if e.get("shortId") != short_id]
    if entry is not None:
        entries.append(entry)
        entries.sort(key=lambda e: int(e.get("shortId") or 0))


def _changed(coordinator: RlinkCoordinator, gateway: RlinkDevice) -> None:
    coordinator.save_soon()
    coordinator.announce(gateway)  # scenes follow the stored executions


async def _group_control(call: ServiceCall) -> ServiceResponse:
    coordinator, gateway = _gateway(call)
    data = {"shortId": call.data["short_id"], "properties": call.data["properties"]}
    return await _request(coordinator, gateway, Cmd.LOCAL_GROUP_SET, data)


async def async_execute(
    coordinator: RlinkCoordinator, gateway: RlinkDevice, short_id: int
) -> JsonObject:
    return await _request(coordinator, gateway, Cmd.LOCAL_RULE_EXEC, {"shortId": short_id})


def _member_uuids(
    hass: HomeAssistant, coordinator: RlinkCoordinator, gateway: RlinkDevice, ids: list[str]
) -> list[str]:
    registry = dr.async_get(hass)
    uuids = []
    for device_id in ids:
        entry = registry.async_get(device_id)
        uuid = next((i for d, i in entry.identifiers if d == DOMAIN), None) if entry else None
        sub = coordinator.devices.get(uuid or device_id)
        if sub is None or sub.gateway != gateway.uuid:
            raise invalid("not_a_member", device=device_id, gateway=gateway.name)
        uuids.append(sub.uuid)
    return uuids


async def _update_group(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    coordinator, gateway = _gateway(call)
    short_id, operation = call.data["short_id"], call.data["operation"]
    area_id = call.data.get("area_id")
    area = ar.async_get(hass).async_get_area(area_id) if area_id else None
    data: JsonObject = {
        "shortId": short_id,
        "operatorType": GROUP_OPERATIONS[operation],
        "name": call.data["name"],
        "assetId": area.id if area else "",
        "assetName": area.name if area else "",
    }
    if operation == "set":
        data["deviceUuids"] = _member_uuids(hass, coordinator, gateway, call.data["members"])
    answer = await _request(coordinator, gateway, Cmd.LOCAL_GROUP_UPDATE, data)
    stored = _configs(coordinator, gateway).store(gateway.uuid)
    entry = None
    if operation == "set":
        entry = {k: data[k] for k in ("shortId", "name", "assetId", "assetName", "deviceUuids")}
    _put(stored["groups"], entry, short_id)
    _changed(coordinator, gateway)
    return answer


async def _update_scene(call: ServiceCall) -> ServiceResponse:
    coordinator, gateway = _gateway(call)
    short_id, operation = call.data["short_id"], call.data["operation"]
    scene: JsonObject = {
        "shortId": short_id,
        "name": call.data["name"],
        "executeType": EXECUTE_TYPES[call.data["execute_type"]],
        "conditions": call.data["conditions"],
        "actions": call.data["actions"],
    }
    if operation == "set" and not scene["actions"]:
        raise invalid("scene_without_actions")
    data: JsonObject = {"retry": 0, "operatorType": SCENE_OPERATIONS[operation], "scene": scene}
    answer = await _request(coordinator, gateway, Cmd.LOCAL_SCENE_UPDATE, data)
    stored = _configs(coordinator, gateway).store(gateway.uuid)
    # A rule without conditions runs only when asked: a one-click execution.
    kind = "scenes" if scene["conditions"] else "executes"
    other = "executes" if kind == "scenes" else "scenes"
    if operation == "delete":
        _put(stored["scenes"], None, short_id)
        _put(stored["executes"], None, short_id)
    elif operation == "set":
        _put(stored[other], None, short_id)
        _put(stored[kind], scene, short_id)
    else:
        for entry in stored["scenes"] + stored["executes"]:
            if entry.get("shortId") == short_id:
                entry["enabled"] = operation == "enable"
    _changed(coordinator, gateway)
    return answer


HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    "replace_sub_device": (_replace, SupportsResponse.OPTIONAL),
    "local_group_control": (_group_control, SupportsResponse.OPTIONAL),
    "update_local_group": (_update_group, SupportsResponse.OPTIONAL),
    "update_local_scene": (_update_scene, SupportsResponse.OPTIONAL),
}
