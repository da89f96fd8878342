"""Door locks: the locked state from the model, unlocking with `remote_unlock`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.lock import LockEntity, LockEntityDescription
from homeassistant.const import ATTR_CODE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .const import CONF_UNLOCK_INDEX, CONF_UNLOCK_PASSWORD, DOMAIN
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .entity import (
    CompositeEntity,
    RlinkEntity,
    RlinkEntityDescription,
)
from .kinds import Kind
from .protocol.codes import DeviceCommand as Cmd
from .protocol.model import DataType, Property

PARALLEL_UPDATES = 0

REMOTE_UNLOCK_TYPE: Final = 9
"""The password type `remote_unlock` carries; the protocol knows no other."""

# Lock-state enum values (or their labels) by meaning.
_LOCKED_WORDS: Final = frozenset({"1", "locked", "lock", "closed", "close"})
_UNLOCKED_WORDS: Final = frozenset({"0", "unlocked", "unlock", "open", "opened"})


def locked_value(prop: Property) -> Any | None:
    """What to write to the lock-state property to lock; None when no value means it."""
    if prop.type is DataType.BOOL:
        return True
    if prop.type is DataType.ENUM:
        return next(
            (
                v
                for v in prop.enums
                if {v.lower(), prop.enum_labels.get(v, "").lower()} & _LOCKED_WORDS
            ),
            None,
        )
    return None


@dataclass(frozen=True, kw_only=True)
class RlinkLockDescription(RlinkEntityDescription, LockEntityDescription):
    """The lock of a device."""


LOCK: Final = RlinkLockDescription(key="lock", identifier="lock", name=None)


def build(hub: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    if not device.profile.has(Kind.LOCK):
        return []
    return [RlinkLock(hub, device, LOCK)]


class RlinkLock(CompositeEntity, LockEntity):
    """Locked or not from the lock-state property; unlock with the configured password."""

    entity_description: RlinkLockDescription
    roles = ("lock_state",)

    @property
    def is_locked(self) -> bool | None:
        prop, value = self.role("lock_state"), self.role_value("lock_state")
        if prop is None or value is None:
            return None
        if prop.type is DataType.BOOL:
            return self.role_bool("lock_state")
        words = {str(value).lower(), prop.enum_labels.get(str(value), "").lower()}
        if words & _LOCKED_WORDS:
            return True
        if words & _UNLOCKED_WORDS:
            return False
        return None

    async def async_unlock(self, **kwargs: Any) -> None:
        if not self.hub.transport.supports(Cmd.REMOTE_UNLOCK):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unlock_not_in_cloud",
                translation_placeholders={"device": self.device.name},
            )
        options = self.hub.device_options(self.device.uuid)
        # A code typed in the lock's dialog stands in for the stored password.
        index = options.get(CONF_UNLOCK_INDEX)
        password = kwargs.get(ATTR_CODE) or options.get(CONF_UNLOCK_PASSWORD)
        if index is None or not password:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unlock_not_configured",
                translation_placeholders={"device": self.device.name},
            )
        data: dict[str, Any] = {"type": REMOTE_UNLOCK_TYPE, "index": int(index), "pwd": password}
        if self.device.gateway:
            data["subUuid"] = self.device.uuid
        # An unlock is never held for later: a door opening hours after the request is
        # worse than a clear failure now. The lock confirms by its reply or by reporting
        # itself unlocked.
        await self.hub.async_confirmed(
            self.hub.target(self.device),
            Cmd.REMOTE_UNLOCK,
            data,
            self.device.when(lambda _device: self.is_locked is False),
        )

    async def async_lock(self, **kwargs: Any) -> None:
        prop = self.role("lock_state")
        value = None
        if prop is not None and prop.access is not None and prop.writable:
            value = locked_value(prop)
        if value is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="lock_not_supported",
                translation_placeholders={"device": self.device.name},
            )
        await self.async_write_roles({"lock_state": value})


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.LOCK, build, async_add_entities)
