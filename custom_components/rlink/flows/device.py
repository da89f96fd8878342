"""The device subentry flow: add a device to a hub or an account; change its secret, its
name or (on a local hub) its settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import probatio
from homeassistant.config_entries import ConfigEntry, ConfigSubentry, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector

from .. import DATA_MODELS
from ..const import (
    CONF_DEVICE_ID,
    CONF_ENVIRONMENT,
    CONF_FETCH_MODEL,
    CONF_FETCH_TLS,
    CONF_PID,
    CONF_SECRET,
    CONF_UUID,
    PLATFORM_HOSTS,
    PLATFORM_TLS_HOSTS,
)
from ..protocol.auth import SECRET_LENGTH, is_device_uuid
from ..protocol.errors import ProtocolError, RlinkError
from ..protocol.fetch import fetch_model
from ..protocol.session import AuthRefused, ConnectError, RequestTimeout, TlsFailure, TlsOptions
from .cloud import device_schema as cloud_device_schema
from .cloud import device_subentry as cloud_device_subentry
from .cloud import is_cloud
from .common import PASSWORD_SELECTOR, suggested
from .settings import DeviceSettingsMixin

PLATFORM_TLS: Final = TlsOptions()
"""TLS to the platform, verified against the system's certificate authorities."""


def device_errors(data: Mapping[str, Any]) -> dict[str, str]:
    errors = {}
    if not is_device_uuid(data[CONF_UUID]):
        errors[CONF_UUID] = "invalid_uuid"
    if len(data[CONF_SECRET]) != SECRET_LENGTH:
        errors[CONF_SECRET] = "invalid_secret"
    return errors


def device_schema(with_uuid: bool, defaults: Mapping[str, Any]) -> probatio.Schema:
    """A local hub's device: uuid (unless discovery found it), secret, and its model."""
    fields: dict[Any, Any] = {}
    if with_uuid:
        fields[probatio.Required(CONF_UUID, default=defaults.get(CONF_UUID, ""))] = str
    fields |= {
        probatio.Required(CONF_SECRET): PASSWORD_SELECTOR,
        suggested(CONF_PID, defaults): str,
        suggested(CONF_NAME, defaults): str,
        probatio.Optional(CONF_FETCH_MODEL, default=False): bool,
        probatio.Optional(CONF_ENVIRONMENT, default="formal"): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=list(PLATFORM_HOSTS), translation_key=CONF_ENVIRONMENT
            )
        ),
        probatio.Optional(CONF_FETCH_TLS, default=False): bool,
    }
    return probatio.Schema(fields)


async def fetch_models(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Fetch and store the device's model from the platform; errors for the form."""
    pid = data.get(CONF_PID)
    if not pid:
        return {CONF_PID: "pid_required"}
    environment = data.get(CONF_ENVIRONMENT, "formal")
    # The platform's published address is plain MQTT: the login is a signature that is good
    # for one timestamp (the secret itself never travels), the model is not secret. TLS is
    # offered for a platform that listens for it.
    tls = PLATFORM_TLS if data.get(CONF_FETCH_TLS) else None
    host, port = (PLATFORM_TLS_HOSTS if tls else PLATFORM_HOSTS)[environment]
    try:
        raw = await fetch_model(host, port, data[CONF_UUID], data[CONF_SECRET], pid, tls=tls)
        hass.data[DATA_MODELS].async_set(pid, raw)
    except AuthRefused:
        return {"base": "platform_auth"}
    except TlsFailure:
        return {"base": "platform_tls"}
    except ConnectError:
        return {"base": "platform_unreachable"}
    except RequestTimeout:
        return {"base": "platform_timeout"}
    except RlinkError:
        return {"base": "platform_no_model"}
    except ProtocolError:
        return {"base": "platform_bad_model"}
    return {}


def device_subentry(data: Mapping[str, Any]) -> dict[str, Any]:
    """A local hub's device subentry: what `async_create_entry` or `ConfigSubentry` takes."""
    return {
        "data": {
            CONF_UUID: data[CONF_UUID],
            CONF_SECRET: data[CONF_SECRET],
            CONF_PID: data.get(CONF_PID) or "",
        },
        "title": data.get(CONF_NAME) or data[CONF_UUID],
        "unique_id": data[CONF_UUID],
    }


def credentials_schema(name: str | None) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_SECRET): PASSWORD_SELECTOR,
            probatio.Optional(CONF_NAME, description={"suggested_value": name}): str,
        }
    )


class DeviceSubentryFlow(DeviceSettingsMixin):
    """Add a device to a hub or an account; change its secret, name or settings."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        entry = self._get_entry()
        if is_cloud(entry):
            return await self._cloud_device(entry, user_input)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**user_input, CONF_UUID: user_input[CONF_UUID].strip()}
            if any(s.unique_id == data[CONF_UUID] for s in entry.subentries.values()):
                return self.async_abort(reason="already_configured")
            errors = device_errors(data)
            if not errors and data.get(CONF_FETCH_MODEL):
                errors = await fetch_models(self.hass, data)
            if not errors:
                return self.async_create_entry(**device_subentry(data))
        return self.async_show_form(
            step_id="user", data_schema=device_schema(True, user_input or {}), errors=errors
        )

    async def _cloud_device(
        self, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """A cloud device by its deviceId; uuid and product id are optional."""
        if user_input is not None:
            subentry = cloud_device_subentry(user_input)
            if any(s.unique_id == subentry["unique_id"] for s in entry.subentries.values()):
                return self.async_abort(reason="already_configured")
            return self.async_create_entry(**subentry)
        return self.async_show_form(
            step_id="user", data_schema=cloud_device_schema({}, with_id=True)
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        if is_cloud(entry):
            return await self._cloud_reconfigure(entry, subentry, user_input)
        # A local hub's device: its secret and name, or the settings the hub answers it with.
        menu = ["credentials", "settings"] + (["sub_devices"] if self._sub_devices() else [])
        return self.async_show_menu(
            step_id="reconfigure",
            menu_options=menu,
            description_placeholders={"uuid": subentry.data[CONF_UUID]},
        )

    async def _cloud_reconfigure(
        self, entry: ConfigEntry, subentry: ConfigSubentry, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        if user_input is not None:
            updated = cloud_device_subentry(
                {**user_input, CONF_DEVICE_ID: subentry.unique_id or ""}
            )
            return self.async_update_and_abort(
                entry, subentry, title=updated["title"], data_updates=updated["data"]
            )
        defaults = {**subentry.data, CONF_NAME: subentry.title}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=cloud_device_schema(defaults, with_id=False),
            description_placeholders={"uuid": subentry.unique_id or ""},
        )

    async def async_step_credentials(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A new secret (the device got one) or another name."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            if len(user_input[CONF_SECRET]) != SECRET_LENGTH:
                errors[CONF_SECRET] = "invalid_secret"
            else:
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=user_input.get(CONF_NAME) or subentry.title,
                    data_updates={CONF_SECRET: user_input[CONF_SECRET]},
                )
        return self.async_show_form(
            step_id="credentials",
            data_schema=credentials_schema(subentry.title),
            errors=errors,
            description_placeholders={"uuid": subentry.data[CONF_UUID]},
        )
