"""The embedded broker: amqtt with rlink authentication and a per-device topic ACL.

Devices log in with their rlink credentials, checked against the secret the owner of the
broker knows for that uuid. The hub's own client logs in with credentials generated at
start. A device may only publish to and subscribe to its own topics. Apps, when the owner
of the broker knows their users (the simulated rlink cloud does), log in with app
credentials and may only read the notifications of their own user and homes.

Clock skew: devices may connect before they have asked for the time, so their ``ts`` can
be anything. The optional `max_skew` refuses signatures whose ``ts`` is further than that
from now; it is off by default.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import secrets
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action, ListenerConfig
from amqtt.errors import AMQTTError, BrokerError, MQTTError, NoDataError
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BasePlugin, BaseTopicPlugin
from amqtt.session import Session

from .auth import (
    APP_CLIENT_PREFIX,
    Credentials,
    app_user_from_client_id,
    device_uuid_from_client_id,
    verify_app,
    verify_device,
)
from .errors import ProtocolError
from .topics import AppTopic, DeviceTopic, ProductTopic, TopicKind, parse_topic

_LOGGER = logging.getLogger(__name__)

HUB_CLIENT_PREFIX: Final = "rlink_hub_"
_DEVICE_PUBLISH: Final = frozenset({TopicKind.REPORT, TopicKind.ISSUE_RESPONSE})
_DEVICE_RECEIVE: Final = frozenset({TopicKind.REPORT_RESPONSE, TopicKind.ISSUE})


class BrokerStartError(Exception):
    """The embedded broker could not start (port taken, bad certificate, …)."""


class PortInUse(BrokerStartError):
    """Something else already listens on the port."""


@dataclass(frozen=True, slots=True)
class BrokerTls:
    """A TLS listener next to the plain one."""

    certfile: str
    keyfile: str
    port: int = 8883


def _hub_credentials() -> Credentials:
    return Credentials(
        client_id=f"{HUB_CLIENT_PREFIX}{secrets.token_hex(6)}",
        username=f"hub-{secrets.token_hex(6)}",
        password=secrets.token_urlsafe(32),
        ts=0,
    )


@dataclass(slots=True)
class DeviceGate:
    """What the plugins share: who may log in, who is logged in, and what they may touch."""

    secret_for: Callable[[str], str | None]
    """The secret of a uuid, or None when the uuid is unknown."""
    pid_for: Callable[[str], str | None] = lambda _uuid: None
    """The product id a uuid must use, when known; otherwise learned from its first topic."""
    on_online: Callable[[str], None] = lambda _uuid: None
    on_offline: Callable[[str], None] = lambda _uuid: None
    on_unknown: Callable[[str], None] = lambda _uuid: None
    """Called with the uuid of a device that tried to log in without being known."""
    app_secret_for: Callable[[str], str | None] = lambda _user: None
    """The app secret of a user id; None refuses the user (the default: no apps)."""
    homes_for: Callable[[str], Collection[str]] = lambda _user: ()
    """The assetIds whose notifications a user may read."""
    on_app_online: Callable[[str, str], None] = lambda _user, _client: None
    """Called with the user id and client id of an app that logged in."""
    max_skew: int | None = None
    hub: Credentials = field(default_factory=_hub_credentials)
    devices: dict[str, str] = field(default_factory=dict)
    """client id -> uuid of the devices logged in now."""
    sessions: dict[str, Session] = field(default_factory=dict)
    learned_pids: dict[str, str] = field(default_factory=dict)
    apps: dict[str, str] = field(default_factory=dict)
    """client id -> user id of the apps logged in now."""

    def is_hub(self, session: Session) -> bool:
        return session.client_id is not None and session.client_id == self.hub.client_id

    def authenticate(self, session: Session) -> bool:
        client_id = session.client_id or ""
        username = session.username or ""
        password = session.password or ""
        if client_id == self.hub.client_id:
            return secrets.compare_digest(username.encode(), self.hub.username.encode()) and (
                secrets.compare_digest(password.encode(), self.hub.password.encode())
            )
        if client_id.startswith(APP_CLIENT_PREFIX):
            return self._authenticate_app(client_id, username, password)
        try:
            uuid = device_uuid_from_client_id(client_id)
        except ProtocolError as err:
            _LOGGER.warning("Refused client %r: %s", client_id, err)
            return False
        secret = self.secret_for(uuid)
        if secret is None:
            _LOGGER.info("Refused unknown device %s", uuid)
            self.on_unknown(uuid)
            return False
        try:
            verify_device(client_id, username, password, secret, max_skew=self.max_skew)
        except ProtocolError as err:
            _LOGGER.warning("Refused device %s: %s", uuid, err)
            return False
        self.devices[client_id] = uuid
        return True

    def _authenticate_app(self, client_id: str, username: str, password: str) -> bool:
        try:
            user_id = app_user_from_client_id(client_id)
            secret = self.app_secret_for(user_id)
            if secret is None:
                _LOGGER.info("Refused unknown app user %s", user_id)
                return False
            verify_app(client_id, username, password, secret, max_skew=self.max_skew)
        except ProtocolError as err:
            _LOGGER.warning("Refused app %r: %s", client_id, err)
            return False
        self.apps[client_id] = user_id
        return True

    def _app_allowed(self, user_id: str, topic: str, action: Action) -> bool:
        if action is Action.PUBLISH:
            return False
        try:
            parsed = parse_topic(topic)
        except ProtocolError:
            return False
        match parsed:
            case AppTopic(TopicKind.USER_NOTIFY, owner):
                return owner == user_id
            case AppTopic(TopicKind.NOTIFY, owner):
                return owner in self.homes_for(user_id)
        return False

    def _pid_matches(self, uuid: str, pid: str) -> bool:
        expected = self.pid_for(uuid) or self.learned_pids.setdefault(uuid, pid)
        return pid == expected

    def allowed(self, session: Session | None, topic: str, action: Action) -> bool:
        if session is None or self.is_hub(session):
            return True
        if (user_id := self.apps.get(session.client_id or "")) is not None:
            return self._app_allowed(user_id, topic, action)
        uuid = self.devices.get(session.client_id or "")
        if uuid is None:
            return False
        try:
            parsed = parse_topic(topic)
        except ProtocolError:
            parsed = None  # wildcards and foreign topics
        match parsed:
            case DeviceTopic(kind, pid, topic_uuid) if topic_uuid == uuid:
                kinds = _DEVICE_PUBLISH if action is Action.PUBLISH else _DEVICE_RECEIVE
                ok = kind in kinds and self._pid_matches(uuid, pid)
            case ProductTopic(kind, pid):
                wanted = (
                    TopicKind.PRODUCT_ISSUE_RESPONSE
                    if action is Action.PUBLISH
                    else TopicKind.PRODUCT_ISSUE
                )
                ok = kind is wanted and self._pid_matches(uuid, pid)
            case _:
                ok = False
        if not ok and action is not Action.RECEIVE:
            _LOGGER.warning("Refused %s of %r by device %s", action, topic, uuid)
        return ok

    def is_connected(self, uuid: str) -> bool:
        """Whether the device has a live connection now."""
        return any(self.devices.get(client_id) == uuid for client_id in self.sessions)

    def connected(self, session: Session) -> None:
        if (user_id := self.apps.get(session.client_id or "")) is not None:
            self.sessions[session.client_id or ""] = session
            self.on_app_online(user_id, session.client_id or "")
            return
        uuid = self.devices.get(session.client_id or "")
        if uuid is not None:
            self.sessions[session.client_id or ""] = session
            self.on_online(uuid)

    def disconnected(self, session: Session) -> None:
        client_id = session.client_id or ""
        # A device that reconnected took over its client id: the old session's end is no news.
        if self.sessions.get(client_id) is not session:
            return
        del self.sessions[client_id]
        self.apps.pop(client_id, None)
        uuid = self.devices.pop(client_id, None)
        if uuid is not None:
            self.on_offline(uuid)


class RlinkAuthPlugin(BaseAuthPlugin):
    """amqtt authentication through a `DeviceGate`."""

    @dataclass
    class Config:
        gate: Any = None

    async def authenticate(self, *, session: Session) -> bool:
        gate: DeviceGate = self.config.gate
        return bool(gate.authenticate(session))


class RlinkTopicPlugin(BaseTopicPlugin):
    """amqtt topic ACL through a `DeviceGate`."""

    @dataclass
    class Config:
        gate: Any = None

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool:
        gate: DeviceGate = self.config.gate
        return topic is not None and action is not None and gate.allowed(session, topic, action)


class RlinkPresencePlugin(BasePlugin[Any]):
    """Device online / offline from amqtt's connect and disconnect events."""

    @dataclass
    class Config:
        gate: Any = None

    async def on_broker_client_connected(self, *, client_id: str, client_session: Session) -> None:
        gate: DeviceGate = self.config.gate
        gate.connected(client_session)

    async def on_broker_client_disconnected(
        self, *, client_id: str, client_session: Session
    ) -> None:
        gate: DeviceGate = self.config.gate
        gate.disconnected(client_session)


class _KeepAliveHandler(BrokerProtocolHandler):
    """amqtt's broker handler, but a client silent past its keep-alive is dropped.

    amqtt 0.12 only logs the read timeout and keeps the connection open, so a device whose
    power was cut would stay online forever. MQTT asks the server to close it instead.
    """

    def handle_read_timeout(self) -> None:
        self._rlink_close = asyncio.get_running_loop().create_task(self.handle_connection_closed())


class _SnapshotTable(dict[str, list[tuple[Session, int]]]):
    """amqtt's subscription table, walked over copies.

    amqtt iterates this table across awaits (the broadcast loop asks the topic plugins
    for every recipient). A client subscribing or leaving meanwhile would change the dict
    under the walk, and the RuntimeError ends amqtt's broadcast loop for good.
    """

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().__iter__()))

    def items(self) -> list[tuple[str, list[tuple[Session, int]]]]:  # type: ignore[override]
        return list(super().items())


class _AuthFirstBroker(Broker):
    """amqtt, with a CONNECT authenticated before it may disturb an existing session.

    amqtt 0.12 takes over the session of a client id (and, for a clean session, wipes its
    subscriptions) before it asks the auth plugins. Anyone who knows a device's uuid could
    then knock that device off the broker with a wrong password. Here the credentials are
    checked first: a refused client gets its CONNACK and is gone before the session table
    is touched; the session handling that follows mirrors amqtt's own.
    """

    _VETTED = "_rlink_vetted"  # marks a session whose CONNECT passed authentication here

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._subscriptions = _SnapshotTable()

    async def _initialize_client_session(
        self, reader: ReaderAdapter, writer: WriterAdapter, remote_address: str, remote_port: int
    ) -> tuple[BrokerProtocolHandler, Session]:
        try:
            handler, session = await _KeepAliveHandler.init_from_connect(
                reader, writer, self.plugins_manager
            )
        except (AMQTTError, MQTTError, NoDataError) as exc:
            await writer.close()
            raise AMQTTError(
                f"no usable CONNECT from {remote_address}:{remote_port}: {exc}"
            ) from exc
        if not await super()._authenticate(session, ListenerConfig()):
            handler.attach(session, reader, writer)
            await handler.mqtt_connack_authorize(False)
            await writer.close()
            raise MQTTError(f"refused {session.client_id!r} from {remote_address}")
        setattr(session, self._VETTED, True)
        if session.keep_alive > 0:  # the server waits one and a half keep-alive periods
            session.keep_alive = math.ceil(session.keep_alive * 1.5)
        existing = self._sessions.get(session.client_id or "")
        if session.clean_session:
            await self._delete_session(session.client_id or "")
            session.parent = 0
        elif existing is not None:
            old = existing[0]
            for attribute in (
                "will_flag",
                "will_message",
                "will_topic",
                "will_qos",
                "keep_alive",
                "username",
                "password",
            ):
                setattr(old, attribute, getattr(session, attribute))
            old.parent = 1
            setattr(old, self._VETTED, True)
            session = old
        else:
            session.parent = 0
        return handler, session

    async def _authenticate(self, session: Session, listener: ListenerConfig) -> bool:
        if getattr(session, self._VETTED, False):
            setattr(session, self._VETTED, False)
            return True
        return bool(await super()._authenticate(session, listener))


class EmbeddedBroker:
    """An amqtt broker in the caller's event loop."""

    def __init__(
        self,
        gate: DeviceGate,
        *,
        host: str = "0.0.0.0",  # noqa: S104 - devices on the network must reach it
        port: int = 1883,
        tls: BrokerTls | None = None,
    ) -> None:
        self.gate = gate
        self.host = host
        self._port = port
        self._tls = tls
        self._broker: Broker | None = None

    @property
    def hub_credentials(self) -> Credentials:
        """What the hub's own client logs in with."""
        return self.gate.hub

    @property
    def port(self) -> int:
        """The plain listener's port (the real one when 0 was asked for)."""
        return self._bound_port("default") or self._port

    @property
    def tls_port(self) -> int | None:
        return self._bound_port("tls") if self._tls else None

    def _bound_port(self, listener: str) -> int | None:
        if self._broker is None:
            return None
        server = self._broker._servers.get(listener)  # amqtt keeps no public handle
        instance = getattr(server, "instance", None)
        sockets = getattr(instance, "sockets", None) or ()
        return int(sockets[0].getsockname()[1]) if sockets else None

    def _config(self) -> dict[str, Any]:
        listeners: dict[str, Any] = {
            "default": {"type": "tcp", "bind": f"{self.host}:{self._port}"}
        }
        if self._tls is not None:
            listeners["tls"] = {
                "type": "tcp",
                "bind": f"{self.host}:{self._tls.port}",
                "ssl": True,
                "certfile": self._tls.certfile,
                "keyfile": self._tls.keyfile,
            }
        plugins = {
            f"{__name__}.{cls.__name__}": {"gate": self.gate}
            for cls in (RlinkAuthPlugin, RlinkTopicPlugin, RlinkPresencePlugin)
        }
        return {"listeners": listeners, "plugins": plugins}

    async def start(self) -> None:
        """Listen; raises `PortInUse` or `BrokerStartError` with a readable reason."""
        try:
            broker = _AuthFirstBroker(self._config())
        except (ValueError, OSError) as err:  # amqtt checks certificate paths here
            raise BrokerStartError(f"embedded broker configuration: {err}") from err
        try:
            await broker.start()
        except BrokerError as err:
            cause = err.__cause__
            if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {self._port} on {self.host} is already in use by another program"
                ) from err
            raise BrokerStartError(f"embedded broker did not start: {cause or err}") from err
        self._broker = broker
        _LOGGER.debug("Embedded broker listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        if broker is None:
            return
        handlers = [handler for _session, handler in broker._sessions.values()]
        await broker.shutdown()
        # amqtt re-arms a client's keep-alive timer on the last packet it writes while
        # shutting down, and nothing cancels it afterwards.
        for handler in handlers:
            if isinstance(timer := getattr(handler, "_keepalive_task", None), asyncio.Handle):
                timer.cancel()
