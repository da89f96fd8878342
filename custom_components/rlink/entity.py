"""The base entity and the factory that keeps each device's entities in step with its model."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .device import RlinkDevice
from .errors import invalid
from .protocol.model import Property, validate

if TYPE_CHECKING:
    from .coordinator import RlinkCoordinator

_LOGGER = logging.getLogger(__name__)

type EntityBuilder = Callable[[RlinkCoordinator, RlinkDevice], list[RlinkEntity]]


@dataclass(frozen=True, kw_only=True)
class RlinkEntityDescription(EntityDescription):
    """What every rlink entity description carries.

    `identifier` names the model property (or the device-level datum) the entity shows;
    `value_fn` reads the entity's value from the device.
    """

    identifier: str
    value_fn: Callable[[RlinkDevice], Any] = lambda _device: None
    prop: Property | None = None
    watch: frozenset[str] | None = None
    """The device data this entity shows, when it is not the property `identifier`."""


class RlinkEntity(Entity):
    """An entity of one rlink device, updated when that device's state changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: RlinkEntityDescription

    def __init__(
        self,
        coordinator: RlinkCoordinator,
        device: RlinkDevice,
        description: RlinkEntityDescription,
    ) -> None:
        self.coordinator = coordinator
        self.device = device
        self.entity_description = description
        self._attr_unique_id = f"{device.uuid}_{description.identifier}"
        self._attr_device_info = device.device_info

    @property
    def available(self) -> bool:
        return self.coordinator.available(self.device)

    @property
    def reported_value(self) -> Any:
        return self.entity_description.value_fn(self.device)

    def shown(self) -> tuple[str, ...]:
        """The property identifiers this entity shows (and may write)."""
        return (self.entity_description.identifier,)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Writes held for a sleeping device, so the user sees what is coming."""
        held = {i: self.device.pending[i][0] for i in self.shown() if i in self.device.pending}
        return {"pending": held} if held else None

    def watched(self) -> frozenset[str] | None:
        """The device data this entity shows, so that only their changes reach it; None
        when that is worked out per change (`watches`)."""
        description = self.entity_description
        return (
            description.watch
            if description.watch is not None
            else frozenset({description.identifier})
        )

    def watches(self, changed: frozenset[str]) -> bool:
        """Whether a change of these identifiers concerns this entity."""
        watched = self.watched()
        return watched is None or not watched.isdisjoint(changed)

    async def async_update(self) -> None:
        """`homeassistant.update_entity`: the device is asked for all its values again
        (nothing polls; states follow the device's reports). Home Assistant logs whatever
        this raises with a traceback, so a device that cannot be asked is a debug line: its
        entities say so already by being unavailable."""
        if not self.available:
            return
        try:
            await self.coordinator.async_refresh(self.device)
        except HomeAssistantError as err:
            _LOGGER.debug("%s was not asked for its values: %s", self.device.name, err)

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.device.async_add_listener(self._on_device_change, self.watched()))

    @callback
    def _on_device_change(self, changed: frozenset[str] | None) -> None:
        if changed is None or self.watches(changed):
            self.async_write_ha_state()


class CompositeEntity(RlinkEntity):
    """An entity of a device kind (light, lock, vacuum…) built from several roles.

    The properties behind the roles come from the device's profile at the time of reading,
    so an options change that maps a role elsewhere takes effect at once.
    """

    roles: tuple[str, ...] = ()
    extra_watch: frozenset[str] = frozenset()
    """Device data other than role properties this entity shows."""

    def role(self, name: str) -> Property | None:
        return self.device.profile.role(name)

    def role_value(self, name: str) -> Any:
        prop = self.role(name)
        return self.device.values.get(prop.identifier) if prop is not None else None

    def role_bool(self, name: str) -> bool | None:
        prop, value = self.role(name), self.role_value(name)
        if prop is None or value is None:
            return None
        if isinstance(value, bool):
            return value  # stored as the model reads it
        try:
            return bool(validate(prop, value))
        except ValueError:
            return None

    def shown(self) -> tuple[str, ...]:
        roles = self.device.profile.roles
        return tuple(roles[r].identifier for r in self.roles if r in roles)

    def watched(self) -> frozenset[str] | None:
        return None  # roles can move to other properties while the entity lives

    def watches(self, changed: frozenset[str]) -> bool:
        if not self.extra_watch.isdisjoint(changed):
            return True
        roles = self.device.profile.roles
        return any(r in roles and roles[r].identifier in changed for r in self.roles)

    async def async_write_roles(self, values: dict[str, Any]) -> None:
        """Write role values in one message; roles the device lacks are an error."""
        wire: dict[str, Any] = {}
        for name, value in values.items():
            prop = self.role(name)
            if prop is None:
                raise invalid("role_missing", device=self.device.name, role=name)
            wire[prop.identifier] = value
        await self.coordinator.async_set_properties(self.device, wire)


def bool_state(entity: RlinkEntity) -> bool | None:
    """A boolean property's value as the model reads it (0/1, true/false, "on"…)."""
    prop, value = entity.entity_description.prop, entity.reported_value
    if value is None or prop is None:
        return None
    if isinstance(value, bool):
        return value  # stored as the model reads it; only an inferred model's values are raw
    try:
        return bool(validate(prop, value))
    except ValueError:
        return None


def property_value(identifier: str) -> Callable[[RlinkDevice], Any]:
    def read(device: RlinkDevice) -> Any:
        return device.values.get(identifier)

    return read


class EntityFactory:
    """Adds the entities a device needs, and removes those its model no longer has."""

    def __init__(self, hass: HomeAssistant, coordinator: RlinkCoordinator) -> None:
        self.hass = hass
        self.coordinator = coordinator
        self._platforms: dict[Platform, tuple[EntityBuilder, AddConfigEntryEntitiesCallback]] = {}
        self._created: dict[str, dict[tuple[Platform, str], RlinkEntity]] = {}
        coordinator.async_add_devices_listener(self.async_device_changed)
        coordinator.async_add_unload_listener(self.async_unload_device)

    @callback
    def async_register(
        self, platform: Platform, builder: EntityBuilder, add: AddConfigEntryEntitiesCallback
    ) -> None:
        """A platform is ready: build its entities for every device, now and later."""
        self._platforms[platform] = (builder, add)
        for device in list(self.coordinator.devices.values()):
            self._build(platform, device)

    @callback
    def async_device_changed(self, device: RlinkDevice) -> None:
        for platform in list(self._platforms):
            self._build(platform, device)

    def _build(self, platform: Platform, device: RlinkDevice) -> None:
        builder, add = self._platforms[platform]
        if device.uuid not in self.coordinator.devices:
            return
        built = {
            (platform, e.unique_id): e for e in builder(self.coordinator, device) if e.unique_id
        }
        created = self._created.setdefault(device.uuid, {})
        for key in [k for k in created if k[0] is platform and k not in built]:
            # A kind or role change took it away: it leaves Home Assistant, but its registry
            # entry (name, area, settings the user gave) stays for when it comes back.
            gone = created.pop(key)
            if gone.hass is not None:
                self.coordinator.entry.async_create_task(
                    self.hass, gone.async_remove(), "rlink entity removal", eager_start=False
                )
        new: list[RlinkEntity] = []
        for key, entity in built.items():
            old = created.get(key)
            if old is None:
                new.append(entity)
            elif old.entity_description.prop != entity.entity_description.prop:
                # Same entity, new definition (a model replaced an inferred one): swap the
                # object and keep the registry entry, so entity ids and user settings stay.
                self.coordinator.entry.async_create_task(
                    self.hass,
                    self._replace(old, entity, add, device.subentry_id),
                    "rlink entity replacement",
                    eager_start=False,
                )
            created[key] = entity
        if new:
            add(new, config_subentry_id=device.subentry_id)

    async def async_unload_device(self, uuid: str) -> None:
        """Take a device's entities out of Home Assistant, keeping their registry entries."""
        for entity in self._created.pop(uuid, {}).values():
            if entity.hass is not None:
                await entity.async_remove()

    @staticmethod
    async def _replace(
        old: RlinkEntity,
        new: RlinkEntity,
        add: AddConfigEntryEntitiesCallback,
        subentry_id: str | None,
    ) -> None:
        if old.hass is not None:
            await old.async_remove()
        add([new], config_subentry_id=subentry_id)
