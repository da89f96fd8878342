"""Device and state classes follow Home Assistant's own rules, or are left out."""

from __future__ import annotations

import pytest
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass

from custom_components.rlink.descriptions import state_class_for, unit_and_class
from custom_components.rlink.protocol.model import DataType, Property


def _prop(identifier: str, unit: str | None) -> Property:
    return Property(identifier, DataType.INT, unit=unit)


@pytest.mark.parametrize(
    ("identifier", "unit", "device_class"),
    [
        ("temperature", "℃", SensorDeviceClass.TEMPERATURE),
        ("battery", "%", SensorDeviceClass.BATTERY),
        ("humidity", "%", SensorDeviceClass.HUMIDITY),
        ("power", "W", SensorDeviceClass.POWER),
        # The identifier says temperature, the unit does not: no class rather than a wrong one.
        ("temperature", None, None),
        ("temperature", "%", None),
        ("battery", "mV", SensorDeviceClass.VOLTAGE),  # the unit's own class still fits
        ("rssi", "%", None),
        ("level", "%", None),
    ],
)
def test_a_device_class_only_with_a_unit_it_allows(
    identifier: str, unit: str | None, device_class: SensorDeviceClass | None
) -> None:
    assert unit_and_class(_prop(identifier, unit)).device_class == device_class


@pytest.mark.parametrize(
    ("device_class", "unit", "state_class"),
    [
        (SensorDeviceClass.ENERGY, "kWh", SensorStateClass.TOTAL_INCREASING),
        (SensorDeviceClass.TEMPERATURE, "°C", SensorStateClass.MEASUREMENT),
        (None, "rpm", SensorStateClass.MEASUREMENT),
        (None, None, None),  # a fault code or an enum-like number keeps no statistics
    ],
)
def test_statistics_only_for_quantities(
    device_class: SensorDeviceClass | None, unit: str | None, state_class: SensorStateClass | None
) -> None:
    assert state_class_for(device_class, unit) == state_class
