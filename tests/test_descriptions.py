"""Device and state classes follow Home Assistant's own rules, or are left out."""

from __future__ import annotations

from typing import Any, cast

import pytest
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass

from custom_components.rlink import sensor
from custom_components.rlink.descriptions import display_precision, state_class_for, unit_and_class
from custom_components.rlink.device import RlinkDevice
from custom_components.rlink.protocol.model import (
    Access,
    DataType,
    ModelFormat,
    ObjectModel,
    Property,
)


def _prop(identifier: str, unit: str | None) -> Property:
    return Property(identifier, DataType.INT, unit=unit)


@pytest.mark.parametrize(
    ("identifier", "unit", "device_class"),
    [
        ("temperature", "℃", SensorDeviceClass.TEMPERATURE),
        ("battery", "%", SensorDeviceClass.BATTERY),
        ("humidity", "%", SensorDeviceClass.HUMIDITY),
        ("power", "W", SensorDeviceClass.POWER),
        ("clean_area", "m²", SensorDeviceClass.AREA),  # a vacuum's cleaned area
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
    ("prop", "state_class"),
    [
        (Property("energy", DataType.DOUBLE, unit="kWh"), SensorStateClass.TOTAL_INCREASING),
        (Property("temperature", DataType.INT, unit="°C"), SensorStateClass.MEASUREMENT),
        (Property("speed", DataType.INT, unit="rpm"), SensorStateClass.MEASUREMENT),
        # A float is a reading even without a unit (a power factor, a pH).
        (Property("power_factor", DataType.FLOAT), SensorStateClass.MEASUREMENT),
        (Property("ph", DataType.DOUBLE), SensorStateClass.MEASUREMENT),
        # An int with neither class nor unit is a fault code, a mode or a level.
        (Property("fault", DataType.INT), None),
        (Property("work_level", DataType.INT, min=0, max=3), None),
    ],
)
def test_statistics_only_for_quantities(
    prop: Property, state_class: SensorStateClass | None
) -> None:
    assert state_class_for(prop, unit_and_class(prop)) == state_class


@pytest.mark.parametrize("data_type", [DataType.STRUCT, DataType.ARRAY])
def test_no_statistics_of_how_many_members_a_value_has(data_type: DataType) -> None:
    model = ObjectModel(
        None, None, ModelFormat.COMPLETE, (Property("schedule", data_type, access=Access.READ),)
    )
    device = RlinkDevice("rn01a1b2c3d4e5f6", "pid1", "Timer")
    device.model = model
    (entity,) = [
        e for e in sensor.build(cast(Any, None), device) if e.unique_id.endswith("schedule")
    ]
    assert entity.entity_description.state_class is None
    assert entity.entity_description.entity_registry_enabled_default is False


@pytest.mark.parametrize(
    ("prop", "decimals"),
    [
        (Property("clean_area", DataType.INT, unit="m²"), 0),  # not "12.00 m²"
        (Property("temperature", DataType.FLOAT, unit="°C", step=0.1), 1),
        (Property("voltage", DataType.DOUBLE, unit="V", step=0.01), 2),
        (Property("power_factor", DataType.FLOAT), None),  # Home Assistant decides
    ],
)
def test_decimals_follow_the_model(prop: Property, decimals: int | None) -> None:
    assert display_precision(prop) == decimals
