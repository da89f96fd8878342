"""Event entities: one per model event (alarms, doorbell presses, …)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from homeassistant.components.event import (
    DoorbellEventType,
    EventDeviceClass,
    EventEntity,
    EventEntityDescription,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
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


# The event type a device class fires, where Home Assistant has a standard one: automations
# and voice assistants listen for a doorbell's `ring`, whatever the model calls the press.
STANDARD_EVENT_TYPES: Final[Mapping[EventDeviceClass, str]] = MappingProxyType(
    {EventDeviceClass.DOORBELL: DoorbellEventType.RING}
)

# Event identifiers with a translated name and event type (entity.event.<identifier>).
TRANSLATED_EVENTS: Final = frozenset({ALARM, "doorbell"})


@dataclass(frozen=True, kw_only=True)
class RlinkEventDescription(RlinkEntityDescription, EventEntityDescription):
    """An event entity for one model event identifier."""

    model_event: str
    """The model's event identifier this entity fires on (as its event type, unless the
    device class has a standard one)."""


def _identifiers(device: RlinkDevice) -> dict[str, str | None]:
    """The events the device's model says it raises, by identifier. A device without a
    real model gets none until it has one; what it raises meanwhile still reaches the bus
    as `rlink_event`."""
    if device.model is None or device.model_inferred:
        return {}
    return {e.identifier: e.name for e in device.model.events}


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    entities: list[RlinkEntity] = []
    for identifier, name in _identifiers(device).items():
        naming: dict[str, Any] = (
            {"translation_key": identifier}
            if identifier in TRANSLATED_EVENTS
            else {"name": name or humanize(identifier)}
        )
        device_class = DEVICE_CLASSES.get(identifier.lower())
        event_type = (
            STANDARD_EVENT_TYPES.get(device_class, identifier) if device_class else identifier
        )
        description = RlinkEventDescription(
            key=f"event_{identifier}",
            identifier=f"event_{identifier}",
            model_event=identifier,
            event_types=[event_type],
            device_class=device_class,
            watch=frozenset(),
            **naming,
        )
        entities.append(RlinkEvent(coordinator, device, description))
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
        if identifier == self.entity_description.model_event:
            self._trigger_event(self.event_types[0], output)
            self.async_write_ha_state()


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    _forget_unlisted_alarms(hass, entry)
    entry.runtime_data.entities.async_register(Platform.EVENT, build, async_add_entities)


@callback
def _forget_unlisted_alarms(hass: HomeAssistant, entry: RlinkConfigEntry) -> None:
    """Releases before 2026.12 gave every device an Alarm entity, whether its model listed
    an alarm or not; those of devices whose model lists none leave the registry, so they do
    not linger as entities the integration no longer provides."""
    registry = er.async_get(hass)
    devices = entry.runtime_data.coordinator.devices
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        uuid, _, identifier = registered.unique_id.partition("_event_")
        device = devices.get(uuid)
        if (
            registered.domain == Platform.EVENT
            and identifier == ALARM
            and device is not None
            and device.model is not None
            and not device.model_inferred
            and ALARM not in _identifiers(device)
        ):
            registry.async_remove(registered.entity_id)
