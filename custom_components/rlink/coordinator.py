"""The coordinator of one config entry: its devices, their models, state and held writes.

Both modes share it. What differs, how devices are heard and reached, is the entry's
transport (`transport.Transport`): the local hub (`local.hub.LocalHub`) or the cloud
account (`cloud.account.CloudAccount`). Entities and services talk to the coordinator
only, so one set of platform modules serves both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
)

from .const import (
    COMMAND_TIMEOUT,
    DOMAIN,
)
from .desired import CHECK_INTERVAL, DesiredState
from .device import RlinkDevice
from .errors import command_error
from .models import ModelStore
from .protocol.codes import DeviceCommand as Cmd
from .protocol.messages import JsonObject, Message
from .protocol.responder import SweeperStore
from .protocol.routing import MessageHandler
from .protocol.session import AuthRefused, ConnectError, MqttSession, SessionState
from .protocol.topics import Topic
from .roster import DeviceRoster
from .transport import WAKE_TIMEOUT, Transport
from .values import (
    REJECTED,
    checked_value,
    excerpt,
    learn_bool_encoding,
    prepare_values,
)

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

OTA_BUSY: Final = frozenset({"requested", "downloading", "burning"})
HELD_MESSAGES: Final = 20_000
"""Messages kept while the entities are being set up (a fleet reconnecting at once)."""

type TransportFactory = Callable[[RlinkCoordinator], Transport]


class RlinkCoordinator(DeviceRoster):
    """The devices of one config entry, and what entities and services ask of them."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        models: ModelStore,
        transport: TransportFactory,
    ) -> None:
        super().__init__(hass, entry, models)
        self._logged_offline: set[str] = set()
        self._link_lost = False
        self.started_at = time.monotonic()
        self.desired = DesiredState(self)
        self._held: deque[tuple[MessageHandler, Topic, Message]] | None = deque(
            maxlen=HELD_MESSAGES
        )
        self.transport = transport(self)

    # --- lifecycle ----------------------------------------------------------------------

    async def async_start(self) -> None:
        """Load what was kept and connect; raises ConfigEntry* errors for HA to show."""
        cache = await self._cache.async_load() or {}
        self.sweepers = {u: SweeperStore.load(s) for u, s in cache.get("sweepers", {}).items()}
        await self.transport.async_start(cache)
        self.spawn(self._expire_held_writes(), "rlink held writes")

    @callback
    def async_sync_subentries(self) -> None:
        """Make the devices match the entry's device subentries."""
        self.transport.sync_subentries()

    async def async_options_changed(self) -> None:
        """Options or device settings changed: kinds may differ, the transport may care."""
        self.async_refresh_profiles()
        await self.transport.async_options_changed()

    # --- what the transport carries -----------------------------------------------------

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
        return await self.transport.async_command(
            device, code, data, ack=ack, timeout=timeout, require_online=require_online
        )

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

    async def async_write(self, device: RlinkDevice, prepared: Mapping[str, Any]) -> None:
        """Send values already checked and encoded (`values.prepare_values`)."""
        await self.transport.async_write(device, prepared)

    async def async_set_properties_many(
        self, devices: list[RlinkDevice], values: Mapping[str, Any]
    ) -> None:
        """The same values for several devices (a transport may send them at once)."""
        await self.transport.async_write_many(devices, values)

    async def async_refresh(self, device: RlinkDevice) -> None:
        """Ask the device for all its values."""
        await self.transport.async_refresh(device)

    async def async_ping(self, device: RlinkDevice) -> dict[str, Any]:
        """Check the device's connection; returns what it told."""
        return await self.transport.async_ping(device)

    async def async_wake(self, device: RlinkDevice, timeout: float = WAKE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wake a sleeping device and wait (bounded) until it speaks."""
        await self.transport.async_wake(device, timeout)

    async def async_offer_firmware(
        self, pid: str, order: dict[str, Any], window: float
    ) -> dict[str, Any]:
        """Offer a firmware to every device of a product: device key -> {"result": ...}."""
        return await self.transport.async_offer_firmware(pid, order, window)

    def target(self, device: RlinkDevice) -> RlinkDevice:
        """The device whose connection carries commands for `device`."""
        return self.transport.target(device)

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
        """Disconnect, stop every task, and write the cache one last time."""
        await self.transport.async_stop()
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

    async def connect(self, session: MqttSession, refused_key: str) -> None:
        """First connection: a refusal asks for new credentials, anything else retries later.

        Afterwards the coordinator follows model changes (`follow_models`).
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

    # --- reported state -----------------------------------------------------------------

    def apply_reported(self, device: RlinkDevice, values: JsonObject) -> None:
        """Take values a device reported: checked against its model, or teaching one."""
        if device.model is None or device.model_inferred:
            if device.pid:
                self.models.async_observe(device.pid, values)
            accepted = values
        else:
            accepted = {}
            learn_bool_encoding(device, values)
            for key, value in values.items():
                checked = checked_value(device, key, value)
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

    # --- devices ------------------------------------------------------------------------

    def reachable(self, device: RlinkDevice) -> bool:
        """Whether a command can reach the device now."""
        return device.online and self.transport.carrier_up(device)

    def available(self, device: RlinkDevice) -> bool:
        """Whether its entities are available: a sleeping device's last state still holds."""
        return (device.online or device.profile.sleeping) and self.transport.carrier_up(device)

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

    def log_link(self, state: SessionState, reason: str | None) -> None:
        """Once when the connection to the broker drops, once when it is back."""
        if state is SessionState.DISCONNECTED and not self._link_lost:
            self._link_lost = True
            _LOGGER.info("%s lost its broker connection: %s", self.entry.title, reason)
        elif state is SessionState.CONNECTED and self._link_lost:
            self._link_lost = False
            _LOGGER.info("%s is connected to its broker again", self.entry.title)

    def _log_availability(self, device: RlinkDevice, online: bool) -> None:
        """Once when a device drops off, once when it returns (not at every start-up)."""
        if not online and device.online:
            self._logged_offline.add(device.uuid)
            _LOGGER.info("%s is offline", device.name)
        elif online and device.uuid in self._logged_offline:
            self._logged_offline.discard(device.uuid)
            _LOGGER.info("%s is back online", device.name)

    def deliver_held(self, device: RlinkDevice) -> None:
        if device.pending:
            self.spawn(self.desired.deliver(device), f"rlink deliver {device.uuid}")

    def available_gateway(self, device: RlinkDevice) -> bool:
        """Whether the gateway of a sub-device can take a command now."""
        gateway = self.devices.get(device.gateway or "")
        return gateway is not None and self.reachable(gateway)

    async def async_set_properties(self, device: RlinkDevice, values: Mapping[str, Any]) -> None:
        """Write values; the state changes when the device reports them.

        A sleeping device that cannot take them now gets them when it wakes up.
        """
        prepared = prepare_values(device, values)
        if not self.reachable(device) and device.profile.sleeping:
            self.desired.hold(device, prepared)
            return
        if device.gateway is not None and not device.online:
            raise command_error("device_offline", device)
        await self.async_write(device, prepared)

    async def _expire_held_writes(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            self.desired.expire_all()
