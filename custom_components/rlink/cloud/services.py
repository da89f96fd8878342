"""Services only a cloud account has: the cloud's own groups and scenes, and reports made on a
device's behalf.

Cloud groups and scenes are kept by the rlink cloud (the app API cannot list them), so the
user names them by the ids the rlink app shows. A gateway's own groups and rules are the
gateway services, which need a local hub.
"""

from __future__ import annotations

from typing import Any, Final

import probatio
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service

from ..const import CONF_MODE, DOMAIN, MODE_CLOUD
from ..errors import invalid
from ..protocol import rest
from ..service_targets import (
    ACCOUNT,
    ATTR_CONFIG_ENTRY_ID,
    ONE_DEVICE,
    Handler,
    targets,
)
from ..values import prepare_report
from .account import CloudAccount

NAME: Final = probatio.All(cv.string, probatio.Length(min=1))
PROPERTIES: Final = probatio.All(dict, probatio.Length(min=1))

SCHEMAS: Final[dict[str, probatio.Schema]] = {
    "cloud_group_control": probatio.Schema(
        {
            **ACCOUNT,
            probatio.Required("group_id"): NAME,
            probatio.Required("properties"): PROPERTIES,
        }
    ),
    "cloud_execute_scene": probatio.Schema({**ACCOUNT, probatio.Required("scene_id"): NAME}),
    "cloud_report_properties": probatio.Schema(
        {**ONE_DEVICE, probatio.Required("properties"): PROPERTIES}
    ),
}


def account_of(call: ServiceCall) -> CloudAccount:
    """The cloud account the call names: Home Assistant's checks first (an rlink entry,
    loaded), then that it is an account and not a local hub."""
    entry = service.async_get_config_entry(call.hass, DOMAIN, call.data[ATTR_CONFIG_ENTRY_ID])
    return cloud_account(entry)


def cloud_account(entry: ConfigEntry[Any]) -> CloudAccount:
    """The entry's cloud account, or the error that says it is a local hub."""
    if entry.data.get(CONF_MODE) != MODE_CLOUD:
        raise invalid("not_a_cloud_account", entry=entry.title)
    account = entry.runtime_data.coordinator.transport
    assert isinstance(account, CloudAccount)  # a cloud entry's transport
    return account


async def _group_control(call: ServiceCall) -> ServiceResponse:
    cloud = account_of(call)
    await cloud.call(rest.group_props_issue(call.data["group_id"], call.data["properties"]))
    return None


async def _execute_scene(call: ServiceCall) -> ServiceResponse:
    cloud = account_of(call)
    await cloud.call(rest.onekey_execute_issue(call.data["scene_id"]))
    return None


async def _report_properties(call: ServiceCall) -> ServiceResponse:
    ((coordinator, device),) = targets(call)
    cloud = cloud_account(coordinator.entry)
    values = prepare_report(device, call.data["properties"])
    await cloud.call(rest.props_report(device.uuid, values), device)
    return None


HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    "cloud_group_control": (_group_control, SupportsResponse.NONE),
    "cloud_execute_scene": (_execute_scene, SupportsResponse.NONE),
    "cloud_report_properties": (_report_properties, SupportsResponse.NONE),
}
