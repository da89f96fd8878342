"""Generic entities read what devices report, whatever its shape, and write the model's type.

Devices report numbers as numbers or text, booleans as 0/1, dates as UTC milliseconds;
the entities show what makes sense and nothing (None) for what does not. A fake runtime
records writes; the end-to-end tests drive the same entities over MQTT.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from homeassistant.components.number import NumberDeviceClass
from homeassistant.components.sensor import SensorDeviceClass

from custom_components.rlink import binary_sensor, button, number, sensor, text
from custom_components.rlink.device import RlinkDevice
from custom_components.rlink.entity import RlinkEntity
from custom_components.rlink.protocol.codes import DeviceCommand as Cmd
from custom_components.rlink.protocol.model import (
    Access,
    DataType,
    ModelFormat,
    ObjectModel,
    Property,
)

RW, R = Access.READ_WRITE, Access.READ


class FakeRuntime:
    def __init__(self) -> None:
        self.writes: list[dict[str, Any]] = []
        self.commands: list[tuple[str, Cmd, dict[str, Any]]] = []

    async def async_set_properties(self, device: RlinkDevice, values: dict[str, Any]) -> None:
        self.writes.append(values)

    def target(self, device: RlinkDevice) -> str:
        return device.gateway or device.uuid

    async def async_command(self, target: str, code: Cmd, data: dict[str, Any], **_: Any) -> None:
        self.commands.append((target, code, data))


def _entities(
    builder: Any, *props: Property, gateway: str | None = None
) -> tuple[FakeRuntime, RlinkDevice, dict[str, RlinkEntity]]:
    device = RlinkDevice("rn01a1b2c3d4e5f6", "pid1", "Meter", gateway=gateway)
    device.model = ObjectModel(None, None, ModelFormat.COMPLETE, props)
    hub = FakeRuntime()
    built = builder(hub, device)
    return hub, device, {e.entity_description.identifier: e for e in built}


@pytest.mark.parametrize(
    ("reported", "shown"),
    [(21.5, 21.5), ("21.5", 21.5), (True, 1), (7, 7), ("warm", None), (None, None), ([1], None)],
)
def test_a_numeric_sensor_shows_numbers_only(reported: Any, shown: Any) -> None:
    _, device, entities = _entities(
        sensor.build, Property("temperature", DataType.FLOAT, access=R, unit="°C")
    )
    device.values["temperature"] = reported
    assert entities["temperature"].native_value == shown  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("reported", "shown"),
    [
        (1702350598000, datetime(2023, 12, 12, 3, 9, 58, tzinfo=UTC)),
        ("1702350598000", datetime(2023, 12, 12, 3, 9, 58, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        (10**30, None),
    ],
)
def test_a_date_sensor_reads_utc_milliseconds(reported: Any, shown: Any) -> None:
    _, device, entities = _entities(sensor.build, Property("last_seen", DataType.DATE, access=R))
    entity = entities["last_seen"]
    assert entity.entity_description.device_class is SensorDeviceClass.TIMESTAMP
    device.values["last_seen"] = reported
    assert entity.native_value == shown  # type: ignore[attr-defined]


def test_a_text_sensor_is_cut_to_what_a_state_holds() -> None:
    _, device, entities = _entities(sensor.build, Property("note", DataType.TEXT, access=R))
    device.values["note"] = "x" * 1000
    assert entities["note"].native_value == "x" * 255  # type: ignore[attr-defined]
    device.values["note"] = 42
    assert entities["note"].native_value == "42"  # type: ignore[attr-defined]


def test_a_struct_sensor_counts_its_members_and_shows_them() -> None:
    _, device, entities = _entities(sensor.build, Property("timer", DataType.STRUCT, access=R))
    entity = entities["timer"]
    assert entity.native_value is None  # type: ignore[attr-defined]
    device.values["timer"] = {"on": "07:00", "off": "23:00"}
    assert entity.native_value == 2  # type: ignore[attr-defined]
    assert entity.extra_state_attributes == {"value": {"on": "07:00", "off": "23:00"}}


@pytest.mark.parametrize(
    ("data_type", "reported", "shown"),
    [
        (DataType.INT, 42, 42),
        (DataType.INT, "42", 42),
        (DataType.INT, 42.5, 42.5),  # off the model's grid, shown as it is
        (DataType.FLOAT, "1.25", 1.25),
        (DataType.FLOAT, "high", None),
        (DataType.FLOAT, True, None),
        (DataType.FLOAT, None, None),
    ],
)
def test_a_number_reads_numbers_and_numeric_text(
    data_type: DataType, reported: Any, shown: Any
) -> None:
    _, device, entities = _entities(number.build, Property("level", data_type, access=RW))
    device.values["level"] = reported
    value = entities["level"].native_value  # type: ignore[attr-defined]
    assert value == shown
    assert type(value) is type(shown)


async def test_a_number_writes_the_model_s_type() -> None:
    hub, _, entities = _entities(
        number.build,
        Property("countdown", DataType.INT, access=RW, min=0, max=86400, unit="s"),
        Property("target", DataType.FLOAT, access=RW, min=5, max=35, step=0.5, unit="°C"),
    )
    countdown, target = entities["countdown"], entities["target"]
    await countdown.async_set_native_value(41.6)  # type: ignore[attr-defined]
    await target.async_set_native_value(21.5)  # type: ignore[attr-defined]
    assert hub.writes == [{"countdown": 42}, {"target": 21.5}]
    assert countdown.entity_description.device_class is NumberDeviceClass.DURATION
    assert target.entity_description.device_class is NumberDeviceClass.TEMPERATURE
    assert (target.native_min_value, target.native_max_value, target.native_step) == (5, 35, 0.5)  # type: ignore[attr-defined]


def test_a_number_without_a_fitting_unit_has_no_device_class() -> None:
    _, _, entities = _entities(
        number.build, Property("temperature", DataType.INT, access=RW, unit="%")
    )
    assert entities["temperature"].entity_description.device_class is None


async def test_text_reads_text_only_and_writes_it() -> None:
    hub, device, entities = _entities(
        text.build, Property("greeting", DataType.TEXT, access=RW, length=32)
    )
    entity = entities["greeting"]
    device.values["greeting"] = 12
    assert entity.native_value is None  # type: ignore[attr-defined]
    device.values["greeting"] = "Welcome"
    assert entity.native_value == "Welcome"  # type: ignore[attr-defined]
    await entity.async_set_value("Bye")  # type: ignore[attr-defined]
    assert hub.writes == [{"greeting": "Bye"}]


@pytest.mark.parametrize(
    ("reported", "shown"), [(1, True), (0, False), ("1", True), (None, None), ("ajar", None)]
)
def test_a_binary_sensor_reads_the_model_s_booleans(reported: Any, shown: bool | None) -> None:
    _, device, entities = _entities(
        binary_sensor.build, Property("doorcontact_state", DataType.BOOL, access=R)
    )
    device.values["doorcontact_state"] = reported
    assert entities["doorcontact_state"].is_on is shown  # type: ignore[attr-defined]


async def test_rebooting_a_sub_device_goes_through_its_gateway() -> None:
    hub, device, entities = _entities(button.build, gateway="rn01gateway00001")
    await entities["button_reboot"].async_press()  # type: ignore[attr-defined]
    assert hub.commands == [("rn01gateway00001", Cmd.REBOOT, {"subUuid": device.uuid})]
