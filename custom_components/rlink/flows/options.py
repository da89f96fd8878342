"""The options flow: what applies to the whole hub or account.

A device's own settings are not here: they belong to the device's subentry
(`flows/settings.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, OptionsFlow
from homeassistant.helpers import selector

from ..const import (
    BROKER_EXTERNAL,
    CONF_BROKER,
    CONF_PING_INTERVAL,
    CONF_WATCHDOG_INTERVAL,
    DEFAULT_PING_INTERVAL,
)
from .cloud import is_cloud, options_schema


def has_options(entry: ConfigEntry) -> bool:
    """A cloud account and an external broker have options; the device server has none."""
    return is_cloud(entry) or entry.data.get(CONF_BROKER) == BROKER_EXTERNAL


def ping_schema(options: Mapping[str, Any]) -> probatio.Schema:
    interval = options.get(CONF_PING_INTERVAL, DEFAULT_PING_INTERVAL)
    return probatio.Schema(
        {
            probatio.Required(CONF_PING_INTERVAL, default=interval): selector.NumberSelector(
                selector.NumberSelectorConfig(min=30, max=3600, unit_of_measurement="s")
            )
        }
    )


class RlinkOptionsFlow(OptionsFlow):
    """How often a cloud account's push is checked; when an external broker's silent
    devices are pinged."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        options = dict(self.config_entry.options)
        cloud = is_cloud(self.config_entry)
        if user_input is not None:
            key = CONF_WATCHDOG_INTERVAL if cloud else CONF_PING_INTERVAL
            if key in user_input:
                options[key] = int(user_input[key])
            return self.async_create_entry(data=options)
        if cloud:
            schema = options_schema(options)
        elif has_options(self.config_entry):
            schema = ping_schema(options)
        else:  # the device server: Home Assistant offers no options for it
            schema = probatio.Schema({})
        return self.async_show_form(step_id="init", data_schema=schema)
