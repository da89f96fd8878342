"""The cloud account's part of the config flow: setup, reauth, reconfigure, devices, options.

The flow proves the account works the way the cloud account will use it: an MQTT login with the
app credentials, then one REST call. No REST endpoint reads anything without a device,
so the call asks for the signal of a device id that cannot exist: an answer of any result
code shows that the API is reachable and accepts the signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import probatio
from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..const import (
    CONF_ACCESS_TOKEN,
    CONF_APP_SECRET,
    CONF_DEVICE_ID,
    CONF_HOMES,
    CONF_MODE,
    CONF_PID,
    CONF_REST_URL,
    CONF_SIGN_METHOD,
    CONF_TLS,
    CONF_TLS_INSECURE,
    CONF_USER_ID,
    CONF_UUID,
    CONF_WATCHDOG_INTERVAL,
    DEFAULT_PORT,
    DEFAULT_WATCHDOG_INTERVAL,
    MODE_CLOUD,
)
from ..protocol import rest
from ..protocol.auth import SignMethod, app_credentials
from ..protocol.errors import ProtocolError, RlinkError
from ..protocol.session import AuthRefused, ConnectError, MqttSession, TlsFailure, TlsOptions
from .common import PASSWORD_SELECTOR, PORT_SELECTOR, RlinkFlowBase, port_errors, suggested

PROBE_DEVICE: Final = "rlink-ha-probe"
CHECK_TIMEOUT = 10.0
"""Seconds the account check waits for the broker."""
_PASSWORD = PASSWORD_SELECTOR
_PORT = PORT_SELECTOR
_HOMES = selector.TextSelector(selector.TextSelectorConfig(multiple=True))
# Algorithm names read the same in every language: labels, not translations.
_SIGN_METHOD_LABELS: Final = {
    SignMethod.HMAC_SHA1: "HMAC-SHA1",
    SignMethod.HMAC_SHA256: "HMAC-SHA256",
}
_SIGN_METHODS = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[
            selector.SelectOptionDict(value=str(method), label=label)
            for method, label in _SIGN_METHOD_LABELS.items()
        ]
    )
)


def is_cloud(entry: ConfigEntry) -> bool:
    return bool(entry.data.get(CONF_MODE) == MODE_CLOUD)


def unique_id(data: Mapping[str, Any]) -> str:
    return f"{data[CONF_USER_ID]}@{data[CONF_HOST]}:{data[CONF_PORT]}"


def normalise(user_input: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(user_input)
    if CONF_PORT in data and not port_errors(data, CONF_PORT):
        data[CONF_PORT] = int(data[CONF_PORT])
    if CONF_HOMES in data:
        homes = data[CONF_HOMES]
        items = homes if isinstance(homes, list) else str(homes).split(",")
        data[CONF_HOMES] = [h.strip() for h in items if h and h.strip()]
    for key in (CONF_USER_ID, CONF_HOST, CONF_REST_URL):
        if isinstance(data.get(key), str):
            data[key] = data[key].strip()
    return data


def account_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    def default(key: str, fallback: Any = probatio.UNDEFINED) -> dict[str, Any]:
        return (
            {"default": defaults.get(key, fallback)}
            if key in defaults or fallback is not probatio.UNDEFINED
            else {}
        )

    return probatio.Schema(
        {
            probatio.Required(CONF_USER_ID, **default(CONF_USER_ID)): str,
            probatio.Required(CONF_APP_SECRET): _PASSWORD,
            probatio.Required(
                CONF_SIGN_METHOD, **default(CONF_SIGN_METHOD, str(SignMethod.HMAC_SHA256))
            ): _SIGN_METHODS,
            **location_fields(defaults),
            probatio.Optional(CONF_ACCESS_TOKEN): _PASSWORD,
        }
    )


def location_fields(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Where the account lives: broker, REST API and homes (what reconfigure changes)."""
    return {
        probatio.Required(CONF_HOST, default=defaults.get(CONF_HOST, probatio.UNDEFINED)): str,
        probatio.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): _PORT,
        probatio.Optional(CONF_TLS, default=defaults.get(CONF_TLS, False)): bool,
        probatio.Optional(CONF_TLS_INSECURE, default=defaults.get(CONF_TLS_INSECURE, False)): bool,
        probatio.Required(
            CONF_REST_URL, default=defaults.get(CONF_REST_URL, probatio.UNDEFINED)
        ): str,
        probatio.Required(CONF_HOMES, default=defaults.get(CONF_HOMES, [])): _HOMES,
    }


def location_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    return probatio.Schema(location_fields(defaults))


def credentials_schema() -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_APP_SECRET): _PASSWORD,
            probatio.Optional(CONF_ACCESS_TOKEN): _PASSWORD,
        }
    )


def device_schema(defaults: Mapping[str, Any], with_id: bool) -> probatio.Schema:
    fields: dict[Any, Any] = {}
    if with_id:
        fields[probatio.Required(CONF_DEVICE_ID)] = str
    fields[suggested(CONF_UUID, defaults)] = str
    fields[suggested(CONF_PID, defaults)] = str
    fields[suggested(CONF_NAME, defaults)] = str
    return probatio.Schema(fields)


def device_subentry(data: Mapping[str, Any]) -> dict[str, Any]:
    device_id = data[CONF_DEVICE_ID].strip()
    return {
        "title": (data.get(CONF_NAME) or "").strip() or f"rlink device {device_id}",
        "data": {
            CONF_DEVICE_ID: device_id,
            CONF_UUID: (data.get(CONF_UUID) or "").strip(),
            CONF_PID: (data.get(CONF_PID) or "").strip(),
        },
        "unique_id": device_id,
    }


def options_schema(options: Mapping[str, Any]) -> probatio.Schema:
    interval = options.get(CONF_WATCHDOG_INTERVAL, DEFAULT_WATCHDOG_INTERVAL)
    return probatio.Schema(
        {
            probatio.Required(CONF_WATCHDOG_INTERVAL, default=interval): selector.NumberSelector(
                selector.NumberSelectorConfig(min=60, max=7200, unit_of_measurement="s")
            )
        }
    )


async def check_account(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Log in to the broker and call the REST API once; the form's errors, if any."""
    method = SignMethod(data[CONF_SIGN_METHOD])
    secret = data[CONF_APP_SECRET]
    user_id = data[CONF_USER_ID]
    try:
        app_credentials(user_id, secret, method)
    except ProtocolError:
        return {CONF_USER_ID: "invalid_user_id"}
    tls = TlsOptions(insecure=data.get(CONF_TLS_INSECURE, False)) if data.get(CONF_TLS) else None
    session = MqttSession(
        data[CONF_HOST],
        int(data[CONF_PORT]),
        lambda: app_credentials(user_id, secret, method),
        tls=tls,
        connect_timeout=CHECK_TIMEOUT,
        name="rlink account check",
    )
    try:
        await session.connect()
    except AuthRefused:
        return {"base": "invalid_auth"}
    except TlsFailure:
        return {"base": "tls_failed"}
    except ConnectError:
        return {"base": "cannot_connect"}
    finally:
        await session.close()
    client = rest.RestClient(
        async_get_clientsession(hass, verify_ssl=not data.get(CONF_TLS_INSECURE, False)),
        data[CONF_REST_URL],
        user_id,
        secret,
        method,
        token=data.get(CONF_ACCESS_TOKEN) or None,
        retries=0,
    )
    try:
        await client.call(rest.check_signal(PROBE_DEVICE))
    except RlinkError:
        pass  # the platform answered: it knows no such device, as expected
    except rest.RestAuthError:
        return {"base": "rest_refused"}
    except rest.RestError:
        return {"base": "rest_failed"}
    return {}


def _form_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with the form itself, before the account is tried."""
    if errors := port_errors(data, CONF_PORT):
        return errors
    return {} if data[CONF_HOMES] else {CONF_HOMES: "homes_required"}


class CloudFlowMixin(RlinkFlowBase):
    """Steps of `RlinkConfigFlow` for a cloud account."""

    async def async_step_cloud_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = normalise(user_input)
            errors = _form_errors(data)
            if not errors:
                await self.async_set_unique_id(unique_id(data))
                self._abort_if_unique_id_configured()
                errors = await check_account(self.hass, data)
            if not errors:
                return self.async_create_entry(
                    title=f"rlink account {data[CONF_USER_ID]}",
                    data={CONF_MODE: MODE_CLOUD, **data},
                )
        # What was typed stays, the app secret too (a password field has no default).
        return self.async_show_form(
            step_id="cloud_account",
            data_schema=self.add_suggested_values_to_schema(
                account_schema(normalise(user_input or {})), user_input or {}
            ),
            errors=errors,
        )

    async def _cloud_reauth(
        self, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            errors = await check_account(self.hass, data)
            if not errors:
                return self.async_save_and_finish(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=credentials_schema(),
            errors=errors,
            description_placeholders={
                "broker": f"{entry.data[CONF_HOST]}:{entry.data[CONF_PORT]}",
            },
        )

    async def _cloud_reconfigure(
        self, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **normalise(user_input)}
            errors = _form_errors(data) or await check_account(self.hass, data)
            if not errors:
                new_id = unique_id(data)
                if any(
                    e.unique_id == new_id and e.entry_id != entry.entry_id
                    for e in self._async_current_entries(include_ignore=False)
                ):
                    return self.async_abort(reason="already_configured")
                return self.async_save_and_finish(entry, unique_id=new_id, data=data)
        return self.async_show_form(
            step_id="reconfigure", data_schema=location_schema(entry.data), errors=errors
        )
