"""Services only a cloud account has: the cloud's own groups and scenes, and reports made on a
device's behalf.

Cloud groups and scenes are kept by the rlink cloud (the app API cannot list them), so the
user names them by the ids the rlink app shows. A gateway's local groups and scenes are the
`local_*` services, which need a local hub.
"""

from __future__ import annotations

from typing import Final

import probatio
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv

from .cloud.account import CloudAccount
from .const import CONF_MODE, DOMAIN, MODE_CLOUD
from .protocol import rest
from .service_targets import ONE_DEVICE, Handler, invalid, targets
from .values import prepare_report

ACCOUNT: Final = "config_entry_id"
NAME: Final = probatio.All(cv.string, probatio.Length(min=1))
PROPERTIES: Final = probatio.All(dict, probatio.Length(min=1))

SCHEMAS: Final[dict[str, probatio.Schema]] = {
    "cloud_group_control": probatio.Schema(
        {
            probatio.Required(ACCOUNT): NAME,
            probatio.Required("group_id"): NAME,
            probatio.Required("properties"): PROPERTIES,
        }
    ),
    "cloud_execute_scene": probatio.Schema(
        {probatio.Required(ACCOUNT): NAME, probatio.Required("scene_id"): NAME}
    ),
    "cloud_report_properties": probatio.Schema(
        {**ONE_DEVICE, probatio.Required("properties"): PROPERTIES}
    ),
}


def _account(hass: HomeAssistant, entry_id: str) -> CloudAccount:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.data.get(CONF_MODE) != MODE_CLOUD:
        raise invalid("not_a_cloud_account", entry=entry.title if entry else entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise invalid("account_not_loaded", entry=entry.title)
    account = entry.runtime_data.coordinator.transport
    assert isinstance(account, CloudAccount)  # a cloud entry's transport
    return account


async def _group_control(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    cloud = _account(hass, call.data[ACCOUNT])
    await cloud.call(rest.group_props_issue(call.data["group_id"], call.data["properties"]))
    return None


async def _execute_scene(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    cloud = _account(hass, call.data[ACCOUNT])
    await cloud.call(rest.onekey_execute_issue(call.data["scene_id"]))
    return None


async def _report_properties(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    ((runtime, device),) = targets(hass, call)
    cloud = _account(hass, runtime.entry.entry_id)
    values = prepare_report(device, call.data["properties"])
    await cloud.call(rest.props_report(device.uuid, values), device)
    return None


HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    "cloud_group_control": (_group_control, SupportsResponse.NONE),
    "cloud_execute_scene": (_execute_scene, SupportsResponse.NONE),
    "cloud_report_properties": (_report_properties, SupportsResponse.NONE),
}
