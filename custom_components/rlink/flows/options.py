"""The options flow: hub-wide options, and per-device settings the hub answers devices with."""

from __future__ import annotations

import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import probatio
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers import selector

from ..const import (
    BROKER_EXTERNAL,
    CONF_BROKER,
    CONF_DEVICES,
    CONF_KINDS,
    CONF_LOG_ENABLE,
    CONF_LOG_INTERVAL,
    CONF_LOG_MODE,
    CONF_PING_INTERVAL,
    CONF_REMOTE_CONFIG,
    CONF_ROLES,
    CONF_SLEEPING,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_BUCKET,
    CONF_STORE_PUBLIC_URL,
    CONF_STORE_REGION,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_SESSION_TOKEN,
    CONF_STORE_TYPE,
    CONF_TIME_ZONE,
    CONF_UNLOCK_INDEX,
    CONF_UNLOCK_PASSWORD,
    CONF_UUID,
    CONF_WATCHDOG_INTERVAL,
    CONF_WEATHER_ENTITY,
    DEFAULT_PING_INTERVAL,
    SUBENTRY_DEVICE,
)
from ..kinds import AUTO, ROLE_IDENTIFIERS, SLEEPING_CHOICES, Kind
from .cloud import is_cloud, options_schema
from .common import PASSWORD_SELECTOR

CONF_DEVICE: Final = "device"
_PASSWORD = PASSWORD_SELECTOR


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
        hub = getattr(self.config_entry, "runtime_data", None)
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
)
