"""Sensors: read-only properties of every type, and each device's connection details."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .descriptions import (
    display_precision,
    enum_label,
    enum_options,
    naming,
    properties_for,
    state_class_for,
    unit_and_class,
)
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription
from .kinds import Kind
from .lock_codes import public
from .protocol.model import NUMERIC_TYPES, DataType, Property

PARALLEL_UPDATES = 0

NETWORK_TYPES: Final = {1: "wifi", 2: "wired"}


@dataclass(frozen=True, kw_only=True)
class RlinkSensorDescription(RlinkEntityDescription, SensorEntityDescription):
    """A sensor for a read-only property or a device-level datum."""

    attributes_fn: Callable[[RlinkDevice], Mapping[str, Any] | None] = lambda _device: None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except TypeError, ValueError:
        return None


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except TypeError, ValueError, OverflowError, OSError:
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:255]


def _numeric(prop: Property) -> dict[str, Any]:
    info = unit_and_class(prop)
    return {
        "native_unit_of_measurement": info.unit,
        "device_class": info.device_class,
        "state_class": state_class_for(prop, info),
        "suggested_display_precision": display_precision(prop),
        "value_fn": lambda d: _number(d.values.get(prop.identifier)),
    }


def _enum(prop: Property) -> dict[str, Any]:
    return {
        "device_class": SensorDeviceClass.ENUM,
        "options": enum_options(prop),
        "value_fn": lambda d: enum_label(prop, d.values.get(prop.identifier)),
    }


def _date(prop: Property) -> dict[str, Any]:
    return {
        "device_class": SensorDeviceClass.TIMESTAMP,
        "value_fn": lambda d: _timestamp(d.values.get(prop.identifier)),
    }


def _composite(prop: Property) -> dict[str, Any]:
    def count(device: RlinkDevice) -> int | None:
        value = device.values.get(prop.identifier)
        return len(value) if isinstance(value, dict | list) else None

    # The count of members or items is no quantity to keep statistics of.
    return {
        "entity_registry_enabled_default": False,
        "value_fn": count,
        "attributes_fn": lambda d: {"value": d.values.get(prop.identifier)},
    }


def _plain_text(prop: Property) -> dict[str, Any]:
    return {"value_fn": lambda d: _text(d.values.get(prop.identifier))}


# Data type -> how a read-only property of that type is shown.
_BY_TYPE: Final[Mapping[DataType, Callable[[Property], dict[str, Any]]]] = {
    **dict.fromkeys(NUMERIC_TYPES, _numeric),
    DataType.ENUM: _enum,
    DataType.DATE: _date,
    DataType.STRUCT: _composite,
    DataType.ARRAY: _composite,
    DataType.TEXT: _plain_text,
}


def _network(key: str) -> Callable[[RlinkDevice], Any]:
    return lambda d: d.network.get(key)


# Connection details and versions are added disabled, as core does with signal strength
# and network details: few look at them, and each would be one more entity per device.
# The firmware version is shown by the update entity and on the device's page anyway.
DIAGNOSTICS: Final = (
    RlinkSensorDescription(
        key="signal",
        identifier="diag_signal",
        translation_key="signal",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        watch=frozenset({"signalValue"}),
        value_fn=lambda d: _number(d.network.get("signalValue")),
    ),
    RlinkSensorDescription(
        key="network_type",
        identifier="diag_network_type",
        translation_key="network_type",
        device_class=SensorDeviceClass.ENUM,
        options=list(NETWORK_TYPES.values()),
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        watch=frozenset({"networkType"}),
        value_fn=lambda d: NETWORK_TYPES.get(d.network.get("networkType")),  # type: ignore[arg-type]
    ),
    RlinkSensorDescription(
        key="ssid",
        identifier="diag_ssid",
        translation_key="ssid",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        watch=frozenset({"currentSsid"}),
        value_fn=_network("currentSsid"),
    ),
)
VERSIONS: Final = (
    RlinkSensorDescription(
        key="firmware_version",
        identifier="diag_firmware_version",
        translation_key="firmware_version",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        watch=frozenset({"version"}),
        value_fn=lambda d: d.version,
    ),
    RlinkSensorDescription(
        key="mcu_version",
        identifier="diag_mcu_version",
        translation_key="mcu_version",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        watch=frozenset({"mcu_version"}),
        value_fn=lambda d: d.mcu_version,
    ),
)


PASSWORDS: Final = RlinkSensorDescription(
    key="passwords",
    identifier="lock_passwords",
    translation_key="passwords",
    entity_category=EntityCategory.DIAGNOSTIC,
    state_class=SensorStateClass.MEASUREMENT,
    watch=frozenset({"passwords"}),
    value_fn=lambda d: len(d.passwords),
    attributes_fn=lambda d: {"passwords": [public(p) for p in d.passwords]},
)
SHOWN_RECORDS: Final = 10


def _cleaning_records(coordinator: RlinkCoordinator) -> RlinkSensorDescription:
    def records(device: RlinkDevice) -> list[dict[str, Any]]:
        store = coordinator.sweepers.get(device.uuid)
        return store.records if store is not None else []

    return RlinkSensorDescription(
        key="cleaning_records",
        identifier="vacuum_records",
        translation_key="cleaning_records",
        state_class=SensorStateClass.TOTAL,
        watch=frozenset({"sweeper"}),
        value_fn=lambda d: len(records(d)),
        attributes_fn=lambda d: {"records": list(reversed(records(d)[-SHOWN_RECORDS:]))},
    )


def _kind_sensors(
    coordinator: RlinkCoordinator, device: RlinkDevice
) -> list[RlinkSensorDescription]:
    descriptions = []
    if device.profile.has(Kind.LOCK):
        descriptions.append(PASSWORDS)
    if device.profile.has(Kind.VACUUM) and coordinator.transport.keeps_vacuum_maps:
        descriptions.append(_cleaning_records(coordinator))
    return descriptions


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    entities: list[RlinkEntity] = [
        RlinkSensor(
            coordinator,
            device,
            RlinkSensorDescription(
                key=prop.identifier,
                identifier=prop.identifier,
                prop=prop,
                **naming(Platform.SENSOR, prop),
                **_BY_TYPE[prop.type](prop),
            ),
        )
        for prop in properties_for(device, Platform.SENSOR)
    ]
    device_level = VERSIONS if device.gateway else DIAGNOSTICS + VERSIONS
    entities += [
        RlinkSensor(coordinator, device, description)
        for description in (*device_level, *_kind_sensors(coordinator, device))
    ]
    return entities


class RlinkSensor(RlinkEntity, SensorEntity):
    entity_description: RlinkSensorDescription

    @property
    def native_value(self) -> Any:
        return self.reported_value

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        return self.entity_description.attributes_fn(self.device)


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.SENSOR, build, async_add_entities)
