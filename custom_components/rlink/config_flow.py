"""Config flow: a local hub or a cloud account, their devices, and their options.

Home Assistant looks for the flow here; the steps live in `flows/`, one module for each
thing they configure. This class wires them together and sends reauth and reconfigure to
the mode of the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import callback

from .const import DOMAIN, ENTRY_MINOR_VERSION, ENTRY_VERSION, SUBENTRY_DEVICE
from .flows.cloud import CloudFlowMixin, is_cloud
from .flows.device import DeviceSubentryFlow
from .flows.discovery import DiscoveryFlowMixin
from .flows.hub import HubFlowMixin
from .flows.options import RlinkOptionsFlow, has_options


class RlinkConfigFlow(HubFlowMixin, CloudFlowMixin, DiscoveryFlowMixin, domain=DOMAIN):
    """Set up a local hub or a cloud account."""

    VERSION = ENTRY_VERSION
    MINOR_VERSION = ENTRY_MINOR_VERSION

    def __init__(self) -> None:
        self._discovered: dict[str, Any] = {}
        self._external: dict[str, Any] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return RlinkOptionsFlow()

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        return has_options(config_entry)

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        return {SUBENTRY_DEVICE: DeviceSubentryFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_show_menu(step_id="user", menu_options=["local_hub", "cloud_account"])

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        if is_cloud(entry):
            return await self._cloud_reauth(entry, user_input)
        return await self._hub_reauth(entry, user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        if is_cloud(entry):
            return await self._cloud_reconfigure(entry, user_input)
        return await self._hub_reconfigure(entry, user_input)
