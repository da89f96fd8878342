"""The local hub's part of the config flow: the device server or an external broker.

Setup, reauth and reconfigure of a hub whose devices connect to Home Assistant itself (the
embedded device server) or to a broker Home Assistant logs in to.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import probatio
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntry, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from ..const import (
    BROKER_EMBEDDED,
    BROKER_EXTERNAL,
    CONF_AUTH_ALLOWED,
    CONF_AUTH_TOKEN,
    CONF_BIND_HOST,
    CONF_BROKER,
    CONF_BROKER_AUTH,
    CONF_CERTFILE,
    CONF_KEYFILE,
    CONF_MODE,
    CONF_TLS,
    CONF_TLS_CA,
    CONF_TLS_INSECURE,
    CONF_TLS_PORT,
    DEFAULT_BIND_HOST,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    DOMAIN,
    MODE_LOCAL,
)
from ..local.broker_auth import (
    DATA_BROKER_AUTH,
    BrokerAuthService,
    base_url,
    emqx_snippet,
    mosquitto_snippet,
    new_token,
    parse_networks,
    rabbitmq_snippet,
)
from ..local.hub import external_session
from ..protocol.broker_gate import BrokerGate
from ..protocol.policy import RlinkPolicy
from ..protocol.session import AuthRefused, ConnectError, TlsFailure
from .common import PASSWORD_SELECTOR, PORT_SELECTOR, RlinkFlowBase, port_errors, suggested

_LOGGER = logging.getLogger(__name__)

# Session errors -> the translated error key the form shows.
_CONNECT_ERRORS: Final[Mapping[type[ConnectError], str]] = MappingProxyType(
    {AuthRefused: "invalid_auth", TlsFailure: "tls_failed", ConnectError: "cannot_connect"}
)


def _connect_error(err: ConnectError) -> str:
    return next(key for cls, key in _CONNECT_ERRORS.items() if isinstance(err, cls))


# --- checks that touch sockets and files (run in the executor) ----------------------------


def _port_free(port: int, host: str = DEFAULT_BIND_HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:  # taken, not ours to take (a privileged port), or not our address
            return False
    return True


def _bind_host_ok(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 4
    except ValueError:
        return False


def _certificate_ok(certfile: str, keyfile: str) -> bool:
    if not Path(certfile).is_file() or not Path(keyfile).is_file():
        return False
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError, OSError:
        return False
    return True


async def _check_embedded(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    if errors := port_errors(data, CONF_PORT, CONF_TLS_PORT):
        return errors
    host = data.get(CONF_BIND_HOST) or DEFAULT_BIND_HOST
    if not _bind_host_ok(host):
        return {CONF_BIND_HOST: "invalid_bind_host"}
    if not await hass.async_add_executor_job(_port_free, data[CONF_PORT], host):
        errors[CONF_PORT] = "port_in_use"
    certfile, keyfile = data.get(CONF_CERTFILE), data.get(CONF_KEYFILE)
    if bool(certfile) != bool(keyfile):
        errors["base"] = "certificate_incomplete"
    elif certfile and keyfile:
        if not await hass.async_add_executor_job(_certificate_ok, certfile, keyfile):
            errors[CONF_CERTFILE] = "invalid_certificate"
        elif not await hass.async_add_executor_job(
            _port_free, data.get(CONF_TLS_PORT, DEFAULT_TLS_PORT), host
        ):
            errors[CONF_TLS_PORT] = "port_in_use"
    return errors


async def _check_external(data: Mapping[str, Any]) -> dict[str, str]:
    if errors := port_errors(data, CONF_PORT):
        return errors
    session = external_session(
        data, "rlink_hub_check", connect_timeout=10, name="rlink broker check"
    )
    try:
        await session.connect()
    except ConnectError as err:
        _LOGGER.debug("Broker check failed: %s", err)
        return {"base": _connect_error(err)}
    finally:
        await session.close()
    return {}


async def _check_broker(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Log in to the broker; one that asks Home Assistant about logins is answered for the
    hub's own account meanwhile (the hub itself answers only once it runs)."""
    if not data.get(CONF_BROKER_AUTH):
        return await _check_external(data)
    if DATA_BROKER_AUTH not in hass.data:
        # The first hub's flow runs before the integration is set up, and with it the
        # views the broker calls; they would be set up with the entry a moment later.
        await async_setup_component(hass, DOMAIN, {})
    gate = BrokerGate(
        RlinkPolicy(secret_for=lambda _uuid: None), data.get(CONF_USERNAME), data.get(CONF_PASSWORD)
    )
    service = BrokerAuthService(gate, parse_networks(data.get(CONF_AUTH_ALLOWED)), "setup")
    stop_serving = hass.data[DATA_BROKER_AUTH].add(data[CONF_AUTH_TOKEN], service)
    try:
        return await _check_external(data)
    finally:
        stop_serving()


def _networks_ok(text: str | None) -> bool:
    try:
        parse_networks(text)
    except ValueError:
        return False
    return True


# --- schemas ------------------------------------------------------------------------------


def embedded_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)
            ): PORT_SELECTOR,
            suggested(CONF_CERTFILE, defaults): str,
            suggested(CONF_KEYFILE, defaults): str,
            probatio.Optional(
                CONF_TLS_PORT, default=defaults.get(CONF_TLS_PORT, DEFAULT_TLS_PORT)
            ): PORT_SELECTOR,
            probatio.Optional(
                CONF_BIND_HOST, default=defaults.get(CONF_BIND_HOST, DEFAULT_BIND_HOST)
            ): str,
        }
    )


def external_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_HOST, default=defaults.get(CONF_HOST, "")): str,
            probatio.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)
            ): PORT_SELECTOR,
            suggested(CONF_USERNAME, defaults): str,
            probatio.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
            probatio.Optional(CONF_TLS, default=defaults.get(CONF_TLS, False)): bool,
            probatio.Optional(
                CONF_TLS_INSECURE, default=defaults.get(CONF_TLS_INSECURE, False)
            ): bool,
            suggested(CONF_TLS_CA, defaults): str,
            # Whether the broker asks Home Assistant about its clients, and from where.
            probatio.Optional(
                CONF_BROKER_AUTH, default=defaults.get(CONF_BROKER_AUTH, False)
            ): bool,
            suggested(CONF_AUTH_ALLOWED, defaults): str,
        }
    )


def _broker_auth_errors(data: Mapping[str, Any]) -> dict[str, str]:
    if not _networks_ok(data.get(CONF_AUTH_ALLOWED)):
        return {CONF_AUTH_ALLOWED: "invalid_addresses"}
    if data.get(CONF_BROKER_AUTH) and not (data.get(CONF_USERNAME) and data.get(CONF_PASSWORD)):
        # Home Assistant answers for its own login too: it needs one to check.
        return {"base": "hub_account_required"}
    return {}


def _reconfigured_broker_auth(
    entry: ConfigEntry, data: dict[str, Any], user_input: Mapping[str, Any]
) -> dict[str, Any]:
    """A hub that starts asking gets a token; one that keeps asking keeps its own, so the
    broker's configuration stays good; one that stops keeps none. Addresses cleared in the
    form are gone (an empty field is not sent)."""
    if CONF_AUTH_ALLOWED not in user_input:
        data.pop(CONF_AUTH_ALLOWED, None)
    if data.get(CONF_BROKER_AUTH):
        data[CONF_AUTH_TOKEN] = entry.data.get(CONF_AUTH_TOKEN) or new_token()
    else:
        data.pop(CONF_AUTH_TOKEN, None)
    return data


def _hub_unique_id(data: Mapping[str, Any]) -> str:
    if data[CONF_BROKER] == BROKER_EMBEDDED:
        return f"embedded:{data[CONF_PORT]}"
    return f"{data[CONF_HOST]}:{data[CONF_PORT]}"


def _ports(data: Mapping[str, Any]) -> dict[str, Any]:
    """Number selectors give floats; ports are ints."""
    return {
        **data,
        **{k: int(data[k]) for k in (CONF_PORT, CONF_TLS_PORT) if data.get(k) is not None},
    }


# --- steps --------------------------------------------------------------------------------


class HubFlowMixin(RlinkFlowBase):
    """Steps of `RlinkConfigFlow` for a local hub."""

    _external: dict[str, Any]
    """The external broker's settings while the broker-auth step shows its snippets."""

    async def async_step_local_hub(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        return self.async_show_menu(step_id="local_hub", menu_options=["embedded", "external"])

    async def async_step_embedded(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _ports(user_input)
            await self.async_set_unique_id(f"embedded:{data[CONF_PORT]}")
            self._abort_if_unique_id_configured()
            errors = await _check_embedded(self.hass, data)
            if not errors:
                return self.async_create_entry(
                    title=f"rlink hub (port {data[CONF_PORT]})",
                    data={CONF_MODE: MODE_LOCAL, CONF_BROKER: BROKER_EMBEDDED, **data},
                )
        return self.async_show_form(
            step_id="embedded", data_schema=embedded_schema(user_input or {}), errors=errors
        )

    async def async_step_external(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _ports(user_input)
            await self.async_set_unique_id(f"{data[CONF_HOST]}:{data[CONF_PORT]}")
            self._abort_if_unique_id_configured()
            errors = _broker_auth_errors(data)
            if not errors and data.get(CONF_BROKER_AUTH):
                self._external = {**data, CONF_AUTH_TOKEN: new_token()}
                return await self.async_step_broker_auth()
            if not errors:
                errors = await _check_external(data)
            if not errors:
                return self._create_external(data)
        return self.async_show_form(
            step_id="external", data_schema=external_schema(user_input or {}), errors=errors
        )

    async def async_step_broker_auth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The addresses and snippets to configure the broker with, then the login check;
        for a new hub and for one reconfigured to let its broker ask."""
        data = self._external
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await _check_broker(self.hass, data)
            if not errors and self.source == SOURCE_RECONFIGURE:
                return self._save_reconfigured(self._get_reconfigure_entry(), data)
            if not errors:
                return self._create_external(data)
        base = base_url(self.hass, data[CONF_AUTH_TOKEN])
        return self.async_show_form(
            step_id="broker_auth",
            data_schema=probatio.Schema({}),
            errors=errors,
            description_placeholders={
                "url": base,
                "rabbitmq": rabbitmq_snippet(base),
                "emqx": emqx_snippet(base),
                "mosquitto": mosquitto_snippet(base),
            },
        )

    def _create_external(self, data: Mapping[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(
            title=f"rlink hub ({data[CONF_HOST]}:{data[CONF_PORT]})",
            data={CONF_MODE: MODE_LOCAL, CONF_BROKER: BROKER_EXTERNAL, **data},
        )

    async def _hub_reauth(
        self, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            errors = await _check_broker(self.hass, data)
            if not errors:
                return self.async_save_and_finish(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema(
                {
                    suggested(CONF_USERNAME, entry.data): str,
                    probatio.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
                }
            ),
            errors=errors,
            description_placeholders={"broker": f"{entry.data[CONF_HOST]}:{entry.data[CONF_PORT]}"},
        )

    async def _hub_reconfigure(
        self, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        embedded = entry.data[CONF_BROKER] == BROKER_EMBEDDED
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **_ports(user_input)}
            if embedded:
                # The hub holds its own port: only a new port needs to be free.
                if data[CONF_PORT] != entry.data[CONF_PORT]:
                    errors = await _check_embedded(self.hass, data)
                elif not _bind_host_ok(data.get(CONF_BIND_HOST) or DEFAULT_BIND_HOST):
                    errors = {CONF_BIND_HOST: "invalid_bind_host"}
            elif self._taken(entry, _hub_unique_id(data)):
                return self.async_abort(reason="already_configured")
            else:
                data = _reconfigured_broker_auth(entry, data, user_input)
                errors = _broker_auth_errors(data)
                if not errors and data.get(CONF_BROKER_AUTH):
                    self._external = data
                    return await self.async_step_broker_auth()
                if not errors:
                    errors = await _check_external(data)
            if not errors:
                return self._save_reconfigured(entry, data)
        schema = embedded_schema(entry.data) if embedded else external_schema(entry.data)
        return self.async_show_form(step_id="reconfigure", data_schema=schema, errors=errors)

    def _taken(self, entry: ConfigEntry, unique_id: str) -> bool:
        """Whether another entry already is the hub at that address."""
        return any(
            e.unique_id == unique_id and e.entry_id != entry.entry_id
            for e in self._async_current_entries(include_ignore=False)
        )

    def _save_reconfigured(self, entry: ConfigEntry, data: dict[str, Any]) -> ConfigFlowResult:
        unique_id = _hub_unique_id(data)
        if self._taken(entry, unique_id):
            return self.async_abort(reason="already_configured")
        return self.async_save_and_finish(entry, unique_id=unique_id, data=data)
