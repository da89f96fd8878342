"""A device's own settings, the steps of its subentry's reconfigure that edit them.

What the hub answers the device with (remote configuration, log upload, time zone, weather)
and how Home Assistant reads it (kinds, sleeping, roles), then what only some kinds need: a
lock's remote-unlock password, a vacuum's map store. They are kept in the subentry's data
under `CONF_SETTINGS`. A gateway's sub-devices have no subentry: the gateway's reconfigure
sets what concerns them (kinds, sleeping, roles, a lock's password), kept in the hub's
options under `CONF_DEVICES`.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import probatio
from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers import selector

from ..const import (
    CONF_DEVICES,
    CONF_KINDS,
    CONF_LOG_ENABLE,
    CONF_LOG_INTERVAL,
    CONF_LOG_MODE,
    CONF_REMOTE_CONFIG,
    CONF_ROLES,
    CONF_SETTINGS,
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
    CONF_SUB_DEVICE,
    CONF_TIME_ZONE,
    CONF_UNLOCK_INDEX,
    CONF_UNLOCK_PASSWORD,
    CONF_UUID,
    CONF_WEATHER_ENTITY,
)
from ..coordinator import RlinkCoordinator
from ..data import RlinkData
from ..kinds import AUTO, ROLE_IDENTIFIERS, SLEEPING_CHOICES, Kind
from .common import PASSWORD_SELECTOR, suggested

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


def settings_schema(current: Mapping[str, Any], zones: list[str]) -> probatio.Schema:
    return probatio.Schema(
        {
            suggested(CONF_REMOTE_CONFIG, current): selector.ObjectSelector(),
            probatio.Required(CONF_LOG_ENABLE, default=current.get(CONF_LOG_ENABLE, False)): bool,
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
            suggested(CONF_TIME_ZONE, current): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=zones, mode=selector.SelectSelectorMode.DROPDOWN
                )
            ),
            suggested(CONF_WEATHER_ENTITY, current): selector.EntitySelector(
                selector.EntitySelectorConfig(domain="weather")
            ),
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


def lock_schema(current: Mapping[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            suggested(CONF_UNLOCK_INDEX, current): selector.NumberSelector(
                selector.NumberSelectorConfig(min=1, max=999, mode=selector.NumberSelectorMode.BOX)
            ),
            probatio.Optional(CONF_UNLOCK_PASSWORD): PASSWORD_SELECTOR,
        }
    )


def storage_schema(current: Mapping[str, Any]) -> probatio.Schema:
    fields: dict[Any, Any] = {suggested(key, current): str for key in _STORE_FIELDS}
    fields[probatio.Optional(CONF_STORE_SECRET_KEY)] = PASSWORD_SELECTOR
    return probatio.Schema(fields)


def _roles(raw: Any) -> dict[str, str]:
    """Keep the known roles that name an identifier; the rest is noise."""
    if not isinstance(raw, Mapping):
        return {}
    return {k: str(v) for k, v in raw.items() if k in ROLE_IDENTIFIERS and v}


_SUB_DEVICE_FIELDS: Final = (CONF_KINDS, CONF_SLEEPING, CONF_ROLES)


def sub_device_schema(current: Mapping[str, Any]) -> probatio.Schema:
    """What a sub-device can have: how Home Assistant reads it. The hub's answers (remote
    configuration, logs, time zone, weather) go to its gateway, which has its own."""
    return probatio.Schema(
        {
            key: value
            for key, value in settings_schema(current, []).schema.items()
            if key in _SUB_DEVICE_FIELDS
        }
    )


class DeviceSettingsMixin(ConfigSubentryFlow):
    """The settings steps of `DeviceSubentryFlow`. A device's finish by saving its
    subentry; those of one of a gateway's sub-devices (which have no subentry) by saving
    them in the hub's options."""

    def __init__(self) -> None:
        self._settings: dict[str, Any] = {}
        self._steps: list[str] = []
        self._sub_device: str | None = None
        """The gateway's sub-device being set, if it is one."""

    def _hub(self) -> RlinkCoordinator | None:
        data: RlinkData | None = getattr(self._get_entry(), "runtime_data", None)
        return data.coordinator if data is not None else None

    def _sub_devices(self) -> dict[str, str]:
        """The sub-devices of the gateway being reconfigured: uuid → name."""
        hub, gateway = self._hub(), self._get_reconfigure_subentry().data[CONF_UUID]
        if hub is None:
            return {}
        return {u: d.name for u, d in hub.devices.items() if d.gateway == gateway}

    def _current(self) -> Mapping[str, Any]:
        if self._sub_device is not None:
            devices: Mapping[str, Any] = self._get_entry().options.get(CONF_DEVICES, {})
            sub_device: Mapping[str, Any] = devices.get(self._sub_device, {})
            return sub_device
        current: Mapping[str, Any] = self._get_reconfigure_subentry().data.get(CONF_SETTINGS, {})
        return current

    def _kinds_ahead(self) -> list[str]:
        """The kind-specific steps this device needs, in order: the kinds chosen, or else
        those the hub worked out."""
        chosen = set(self._settings.get(CONF_KINDS) or [])
        if not chosen:
            hub = self._hub()
            uuid = self._sub_device or self._get_reconfigure_subentry().data[CONF_UUID]
            device = hub.devices.get(uuid) if hub is not None else None
            chosen = {str(k) for k in device.profile.kinds} if device is not None else set()
        steps = [step for kind, step in _KIND_STEPS.items() if kind in chosen]
        # Only a vacuum with a connection of its own uploads maps: no store for a sub-device.
        return [s for s in steps if s != "storage"] if self._sub_device else steps

    async def async_step_sub_devices(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which of the gateway's sub-devices to set."""
        subs = self._sub_devices()
        if not subs:
            return self.async_abort(reason="no_sub_devices")
        if user_input is not None:
            self._sub_device = user_input[CONF_SUB_DEVICE]
            return await self.async_step_sub_settings()
        options = [selector.SelectOptionDict(value=u, label=name) for u, name in subs.items()]
        return self.async_show_form(
            step_id="sub_devices",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_SUB_DEVICE): selector.SelectSelector(
                        selector.SelectSelectorConfig(options=options)
                    )
                }
            ),
            description_placeholders={"gateway": self._get_reconfigure_subentry().title},
        )

    async def async_step_sub_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """How Home Assistant reads one sub-device: kinds, sleeping, roles."""
        assert self._sub_device is not None
        current = self._current()
        if user_input is not None:
            self._settings = {
                **current,
                CONF_KINDS: list(user_input.get(CONF_KINDS) or []),
                CONF_SLEEPING: user_input.get(CONF_SLEEPING, AUTO),
                CONF_ROLES: _roles(user_input.get(CONF_ROLES)),
            }
            self._steps = self._kinds_ahead()
            return await self._next_step()
        return self.async_show_form(
            step_id="sub_settings",
            data_schema=sub_device_schema(current),
            description_placeholders={
                "device": self._sub_devices().get(self._sub_device, self._sub_device),
                "roles": ", ".join(ROLE_IDENTIFIERS),
            },
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        current = self._current()
        if user_input is not None:
            self._settings = {
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
        return self.async_show_form(
            step_id="settings",
            data_schema=settings_schema(current, zones),
            description_placeholders={
                "device": self._get_reconfigure_subentry().title,
                "roles": ", ".join(ROLE_IDENTIFIERS),
            },
        )

    async def _next_step(self) -> SubentryFlowResult:
        if self._steps:
            step: Callable[[], Awaitable[SubentryFlowResult]] = getattr(
                self, f"async_step_{self._steps.pop(0)}"
            )
            return await step()
        entry = self._get_entry()
        if self._sub_device is not None:
            devices = {**entry.options.get(CONF_DEVICES, {}), self._sub_device: self._settings}
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_DEVICES: devices}
            )
            return self.async_abort(reason="reconfigure_successful")
        return self.async_update_and_abort(
            entry, self._get_reconfigure_subentry(), data_updates={CONF_SETTINGS: self._settings}
        )

    async def async_step_lock(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """How to unlock: the password slot and password `remote_unlock` sends."""
        current = self._current()
        if user_input is not None:
            index = user_input.get(CONF_UNLOCK_INDEX)
            password = user_input.get(CONF_UNLOCK_PASSWORD) or current.get(CONF_UNLOCK_PASSWORD)
            self._settings[CONF_UNLOCK_INDEX] = int(index) if index is not None else None
            self._settings[CONF_UNLOCK_PASSWORD] = password or None
            return await self._next_step()
        return self.async_show_form(step_id="lock", data_schema=lock_schema(current))

    async def async_step_storage(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """An S3-compatible store the vacuum uploads maps and records to."""
        current = self._current()
        if user_input is not None:
            secret = user_input.get(CONF_STORE_SECRET_KEY) or current.get(CONF_STORE_SECRET_KEY)
            self._settings.update({key: user_input.get(key) or None for key in _STORE_FIELDS})
            self._settings[CONF_STORE_SECRET_KEY] = secret or None
            return await self._next_step()
        return self.async_show_form(step_id="storage", data_schema=storage_schema(current))
