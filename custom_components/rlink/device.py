"""What the hub knows about one device: its values, versions, network and presence.

Entities read from here and listen for changes; they never see MQTT. The same object
serves devices with their own connection and a gateway's sub-devices.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo

from .const import DOMAIN
from .kinds import EMPTY_PROFILE, DeviceProfile
from .protocol.model import BoolEncoding, ObjectModel

LAST_MESSAGES: Final = 20
"""How many recent messages per device diagnostics keep."""

type DeviceListener = Callable[[frozenset[str] | None], None]
"""Called with the identifiers that changed, or None when everything may have."""


@dataclass
class RlinkDevice:
    """One device (or sub-device) of a hub or a cloud account."""

    uuid: str
    """The device's key: its uuid on a local hub, the cloud's deviceId in a cloud account."""
    pid: str
    name: str
    gateway: str | None = None
    """The uuid of the gateway this sub-device belongs to."""
    subentry_id: str | None = None
    hardware_uuid: str | None = None
    """A cloud device's own uuid, once known (bind results carry it)."""
    automatic_name: str | None = None
    """The name the integration gave (product and short id); while the name is this one,
    it follows the model. Any other name was given by someone and is kept."""
    model: ObjectModel | None = None
    model_inferred: bool = False
    online: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    mcu_version: str | None = None
    network: dict[str, Any] = field(default_factory=dict)
    """ssid, signal, signal value, network type, mac: whatever the device told."""
    info: dict[str, Any] = field(default_factory=dict)
    """Details from `update_properties_info`."""
    passwords: list[dict[str, Any]] = field(default_factory=list)
    ota: dict[str, Any] = field(default_factory=dict)
    behaviours: set[str] = field(default_factory=set)
    """Event codes that tell what kind of device this is (see `kinds.BEHAVIOUR`)."""
    profile: DeviceProfile = EMPTY_PROFILE
    pending: dict[str, tuple[Any, float]] = field(default_factory=dict)
    """Writes held for a sleeping device: identifier -> (value, wall-clock time asked)."""
    last_seen: float | None = None
    needs_resync: bool = False
    bool_encoding: BoolEncoding = BoolEncoding.INT
    last_messages: deque[tuple[float, str, str, bytes]] = field(
        default_factory=lambda: deque(maxlen=LAST_MESSAGES)
    )
    """(time, direction, code, data as JSON): bytes, which the garbage collector never
    scans, though every device's recent messages live long enough to reach its oldest
    generation."""
    _listeners: list[DeviceListener] = field(default_factory=list, repr=False)
    """Listeners that want every change."""
    _listeners_of_some: list[DeviceListener] = field(default_factory=list, repr=False)
    """Listeners that want changes of some identifiers only (and "everything may have")."""
    _listeners_by_key: dict[str, list[DeviceListener]] = field(default_factory=dict, repr=False)
    """The same, by identifier: a report reaches only those that show what it changed."""
    _heard: list[asyncio.Future[None]] = field(default_factory=list, repr=False)
    _device_info: tuple[str, DeviceInfo | None] = field(
        default=("", None), init=False, repr=False, compare=False
    )
    _watches: list[tuple[Callable[[RlinkDevice], bool], asyncio.Future[None]]] = field(
        default_factory=list, repr=False
    )

    @callback
    def async_add_listener(
        self, listener: DeviceListener, watching: frozenset[str] | None = None
    ) -> Callable[[], None]:
        """Call `listener` on changes of `watching` (and on "everything may have changed"),
        or on every change when `watching` is None."""
        lists = (
            [self._listeners]
            if watching is None
            else [
                self._listeners_of_some,
                *(self._listeners_by_key.setdefault(key, []) for key in watching),
            ]
        )
        for listeners in lists:
            listeners.append(listener)
        return _Unsubscribe(lists, listener)

    @callback
    def notify(self, changed: Iterable[str] | None = None) -> None:
        if changed is None:
            keys = None
            targets = [*self._listeners, *self._listeners_of_some]
        else:
            keys = frozenset(changed)
            targets = [*self._listeners]
            for key in keys:
                targets.extend(self._listeners_by_key.get(key, ()))
            if len(keys) > 1:  # a listener watching several of them is called once
                targets = list(dict.fromkeys(targets))
        for listener in targets:
            listener(keys)
        self._check_watches()

    def when(self, condition: Callable[[RlinkDevice], bool]) -> asyncio.Future[None]:
        """Resolves once `condition` holds after something the device said (a report, a
        progress event): how a command the device does not answer is confirmed."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._watches.append((condition, waiter))
        return waiter

    def _check_watches(self) -> None:
        pending = []
        for condition, waiter in self._watches:
            if not waiter.done() and condition(self):
                waiter.set_result(None)
            elif not waiter.done():
                pending.append((condition, waiter))
        self._watches = pending

    @property
    def device_info(self) -> DeviceInfo:
        """Where its entities belong in the device registry: one for all of them, made
        again only when the device takes another uuid (a replaced sub-device)."""
        uuid, info = self._device_info
        if uuid != self.uuid or info is None:
            info = DeviceInfo(identifiers={(DOMAIN, self.uuid)})
            self._device_info = (self.uuid, info)
        return info

    def seen(self) -> None:
        self.last_seen = time.monotonic()
        for waiter in self._heard:
            if not waiter.done():
                waiter.set_result(None)
        self._heard.clear()

    def next_message(self) -> asyncio.Future[None]:
        """Resolves when the device is next heard from."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._heard.append(waiter)
        return waiter

    def record(self, direction: str, code: str, data: Mapping[str, Any]) -> None:
        """Keep a message for diagnostics (redacted there, bounded here)."""
        self.last_messages.append((round(time.time(), 3), direction, code, _as_json(data)))

    def recent_messages(self) -> list[dict[str, Any]]:
        """The kept messages, oldest first, as diagnostics show them."""
        return [
            {"at": at, "direction": direction, "code": code, "data": orjson.loads(data)}
            for at, direction, code, data in self.last_messages
        ]

    @callback
    def apply_values(self, values: Mapping[str, Any]) -> frozenset[str]:
        """Take reported values; returns the identifiers whose value changed."""
        changed = {k for k, v in values.items() if self.values.get(k, _MISSING) != v}
        self.values.update(values)
        if not changed:
            self._check_watches()  # a report of the value it already had confirms too
        return frozenset(changed)

    @callback
    def set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.notify()

    def snapshot(self) -> dict[str, Any]:
        """What survives a restart."""
        return {
            "values": self.values,
            "version": self.version,
            "mcu_version": self.mcu_version,
            "network": self.network,
            "info": self.info,
            "passwords": self.passwords,
            "behaviours": sorted(self.behaviours),
            "pending": {k: list(v) for k, v in self.pending.items()},
            "pid": self.pid,
            "name": self.name,
            "gateway": self.gateway,
            "hardware_uuid": self.hardware_uuid,
            "automatic_name": self.automatic_name,
        }

    def restore(self, saved: Mapping[str, Any]) -> None:
        self.values.update(saved.get("values") or {})
        self.version = saved.get("version")
        self.mcu_version = saved.get("mcu_version")
        self.network.update(saved.get("network") or {})
        self.info.update(saved.get("info") or {})
        self.passwords = list(saved.get("passwords") or [])
        self.behaviours.update(saved.get("behaviours") or [])
        self.hardware_uuid = saved.get("hardware_uuid") or self.hardware_uuid
        if "automatic_name" in saved:
            self.automatic_name = saved["automatic_name"]
        for identifier, (value, asked) in (saved.get("pending") or {}).items():
            self.pending[identifier] = (value, float(asked))


_MISSING: Final = object()


class _Unsubscribe:
    """Takes a listener off its lists when called. Every entity keeps one: as one small
    object, not a closure (a function, its cells and its annotations)."""

    __slots__ = ("_listener", "_lists")

    def __init__(self, lists: list[list[DeviceListener]], listener: DeviceListener) -> None:
        self._lists, self._listener = lists, listener

    def __call__(self) -> None:
        for listeners in self._lists:
            if self._listener in listeners:
                listeners.remove(self._listener)


def _as_json(data: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # integers past 64 bits
        return json.dumps(data, default=str).encode()
