"""Door locks: the locked state from the model, unlocking with `remote_unlock`.

The protocol has no lock command: a lock locks from Home Assistant only when its lock-state
property takes a "locked" value. Many rlink locks have no such value: they lock themselves
again shortly after they open. Home Assistant's lock entity always offers "Lock", so for those the
entity also offers "Open" (the remote unlock, which releases the door) and refuses "Lock"
with a sentence saying why, rather than sending something that cannot work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.lock import LockEntity, LockEntityDescription, LockEntityFeature
from homeassistant.const import ATTR_CODE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
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
_JAMMED_WORDS: Final = frozenset({"jammed", "jam", "stuck"})


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


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    if not device.profile.has(Kind.LOCK):
        return []
    return [RlinkLock(coordinator, device, LOCK)]


class RlinkLock(CompositeEntity, LockEntity):
    """Locked or not from the lock-state property; unlock with the configured password."""

    entity_description: RlinkLockDescription
    roles = ("lock_state",)

    def _state_words(self) -> set[str] | None:
        """The reported lock state and its label, lower-cased; None before any report."""
        prop, value = self.role("lock_state"), self.role_value("lock_state")
        if prop is None or value is None:
            return None
        return {str(value).lower(), prop.enum_labels.get(str(value), "").lower()}

    @property
    def is_locked(self) -> bool | None:
        prop, words = self.role("lock_state"), self._state_words()
        if prop is None or words is None:
            return None
        if prop.type is DataType.BOOL:
            return self.role_bool("lock_state")
        if words & _LOCKED_WORDS:
            return True
        if words & _UNLOCKED_WORDS:
            return False
        return None

    @property
    def is_jammed(self) -> bool | None:
        words = self._state_words()
        return None if words is None else bool(words & _JAMMED_WORDS)

    @property
    def _can_unlock(self) -> bool:
        """Whether the transport carries `remote_unlock` (a cloud account's API does not)."""
        return self.coordinator.transport.supports(Cmd.REMOTE_UNLOCK)

    @property
    def locks_itself(self) -> bool:
        """No value of the lock-state property locks it: the lock locks on its own."""
        return self._locking_value() is None

    @property
    def supported_features(self) -> LockEntityFeature:
        # "Open" is the remote unlock of a lock that locks itself again: the one action that
        # works. A cloud account cannot unlock at all, so it offers no "Open" either.
        if self.locks_itself and self._can_unlock:
            return LockEntityFeature.OPEN
        return LockEntityFeature(0)

    def _locking_value(self) -> Any | None:
        prop = self.role("lock_state")
        if prop is None or prop.access is None or not prop.writable:
            return None
        return locked_value(prop)

    async def async_unlock(self, **kwargs: Any) -> None:
        await self._async_remote_unlock(self._unlock_data(kwargs.get(ATTR_CODE)))

    async def async_open(self, **kwargs: Any) -> None:
        # Offered only for a lock that locks itself: releasing it is what lets the door open.
        data = self._unlock_data(kwargs.get(ATTR_CODE))
        self._attr_is_opening = True
        self.async_write_ha_state()
        try:
            await self._async_remote_unlock(data)
        finally:
            self._attr_is_opening = False
            self.async_write_ha_state()

    def _unlock_data(self, code: str | None) -> dict[str, Any]:
        """The `remote_unlock` to send, or the error that says what the user can do."""
        if not self._can_unlock:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unlock_not_in_cloud",
                translation_placeholders={"device": self.device.name},
            )
        options = self.coordinator.device_options(self.device.uuid)
        # A code typed in the lock's dialog stands in for the stored password.
        index = options.get(CONF_UNLOCK_INDEX)
        password = code or options.get(CONF_UNLOCK_PASSWORD)
        if index is None or not password:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unlock_not_configured",
                translation_placeholders={"device": self.device.name},
            )
        data: dict[str, Any] = {"type": REMOTE_UNLOCK_TYPE, "index": int(index), "pwd": password}
        if self.device.gateway:
            data["subUuid"] = self.device.uuid
        return data

    async def _async_remote_unlock(self, data: dict[str, Any]) -> None:
        # An unlock is never held for later: a door opening hours after the request is
        # worse than a clear failure now. The lock confirms by its reply or by reporting
        # itself unlocked.
        await self.coordinator.async_confirmed(
            self.coordinator.target(self.device),
            Cmd.REMOTE_UNLOCK,
            data,
            self.device.when(lambda _device: self.is_locked is False),
        )

    async def async_lock(self, **kwargs: Any) -> None:
        value = self._locking_value()
        if value is not None:
            await self.async_write_roles({"lock_state": value})
            return
        placeholders = {"device": self.device.name}
        if not self._can_unlock:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="lock_locks_itself_cloud",
                translation_placeholders=placeholders,
            )
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="lock_locks_itself",
            translation_placeholders=placeholders,
        )


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.LOCK, build, async_add_entities)
