"""The integration's translated errors, built in one place."""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .device import RlinkDevice


def invalid(key: str, **placeholders: str) -> ServiceValidationError:
    """A request whose input cannot work: the user can fix it."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def command_error(key: str, device: RlinkDevice, **placeholders: str) -> HomeAssistantError:
    """A failed command, translated, naming the device."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"device": device.name, **placeholders},
    )
