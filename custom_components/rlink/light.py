"""Lights: a switch plus brightness, and colour temperature or colour when the model has them.

Brightness, colour temperature and saturation are scaled between Home Assistant's ranges and
the model's own (its min and max), so a 10-1000 dimmer and a 1-100 one both work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_TEMP_KELVIN,
    ATTR_HS_COLOR,
    LightEntity,
    LightEntityDescription,
)
from homeassistant.components.light.const import ColorMode
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util.color import brightness_to_value, value_to_brightness

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .entity import CompositeEntity, RlinkEntity, RlinkEntityDescription
from .kinds import Kind
from .protocol.model import DataType, Property

PARALLEL_UPDATES = 0

# Models without a Kelvin unit give colour temperature on an abstract scale: warm at min.
WARMEST_K: Final = 2700
COLDEST_K: Final = 6500
_KELVIN_UNITS: Final = frozenset({"K", "k", "kelvin"})


@dataclass(frozen=True, kw_only=True)
class RlinkLightDescription(RlinkEntityDescription, LightEntityDescription):
    """The light of a device."""


LIGHT: Final = RlinkLightDescription(key="light", identifier="light", name=None)


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    if not device.profile.has(Kind.LIGHT) or device.profile.role("on") is None:
        return []
    return [RlinkLight(coordinator, device, LIGHT)]


def _range(prop: Property, default: tuple[float, float]) -> tuple[float, float]:
    low = prop.min if prop.min is not None else default[0]
    high = prop.max if prop.max is not None else default[1]
    return (low, high) if high > low else default


def _snap(prop: Property, value: float) -> int | float:
    """A value on the model's grid (its step), integer for integer properties."""
    if prop.step:
        value = round(value / prop.step) * prop.step
    low, high = _range(prop, (value, value + 1))
    value = min(high, max(low, value))
    return round(value) if prop.type is DataType.INT else round(value, 6)


def _brightness(prop: Property, value: float) -> int:
    """Home Assistant's 1-255 from the model's level. Its helpers count the steps of an
    integer range; a float level (0 to 1, say) is a share of its range."""
    low, high = _range(prop, (1, 100))
    if prop.type is DataType.INT:
        return value_to_brightness((low, high), value)
    return round(255 * (min(high, max(low, value)) - low) / (high - low))


def _level(prop: Property, brightness: int) -> float:
    """The model's level for Home Assistant's 1-255 (the inverse of `_brightness`)."""
    low, high = _range(prop, (1, 100))
    if prop.type is DataType.INT:
        return brightness_to_value((low, high), brightness)
    return low + brightness / 255 * (high - low)


def _is_kelvin(prop: Property) -> bool:
    return (prop.unit or "") in _KELVIN_UNITS


class HsvCodec:
    """Colour as the model holds it: a struct or JSON text with h, s and v."""

    def __init__(self, prop: Property) -> None:
        self.prop = prop

    def _max(self, member: str, default: float) -> float:
        found = self.prop.member(member)
        return found.max if found is not None and found.max else default

    def read(self, raw: Any) -> tuple[float, float] | None:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return None
        if not isinstance(raw, dict) or not {"h", "s"} <= raw.keys():
            return None
        try:
            return float(raw["h"]), float(raw["s"]) * 100 / self._max("s", 1000)
        except TypeError, ValueError:
            return None

    def write(self, hs: tuple[float, float], current: Any) -> Any:
        previous = current if isinstance(current, dict) else {}
        if isinstance(current, str):
            try:
                previous = json.loads(current)
            except ValueError:
                previous = {}
        value = {
            "h": round(hs[0]),
            "s": round(hs[1] * self._max("s", 1000) / 100),
            "v": previous.get("v", round(self._max("v", 1000))),
        }
        return json.dumps(value) if self.prop.type is DataType.TEXT else value


class RlinkLight(CompositeEntity, LightEntity):
    """A dimmable light, with colour temperature or colour when the model has them."""

    entity_description: RlinkLightDescription
    roles = ("on", "brightness", "color_temp", "color")

    def __init__(
        self, coordinator: RlinkCoordinator, device: RlinkDevice, description: RlinkLightDescription
    ) -> None:
        super().__init__(coordinator, device, description)
        self._last_mode: ColorMode | None = None

    @property
    def supported_color_modes(self) -> set[ColorMode]:
        modes = set()
        if self.role("color") is not None:
            modes.add(ColorMode.HS)
        if self.role("color_temp") is not None:
            modes.add(ColorMode.COLOR_TEMP)
        if not modes:
            modes.add(ColorMode.BRIGHTNESS if self.role("brightness") else ColorMode.ONOFF)
        return modes

    @property
    def color_mode(self) -> ColorMode:
        modes = self.supported_color_modes
        if self._last_mode in modes:
            return self._last_mode
        return ColorMode.COLOR_TEMP if ColorMode.COLOR_TEMP in modes else next(iter(modes))

    @property
    def is_on(self) -> bool | None:
        return self.role_bool("on")

    @property
    def brightness(self) -> int | None:
        prop, value = self.role("brightness"), self.role_value("brightness")
        if prop is None or not isinstance(value, int | float):
            return None
        return _brightness(prop, value)

    @property
    def min_color_temp_kelvin(self) -> int:
        prop = self.role("color_temp")
        return int(prop.min) if prop is not None and _is_kelvin(prop) and prop.min else WARMEST_K

    @property
    def max_color_temp_kelvin(self) -> int:
        prop = self.role("color_temp")
        return int(prop.max) if prop is not None and _is_kelvin(prop) and prop.max else COLDEST_K

    @property
    def color_temp_kelvin(self) -> int | None:
        prop, value = self.role("color_temp"), self.role_value("color_temp")
        if prop is None or not isinstance(value, int | float):
            return None
        if _is_kelvin(prop):
            return int(value)
        low, high = _range(prop, (0, 1000))
        share = (value - low) / (high - low)
        return round(WARMEST_K + share * (COLDEST_K - WARMEST_K))

    @property
    def hs_color(self) -> tuple[float, float] | None:
        prop = self.role("color")
        return HsvCodec(prop).read(self.role_value("color")) if prop is not None else None

    def _kelvin_value(self, prop: Property, kelvin: int) -> int | float:
        if _is_kelvin(prop):
            return _snap(prop, kelvin)
        low, high = _range(prop, (0, 1000))
        share = (kelvin - WARMEST_K) / (COLDEST_K - WARMEST_K)
        return _snap(prop, low + max(0.0, min(1.0, share)) * (high - low))

    async def async_turn_on(self, **kwargs: Any) -> None:
        values: dict[str, Any] = {"on": True}
        if ATTR_BRIGHTNESS in kwargs and (prop := self.role("brightness")) is not None:
            values["brightness"] = _snap(prop, _level(prop, kwargs[ATTR_BRIGHTNESS]))
        if ATTR_COLOR_TEMP_KELVIN in kwargs and (prop := self.role("color_temp")) is not None:
            values["color_temp"] = self._kelvin_value(prop, kwargs[ATTR_COLOR_TEMP_KELVIN])
            self._last_mode = ColorMode.COLOR_TEMP
        if ATTR_HS_COLOR in kwargs and (prop := self.role("color")) is not None:
            values["color"] = HsvCodec(prop).write(kwargs[ATTR_HS_COLOR], self.role_value("color"))
            self._last_mode = ColorMode.HS
        await self.async_write_roles(values)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.async_write_roles({"on": False})


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.LIGHT, build, async_add_entities)
