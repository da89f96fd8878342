"""Devices found rather than typed in: an unknown device logging in to the device server,
or one a cloud account's gateway found nearby."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, ConfigSubentry
from homeassistant.exceptions import HomeAssistantError

from ..cloud.notify import CONF_GATEWAY_ID
from ..const import CONF_FETCH_MODEL, CONF_PID, CONF_UUID, SUBENTRY_DEVICE
from ..data import RlinkData
from ..discovery import CONF_HUB_ENTRY
from ..protocol.codes import DeviceCommand as Cmd
from .common import RlinkFlowBase
from .device import device_errors, device_schema, device_subentry, fetch_models


class DiscoveryFlowMixin(RlinkFlowBase):
    """Steps of `RlinkConfigFlow` for a device Home Assistant heard of."""

    _discovered: dict[str, Any]
    """The uuid found and the entry of the hub or account that found it."""

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """A device with an unknown uuid tried to log in to the device server, or a
        cloud account's gateway found one nearby."""
        if discovery_info.get(CONF_GATEWAY_ID):
            return await self._found_nearby(discovery_info)
        uuid = discovery_info[CONF_UUID]
        entry = self.hass.config_entries.async_get_entry(discovery_info[CONF_HUB_ENTRY])
        if entry is None:
            return self.async_abort(reason="hub_gone")
        if any(s.unique_id == uuid for s in entry.subentries.values()):
            return self.async_abort(reason="already_configured")
        await self.async_set_unique_id(f"device:{uuid}")
        self._abort_if_unique_id_configured()
        self._discovered = {CONF_UUID: uuid, CONF_HUB_ENTRY: entry.entry_id}
        self.context["title_placeholders"] = {"uuid": uuid}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        uuid = self._discovered[CONF_UUID]
        entry = self.hass.config_entries.async_get_entry(self._discovered[CONF_HUB_ENTRY])
        if entry is None:
            return self.async_abort(reason="hub_gone")
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**user_input, CONF_UUID: uuid}
            errors = device_errors(data)
            if not errors and data.get(CONF_FETCH_MODEL):
                errors = await fetch_models(self.hass, data)
            if not errors:
                self.hass.config_entries.async_add_subentry(
                    entry, ConfigSubentry(subentry_type=SUBENTRY_DEVICE, **device_subentry(data))
                )
                return self.async_abort(reason="device_added")
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=device_schema(False, user_input or {}),
            errors=errors,
            description_placeholders={"uuid": uuid, "hub": entry.title},
        )

    async def _found_nearby(self, info: dict[str, Any]) -> ConfigFlowResult:
        uuid = info[CONF_UUID]
        await self.async_set_unique_id(f"found:{uuid}")
        self._abort_if_unique_id_configured()
        self._discovered = dict(info)
        self.context["title_placeholders"] = {"uuid": uuid}
        return await self.async_step_bind_found()

    async def async_step_bind_found(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Bind a device a gateway found: `scanIssue` for that uuid alone."""
        info = self._discovered
        entry = self.hass.config_entries.async_get_entry(info[CONF_HUB_ENTRY])
        data: RlinkData | None = getattr(entry, "runtime_data", None) if entry else None
        cloud = data.coordinator if data is not None else None
        gateway = cloud.devices.get(info[CONF_GATEWAY_ID]) if cloud is not None else None
        if cloud is None or gateway is None:
            return self.async_abort(reason="hub_gone")
        if user_input is not None:
            try:
                await cloud.async_command(
                    gateway, Cmd.FIND_BIND, {"bind": True, "find": True, "uuids": [info[CONF_UUID]]}
                )
            except HomeAssistantError:
                return self.async_abort(reason="bind_failed")
            return self.async_abort(reason="bind_requested")
        return self.async_show_form(
            step_id="bind_found",
            description_placeholders={
                "uuid": info[CONF_UUID],
                "pid": info.get(CONF_PID) or "?",
                "gateway": gateway.name,
            },
        )
