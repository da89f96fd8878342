"""Lights and locks read and write their roles the way the model defines them.

A fake runtime records what the entities would send; the end-to-end tests in
test_kind_lock_light.py cover the same entities over MQTT with the simulator.
"""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest
from homeassistant.components.light import ColorMode
from homeassistant.components.lock import LockEntityFeature
from homeassistant.exceptions import ServiceValidationError

from custom_components.rlink.device import RlinkDevice
from custom_components.rlink.kinds import resolve_profile
from custom_components.rlink.light import LIGHT, RlinkLight
from custom_components.rlink.lock import LOCK, REMOTE_UNLOCK_TYPE, RlinkLock
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
    """What the entities ask of a hub, recorded."""

    def __init__(self, options: dict[str, Any] | None = None, *, cloud: bool = False) -> None:
        self.options = options or {}
        self.entry = SimpleNamespace(data={})
        # A local hub's transport carries every command; a cloud account's no unlock.
        self.transport = SimpleNamespace(
            supports=lambda code: not (cloud and code == Cmd.REMOTE_UNLOCK),
            keeps_vacuum_maps=not cloud,
        )
        self.writes: list[dict[str, Any]] = []
        self.commands: list[tuple[Cmd, dict[str, Any]]] = []

    async def async_set_properties(self, device: RlinkDevice, values: dict[str, Any]) -> None:
        self.writes.append(values)
        device.values.update(values)

    def device_options(self, uuid: str) -> dict[str, Any]:
        return self.options

    def target(self, device: RlinkDevice) -> RlinkDevice:
        return device

    async def async_confirmed(
        self, target: RlinkDevice, code: Cmd, data: dict[str, Any], confirmed: Any
    ) -> None:
        confirmed.cancel()
        self.commands.append((code, data))


def _device(*props: Property, gateway: str | None = None) -> RlinkDevice:
    device = RlinkDevice("rn01a1b2c3d4e5f6", "pid1", "Porch", gateway=gateway)
    device.model = ObjectModel(None, None, ModelFormat.COMPLETE, props)
    device.profile = resolve_profile(device.model, (), {})
    return device


ON = Property("switch_led", DataType.BOOL, access=RW)
COLOUR = Property(
    "colour_data",
    DataType.STRUCT,
    access=RW,
    members=(
        Property("h", DataType.INT, max=360),
        Property("s", DataType.INT, max=1000),
        Property("v", DataType.INT, max=1000),
    ),
)


def _colour_light() -> tuple[FakeRuntime, RlinkDevice, RlinkLight]:
    device = _device(
        ON,
        Property("bright_value", DataType.INT, access=RW, min=10, max=1000, step=1),
        # Colour temperature as a share of the lamp's range, not in Kelvin.
        Property("temp_value", DataType.INT, access=RW, min=0, max=1000, step=1),
        COLOUR,
    )
    hub = FakeRuntime()
    return hub, device, RlinkLight(hub, device, LIGHT)  # type: ignore[arg-type]


async def test_a_colour_light_with_a_relative_colour_temperature() -> None:
    hub, device, light = _colour_light()
    assert light.supported_color_modes == {ColorMode.HS, ColorMode.COLOR_TEMP}
    assert light.color_mode is ColorMode.COLOR_TEMP
    assert (light.min_color_temp_kelvin, light.max_color_temp_kelvin) == (2700, 6500)
    assert (light.brightness, light.color_temp_kelvin, light.hs_color) == (None, None, None)

    device.values.update(temp_value=500, bright_value=1000, colour_data={"h": 30, "s": 250})
    assert light.color_temp_kelvin == 4600  # half way from warm to cold
    assert light.brightness == 255
    assert light.hs_color == (30.0, 25.0)

    await light.async_turn_on(hs_color=(240.4, 50.0))
    assert hub.writes[-1] == {
        "switch_led": True,
        "colour_data": {"h": 240, "s": 500, "v": 1000},
    }
    assert light.color_mode is ColorMode.HS

    # Kelvin outside the lamp's range lands on its end, on the model's grid.
    await light.async_turn_on(color_temp_kelvin=2000, brightness=1)
    # Home Assistant's 1 of 255 is the first of the lamp's 991 steps above its floor.
    assert hub.writes[-1] == {"switch_led": True, "bright_value": 13, "temp_value": 0}
    assert light.color_mode is ColorMode.COLOR_TEMP
    await light.async_turn_on(color_temp_kelvin=5650)
    assert hub.writes[-1]["temp_value"] == 776

    await light.async_turn_off()
    assert hub.writes[-1] == {"switch_led": False}


@pytest.mark.parametrize(
    ("props", "modes"),
    [
        ((ON,), {ColorMode.ONOFF}),
        ((ON, Property("brightness", DataType.FLOAT, access=RW, min=0, max=1)), None),
    ],
)
def test_light_modes_without_colour(
    props: tuple[Property, ...], modes: set[ColorMode] | None
) -> None:
    device = _device(*props)
    device.profile = resolve_profile(device.model, (), {"kinds": ["light"]})
    light = RlinkLight(FakeRuntime(), device, LIGHT)  # type: ignore[arg-type]
    assert light.supported_color_modes == (modes or {ColorMode.BRIGHTNESS})
    assert light.color_mode in light.supported_color_modes


async def test_a_fractional_dimmer_is_scaled_as_a_share_of_its_range() -> None:
    device = _device(ON, Property("brightness", DataType.FLOAT, access=RW, min=0, max=1))
    hub = FakeRuntime()
    light = RlinkLight(hub, device, LIGHT)  # type: ignore[arg-type]
    await light.async_turn_on(brightness=128)
    # Half of Home Assistant's range is half of the lamp's; no step, so not rounded to one.
    assert hub.writes[-1] == {"switch_led": True, "brightness": 0.501961}
    device.values["brightness"] = 0.25
    assert light.brightness == 64
    device.values["brightness"] = 1
    assert light.brightness == 255


LOCK_STATE = Property(
    "lock_state",
    DataType.ENUM,
    access=RW,
    enums=("3", "7", "9"),
    enum_labels=MappingProxyType({"3": "Open", "7": "Closed", "9": "Jammed"}),
)


async def test_an_enum_lock_reads_its_labels_and_locks_with_the_locked_one() -> None:
    device = _device(LOCK_STATE)
    hub = FakeRuntime()
    lock = RlinkLock(hub, device, LOCK)  # type: ignore[arg-type]
    assert lock.is_locked is None
    assert lock.is_jammed is None
    for value, locked, jammed in (("7", True, False), ("3", False, False), ("9", None, True)):
        device.values["lock_state"] = value
        assert (lock.is_locked, lock.is_jammed) == (locked, jammed)
    assert lock.state == "jammed"
    # It can be locked, so "Lock" is real and no "Open" is offered beside "Unlock".
    assert not lock.locks_itself
    assert lock.supported_features == LockEntityFeature(0)
    await lock.async_lock()
    assert hub.writes == [{"lock_state": "7"}]


SELF_LOCKING = (
    Property("lock_state", DataType.BOOL, access=R),
    # Writable, but no value of it means "locked".
    Property("lock_state", DataType.ENUM, access=RW, enums=("0", "2")),
)


@pytest.mark.parametrize("prop", SELF_LOCKING)
async def test_a_lock_that_locks_itself_offers_open_and_refuses_to_lock(prop: Property) -> None:
    device = _device(prop)
    hub = FakeRuntime({"unlock_index": 901, "unlock_password": "stored"})
    lock = RlinkLock(hub, device, LOCK)  # type: ignore[arg-type]
    device.values["lock_state"] = 0
    assert lock.is_locked is False
    assert lock.locks_itself
    assert lock.supported_features == LockEntityFeature.OPEN
    with pytest.raises(ServiceValidationError) as raised:
        await lock.async_lock()
    assert raised.value.translation_key == "lock_locks_itself"
    assert raised.value.translation_placeholders == {"device": "Porch"}
    assert hub.writes == []
    assert hub.commands == []
    # "Unlock" does what "Open" does: the one remote unlock there is.
    await lock.async_unlock()
    assert hub.commands == [
        (Cmd.REMOTE_UNLOCK, {"type": REMOTE_UNLOCK_TYPE, "index": 901, "pwd": "stored"})
    ]


async def test_a_lock_in_a_cloud_account_offers_no_open_and_says_why() -> None:
    device = _device(Property("lock_state", DataType.BOOL, access=R))
    hub = FakeRuntime({"unlock_index": 901, "unlock_password": "stored"}, cloud=True)
    lock = RlinkLock(hub, device, LOCK)  # type: ignore[arg-type]
    device.values["lock_state"] = 1
    assert lock.is_locked is True
    # The cloud's app interface has no remote unlock: nothing to open with.
    assert lock.supported_features == LockEntityFeature(0)
    for action, key in (
        (lock.async_unlock, "unlock_not_in_cloud"),
        (lock.async_open, "unlock_not_in_cloud"),
        (lock.async_lock, "lock_locks_itself_cloud"),
    ):
        with pytest.raises(ServiceValidationError) as raised:
            await action()
        assert raised.value.translation_key == key
    assert hub.commands == []
    assert hub.writes == []


async def test_a_sub_device_lock_unlocks_through_its_gateway() -> None:
    device = _device(LOCK_STATE, gateway="rn01gateway00001")
    hub = FakeRuntime({"unlock_index": 2, "unlock_password": "stored"})
    lock = RlinkLock(hub, device, LOCK)  # type: ignore[arg-type]
    await lock.async_unlock(code="typed")
    assert hub.commands == [
        (
            Cmd.REMOTE_UNLOCK,
            {"type": REMOTE_UNLOCK_TYPE, "index": 2, "pwd": "typed", "subUuid": device.uuid},
        )
    ]
    await lock.async_unlock()
    assert hub.commands[-1][1]["pwd"] == "stored"


async def test_unlocking_without_a_password_says_how_to_set_one() -> None:
    hub = FakeRuntime({"unlock_password": "x"})  # no index
    lock = RlinkLock(hub, _device(LOCK_STATE), LOCK)  # type: ignore[arg-type]
    with pytest.raises(ServiceValidationError) as raised:
        await lock.async_unlock(code="1234")
    assert raised.value.translation_key == "unlock_not_configured"
    assert hub.commands == []
