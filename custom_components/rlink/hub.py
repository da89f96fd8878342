"""The local hub: a broker, one session, the devices, and the answers to their events.

The hub plays the rlink cloud. It runs the rlink device server (or uses an external
broker), takes every device's ``report`` and ``issue_response``, answers events through the
`Responder`, keeps a `RlinkDevice` per device, and sends commands. On its own server the
hub has no MQTT client: the server calls it with each message and puts its commands on the
devices' connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    EVENT_HOMEASSISTANT_STOP,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers import device_registry as dr

from .broker_auth import DATA_BROKER_AUTH, BrokerAuthService, parse_networks
from .const import (
    BROKER_EMBEDDED,
    COMMAND_TIMEOUT,
    CONF_AUTH_ALLOWED,
    CONF_AUTH_TOKEN,
    CONF_BIND_HOST,
    CONF_BROKER,
    CONF_BROKER_AUTH,
    CONF_CERTFILE,
    CONF_KEYFILE,
    CONF_PID,
    CONF_PING_INTERVAL,
    CONF_SECRET,
    CONF_TLS,
    CONF_TLS_CA,
    CONF_TLS_INSECURE,
    CONF_TLS_PORT,
    CONF_UUID,
    DEFAULT_BIND_HOST,
    DEFAULT_PING_INTERVAL,
    DEFAULT_TLS_PORT,
    DOMAIN,
    SUBENTRY_DEVICE,
)
from .device import RlinkDevice
from .device_logs import DATA_DEVICE_LOGS
from .kinds import BEHAVIOUR, Kind
from .models import ModelStore
from .protocol import messages
from .protocol.auth import Credentials
from .protocol.broker_gate import BrokerGate
from .protocol.codes import DeviceCommand as Cmd
from .protocol.codes import DeviceEvent as Evt
from .protocol.codes import ProductCommand, Status
from .protocol.errors import RlinkError
from .protocol.messages import Message
from .protocol.policy import Principal, ReplayGuard, RlinkPolicy, Role
from .protocol.responder import DeviceRef, Responder
from .protocol.server.link import ServerLink
from .protocol.server.server import DeviceServer, ServerStartError, TlsListener
from .protocol.session import (
    AuthRefused,
    ConnectError,
    MqttSession,
    NotConnected,
    RequestTimeout,
    SessionState,
    TlsOptions,
)
from .protocol.topics import (
    DeviceTopic,
    ProductTopic,
    Topic,
    TopicKind,
    device_filter,
    device_topic,
    product_topic,
)
from .runtime import WAKE_TIMEOUT, DeviceRuntime, command_error

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

_SWEEPER_EVENTS: Final = frozenset(
    {Evt.SWEEPER_MAP_ADD, Evt.SWEEPER_MAP_UPDATE, Evt.SWEEPER_MAP_DEL, Evt.SWEEPER_RECORD_ADD}
)


def external_session(data: Mapping[str, Any], client_id: str, **kwargs: Any) -> MqttSession:
    """A session with an external broker as its config entry data describes it."""
    credentials = Credentials(
        client_id=client_id,
        username=data.get(CONF_USERNAME) or "",
        password=data.get(CONF_PASSWORD) or "",
        ts=0,
    )
    tls = (
        TlsOptions(
            ca_file=data.get(CONF_TLS_CA) or None, insecure=data.get(CONF_TLS_INSECURE, False)
        )
        if data.get(CONF_TLS)
        else None
    )
    return MqttSession(data[CONF_HOST], data[CONF_PORT], lambda: credentials, tls=tls, **kwargs)


def hub_client_id(entry_id: str) -> str:
    """The hub's client id on an external broker: the same at every start, so the broker
    keeps the hub's session (subscriptions, queued reports) while it is away."""
    return f"rlink_hub_{entry_id[-12:]}"


async def async_forget_broker_session(data: Mapping[str, Any], entry_id: str) -> None:
    """The entry is deleted: log in once with a clean session, so the broker drops the
    hub's kept session instead of queueing reports for it forever. Best effort: a broker
    that cannot be reached now expires the session by its own rules."""
    session = external_session(
        data, hub_client_id(entry_id), connect_timeout=5, name="rlink hub farewell"
    )
    try:
        await session.connect()
    except ConnectError as err:
        _LOGGER.debug("Could not reach the broker to end the hub's session: %s", err)
    finally:
        await session.close()


class _Gathering:
    """Replies to one product-wide command, complete when `expected` have come."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.replies: list[Message] = []
        self.complete = asyncio.Event()
        if expected <= 0:
            self.complete.set()

    def add(self, reply: Message) -> None:
        self.replies.append(reply)
        if len(self.replies) >= self.expected:
            self.complete.set()


class RlinkHub(DeviceRuntime):
    """Everything one local hub config entry runs."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, models: ModelStore) -> None:
        super().__init__(hass, entry, models, _LOGGER)
        self.secrets: dict[str, str] = {}
        self.broker: DeviceServer | None = None
        self.policy: RlinkPolicy | None = None
        self.session: MqttSession | ServerLink | None = None
        self._link: ServerLink | None = None
        self._refused = False
        self.responder = Responder(self.answers)
        self._answering: set[tuple[str, str]] = set()
        """(device, code) of the answers waiting on I/O."""
        self._ids = messages.MessageIds()
        self._product_replies: dict[str, _Gathering] = {}

    # --- configuration ------------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        return bool(self.entry.data[CONF_BROKER] == BROKER_EMBEDDED)

    @property
    def ping_interval(self) -> float:
        return float(self.entry.options.get(CONF_PING_INTERVAL, DEFAULT_PING_INTERVAL))

    # --- lifecycle ----------------------------------------------------------------------

    async def async_start(self) -> None:
        """Start the broker and the session; raises ConfigEntry* errors for HA to show."""
        cache = await self._load_cache()
        self.async_sync_subentries(cache.get("devices", {}))
        await self.answers.async_load_time_zones()
        if self.embedded:
            await self._start_device_server(cache.get("logins", {}))
        elif self.entry.data.get(CONF_BROKER_AUTH):
            self._serve_broker_auth(cache.get("logins", {}))
        session = self._make_session()
        self.session = session
        if isinstance(session, MqttSession):
            self._route(session)  # before connecting: the broker may hand over a backlog
            await self._connect(session, "broker_auth_failed")
            with contextlib.suppress(TimeoutError):  # a slow SUBACK is the broker's business
                async with asyncio.timeout(SUBSCRIBE_WAIT):
                    await session.wait_subscribed()
        else:
            self.follow_models()
            self._on_session_state(SessionState.CONNECTED, None)
        self._unsubscribe.append(
            self.hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._on_registry_updated)
        )
        self._unsubscribe.append(self.hass.data[DATA_DEVICE_LOGS].add_secrets(self.secrets.get))
        if not self.embedded:
            self.spawn(self._watch_silence(), "rlink ping")
        self.spawn(self._expire_held_writes(), "rlink held writes")

    def _route(self, session: MqttSession | ServerLink) -> None:
        """Where device messages go. In place before the first can arrive: a device that
        reconnects the moment the server listens sends its backlog at once, and each of
        those reports is acknowledged, so it must have somewhere to go."""
        session.subscribe(device_filter(TopicKind.REPORT), self.held(self._on_report))
        session.subscribe(
            device_filter(TopicKind.ISSUE_RESPONSE), self.held(self._on_issue_response)
        )
        session.subscribe(
            str(ProductTopic(TopicKind.PRODUCT_ISSUE_RESPONSE, "+")), self._on_product_response
        )

    def _make_policy(self, logins: dict[str, int]) -> RlinkPolicy:
        """The device server's rules; an external broker is held to the same ones."""
        self.policy = RlinkPolicy(
            secret_for=self.secrets.get,
            pid_for=self._pid_for,
            product_pids_for=self._sub_pids,
            hears_any_product=self._is_gateway,
            on_unknown=self._on_unknown_device,
            replays=ReplayGuard(logins, on_change=self.save_soon),
        )
        return self.policy

    def _serve_broker_auth(self, logins: dict[str, int]) -> None:
        """The external broker asks Home Assistant who may log in and touch what."""
        data = self.entry.data
        gate = BrokerGate(
            self._make_policy(logins),
            data.get(CONF_USERNAME),
            data.get(CONF_PASSWORD),
            on_login=self._on_principal_online,  # leaving is still told by silence and ping
        )
        service = BrokerAuthService(
            gate, parse_networks(data.get(CONF_AUTH_ALLOWED)), self.entry.title
        )
        self._unsubscribe.append(
            self.hass.data[DATA_BROKER_AUTH].add(data[CONF_AUTH_TOKEN], service)
        )

    async def _start_device_server(self, logins: dict[str, int]) -> None:
        data = self.entry.data
        tls = None
        if data.get(CONF_CERTFILE) and data.get(CONF_KEYFILE):
            tls = TlsListener(
                data[CONF_CERTFILE], data[CONF_KEYFILE], data.get(CONF_TLS_PORT, DEFAULT_TLS_PORT)
            )
        policy = self._make_policy(logins)
        link = ServerLink(
            on_connected=self._on_principal_online, on_disconnected=self._on_principal_offline
        )
        self._route(link)
        server = DeviceServer(
            policy,
            link,
            host=data.get(CONF_BIND_HOST) or DEFAULT_BIND_HOST,
            port=data[CONF_PORT],
            tls=tls,
        )
        try:
            await server.start()
        except ServerStartError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="broker_start_failed",
                translation_placeholders={"reason": str(err)},
            ) from err
        link.attach(server)
        self.broker = server
        self._link = link
        self._unsubscribe.append(
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._on_stopping)
        )

    async def _on_stopping(self, _event: Event) -> None:
        """Home Assistant stops: devices are let go before the last writes, so everything
        they were told was taken (every PUBACK) is in the cache that is written then."""
        if self.broker is not None:
            await self.broker.stop()

    def _make_session(self) -> MqttSession | ServerLink:
        if self._link is not None:
            return self._link
        return external_session(
            self.entry.data,
            hub_client_id(self.entry.entry_id),
            on_state=self._on_session_state,
            on_connect_error=self._on_connect_error,
            name="rlink hub",
            # The broker keeps the hub's subscriptions and queues what devices report while
            # Home Assistant restarts or the link is down: nothing acknowledged is lost.
            clean_session=False,
        )

    def _on_connect_error(self, err: ConnectError) -> None:
        """The broker's password changed after setup: ask the user, once per refusal run."""
        if not isinstance(err, AuthRefused):
            self._refused = False
            return
        if not self._refused:
            self._refused = True
            _LOGGER.warning(
                "%s: the broker refuses Home Assistant's login: %s", self.entry.title, err
            )
            self.entry.async_start_reauth(self.hass)

    def _cache_data(self) -> dict[str, Any]:
        data = super()._cache_data()
        if self.policy is not None:
            data["logins"] = self.policy.replays.snapshot()
        return data

    async def async_stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.broker is not None:
            await self.broker.stop()
            self.broker = None
            self._link = None
        await super().async_stop()

    # --- devices ------------------------------------------------------------------------

    @callback
    def async_sync_subentries(self, cached: Mapping[str, Any] | None = None) -> None:
        """Make the device list match the entry's device subentries."""
        cached = cached or {}
        wanted: dict[str, Any] = {}
        for subentry in self.entry.subentries.values():
            if subentry.subentry_type == SUBENTRY_DEVICE:
                wanted[subentry.data[CONF_UUID]] = subentry
        for uuid in [u for u, d in self.devices.items() if d.gateway is None and u not in wanted]:
            self._drop_device(uuid)
        for uuid, subentry in wanted.items():
            self.secrets[uuid] = subentry.data[CONF_SECRET]
            device = self.devices.get(uuid)
            pid = subentry.data.get(CONF_PID) or (cached.get(uuid) or {}).get("pid") or ""
            if device is None:
                device = RlinkDevice(uuid, pid, subentry.title, subentry_id=subentry.subentry_id)
                if uuid in cached:
                    device.restore(cached[uuid])
                self.devices[uuid] = device
                self._restore_subdevices(device, cached)
                self._attach_model(device)
                self.register(device)
                self.announce(device)
            elif device.name != subentry.title:
                device.name = subentry.title
                self.register(device)

    def _restore_subdevices(self, gateway: RlinkDevice, cached: Mapping[str, Any]) -> None:
        for uuid, saved in cached.items():
            if saved.get("gateway") == gateway.uuid and uuid not in self.devices:
                sub = RlinkDevice(
                    uuid,
                    saved.get("pid") or "",
                    saved.get("name") or uuid,
                    gateway=gateway.uuid,
                    subentry_id=gateway.subentry_id,
                    # Saved before names followed the model: the one it had was automatic.
                    automatic_name=saved.get("name") or uuid,
                )
                sub.restore(saved)
                self.devices[uuid] = sub
                self._attach_model(sub)
                self.register(sub)
                self.announce(sub)

    def _drop_device(self, uuid: str) -> None:
        self.devices.pop(uuid, None)
        self.secrets.pop(uuid, None)
        for sub_uuid in [u for u, d in self.devices.items() if d.gateway == uuid]:
            self.devices.pop(sub_uuid, None)
            self.forget_extras(sub_uuid)
        self.forget_extras(uuid)
        if self.policy is not None:
            self.policy.forget(uuid)
        if self.broker is not None:
            self.broker.disconnect(uuid)  # a device that left the hub is not served any more
        self.spawn(self.hass.data[DATA_DEVICE_LOGS].async_forget(uuid), f"rlink logs {uuid}")

    def _pid_for(self, uuid: str) -> str | None:
        device = self.devices.get(uuid)
        return device.pid if device is not None and device.pid else None

    def _is_gateway(self, uuid: str) -> bool:
        device = self.devices.get(uuid)
        return device is not None and (
            device.profile.has(Kind.GATEWAY)
            or any(d.gateway == uuid for d in self.devices.values())
        )

    def _sub_pids(self, uuid: str) -> set[str]:
        """The products of a gateway's sub-devices: it may answer their product commands."""
        return {d.pid for d in self.devices.values() if d.gateway == uuid and d.pid}

    def learn_behaviour(self, device: RlinkDevice, message: Message) -> None:
        """An event only some kinds send: maybe the device (or its sub-device) is one.

        Only for a device without a real model (the model says what a device is), and only
        from an event that was handled without error: one stray message must not make a
        plug a lock.
        """
        code = str(message.code)
        if code not in BEHAVIOUR:
            return
        sub = self.devices.get(str(message.data.get("subUuid") or ""))
        if sub is not None and sub.gateway == device.uuid:
            device = sub
        if device.model is not None and not device.model_inferred:
            return
        if code not in device.behaviours:
            device.behaviours.add(code)
            self.save_soon()
            if self._resolve_profile(device):
                self.announce(device)

    async def async_unbind_subdevice(self, sub: RlinkDevice) -> None:
        """Ask the gateway to let a sub-device go; an unreachable gateway is only logged."""
        try:
            await self.async_command(
                self.target(sub), Cmd.SUB_DELETE, {"devices": [{"uuid": sub.uuid}]}, ack=True
            )
        except HomeAssistantError as err:
            _LOGGER.warning(
                "%s is removed from Home Assistant, but its gateway did not confirm: %s",
                sub.name,
                err,
            )

    def _carrier_up(self, device: RlinkDevice) -> bool:
        """The session, and for a sub-device its gateway, are up."""
        if self.session is None or not self.session.connected:
            return False
        if device.gateway is not None:
            gateway = self.devices.get(device.gateway)
            return gateway is not None and gateway.online
        return True

    @callback
    def _on_registry_updated(self, event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        """A device renamed or moved to another room: tell it (or its gateway)."""
        if event.data["action"] != "update" or not _INFO_FIELDS & event.data["changes"].keys():
            return
        entry = dr.async_get(self.hass).async_get(event.data["device_id"])
        uuid = next((i for d, i in entry.identifiers if d == DOMAIN), None) if entry else None
        device = self.devices.get(uuid or "")
        if device is None:
            return
        info = self.answers.device_info(device)
        data: dict[str, Any] = {"deviceInfo": info}
        if device.gateway:
            data["subUuid"] = device.uuid
        target = self.target(device)
        if not self.reachable(target):
            return  # it asks for `sub_list` / `local_data_sync` when it is back
        self.spawn(
            self._send_quietly(target, Cmd.DEVICE_INFO_UPDATE, data),
            f"rlink device info {device.uuid}",
        )

    async def _send_quietly(self, device: RlinkDevice, code: Cmd, data: dict[str, Any]) -> None:
        try:
            await self.async_command(device, code, data, ack=False)
        except HomeAssistantError as err:
            _LOGGER.info("Could not send %s to %s: %s", code, device.name, err)

    # --- presence -----------------------------------------------------------------------

    def _on_principal_online(self, principal: Principal) -> None:
        if principal.role is Role.DEVICE:
            self._on_device_online(principal.identity)

    def _on_principal_offline(self, principal: Principal) -> None:
        if principal.role is Role.DEVICE:
            self._on_device_offline(principal.identity)

    def _on_device_online(self, uuid: str) -> None:
        device = self.devices.get(uuid)
        if device is not None:
            device.needs_resync = True
            device.seen()
            self.set_online(device, True)

    def _on_device_offline(self, uuid: str) -> None:
        device = self.devices.get(uuid)
        if device is not None:
            self.set_online(device, False)

    async def async_wake(self, device: RlinkDevice, timeout: float = WAKE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Send `wake_up` and wait (bounded) until the device speaks again."""
        heard = device.next_message()
        data = {"subUuid": device.uuid} if device.gateway else {}
        try:
            await self.async_command(self.target(device), Cmd.WAKE_UP, data, ack=True)
            async with asyncio.timeout(timeout):
                await heard
        except TimeoutError:
            _LOGGER.debug("%s answered wake_up but has not reported since", device.name)
        finally:
            heard.cancel()

    def _still_connected(self, device: RlinkDevice) -> bool:
        """A message may arrive after its sender left; the device server knows."""
        return self.broker is None or self.broker.is_connected(device.uuid)

    def _on_unknown_device(self, uuid: str) -> None:
        from .discovery import async_discovered_device  # noqa: PLC0415 - avoids a cycle

        async_discovered_device(self.hass, self.entry, uuid)

    @callback
    def _on_session_state(self, state: SessionState, reason: str | None) -> None:
        self._log_link(state, reason)
        if state is SessionState.CONNECTED:
            self._refused = False
        if state is SessionState.CONNECTED and self.session is not None:
            if not self.embedded:
                # The broker says nothing about who is there: ask everyone, and mark them
                # online as they answer.
                for device in self.devices.values():
                    device.online = False
                self.spawn(self._resync_rounds(), "rlink resync")
            else:
                self.resync_all()
        for device in self.devices.values():
            device.notify()

    def resync_all(self) -> None:
        """Ask every directly connected device for all its values."""
        for device in list(self.devices.values()):
            if device.gateway is None and (not self.embedded or device.online):
                self.spawn(self._resync(device), f"rlink resync {device.uuid}")

    async def _resync_rounds(self) -> None:
        """Devices reconnect on their own schedule: ask again those not heard from yet."""
        for delay in _RESYNC_ROUNDS:
            await asyncio.sleep(delay)
            for device in list(self.devices.values()):
                if device.gateway is None and not device.online:
                    await self._resync(device)

    async def _resync(self, device: RlinkDevice) -> None:
        data: dict[str, Any] = {"reportAll": True}
        subs = [d.uuid for d in self.devices.values() if d.gateway == device.uuid]
        if subs:
            data["subUuids"] = subs
        with contextlib.suppress(HomeAssistantError):
            await self.async_command(
                device, Cmd.PROPERTY_GET, data, ack=False, require_online=False
            )

    async def _watch_silence(self) -> None:
        """External brokers say nothing about presence: ping devices that went quiet."""
        while True:
            interval = self.ping_interval
            await asyncio.sleep(min(interval / 4, 60))
            now = time.monotonic()
            for device in list(self.devices.values()):
                if device.gateway is not None:
                    continue
                last = device.last_seen or self.started_at
                if now - last >= interval:
                    self.spawn(self._ping_quiet(device), f"rlink ping {device.uuid}")

    async def _ping_quiet(self, device: RlinkDevice) -> None:
        try:
            await self.async_ping(device)
        except HomeAssistantError:
            self.set_online(device, False)
            device.last_seen = time.monotonic()  # wait a full interval before the next try

    # --- incoming -----------------------------------------------------------------------

    def _known_device(self, topic: Topic) -> RlinkDevice | None:
        assert isinstance(topic, DeviceTopic)
        device = self.devices.get(topic.uuid)
        if device is None or device.gateway is not None:
            self.log.warning(
                ("unknown", topic.uuid),
                "Message from %s, which is not a device of this hub; add it to use it",
                topic.uuid,
            )
            return None
        if not device.pid:
            device.pid = topic.pid
            self._attach_model(device)
            self.register(device)
            self.announce(device)
        elif device.pid != topic.pid:
            self.log.warning(
                ("pid", topic.uuid),
                "Device %s uses product id %s, expected %s; message ignored",
                topic.uuid,
                topic.pid,
                device.pid,
            )
            return None
        return device

    def _on_report(self, topic: Topic, message: Message) -> None:
        assert isinstance(topic, DeviceTopic)
        if message.is_reply:
            return
        device = self._known_device(topic)
        if device is None:
            if message.ack and self.session is not None:
                refusal = messages.reply(
                    message, res=1004, msg="device not registered with the hub"
                )
                self._publish(
                    device_topic(TopicKind.REPORT_RESPONSE, topic.pid, topic.uuid), refusal
                )
            return
        device.seen()
        device.record("in", str(message.code), message.data)
        if not device.online and self._still_connected(device):
            device.needs_resync = True
            self.set_online(device, True)
        ref = DeviceRef(device.uuid, device.pid)
        if self.responder.needs_io(str(message.code)):
            self.spawn(self._answer_later(device, ref, message), f"rlink {message.code}")
        else:
            self._answer(device, message, *self.responder.handle_with_status(ref, message))
        if message.code in _SWEEPER_EVENTS:
            self.save_soon()
            device.notify({"sweeper"})
        if device.needs_resync:
            device.needs_resync = False
            self.spawn(self._resync(device), f"rlink resync {device.uuid}")
            self.deliver_held(device)

    def _answer(
        self, device: RlinkDevice, message: Message, reply: Message | None, status: int
    ) -> None:
        if status == Status.SUCCESS:
            self.learn_behaviour(device, message)
        if reply is None:
            return
        device.record("out", str(reply.code), reply.data)
        self._publish(device_topic(TopicKind.REPORT_RESPONSE, device.pid, device.uuid), reply)
        if reply.res:
            self.log.warning(
                ("refused", device.uuid, str(message.code)),
                "Answered %s from %s with status %s: %s",
                message.code,
                device.uuid,
                reply.res,
                reply.msg,
            )

    async def _answer_later(self, device: RlinkDevice, ref: DeviceRef, message: Message) -> None:
        """An answer that waits on I/O; one at a time per device and code, so a device
        that repeats its request cannot pile up work."""
        key = (device.uuid, str(message.code))
        if key in self._answering:
            busy = Status.SERVICE_EXCEPTION
            refusal = messages.reply(message, res=busy, msg="busy") if message.ack else None
            self._answer(device, message, refusal, busy)
            return
        self._answering.add(key)
        try:
            self._answer(
                device, message, *await self.responder.async_handle_with_status(ref, message)
            )
        finally:
            self._answering.discard(key)

    def _on_issue_response(self, topic: Topic, message: Message) -> None:
        """A reply nobody waits for any more (it came too late)."""
        assert isinstance(topic, DeviceTopic)
        if (device := self.devices.get(topic.uuid)) is not None:
            device.seen()
            device.record("in", str(message.code), message.data)
        _LOGGER.debug("Late reply %s %s from %s", message.code, message.id, topic.uuid)

    def _on_product_response(self, topic: Topic, message: Message) -> None:
        """Every device of a product answers a product command: collect them all."""
        gathering = self._product_replies.get(message.id)
        if gathering is not None:
            gathering.add(message)

    async def async_product_request(
        self, topic: str, message: Message, window: float, expected: int
    ) -> list[Message]:
        """Publish a product-wide command and gather replies for up to `window` seconds.

        Returns early once `expected` devices have answered.
        """
        if self.session is None or not self.session.connected:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="hub_not_connected")
        gathering = _Gathering(expected)
        self._product_replies[message.id] = gathering
        try:
            self.session.publish(topic, message)
            async with asyncio.timeout(window):
                await gathering.complete.wait()
        except TimeoutError:
            pass  # whoever did not answer by now is reported as such
        finally:
            del self._product_replies[message.id]
        return gathering.replies

    async def async_offer_firmware(
        self, pid: str, order: dict[str, Any], window: float
    ) -> dict[str, Any]:
        """`silence_ota` to the whole product; every device of it says yes, no, or nothing."""
        message = messages.product_command(ProductCommand.SILENCE_OTA, order, ack=True)
        # One reply per connection: a gateway answers once for all its sub-devices.
        carriers = {
            self.target(d).uuid for d in self.devices.values() if d.pid == pid and self.reachable(d)
        }
        replies = await self.async_product_request(
            product_topic(TopicKind.PRODUCT_ISSUE, pid), message, window, len(carriers)
        )
        devices: dict[str, Any] = {
            d.uuid: {"result": "not_accepted"} for d in self.devices.values() if d.pid == pid
        }
        for reply in replies:
            for entry in reply.data.get("devices") or []:
                if isinstance(entry, dict) and isinstance(entry.get("uuid"), str):
                    devices[entry["uuid"]] = {"result": "refused" if reply.res else "accepted"}
        return devices

    def _publish(self, topic: str, message: Message) -> None:
        if self.session is None:
            return
        try:
            self.session.publish(topic, message)
        except NotConnected as err:
            self.log.warning(("publish", topic), "Could not answer on %s: %s", topic, err)

    # --- outgoing -----------------------------------------------------------------------

    def push_time_to_all(self) -> None:
        """The time zone changed: send every device a fresh `time` answer."""
        for device in self.devices.values():
            if device.gateway is None and device.online:
                reply = self.responder.push_time(DeviceRef(device.uuid, device.pid))
                self._publish(
                    device_topic(TopicKind.REPORT_RESPONSE, device.pid, device.uuid), reply
                )

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
        """Send a command; with ack, wait for and return the device's reply.

        A device known to be offline fails at once rather than after the timeout.
        Failures become translated `HomeAssistantError`s.
        """
        if self.session is None or not self.session.connected:
            raise command_error("not_connected", device)
        if require_online and not device.online:
            raise command_error("device_offline", device)
        message = messages.command(code, data, ack=ack, msg_id=self._ids())
        topic = device_topic(TopicKind.ISSUE, device.pid, device.uuid)
        device.record("out", str(code), message.data)
        try:
            if not message.ack:
                self.session.publish(topic, message)
                return None
            answer = await self.session.request(topic, message, timeout=timeout)
        except NotConnected as err:
            raise command_error("not_connected", device) from err
        except RequestTimeout as err:
            raise command_error("timeout", device, command=str(code)) from err
        except RlinkError as err:
            raise command_error(
                "device_refused", device, command=str(code), code=str(err.code), msg=err.msg or ""
            ) from err
        device.seen()
        return answer

    async def async_write(self, device: RlinkDevice, prepared: Mapping[str, Any]) -> None:
        """Send values already checked and encoded by `prepare_values`; done when the
        device confirms them, by its reply or by reporting them."""
        expected = dict(prepared)
        stored = self.stored_form(device, expected)
        reported = device.when(lambda d: all(d.values.get(k) == v for k, v in stored.items()))
        if device.gateway is None:
            await self.async_confirmed(device, Cmd.PROPERTY_SET, {"properties": expected}, reported)
            return
        await self.async_confirmed(
            self.target(device),
            Cmd.SUB_PROPERTY_SET,
            {"devices": [{"uuid": device.uuid, "properties": expected}]},
            reported,
        )

    async def async_refresh(self, device: RlinkDevice) -> None:
        gateway = self.target(device)
        data: dict[str, Any] = {"reportAll": True}
        if gateway is not device:
            data["subUuids"] = [device.uuid]
        await self.async_command(gateway, Cmd.PROPERTY_GET, data, ack=False)

    async def async_ping(self, device: RlinkDevice) -> dict[str, Any]:
        """Check the connection; the answer updates the network diagnostics."""
        reply = await self.async_command(
            self.target(device), Cmd.PING, ack=True, require_online=False
        )
        data = reply.data if reply is not None else {}
        gateway = self.target(device)
        self.set_online(gateway, True)
        network = {k: data[k] for k in _NETWORK_KEYS if k in data}
        if network:
            gateway.network.update(network)
            gateway.notify(_NETWORK_KEYS)
            self.save_values()
        return {k: v for k, v in data.items() if k != "wifiList"}


_RESYNC_ROUNDS: Final = (0.0, 5.0, 15.0, 45.0)
SUBSCRIBE_WAIT: Final = 10.0
_INFO_FIELDS: Final = frozenset({"name", "name_by_user", "area_id"})
_NETWORK_KEYS: Final = frozenset({"currentSsid", "networkType", "signal", "signalValue"})
