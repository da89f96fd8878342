"""What every rlink flow shares: port and password fields, how an edited entry takes effect."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigFlow, ConfigFlowResult
from homeassistant.helpers import selector

MAX_PORT = 65535
PORT_SELECTOR = selector.NumberSelector(
    selector.NumberSelectorConfig(mode=selector.NumberSelectorMode.BOX, step=1)
)
"""A port box without a range: the selector's own range check would show its English
message; `port_errors` says it in a translated sentence."""
PASSWORD_SELECTOR = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)


def port_errors(data: Mapping[str, Any], *keys: str) -> dict[str, str]:
    """`invalid_port` for each of `keys` whose value is no port number."""
    errors = {}
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        whole = isinstance(value, int | float) and float(value).is_integer()
        if not whole or not 1 <= value <= MAX_PORT:
            errors[key] = "invalid_port"
    return errors


class RlinkFlowBase(ConfigFlow):
    """Base of the config flows of both modes."""

    def async_save_and_finish(self, entry: ConfigEntry, **changes: Any) -> ConfigFlowResult:
        """Store a reauth or reconfigure result and finish; the entry then restarts with it.

        A loaded entry has an update listener that decides what a change needs (devices and
        options are followed live, connection settings restart the entry), so the flow only
        saves. An entry that is not loaded (refused at start, waiting for reauth) has no
        listener: the flow reloads it itself.
        """
        if entry.state is ConfigEntryState.LOADED:
            return self.async_update_and_abort(entry, **changes)
        return self.async_update_reload_and_abort(entry, **changes)


def suggested(key: str, values: Mapping[str, Any]) -> probatio.Optional:
    """An optional field that shows what is kept without making it a default: the user
    can clear it."""
    return probatio.Optional(key, description={"suggested_value": values.get(key)})
