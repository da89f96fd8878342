"""What every rlink config flow shares: how an edited entry takes effect."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigFlow, ConfigFlowResult


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
