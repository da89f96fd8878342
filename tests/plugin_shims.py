"""Shims between pytest-homeassistant-custom-component 0.13.375 and Home Assistant 2026.11.

The newest plugin release is built for Home Assistant 2026.10. Loaded with ``-p`` (see
pyproject.toml), so this runs before pytest imports any plugin. Delete this module, and its
``-p`` option, once a plugin release pins Home Assistant 2026.11 or newer.
"""

from __future__ import annotations

# Home Assistant 2026.11 aliases httpx to httpx2 when it is first imported, and refuses to
# if httpx is already loaded; respx's plugin would import httpx first.
import homeassistant  # noqa: F401
import homeassistant.components.logger as logger_component
from homeassistant.components.logger import helpers as logger_helpers

# The plugin imports this from the component package; 2026.11 moved it to helpers.
logger_component._clear_logger_overwrites = logger_helpers._clear_logger_overwrites  # type: ignore[attr-defined]
