"""From object model properties to entity platforms, units and device classes, by table.

Platform modules ask `properties_for(device, platform)` which properties they represent and
use `unit_and_class` and `display_name` to describe them. Nothing here reads MQTT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypedDict

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.components.sensor.const import DEVICE_CLASS_STATE_CLASSES, DEVICE_CLASS_UNITS
from homeassistant.const import (
    LIGHT_LUX,
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    Platform,
    UnitOfArea,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfLength,
    UnitOfMass,
    UnitOfPower,
    UnitOfPressure,
    UnitOfRatio,
    UnitOfSoundPressure,
    UnitOfTemperature,
    UnitOfTime,
    UnitOfVolume,
)

from .device import RlinkDevice
from .protocol.model import NUMERIC_TYPES, DataType, Property

_NUMBER = frozenset(NUMERIC_TYPES)
_FRACTIONAL = frozenset({DataType.FLOAT, DataType.DOUBLE})

# (data type, writable) -> platform. DESIGN §5.
_PLATFORMS: Final[Mapping[tuple[DataType, bool], Platform]] = MappingProxyType(
    {
        (DataType.BOOL, True): Platform.SWITCH,
        (DataType.BOOL, False): Platform.BINARY_SENSOR,
        **{(t, True): Platform.NUMBER for t in _NUMBER},
        **{(t, False): Platform.SENSOR for t in _NUMBER},
        (DataType.ENUM, True): Platform.SELECT,
        (DataType.ENUM, False): Platform.SENSOR,
        (DataType.TEXT, True): Platform.TEXT,
        (DataType.TEXT, False): Platform.SENSOR,
        (DataType.DATE, True): Platform.SENSOR,
        (DataType.DATE, False): Platform.SENSOR,
        (DataType.STRUCT, True): Platform.SENSOR,
        (DataType.STRUCT, False): Platform.SENSOR,
        (DataType.ARRAY, True): Platform.SENSOR,
        (DataType.ARRAY, False): Platform.SENSOR,
    }
)


@dataclass(frozen=True, slots=True)
class UnitInfo:
    unit: str | None
    device_class: SensorDeviceClass | None = None


# Units as models spell them -> Home Assistant unit and the device class it implies.
_UNITS: Final[Mapping[str, UnitInfo]] = MappingProxyType(
    {
        "°C": UnitInfo(UnitOfTemperature.CELSIUS, SensorDeviceClass.TEMPERATURE),
        "℃": UnitInfo(UnitOfTemperature.CELSIUS, SensorDeviceClass.TEMPERATURE),
        "C": UnitInfo(UnitOfTemperature.CELSIUS, SensorDeviceClass.TEMPERATURE),
        "°F": UnitInfo(UnitOfTemperature.FAHRENHEIT, SensorDeviceClass.TEMPERATURE),
        "℉": UnitInfo(UnitOfTemperature.FAHRENHEIT, SensorDeviceClass.TEMPERATURE),
        "%": UnitInfo(PERCENTAGE),
        "m²": UnitInfo(UnitOfArea.SQUARE_METERS, SensorDeviceClass.AREA),
        "m2": UnitInfo(UnitOfArea.SQUARE_METERS, SensorDeviceClass.AREA),
        "㎡": UnitInfo(UnitOfArea.SQUARE_METERS, SensorDeviceClass.AREA),
        "W": UnitInfo(UnitOfPower.WATT, SensorDeviceClass.POWER),
        "kW": UnitInfo(UnitOfPower.KILO_WATT, SensorDeviceClass.POWER),
        "Wh": UnitInfo(UnitOfEnergy.WATT_HOUR, SensorDeviceClass.ENERGY),
        "kWh": UnitInfo(UnitOfEnergy.KILO_WATT_HOUR, SensorDeviceClass.ENERGY),
        "V": UnitInfo(UnitOfElectricPotential.VOLT, SensorDeviceClass.VOLTAGE),
        "mV": UnitInfo(UnitOfElectricPotential.MILLIVOLT, SensorDeviceClass.VOLTAGE),
        "A": UnitInfo(UnitOfElectricCurrent.AMPERE, SensorDeviceClass.CURRENT),
        "mA": UnitInfo(UnitOfElectricCurrent.MILLIAMPERE, SensorDeviceClass.CURRENT),
        "lx": UnitInfo(LIGHT_LUX, SensorDeviceClass.ILLUMINANCE),
        "lux": UnitInfo(LIGHT_LUX, SensorDeviceClass.ILLUMINANCE),
        "ppm": UnitInfo(UnitOfRatio.PARTS_PER_MILLION),
        "dB": UnitInfo(UnitOfSoundPressure.DECIBEL, SensorDeviceClass.SOUND_PRESSURE),
        "dBm": UnitInfo(SIGNAL_STRENGTH_DECIBELS_MILLIWATT, SensorDeviceClass.SIGNAL_STRENGTH),
        "ms": UnitInfo(UnitOfTime.MILLISECONDS, SensorDeviceClass.DURATION),
        "s": UnitInfo(UnitOfTime.SECONDS, SensorDeviceClass.DURATION),
        "min": UnitInfo(UnitOfTime.MINUTES, SensorDeviceClass.DURATION),
        "h": UnitInfo(UnitOfTime.HOURS, SensorDeviceClass.DURATION),
        "d": UnitInfo(UnitOfTime.DAYS, SensorDeviceClass.DURATION),
        "Pa": UnitInfo(UnitOfPressure.PA, SensorDeviceClass.PRESSURE),
        "hPa": UnitInfo(UnitOfPressure.HPA, SensorDeviceClass.PRESSURE),
        "kPa": UnitInfo(UnitOfPressure.KPA, SensorDeviceClass.PRESSURE),
        "mm": UnitInfo(UnitOfLength.MILLIMETERS, SensorDeviceClass.DISTANCE),
        "cm": UnitInfo(UnitOfLength.CENTIMETERS, SensorDeviceClass.DISTANCE),
        "m": UnitInfo(UnitOfLength.METERS, SensorDeviceClass.DISTANCE),
        "g": UnitInfo(UnitOfMass.GRAMS, SensorDeviceClass.WEIGHT),
        "kg": UnitInfo(UnitOfMass.KILOGRAMS, SensorDeviceClass.WEIGHT),
        "L": UnitInfo(UnitOfVolume.LITERS, SensorDeviceClass.VOLUME),
        "mL": UnitInfo(UnitOfVolume.MILLILITERS, SensorDeviceClass.VOLUME),
        "m³": UnitInfo(UnitOfVolume.CUBIC_METERS, SensorDeviceClass.VOLUME),
        "Hz": UnitInfo(UnitOfFrequency.HERTZ, SensorDeviceClass.FREQUENCY),
    }
)

# A unit alone can be ambiguous (% is battery, humidity or a level): the identifier decides.
_IDENTIFIER_CLASSES: Final[Mapping[str, SensorDeviceClass]] = MappingProxyType(
    {
        "battery": SensorDeviceClass.BATTERY,
        "battery_percentage": SensorDeviceClass.BATTERY,
        "humidity": SensorDeviceClass.HUMIDITY,
        "temperature": SensorDeviceClass.TEMPERATURE,
        "rssi": SensorDeviceClass.SIGNAL_STRENGTH,
        "co2": SensorDeviceClass.CO2,
        "pm25": SensorDeviceClass.PM25,
        "pm10": SensorDeviceClass.PM10,
        "illuminance": SensorDeviceClass.ILLUMINANCE,
    }
)

_BINARY_CLASSES: Final[Mapping[str, BinarySensorDeviceClass]] = MappingProxyType(
    {
        "door": BinarySensorDeviceClass.DOOR,
        "doorcontact_state": BinarySensorDeviceClass.DOOR,
        "contact": BinarySensorDeviceClass.OPENING,
        "window": BinarySensorDeviceClass.WINDOW,
        "motion": BinarySensorDeviceClass.MOTION,
        "pir": BinarySensorDeviceClass.MOTION,
        "presence": BinarySensorDeviceClass.OCCUPANCY,
        "smoke": BinarySensorDeviceClass.SMOKE,
        "gas": BinarySensorDeviceClass.GAS,
        "water_leak": BinarySensorDeviceClass.MOISTURE,
        "tamper": BinarySensorDeviceClass.TAMPER,
        "battery_low": BinarySensorDeviceClass.BATTERY,
        "charging": BinarySensorDeviceClass.BATTERY_CHARGING,
    }
)

# Energy counters only grow; other measured quantities are measurements.
_STATE_CLASSES: Final[Mapping[SensorDeviceClass, SensorStateClass]] = MappingProxyType(
    {SensorDeviceClass.ENERGY: SensorStateClass.TOTAL_INCREASING}
)

# Identifiers with a translated standard name (entity.<platform>.<key> in strings.json).
STANDARD_NAMES: Final[Mapping[tuple[Platform, str], str]] = MappingProxyType(
    {
        (Platform.SWITCH, "switch"): "power",
        (Platform.SWITCH, "switch_led"): "light",
        (Platform.NUMBER, "countdown"): "countdown",
        (Platform.NUMBER, "brightness"): "brightness",
        (Platform.SELECT, "work_mode"): "work_mode",
        (Platform.SELECT, "volume"): "volume",
        (Platform.SWITCH, "motion_detect"): "motion_detection",
        (Platform.SWITCH, "permit_join"): "permit_join",
        (Platform.SELECT, "night_vision"): "night_vision",
        (Platform.SENSOR, "power"): "power_draw",
        (Platform.SENSOR, "clean_area"): "cleaned_area",
        (Platform.SENSOR, "clean_time"): "cleaning_time",
    }
)

# Identifiers whose sensor is named by its device class (Home Assistant translates those).
_CLASS_NAMED: Final = frozenset({"battery", "temperature", "humidity", "energy"})

# Options with a translated label, per identifier: an enum value whose model label, in lower
# case with underscores, is one of these shows as that option (entity.<platform>.<key>.state);
# any other value shows as its label.
KNOWN_OPTIONS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "work_mode": frozenset({"white", "colour", "scene", "music"}),
        "volume": frozenset({"mute", "low", "medium", "high"}),
        "night_vision": frozenset({"auto", "on", "off"}),
        "suction": frozenset({"quiet", "standard", "strong", "max"}),
        "status": frozenset({"standby", "cleaning", "paused", "returning", "charging", "fault"}),
    }
)


def platform_for(prop: Property) -> Platform:
    """The platform a model property becomes (read-only when the model does not say)."""
    return _PLATFORMS[(prop.type, prop.access is not None and prop.writable)]


def properties_for(device: RlinkDevice, platform: Platform) -> list[Property]:
    """The properties `platform` shows, leaving out those a composite entity shows."""
    if device.model is None:
        return []
    claimed = device.profile.claimed
    return [
        p
        for p in device.model.properties
        if platform_for(p) is platform and p.identifier not in claimed
    ]


def _class_allows(device_class: SensorDeviceClass, unit: str | None) -> bool:
    """Whether Home Assistant accepts the unit for the device class (its own table)."""
    allowed = DEVICE_CLASS_UNITS.get(device_class)
    return allowed is None or unit in allowed


def unit_and_class(prop: Property) -> UnitInfo:
    """The unit, and a device class only where Home Assistant accepts it with that unit:
    the identifier's class first (``%`` alone could be anything), then the unit's."""
    info = _UNITS.get(prop.unit or "", UnitInfo(prop.unit or None))
    named = _IDENTIFIER_CLASSES.get(prop.identifier.lower())
    for candidate in (named, info.device_class):
        if candidate is not None and _class_allows(candidate, info.unit):
            return UnitInfo(info.unit, candidate)
    return UnitInfo(info.unit, None)


def display_precision(prop: Property) -> int | None:
    """Decimals to show: none for a whole number, as many as the model's step has for a
    fraction; without a step, Home Assistant's own choice for the unit."""
    if prop.type not in _FRACTIONAL:
        return 0
    if prop.step is None:
        return None
    decimals = f"{prop.step:.6f}".rstrip("0").partition(".")[2]
    return len(decimals)


def state_class_for(prop: Property, info: UnitInfo) -> SensorStateClass | None:
    """Long-term statistics for quantities only. The model's data type says which numbers
    are quantities: a unit makes one, and so does a float or double (a fraction is a
    reading); an int with neither class nor unit is a fault code, a mode or a level."""
    if info.device_class is None:
        if info.unit or prop.type in _FRACTIONAL:
            return SensorStateClass.MEASUREMENT
        return None
    preferred = _STATE_CLASSES.get(info.device_class, SensorStateClass.MEASUREMENT)
    allowed = DEVICE_CLASS_STATE_CLASSES.get(info.device_class, set())
    return preferred if preferred in allowed else None


def binary_class_for(prop: Property) -> BinarySensorDeviceClass | None:
    return _BINARY_CLASSES.get(prop.identifier.lower())


def humanize(identifier: str) -> str:
    """``switch_led`` -> ``Switch led``; ``colorTemp`` -> ``Color temp``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", identifier).replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:].lower() if spaced else identifier


def display_name(prop: Property) -> str:
    return prop.name or humanize(prop.identifier)


def _option(prop: Property, value: str) -> str:
    """The option an enum value shows as: a translated one when its label names one."""
    label = prop.enum_labels.get(value, value)
    key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return key if key in KNOWN_OPTIONS.get(prop.identifier, ()) else label


def enum_options(prop: Property) -> list[str]:
    """Select / enum sensor options: translated ones, else the model's labels."""
    return [_option(prop, value) for value in prop.enums]


def enum_label(prop: Property, value: object) -> str | None:
    if value is None:
        return None
    text = str(int(value)) if isinstance(value, bool) else str(value)
    return _option(prop, text) if text in prop.enums else None


def enum_value(prop: Property, label: str) -> str:
    for value in prop.enums:
        if _option(prop, value) == label:
            return value
    return label


class Naming(TypedDict, total=False):
    """The keywords an entity description takes for its name."""

    translation_key: str
    name: str


def naming(platform: Platform, prop: Property) -> Naming:
    """Description keywords for the name: a translated standard name, the device class's
    name (a battery is "Battery"), or the model's. An enum of a known identifier keeps its
    translation key even when named by the model, for its options' labels."""
    key = STANDARD_NAMES.get((platform, prop.identifier))
    if key:
        return Naming(translation_key=key)
    if (
        platform is Platform.SENSOR
        and prop.identifier in _CLASS_NAMED
        and unit_and_class(prop).device_class is not None
    ):
        return Naming()
    if prop.type is DataType.ENUM and prop.identifier in KNOWN_OPTIONS:
        return Naming(translation_key=prop.identifier, name=display_name(prop))
    return Naming(name=display_name(prop))
