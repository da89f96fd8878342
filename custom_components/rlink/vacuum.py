"""Robot vacuums: activity, fan speed and the usual commands, from the model's properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from homeassistant.components.vacuum import StateVacuumEntity, StateVacuumEntityDescription
from homeassistant.components.vacuum.const import VacuumActivity, VacuumEntityFeature
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .descriptions import enum_label, enum_options, enum_value
from .device import RlinkDevice
from .entity import CompositeEntity, RlinkEntity, RlinkEntityDescription
from .kinds import Kind

PARALLEL_UPDATES = 0

# A status value, or its label, -> activity. Numbers follow the common rlink sweeper model.
STATUS_ACTIVITY: Final[Mapping[str, VacuumActivity]] = MappingProxyType(
    {
        "0": VacuumActivity.IDLE,
        "1": VacuumActivity.CLEANING,
        "2": VacuumActivity.PAUSED,
        "3": VacuumActivity.RETURNING,
        "4": VacuumActivity.DOCKED,
        "5": VacuumActivity.ERROR,
        "standby": VacuumActivity.IDLE,
        "idle": VacuumActivity.IDLE,
        "sleep": VacuumActivity.IDLE,
        "cleaning": VacuumActivity.CLEANING,
        "sweeping": VacuumActivity.CLEANING,
        "mopping": VacuumActivity.CLEANING,
        "smart": VacuumActivity.CLEANING,
        "paused": VacuumActivity.PAUSED,
        "pause": VacuumActivity.PAUSED,
        "returning": VacuumActivity.RETURNING,
        "goto_charge": VacuumActivity.RETURNING,
        "charging": VacuumActivity.DOCKED,
        "charge_done": VacuumActivity.DOCKED,
        "docked": VacuumActivity.DOCKED,
        "fault": VacuumActivity.ERROR,
        "error": VacuumActivity.ERROR,
    }
)

# Role -> the feature it enables.
_ROLE_FEATURES: Final[Mapping[str, VacuumEntityFeature]] = MappingProxyType(
    {
        "return_home": VacuumEntityFeature.RETURN_HOME,
        "locate": VacuumEntityFeature.LOCATE,
        "fan_speed": VacuumEntityFeature.FAN_SPEED,
    }
)


@dataclass(frozen=True, kw_only=True)
class RlinkVacuumDescription(RlinkEntityDescription, StateVacuumEntityDescription):
    """The vacuum of a device."""


# The device's name; the translation key gives the fan speeds their labels.
VACUUM: Final = RlinkVacuumDescription(
    key="vacuum", identifier="vacuum", name=None, translation_key="vacuum"
)


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    if not device.profile.has(Kind.VACUUM) or device.profile.role("start") is None:
        return []
    return [RlinkVacuum(coordinator, device, VACUUM)]


class RlinkVacuum(CompositeEntity, StateVacuumEntity):
    entity_description: RlinkVacuumDescription
    roles = ("start", "pause", "status", "fan_speed", "locate", "return_home")

    @property
    def supported_features(self) -> VacuumEntityFeature:
        features = (
            VacuumEntityFeature.STATE
            | VacuumEntityFeature.START
            | VacuumEntityFeature.STOP
            | VacuumEntityFeature.PAUSE
        )
        for role, feature in _ROLE_FEATURES.items():
            if self.role(role) is not None:
                features |= feature
        return features

    @property
    def activity(self) -> VacuumActivity | None:
        prop, value = self.role("status"), self.role_value("status")
        if prop is not None and value is not None:
            label = (enum_label(prop, value) or "").lower()
            found = STATUS_ACTIVITY.get(label) or STATUS_ACTIVITY.get(str(value).lower())
            if found is not None:
                return found
        running = self.role_bool("start")
        if running is None:
            return None
        return VacuumActivity.CLEANING if running else VacuumActivity.IDLE

    @property
    def fan_speed(self) -> str | None:
        prop = self.role("fan_speed")
        return enum_label(prop, self.role_value("fan_speed")) if prop is not None else None

    @property
    def fan_speed_list(self) -> list[str]:
        prop = self.role("fan_speed")
        return enum_options(prop) if prop is not None else []

    async def async_start(self) -> None:
        values: dict[str, Any] = {"start": True}
        if self.role("pause") is not None:
            values["pause"] = False
        await self.async_write_roles(values)

    async def async_pause(self) -> None:
        if self.role("pause") is not None:
            await self.async_write_roles({"pause": True})
        else:
            await self.async_write_roles({"start": False})

    async def async_stop(self, **kwargs: Any) -> None:
        await self.async_write_roles({"start": False})

    async def async_return_to_base(self, **kwargs: Any) -> None:
        await self.async_write_roles({"return_home": True})

    async def async_locate(self, **kwargs: Any) -> None:
        await self.async_write_roles({"locate": True})

    async def async_set_fan_speed(self, fan_speed: str, **kwargs: Any) -> None:
        prop = self.role("fan_speed")
        value = enum_value(prop, fan_speed) if prop is not None else fan_speed
        await self.async_write_roles({"fan_speed": value})


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.VACUUM, build, async_add_entities)
