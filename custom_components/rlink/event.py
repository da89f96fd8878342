"""Event entities: one per model event (alarms, doorbell presses, …)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from homeassistant.components.event import EventDeviceClass, EventEntity, EventEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .const import SIGNAL_MODEL_EVENT
from .coordinator import RlinkCoordinator
from .descriptions import humanize
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription

PARALLEL_UPDATES = 0
ALARM = "alarm"

# Model events Home Assistant has a class for, by identifier: a doorbell press shows and
# triggers as one.
DEVICE_CLASSES: Final[Mapping[str, EventDeviceClass]] = MappingProxyType(
    {
        "doorbell": EventDeviceClass.DOORBELL,
        "doorbell_press": EventDeviceClass.DOORBELL,
        "ring": EventDeviceClass.DOORBELL,
        "button": EventDeviceClass.BUTTON,
        "button_press": EventDeviceClass.BUTTON,
        "key_press": EventDeviceClass.BUTTON,
        "press": EventDeviceClass.BUTTON,
        "motion": EventDeviceClass.MOTION,
        "pir": EventDeviceClass.MOTION,
    }
)


# Event identifiers with a translated name and event type (entity.event.<identifier>).
TRANSLATED_EVENTS: Final = frozenset({ALARM, "doorbell"})


@dataclass(frozen=True, kw_only=True)
class RlinkEventDescription(RlinkEntityDescription, EventEntityDescription):
    """An event entity for one model event identifier."""


def _identifiers(device: RlinkDevice) -> dict[str, str | None]:
    """Model events by identifier; every device can raise an alarm."""
    events: dict[str, str | None] = {ALARM: None}
    if device.model is not None:
        events.update({e.identifier: e.name for e in device.model.events})
    return events


def build(hub: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    entities: list[RlinkEntity] = []
    for identifier, name in _identifiers(device).items():
        naming: dict[str, Any] = (
            {"translation_key": identifier}
            if identifier in TRANSLATED_EVENTS
            else {"name": name or humanize(identifier)}
        )
        description = RlinkEventDescription(
            key=f"event_{identifier}",
            identifier=f"event_{identifier}",
            event_types=[identifier],
            device_class=DEVICE_CLASSES.get(identifier.lower()),
            watch=frozenset(),
            **naming,
        )
        entities.append(RlinkEvent(hub, device, description))
    return entities


class RlinkEvent(RlinkEntity, EventEntity):
    entity_description: RlinkEventDescription

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, SIGNAL_MODEL_EVENT.format(self.device.uuid), self._on_event
            )
        )

    @callback
    def _on_event(self, identifier: str, output: dict[str, Any]) -> None:
        if identifier in self.event_types:
            self._trigger_event(identifier, output)
            self.async_write_ha_state()


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.EVENT, build, async_add_entities)
