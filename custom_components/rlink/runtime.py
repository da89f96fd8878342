"""What both runtimes share: the devices, their entities, models, and stored state.

The local hub (`hub.RlinkHub`) and the cloud account (`cloud.RlinkCloud`) differ in how
they hear from devices and reach them; everything the entity platforms and services use
is defined here, so one set of platform modules serves both. A runtime subclass supplies
the transport: `async_command`, `async_write`, `async_refresh`, `async_ping`,
`async_wake`, and whether its connection is up (`_carrier_up`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from .answers import HubAnswers
from .const import (
    COMMAND_TIMEOUT,
    CONF_DEVICES,
    CONF_SETTINGS,
    CONFIG_SAVE_DELAY,
    DOMAIN,
    MANUFACTURER,
    SAVE_DELAY,
)
from .desired import CHECK_INTERVAL, DesiredState
from .device import RlinkDevice
from .entity import EntityFactory
from .kinds import resolve_profile
from .models import ModelStore
from .protocol.codes import DeviceCommand as Cmd
from .protocol.errors import ValueRejected
from .protocol.messages import JsonObject, Message
from .protocol.model import (
    ObjectModel,
    Property,
    bool_encoding_of,
    encode_value,
    validate,
    validate_write,
)
from .protocol.routing import MessageHandler
from .protocol.server.limits import LogThrottle
from .protocol.session import AuthRefused, ConnectError, MqttSession, SessionState
from .protocol.topics import Topic

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

CACHE_VERSION: Final = 1
OTA_BUSY: Final = frozenset({"requested", "downloading", "burning"})


def cache_key(entry_id: str) -> str:
    """The storage key of an entry's device cache."""
    return f"{DOMAIN}.{entry_id}.devices"


WAKE_TIMEOUT: Final = 10.0
HELD_MESSAGES: Final = 20_000
"""Messages kept while the entities are being set up (a fleet reconnecting at once)."""
REJECTED: Final = object()
"""What `checked_value` returns for a value the model does not allow."""
_LOG_INTERVAL: Final = 300.0

type DevicesListener = Callable[[RlinkDevice], None]


def excerpt(value: Any, limit: int = 80) -> str:
    """A value as a log line may show it: a device can send a megabyte where a number goes."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def automatic_name(model: ObjectModel | None, pid: str, uid: str) -> str:
    """The name of a device nobody named: its product's name (from the model, else the
    product id) and the end of its id."""
    product = (model.product_name if model is not None else None) or pid or "rlink device"
    return f"{product} {uid[-4:]}"


class RateLimitedLog:
    """Log a problem once per key per interval, so a chatty device cannot flood the log."""

    def __init__(self, logger: Any, interval: float = _LOG_INTERVAL) -> None:
        self._logger = logger
        self._due = LogThrottle(interval)  # its key table is bounded

    def warning(self, key: tuple[str, ...], text: str, *args: Any) -> None:
        if self._due(key):
            self._logger.warning(text, *args)


class DeviceRuntime(ABC):
    """The devices of one config entry, and what entities and services ask of them."""

    keys_are_uuids: bool = True
    """Devices are known by their uuid (local hub), not by an id of the cloud's."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, models: ModelStore, logger: Any
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.models = models
        self.devices: dict[str, RlinkDevice] = {}
        self.answers = HubAnswers(self)
        self._logger = logger
        self._logged_offline: set[str] = set()
        self._link_lost = False
        self.log = RateLimitedLog(logger)
        self.started_at = time.monotonic()
        self._cache: Store[dict[str, Any]] = Store(hass, CACHE_VERSION, cache_key(entry.entry_id))
        self._save_due = False
        self._config_due = False
        self.entities = EntityFactory(hass, self)
        self.desired = DesiredState(self)
        self._device_listeners: list[DevicesListener] = [self.entities.async_device_changed]
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._held: deque[tuple[MessageHandler, Topic, Message]] | None = deque(
            maxlen=HELD_MESSAGES
        )

    # --- what a transport supplies ------------------------------------------------------

    @abstractmethod
    async def async_start(self) -> None:
        """Connect; raise ConfigEntry* errors for Home Assistant to show."""

    @abstractmethod
    def async_sync_subentries(self, cached: Mapping[str, Any] | None = None) -> None:
        """Make the devices match the entry's device subentries."""

    @abstractmethod
    def _carrier_up(self, device: RlinkDevice) -> bool:
        """Whether the connection that carries this device's traffic is up."""

    @abstractmethod
    async def async_command(
        self,
        device: RlinkDevice,
        code: Cmd,
        data: Mapping[str, Any] | None = None,
        *,
        ack: bool | None = None,
        timeout: float = COMMAND_TIMEOUT,  # noqa: ASYNC109
        require_online: bool = True,
    ) -> Message | None:
        """Send a device command; with ack, wait for and return the reply."""

    @abstractmethod
    async def async_write(self, device: RlinkDevice, prepared: Mapping[str, Any]) -> None:
        """Send values already checked and encoded by `prepare_values`."""

    async def async_confirmed(
        self,
        target: RlinkDevice,
        code: Cmd,
        data: Mapping[str, Any],
        confirmed: asyncio.Future[None],
        *,
        timeout: float = COMMAND_TIMEOUT,  # noqa: ASYNC109
    ) -> None:
        """Send a command the device confirms by its reply or by what it reports next,
        whichever comes first; fail only when neither comes (or the reply refuses).

        The command asks for a reply although the spec's default for these codes is none:
        a refusal then comes back with the device's reason, where a missing report could
        not say why nothing changed. A device that only reports is still taken at its word.
        """
        reply = asyncio.ensure_future(
            self.async_command(target, code, data, ack=True, timeout=timeout)
        )
        try:
            waiting: set[asyncio.Future[Any]] = {reply, confirmed}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not confirmed.done():
                reply.result()  # the reply came first: success, or its error
        finally:
            confirmed.cancel()
            if not reply.done():
                reply.cancel()
            with contextlib.suppress(asyncio.CancelledError, HomeAssistantError):
                await reply

    async def async_set_properties_many(
        self, devices: list[RlinkDevice], values: Mapping[str, Any]
    ) -> None:
        """The same values for several devices (a runtime may send them at once)."""
        for device in devices:
            await self.async_set_properties(device, values)

    @abstractmethod
    async def async_refresh(self, device: RlinkDevice) -> None:
        """Ask the device for all its values."""

    @abstractmethod
    async def async_ping(self, device: RlinkDevice) -> dict[str, Any]:
        """Check the device's connection; returns what it told."""

    @abstractmethod
    async def async_offer_firmware(
        self, pid: str, order: dict[str, Any], window: float
    ) -> dict[str, Any]:
        """Offer a firmware to every device of a product: device key -> {"result": ...}."""

    @abstractmethod
    async def async_wake(self, device: RlinkDevice, timeout: float = WAKE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wake a sleeping device and wait (bounded) until it speaks."""

    def held(self, handler: MessageHandler) -> MessageHandler:
        """`handler`, but until the entities exist (`async_ready`) the messages wait.

        Right after a start, the broker hands over what came while Home Assistant was away
        and devices report as they reconnect: each report must become a state of its own,
        not only the last one folded into the entity's first state.
        """

        def handle(topic: Topic, message: Message) -> None:
            if self._held is None:
                handler(topic, message)
                return
            if len(self._held) == self._held.maxlen:
                self.log.warning(
                    ("held",),
                    "More than %d messages came during start-up; the oldest are dropped",
                    HELD_MESSAGES,
                )
            self._held.append((handler, topic, message))

        return handle

    @callback
    def async_ready(self) -> None:
        """The entities are set up: handle the messages that waited, in order."""
        held, self._held = self._held, None
        for handler, topic, message in held or ():
            try:
                handler(topic, message)
            except Exception as err:  # the others still count
                self.log.warning(
                    ("held_failed", type(err).__name__),
                    "A message held during start-up could not be handled: %s",
                    err,
                )

    async def async_stop(self) -> None:
        self._held = None
        for undo in self._unsubscribe:
            undo()
        self._unsubscribe.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._save_due = self._config_due = False
        await self._cache.async_save(self._cache_data())

    async def _connect(self, session: MqttSession, refused_key: str) -> None:
        """First connection: a refusal asks for new credentials, anything else retries later.

        Afterwards the runtime follows model changes (`follow_models`).
        """
        try:
            await session.connect()
        except AuthRefused as err:
            await self.async_stop()
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key=refused_key
            ) from err
        except ConnectError as err:
            await self.async_stop()
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="broker_unreachable",
                translation_placeholders={"reason": str(err)},
            ) from err
        self.follow_models()

    def follow_models(self) -> None:
        """A model that arrives or changes is applied to the devices of its product."""
        self._unsubscribe.append(self.models.async_add_listener(self._on_model_changed))

    async def _load_cache(self) -> dict[str, Any]:
        cache = await self._cache.async_load() or {}
        self.answers.load(cache)
        return cache

    # --- reported state -----------------------------------------------------------------

    def apply_reported(self, device: RlinkDevice, values: JsonObject) -> None:
        """Take values a device reported: checked against its model, or teaching one."""
        if device.model is None or device.model_inferred:
            if device.pid:
                self.models.async_observe(device.pid, values)
            accepted = values
        else:
            accepted = {}
            self._learn_bool_encoding(device, values)
            for key, value in values.items():
                checked = self.checked_value(device, key, value)
                if checked is not REJECTED:
                    accepted[key] = checked  # kept as the model reads it: no re-check on read
                else:
                    self.log.warning(
                        ("value", device.uuid, key),
                        "%s reported %s=%s, which its model does not allow; ignored",
                        device.name,
                        excerpt(key),
                        excerpt(value),
                    )
        changed = device.apply_values(accepted)
        if changed:
            device.notify(changed)
            self.save_values()

    def update_versions(self, device: RlinkDevice, data: JsonObject) -> None:
        """Take the firmware versions a message carries."""
        version, mcu = data.get("version"), data.get("mcuVersion")
        changed = False
        if isinstance(version, str) and version and version != device.version:
            device.version, changed = version, True
        if isinstance(mcu, str) and mcu and mcu != device.mcu_version:
            device.mcu_version, changed = mcu, True
        if device.ota.get("type") in OTA_BUSY and data.get("type") != "report":
            # A device telling its versions (bind, info) has started again: whatever it was
            # installing, on its own or on request, is over.
            device.ota = {"type": "done", "version": device.version} if changed else {}
            device.notify({"ota"})
        if changed:
            self.register(device)
            device.notify({"version", "mcu_version"})
            self.save_soon()

    def set_passwords(self, device: RlinkDevice, entries: list[JsonObject]) -> None:
        """A lock's password list; codes themselves are never kept."""
        device.passwords = [
            {k: v for k, v in entry.items() if k not in ("pwd", "password")} for entry in entries
        ]
        device.notify({"passwords"})
        self.save_soon()

    def fire(self, event: str, device: RlinkDevice, **data: Any) -> None:
        self.hass.bus.async_fire(
            event, {"device_id": self.device_id(device), "uuid": device.uuid, **data}
        )

    # --- devices ------------------------------------------------------------------------

    def device_options(self, uuid: str) -> Mapping[str, Any]:
        """The device's settings, from its own subentry; a gateway's sub-device has none,
        what it has is kept in the hub's options."""
        device = self.devices.get(uuid)
        subentry = self.entry.subentries.get(device.subentry_id or "") if device else None
        if subentry is not None and subentry.unique_id == uuid:
            settings: Mapping[str, Any] = subentry.data.get(CONF_SETTINGS, {})
            return settings
        options: Mapping[str, Mapping[str, Any]] = self.entry.options.get(CONF_DEVICES, {})
        return options.get(uuid, {})

    def spawn(self, coro: Any, name: str) -> None:
        task = self.entry.async_create_background_task(self.hass, coro, name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @callback
    def async_add_devices_listener(self, listener: DevicesListener) -> Callable[[], None]:
        """Called for every device now, and again whenever one appears or changes shape."""
        self._device_listeners.append(listener)
        for device in list(self.devices.values()):
            listener(device)
        return lambda: self._device_listeners.remove(listener)

    def announce(self, device: RlinkDevice) -> None:
        for listener in list(self._device_listeners):
            listener(device)

    def _attach_model(self, device: RlinkDevice) -> None:
        device.model = self.models.effective(device.pid) if device.pid else None
        device.model_inferred = bool(device.pid) and self.models.is_inferred(device.pid)
        self._normalise_values(device)
        self._resolve_profile(device)
        # Sub-devices and devices the cloud told of carry no name of their own.
        if device.automatic_name is not None and device.name == device.automatic_name:
            name = automatic_name(device.model, device.pid, device.uuid)
            if name != device.name:
                device.name = device.automatic_name = name
                if self.registry_entry(device.uuid) is not None:
                    self.register(device)

    def _resolve_profile(self, device: RlinkDevice) -> bool:
        """Work out the device's kinds again; True when they changed."""
        profile = resolve_profile(device.model, device.behaviours, self.device_options(device.uuid))
        if profile == device.profile:
            return False
        device.profile = profile
        return True

    @callback
    def async_refresh_profiles(self) -> None:
        """Options changed: rebuild the entities of devices whose kinds changed."""
        for device in list(self.devices.values()):
            if self._resolve_profile(device):
                self.announce(device)
                device.notify()

    @callback
    def _on_model_changed(self, pid: str) -> None:
        for device in list(self.devices.values()):
            if device.pid == pid:
                self._attach_model(device)
                self.announce(device)
                device.notify()

    def register(self, device: RlinkDevice) -> dr.DeviceEntry:
        """Create or update the device registry entry."""
        mac = device.network.get("mac")
        gateway = self.registry_entry(device.gateway) if device.gateway else None
        return dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.entry.entry_id,
            config_subentry_id=device.subentry_id,
            identifiers={(DOMAIN, device.uuid)},
            connections={(dr.CONNECTION_NETWORK_MAC, dr.format_mac(mac))} if mac else None,
            manufacturer=MANUFACTURER,
            model=(device.model.product_name if device.model else None) or device.pid or None,
            model_id=device.pid or None,
            name=device.name,
            sw_version=device.version,
            hw_version=device.mcu_version,
            serial_number=device.hardware_uuid or device.uuid,
            via_device_id=gateway.id if gateway is not None else None,
        )

    def registry_entry(self, uuid: str) -> dr.DeviceEntry | None:
        """This entry's registry device for a uuid (or a cloud device id)."""
        return dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, uuid), self.entry.entry_id
        )

    def device_id(self, device: RlinkDevice) -> str | None:
        entry = self.registry_entry(device.uuid)
        return entry.id if entry is not None else None

    @callback
    def add_subdevice(self, gateway: RlinkDevice, uuid: str, pid: str) -> RlinkDevice:
        sub = self.devices.get(uuid)
        if sub is None:
            sub = RlinkDevice(
                uuid,
                pid,
                (name := automatic_name(None, pid, uuid)),
                gateway=gateway.uuid,
                subentry_id=gateway.subentry_id,
                automatic_name=name,
            )
            self.devices[uuid] = sub
        sub.pid = pid
        self._attach_model(sub)
        self.register(sub)
        self.announce(sub)
        self.save_soon()
        return sub

    @callback
    def rename_subdevice(self, old_uuid: str, new_uuid: str) -> None:
        """A replacement sub-device took over: same hub device under its new uuid."""
        sub = self.devices.pop(old_uuid, None)
        if sub is None:
            return
        sub.uuid = new_uuid
        sub.online = False
        self.devices[new_uuid] = sub
        for entries in self.answers.local_configs.values():
            for group in entries.get("groups", []):
                group["deviceUuids"] = [
                    new_uuid if u == old_uuid else u for u in group.get("deviceUuids", [])
                ]
        self.announce(sub)
        sub.notify()
        self.save_soon()

    @callback
    def forget_subdevice(self, uuid: str) -> RlinkDevice | None:
        """Drop a sub-device (the registry entry is the caller's business)."""
        sub = self.devices.get(uuid)
        if sub is None or sub.gateway is None:
            return None
        del self.devices[uuid]
        self.forget_extras(uuid)
        self.save_soon()
        return sub

    @callback
    def forget_extras(self, uuid: str) -> None:
        """A device left: its options and its repair issues go with it."""
        ir.async_delete_issue(self.hass, DOMAIN, f"pending_expired_{uuid}")
        devices = self.entry.options.get(CONF_DEVICES, {})
        if uuid in devices:
            self.hass.config_entries.async_update_entry(
                self.entry,
                options={
                    **self.entry.options,
                    CONF_DEVICES: {k: v for k, v in devices.items() if k != uuid},
                },
            )

    @callback
    def remove_subdevice(self, uuid: str) -> None:
        """The gateway unbound a sub-device: forget it and remove it from the registry."""
        if self.forget_subdevice(uuid) is None:
            return
        if (entry := self.registry_entry(uuid)) is not None:
            dr.async_get(self.hass).async_remove_device(entry.id)

    def reachable(self, device: RlinkDevice) -> bool:
        """Whether a command can reach the device now."""
        return device.online and self._carrier_up(device)

    def available(self, device: RlinkDevice) -> bool:
        """Whether its entities are available: a sleeping device's last state still holds."""
        return (device.online or device.profile.sleeping) and self._carrier_up(device)

    def save_soon(self) -> None:
        """Configuration changed (sub-devices, local configs, held writes, maps, logins):
        write the cache at the next turn of the loop.

        One call schedules the write and the rest until it happens join it, so a stream of
        changes cannot postpone it (it saves the state of its moment).
        """
        if self._config_due:
            return
        self._config_due = self._save_due = True
        self._cache.async_delay_save(self._cache_now, CONFIG_SAVE_DELAY)

    def save_values(self) -> None:
        """Live values changed: they are written on a fixed cadence, within SAVE_DELAY of
        the first change since the last write, never once per report.

        Home Assistant's delayed save moves the write later at every call: with a device
        reporting more often than the delay, it would wait for shutdown. So one call
        schedules the write, and the rest wait for it.
        """
        if self._save_due:
            return
        self._save_due = True
        self._cache.async_delay_save(self._cache_now, SAVE_DELAY)

    def _cache_now(self) -> dict[str, Any]:
        self._save_due = self._config_due = False
        return self._cache_data()

    def _cache_data(self) -> dict[str, Any]:
        return {
            "devices": {uuid: d.snapshot() for uuid, d in self.devices.items()},
            **self.answers.dump(),
        }

    def set_online(self, device: RlinkDevice, online: bool) -> None:
        came_online = online and not device.online
        self._log_availability(device, online)
        device.set_online(online)
        for sub in self.devices.values():
            if sub.gateway == device.uuid:
                sub.notify()
        # A sub-device's gateway is listening already; a device of its own gets its held
        # writes after its first message, once it has subscribed (see _on_report).
        if came_online and device.gateway is not None:
            self.deliver_held(device)

    def _log_link(self, state: SessionState, reason: str | None) -> None:
        """Once when the connection to the broker drops, once when it is back."""
        if state is SessionState.DISCONNECTED and not self._link_lost:
            self._link_lost = True
            self._logger.info("%s lost its broker connection: %s", self.entry.title, reason)
        elif state is SessionState.CONNECTED and self._link_lost:
            self._link_lost = False
            self._logger.info("%s is connected to its broker again", self.entry.title)

    def _log_availability(self, device: RlinkDevice, online: bool) -> None:
        """Once when a device drops off, once when it returns (not at every start-up)."""
        if not online and device.online:
            self._logged_offline.add(device.uuid)
            self._logger.info("%s is offline", device.name)
        elif online and device.uuid in self._logged_offline:
            self._logged_offline.discard(device.uuid)
            self._logger.info("%s is back online", device.name)

    def deliver_held(self, device: RlinkDevice) -> None:
        if device.pending:
            self.spawn(self.desired.deliver(device), f"rlink deliver {device.uuid}")

    def available_gateway(self, device: RlinkDevice) -> bool:
        """Whether the gateway of a sub-device can take a command now."""
        gateway = self.devices.get(device.gateway or "")
        return gateway is not None and self.reachable(gateway)

    def target(self, device: RlinkDevice) -> RlinkDevice:
        """The device whose topics carry commands for `device` (its gateway, if any)."""
        if device.gateway is None:
            return device
        gateway = self.devices.get(device.gateway)
        if gateway is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="gateway_missing",
                translation_placeholders={"device": device.name},
            )
        return gateway

    def prepare_values(self, device: RlinkDevice, values: Mapping[str, Any]) -> dict[str, Any]:
        """Validate values to write against the model and shape them for the wire."""
        return {
            identifier: encode_value(prop, checked, device.bool_encoding)
            for identifier, (prop, checked) in self._checked(device, values, validate_write).items()
        }

    def prepare_report(self, device: RlinkDevice, values: Mapping[str, Any]) -> dict[str, Any]:
        """Validate values reported on the device's behalf (read-only ones included)."""
        if device.model is None or device.model_inferred:
            return dict(values)  # nothing to check them against
        return {
            identifier: encode_value(prop, checked, device.bool_encoding)
            for identifier, (prop, checked) in self._checked(device, values, validate).items()
        }

    def _checked(
        self,
        device: RlinkDevice,
        values: Mapping[str, Any],
        check: Callable[[Property, Any], Any],
    ) -> dict[str, tuple[Property, Any]]:
        model = device.model
        if model is None or device.model_inferred:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_model",
                translation_placeholders={"device": device.name, "pid": device.pid},
            )
        checked: dict[str, tuple[Property, Any]] = {}
        for identifier, value in values.items():
            prop = model.property(identifier)
            if prop is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="unknown_property",
                    translation_placeholders={"device": device.name, "property": identifier},
                )
            try:
                checked[identifier] = (prop, check(prop, value))
            except ValueRejected as err:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="invalid_value",
                    translation_placeholders={
                        "property": err.identifier,
                        "value": repr(value),
                        "reason": err.detail,
                    },
                ) from err
        return checked

    async def async_set_properties(self, device: RlinkDevice, values: Mapping[str, Any]) -> None:
        """Write values; the state changes when the device reports them.

        A sleeping device that cannot take them now gets them when it wakes up.
        """
        prepared = self.prepare_values(device, values)
        if not self.reachable(device) and device.profile.sleeping:
            self.desired.hold(device, prepared)
            return
        if device.gateway is not None and not device.online:
            raise command_error("device_offline", device)
        await self.async_write(device, prepared)

    def checked_value(self, device: RlinkDevice, identifier: str, value: Any) -> Any:
        """A reported value as its model reads it (`1`, `"1"` and `true` are all True), or
        REJECTED when it does not fit; unchanged without a model to read it by."""
        if device.model is None or device.model_inferred:
            return value
        prop = device.model.property(identifier)
        if prop is None:
            return REJECTED
        try:
            return validate(prop, value)
        except ValueRejected:
            return REJECTED

    def stored_form(self, device: RlinkDevice, prepared: Mapping[str, Any]) -> dict[str, Any]:
        """Values prepared for the wire as the device's state will hold them once reported."""
        return {k: self.checked_value(device, k, v) for k, v in prepared.items()}

    def _learn_bool_encoding(self, device: RlinkDevice, raw: Mapping[str, Any]) -> None:
        """How the device writes booleans (0/1 or false/true), seen in what it reports:
        writes to it use the same."""
        if device.model is None:
            return
        for key, value in raw.items():
            prop = device.model.property(key)
            if prop is not None and prop.type == "bool":
                device.bool_encoding = bool_encoding_of(value) or device.bool_encoding

    def _normalise_values(self, device: RlinkDevice) -> None:
        """Values kept before the device had this model (or from an older cache) are read
        by it now, once; those it does not allow are dropped."""
        if device.model is None or device.model_inferred:
            return
        for key, value in list(device.values.items()):
            checked = self.checked_value(device, key, value)
            if checked is REJECTED:
                del device.values[key]
            else:
                device.values[key] = checked

    async def _expire_held_writes(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            self.desired.expire_all()


def command_error(key: str, device: RlinkDevice, **placeholders: str) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"device": device.name, **placeholders},
    )
