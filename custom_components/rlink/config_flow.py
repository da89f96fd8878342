"""Config flow: a local hub (embedded or external broker), its devices, and their options."""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import probatio
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component

from .cloud.notify import CONF_GATEWAY_ID
from .cloud_flow import (
    CloudFlowMixin,
    device_schema,
    device_subentry,
    is_cloud,
    options_schema,
)
from .const import (
    BROKER_EMBEDDED,
    BROKER_EXTERNAL,
    CONF_AUTH_ALLOWED,
    CONF_AUTH_TOKEN,
    CONF_BIND_HOST,
    CONF_BROKER,
    CONF_BROKER_AUTH,
    CONF_CERTFILE,
    CONF_DEVICE_ID,
    CONF_DEVICES,
    CONF_ENVIRONMENT,
    CONF_FETCH_MODEL,
    CONF_FETCH_TLS,
    CONF_KEYFILE,
    CONF_KINDS,
    CONF_LOG_ENABLE,
    CONF_LOG_INTERVAL,
    CONF_LOG_MODE,
    CONF_MODE,
    CONF_PID,
    CONF_PING_INTERVAL,
    CONF_REMOTE_CONFIG,
    CONF_ROLES,
    CONF_SECRET,
    CONF_SLEEPING,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_BUCKET,
    CONF_STORE_PUBLIC_URL,
    CONF_STORE_REGION,
    CONF_STORE_ROLE_ARN,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_SESSION_TOKEN,
    CONF_STORE_STS_URL,
    CONF_STORE_TYPE,
    CONF_TIME_ZONE,
    CONF_TLS,
    CONF_TLS_CA,
    CONF_TLS_INSECURE,
    CONF_TLS_PORT,
    CONF_UNLOCK_INDEX,
    CONF_UNLOCK_PASSWORD,
    CONF_UUID,
    CONF_WATCHDOG_INTERVAL,
    CONF_WEATHER_ENTITY,
    DEFAULT_BIND_HOST,
    DEFAULT_PING_INTERVAL,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    DOMAIN,
    MODE_LOCAL,
    PLATFORM_HOSTS,
    PLATFORM_TLS_HOSTS,
    SUBENTRY_DEVICE,
)
from .data import RlinkData
from .discovery import CONF_HUB_ENTRY
from .flow_base import PORT_SELECTOR, port_errors
from .kinds import AUTO, ROLE_IDENTIFIERS, SLEEPING_CHOICES, Kind
from .local.broker_auth import (
    DATA_BROKER_AUTH,
    BrokerAuthService,
    base_url,
    emqx_snippet,
    mosquitto_snippet,
    new_token,
    parse_networks,
    rabbitmq_snippet,
)
from .local.hub import external_session
from .protocol.auth import SECRET_LENGTH, is_device_uuid
from .protocol.broker_gate import BrokerGate
from .protocol.codes import DeviceCommand as Cmd
from .protocol.errors import ProtocolError, RlinkError
from .protocol.fetch import fetch_model
from .protocol.policy import RlinkPolicy
from .protocol.session import (
    AuthRefused,
    ConnectError,
    RequestTimeout,
    TlsFailure,
    TlsOptions,
)

_LOGGER = logging.getLogger(__name__)

CONF_DEVICE: Final = "device"
_PORT = probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=65535))
_PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
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


def _embedded_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)
            ): PORT_SELECTOR,
            probatio.Optional(
                CONF_CERTFILE, description={"suggested_value": defaults.get(CONF_CERTFILE)}
            ): str,
            probatio.Optional(
                CONF_KEYFILE, description={"suggested_value": defaults.get(CONF_KEYFILE)}
            ): str,
            probatio.Optional(
                CONF_TLS_PORT, default=defaults.get(CONF_TLS_PORT, DEFAULT_TLS_PORT)
            ): PORT_SELECTOR,
            probatio.Optional(
                CONF_BIND_HOST, default=defaults.get(CONF_BIND_HOST, DEFAULT_BIND_HOST)
            ): str,
        }
    )


def _external_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_HOST, default=defaults.get(CONF_HOST, "")): str,
            probatio.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)
            ): PORT_SELECTOR,
            probatio.Optional(
                CONF_USERNAME, description={"suggested_value": defaults.get(CONF_USERNAME)}
            ): str,
            probatio.Optional(CONF_PASSWORD): _PASSWORD,
            probatio.Optional(CONF_TLS, default=defaults.get(CONF_TLS, False)): bool,
            probatio.Optional(
                CONF_TLS_INSECURE, default=defaults.get(CONF_TLS_INSECURE, False)
            ): bool,
            probatio.Optional(
                CONF_TLS_CA, description={"suggested_value": defaults.get(CONF_TLS_CA)}
            ): str,
        }
    )


def _ports(data: Mapping[str, Any]) -> dict[str, Any]:
    """Number selectors give floats; ports are ints."""
    return {
        **data,
        **{k: int(data[k]) for k in (CONF_PORT, CONF_TLS_PORT) if data.get(k) is not None},
    }


def _device_errors(data: Mapping[str, Any]) -> dict[str, str]:
    errors = {}
    if not is_device_uuid(data[CONF_UUID]):
        errors[CONF_UUID] = "invalid_uuid"
    if len(data[CONF_SECRET]) != SECRET_LENGTH:
        errors[CONF_SECRET] = "invalid_secret"
    return errors


def _device_schema(with_uuid: bool, defaults: Mapping[str, Any]) -> probatio.Schema:
    fields: dict[Any, Any] = {}
    if with_uuid:
        fields[probatio.Required(CONF_UUID, default=defaults.get(CONF_UUID, ""))] = str
    fields |= {
        probatio.Required(CONF_SECRET): _PASSWORD,
        probatio.Optional(CONF_PID, description={"suggested_value": defaults.get(CONF_PID)}): str,
        probatio.Optional(CONF_NAME, description={"suggested_value": defaults.get(CONF_NAME)}): str,
        probatio.Optional(CONF_FETCH_MODEL, default=False): bool,
        probatio.Optional(CONF_ENVIRONMENT, default="formal"): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=list(PLATFORM_HOSTS), translation_key=CONF_ENVIRONMENT
            )
        ),
        probatio.Optional(CONF_FETCH_TLS, default=False): bool,
    }
    return probatio.Schema(fields)


PLATFORM_TLS: Final = TlsOptions()
"""TLS to the platform, verified against the system's certificate authorities."""


async def _fetch_models(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Fetch and store the device's model from the platform; errors for the form."""
    from . import DATA_MODELS  # noqa: PLC0415 - the package imports this module

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


def _subentry(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "data": {
            CONF_UUID: data[CONF_UUID],
            CONF_SECRET: data[CONF_SECRET],
            CONF_PID: data.get(CONF_PID) or "",
        },
        "title": data.get(CONF_NAME) or data[CONF_UUID],
        "unique_id": data[CONF_UUID],
    }


# --- flows --------------------------------------------------------------------------------


class RlinkConfigFlow(CloudFlowMixin, domain=DOMAIN):
    """Set up a local hub or a cloud account."""

    VERSION = 1

    def __init__(self) -> None:
        self._discovered: dict[str, Any] = {}
        self._external: dict[str, Any] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return RlinkOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        return {SUBENTRY_DEVICE: DeviceSubentryFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_show_menu(step_id="user", menu_options=["local_hub", "cloud_account"])

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
            step_id="embedded", data_schema=_embedded_schema(user_input or {}), errors=errors
        )

    async def async_step_external(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _ports(user_input)
            await self.async_set_unique_id(f"{data[CONF_HOST]}:{data[CONF_PORT]}")
            self._abort_if_unique_id_configured()
            if not _networks_ok(data.get(CONF_AUTH_ALLOWED)):
                errors = {CONF_AUTH_ALLOWED: "invalid_addresses"}
            elif data.get(CONF_BROKER_AUTH) and not (
                data.get(CONF_USERNAME) and data.get(CONF_PASSWORD)
            ):
                # Home Assistant answers for its own login too: it needs one to check.
                errors = {"base": "hub_account_required"}
            elif data.get(CONF_BROKER_AUTH):
                self._external = {**data, CONF_AUTH_TOKEN: new_token()}
                return await self.async_step_broker_auth()
            else:
                errors = await _check_external(data)
            if not errors:
                return self._create_external(data)
        schema = _external_schema(user_input or {}).extend(
            {
                probatio.Optional(
                    CONF_BROKER_AUTH, default=(user_input or {}).get(CONF_BROKER_AUTH, False)
                ): bool,
                probatio.Optional(
                    CONF_AUTH_ALLOWED,
                    description={"suggested_value": (user_input or {}).get(CONF_AUTH_ALLOWED)},
                ): str,
            }
        )
        return self.async_show_form(step_id="external", data_schema=schema, errors=errors)

    async def async_step_broker_auth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The addresses and snippets to configure the broker with, then the login check."""
        data = self._external
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await _check_broker(self.hass, data)
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

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        if is_cloud(entry):
            return await self._cloud_reauth(entry, user_input)
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
                    probatio.Optional(
                        CONF_USERNAME,
                        description={"suggested_value": entry.data.get(CONF_USERNAME)},
                    ): str,
                    probatio.Optional(CONF_PASSWORD): _PASSWORD,
                }
            ),
            errors=errors,
            description_placeholders={"broker": f"{entry.data[CONF_HOST]}:{entry.data[CONF_PORT]}"},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        if is_cloud(entry):
            return await self._cloud_reconfigure(entry, user_input)
        embedded = entry.data[CONF_BROKER] == BROKER_EMBEDDED
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **_ports(user_input)}
            if embedded:
                unique_id = f"embedded:{data[CONF_PORT]}"
                # The hub holds its own port: only a new port needs to be free.
                if data[CONF_PORT] != entry.data[CONF_PORT]:
                    errors = await _check_embedded(self.hass, data)
                elif not _bind_host_ok(data.get(CONF_BIND_HOST) or DEFAULT_BIND_HOST):
                    errors = {CONF_BIND_HOST: "invalid_bind_host"}
            else:
                unique_id = f"{data[CONF_HOST]}:{data[CONF_PORT]}"
                errors = await _check_broker(self.hass, data)
            if not errors:
                if any(
                    e.unique_id == unique_id and e.entry_id != entry.entry_id
                    for e in self._async_current_entries(include_ignore=False)
                ):
                    return self.async_abort(reason="already_configured")
                return self.async_save_and_finish(entry, unique_id=unique_id, data=data)
        schema = _embedded_schema(entry.data) if embedded else _external_schema(entry.data)
        return self.async_show_form(step_id="reconfigure", data_schema=schema, errors=errors)

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
            errors = _device_errors(data)
            if not errors and data.get(CONF_FETCH_MODEL):
                errors = await _fetch_models(self.hass, data)
            if not errors:
                self.hass.config_entries.async_add_subentry(
                    entry, ConfigSubentry(subentry_type=SUBENTRY_DEVICE, **_subentry(data))
                )
                return self.async_abort(reason="device_added")
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=_device_schema(False, user_input or {}),
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


class DeviceSubentryFlow(ConfigSubentryFlow):
    """Add a device to a hub, or change its secret."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        entry = self._get_entry()
        if is_cloud(entry):
            return await self._cloud_device(entry, user_input)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**user_input, CONF_UUID: user_input[CONF_UUID].strip()}
            if any(s.unique_id == data[CONF_UUID] for s in entry.subentries.values()):
                return self.async_abort(reason="already_configured")
            errors = _device_errors(data)
            if not errors and data.get(CONF_FETCH_MODEL):
                errors = await _fetch_models(self.hass, data)
            if not errors:
                return self.async_create_entry(**_subentry(data))
        return self.async_show_form(
            step_id="user", data_schema=_device_schema(True, user_input or {}), errors=errors
        )

    async def _cloud_device(
        self, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """A cloud device by its deviceId; uuid and product id are optional."""
        if user_input is not None:
            subentry = device_subentry(user_input)
            if any(s.unique_id == subentry["unique_id"] for s in entry.subentries.values()):
                return self.async_abort(reason="already_configured")
            return self.async_create_entry(**subentry)
        return self.async_show_form(step_id="user", data_schema=device_schema({}, with_id=True))

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        if is_cloud(entry):
            if user_input is not None:
                updated = device_subentry({**user_input, CONF_DEVICE_ID: subentry.unique_id or ""})
                return self.async_update_and_abort(
                    entry, subentry, title=updated["title"], data_updates=updated["data"]
                )
            defaults = {**subentry.data, CONF_NAME: subentry.title}
            return self.async_show_form(
                step_id="reconfigure",
                data_schema=device_schema(defaults, with_id=False),
                description_placeholders={"uuid": subentry.unique_id or ""},
            )
        errors: dict[str, str] = {}
        if user_input is not None:
            if len(user_input[CONF_SECRET]) != SECRET_LENGTH:
                errors[CONF_SECRET] = "invalid_secret"
            else:
                return self.async_update_and_abort(
                    entry,
                    subentry,
                    title=user_input.get(CONF_NAME) or subentry.title,
                    data_updates={CONF_SECRET: user_input[CONF_SECRET]},
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_SECRET): _PASSWORD,
                    probatio.Optional(
                        CONF_NAME, description={"suggested_value": subentry.title}
                    ): str,
                }
            ),
            errors=errors,
            description_placeholders={"uuid": subentry.data[CONF_UUID]},
        )


class RlinkOptionsFlow(OptionsFlow):
    """Hub options, and per-device settings the hub answers devices with."""

    def __init__(self) -> None:
        self._uuid: str | None = None
        self._pending: dict[str, Any] = {}
        self._device_options: dict[str, Any] = {}
        self._steps: list[str] = []

    def _devices(self) -> dict[str, str]:
        return {
            s.data[CONF_UUID]: s.title
            for s in self.config_entry.subentries.values()
            if s.subentry_type == SUBENTRY_DEVICE
        }

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if is_cloud(self.config_entry):
            if user_input is not None:
                interval = int(user_input[CONF_WATCHDOG_INTERVAL])
                return self.async_create_entry(
                    data={**self.config_entry.options, CONF_WATCHDOG_INTERVAL: interval}
                )
            return self.async_show_form(
                step_id="init", data_schema=options_schema(self.config_entry.options)
            )
        external = self.config_entry.data[CONF_BROKER] == BROKER_EXTERNAL
        devices = self._devices()
        if user_input is not None:
            options = dict(self.config_entry.options)
            if external:
                options[CONF_PING_INTERVAL] = int(user_input[CONF_PING_INTERVAL])
            if user_input.get(CONF_DEVICE):
                self._uuid = user_input[CONF_DEVICE]
                self._pending = options
                return await self.async_step_device()
            return self.async_create_entry(data=options)
        fields: dict[Any, Any] = {}
        if external:
            fields[
                probatio.Required(
                    CONF_PING_INTERVAL,
                    default=self.config_entry.options.get(
                        CONF_PING_INTERVAL, DEFAULT_PING_INTERVAL
                    ),
                )
            ] = selector.NumberSelector(
                selector.NumberSelectorConfig(min=30, max=3600, unit_of_measurement="s")
            )
        if devices:
            fields[probatio.Optional(CONF_DEVICE)] = selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=[
                        selector.SelectOptionDict(value=u, label=t) for u, t in devices.items()
                    ]
                )
            )
        return self.async_show_form(step_id="init", data_schema=probatio.Schema(fields))

    def _current(self) -> Mapping[str, Any]:
        assert self._uuid is not None
        devices: Mapping[str, Mapping[str, Any]] = self.config_entry.options.get(CONF_DEVICES, {})
        return devices.get(self._uuid, {})

    def _kinds_ahead(self) -> list[str]:
        """The kind-specific steps this device needs, in order."""
        data: RlinkData | None = getattr(self.config_entry, "runtime_data", None)
        hub = data.coordinator if data is not None else None
        device = hub.devices.get(self._uuid) if hub is not None and self._uuid else None
        chosen = set(self._device_options.get(CONF_KINDS) or [])
        if not chosen and device is not None:
            chosen = {str(k) for k in device.profile.kinds}
        return [step for kind, step in _KIND_STEPS.items() if kind in chosen]

    async def async_step_device(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        assert self._uuid is not None
        current = self._current()
        if user_input is not None and CONF_LOG_ENABLE in user_input:
            self._device_options = {
                **current,
                CONF_REMOTE_CONFIG: user_input.get(CONF_REMOTE_CONFIG) or {},
                CONF_LOG_ENABLE: user_input[CONF_LOG_ENABLE],
                CONF_LOG_MODE: int(user_input.get(CONF_LOG_MODE, "1")),
                CONF_LOG_INTERVAL: int(user_input.get(CONF_LOG_INTERVAL, 10)),
                CONF_TIME_ZONE: user_input.get(CONF_TIME_ZONE) or None,
                CONF_WEATHER_ENTITY: user_input.get(CONF_WEATHER_ENTITY) or None,
                CONF_KINDS: list(user_input.get(CONF_KINDS) or []),
                CONF_SLEEPING: user_input.get(CONF_SLEEPING, AUTO),
                CONF_ROLES: _roles(user_input.get(CONF_ROLES)),
            }
            self._steps = self._kinds_ahead()
            return await self._next_step()
        zones = sorted(await self.hass.async_add_executor_job(zoneinfo.available_timezones))
        schema = probatio.Schema(
            {
                probatio.Optional(
                    CONF_REMOTE_CONFIG,
                    description={"suggested_value": current.get(CONF_REMOTE_CONFIG)},
                ): selector.ObjectSelector(),
                probatio.Required(
                    CONF_LOG_ENABLE, default=current.get(CONF_LOG_ENABLE, False)
                ): bool,
                probatio.Optional(
                    CONF_LOG_MODE, default=str(current.get(CONF_LOG_MODE, 1))
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(options=["1", "2"], translation_key=CONF_LOG_MODE)
                ),
                probatio.Optional(
                    CONF_LOG_INTERVAL, default=current.get(CONF_LOG_INTERVAL, 10)
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(min=1, max=360, unit_of_measurement="min")
                ),
                probatio.Optional(
                    CONF_TIME_ZONE, description={"suggested_value": current.get(CONF_TIME_ZONE)}
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=zones, mode=selector.SelectSelectorMode.DROPDOWN
                    )
                ),
                probatio.Optional(
                    CONF_WEATHER_ENTITY,
                    description={"suggested_value": current.get(CONF_WEATHER_ENTITY)},
                ): selector.EntitySelector(selector.EntitySelectorConfig(domain="weather")),
                probatio.Optional(
                    CONF_KINDS, default=list(current.get(CONF_KINDS) or [])
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[k.value for k in Kind], multiple=True, translation_key=CONF_KINDS
                    )
                ),
                probatio.Optional(
                    CONF_SLEEPING, default=current.get(CONF_SLEEPING, AUTO)
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=list(SLEEPING_CHOICES), translation_key=CONF_SLEEPING
                    )
                ),
                probatio.Optional(
                    CONF_ROLES, description={"suggested_value": current.get(CONF_ROLES) or None}
                ): selector.ObjectSelector(),
            }
        )
        return self.async_show_form(
            step_id="device",
            data_schema=schema,
            description_placeholders={
                "device": self._devices().get(self._uuid, self._uuid),
                "roles": ", ".join(ROLE_IDENTIFIERS),
            },
        )

    async def _next_step(self) -> ConfigFlowResult:
        if self._steps:
            step: Callable[[], Awaitable[ConfigFlowResult]] = getattr(
                self, f"async_step_{self._steps.pop(0)}"
            )
            return await step()
        options = dict(self._pending)
        devices = dict(options.get(CONF_DEVICES, {}))
        assert self._uuid is not None
        devices[self._uuid] = self._device_options
        options[CONF_DEVICES] = devices
        return self.async_create_entry(data=options)

    async def async_step_lock(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """How to unlock: the password slot and password `remote_unlock` sends."""
        if user_input is not None:
            index = user_input.get(CONF_UNLOCK_INDEX)
            password = user_input.get(CONF_UNLOCK_PASSWORD) or self._current().get(
                CONF_UNLOCK_PASSWORD
            )
            self._device_options[CONF_UNLOCK_INDEX] = int(index) if index is not None else None
            self._device_options[CONF_UNLOCK_PASSWORD] = password or None
            return await self._next_step()
        current = self._current()
        return self.async_show_form(
            step_id="lock",
            data_schema=probatio.Schema(
                {
                    probatio.Optional(
                        CONF_UNLOCK_INDEX,
                        description={"suggested_value": current.get(CONF_UNLOCK_INDEX)},
                    ): selector.NumberSelector(
                        selector.NumberSelectorConfig(
                            min=1, max=999, mode=selector.NumberSelectorMode.BOX
                        )
                    ),
                    probatio.Optional(CONF_UNLOCK_PASSWORD): _PASSWORD,
                }
            ),
        )

    async def async_step_storage(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """An S3-compatible store the vacuum uploads maps and records to."""
        if user_input is not None:
            secret = user_input.get(CONF_STORE_SECRET_KEY) or self._current().get(
                CONF_STORE_SECRET_KEY
            )
            self._device_options.update({key: user_input.get(key) or None for key in _STORE_FIELDS})
            self._device_options[CONF_STORE_SECRET_KEY] = secret or None
            return await self._next_step()
        current = self._current()
        fields: dict[Any, Any] = {
            probatio.Optional(key, description={"suggested_value": current.get(key)}): str
            for key in _STORE_FIELDS
        }
        fields[probatio.Optional(CONF_STORE_SECRET_KEY)] = _PASSWORD
        return self.async_show_form(step_id="storage", data_schema=probatio.Schema(fields))


def _roles(raw: Any) -> dict[str, str]:
    """Keep the known roles that name an identifier; the rest is noise."""
    if not isinstance(raw, Mapping):
        return {}
    return {k: str(v) for k, v in raw.items() if k in ROLE_IDENTIFIERS and v}


_KIND_STEPS: Final = {Kind.LOCK.value: "lock", Kind.VACUUM.value: "storage"}
_STORE_FIELDS: Final = (
    CONF_STORE_TYPE,
    CONF_STORE_BUCKET,
    CONF_STORE_REGION,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_SESSION_TOKEN,
    CONF_STORE_PUBLIC_URL,
    CONF_STORE_ROLE_ARN,
    CONF_STORE_STS_URL,
)
