"""The rlink device server: listeners, sessions, routing and the limits that bound them.

What a client publishes goes first to the server's owner (`Inside.on_publish`, a plain
call: the local hub lives here) and then to clients subscribed to that topic. The owner
publishes to clients with `DeviceServer.publish`. Nothing is retained: a retained PUBLISH
is delivered as an ordinary one and stored for nobody.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from ..policy import Principal, Refused
from .codec import Connect, filter_matches
from .connection import Connection, ServerPolicy
from .limits import AddressBook, Limits, LogThrottle
from .sessions import ClientSession
from .tls import TlsGate

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Coroutine

_LOGGER = logging.getLogger(__name__)
_LOG_INTERVAL: Final = 300.0
STOP_SECONDS: Final = 2.0


class ServerStartError(Exception):
    """The server could not start (port taken, bad certificate, …)."""


class PortInUse(ServerStartError):
    """Something else already listens on the port."""


class Inside(Protocol):
    """The owner of the server, told of every message and login as a plain call."""

    def on_publish(self, principal: Principal, topic: str, payload: bytes) -> None: ...
    def on_connected(self, principal: Principal) -> None: ...
    def on_disconnected(self, principal: Principal) -> None: ...


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A TLS listener next to the plain one."""

    certfile: str
    keyfile: str
    port: int = 8883


@dataclass(slots=True)
class ServerStats:
    connections: int = 0
    refused_connections: int = 0
    failed_logins: int = 0
    violations: int = 0
    messages_in: int = 0
    messages_out: int = 0
    dropped_messages: int = 0


def _tls_context(listener: TlsListener) -> ssl.SSLContext:
    """Reads the certificate files: call it in an executor."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(listener.certfile, listener.keyfile)
    return context


class DeviceServer:
    """An MQTT 3.1.1 server in the caller's event loop, for rlink logins only."""

    def __init__(
        self,
        policy: ServerPolicy,
        inside: Inside,
        *,
        host: str = "0.0.0.0",  # noqa: S104 - devices on the network must reach it
        port: int = 1883,
        tls: TlsListener | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.policy = policy
        self.inside = inside
        self.host = host
        self.limits = limits or Limits()
        self.stats = ServerStats()
        self._port = port
        self._tls = tls
        self._listeners: dict[str, asyncio.Server] = {}
        self._connections: set[Connection] = set()
        self._sessions: dict[str, ClientSession] = {}
        self._exact: dict[str, dict[ClientSession, int]] = {}
        self._wildcard: dict[str, dict[ClientSession, int]] = {}
        self._online: dict[str, int] = {}
        """identity -> live logged-in connections."""
        self._addresses = AddressBook(self.limits)
        self._throttle = LogThrottle(_LOG_INTERVAL)
        self._stopping = False
        self._handshakes: set[asyncio.Task[None]] = set()
        self.loop: asyncio.AbstractEventLoop  # the loop `start` runs in

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._listeners)

    @property
    def port(self) -> int:
        return self._bound("plain") or self._port

    @property
    def tls_port(self) -> int | None:
        return self._bound("tls") if self._tls else None

    def _bound(self, name: str) -> int | None:
        server = self._listeners.get(name)
        sockets = server.sockets if server is not None else ()
        return int(sockets[0].getsockname()[1]) if sockets else None

    async def start(self) -> None:
        """Listen; raises `PortInUse` or `ServerStartError` with a readable reason."""
        self.loop = asyncio.get_running_loop()
        self._stopping = False
        context = None
        if self._tls is not None:
            try:
                context = await self.loop.run_in_executor(None, _tls_context, self._tls)
            except (OSError, ssl.SSLError, ValueError) as err:
                raise ServerStartError(f"TLS certificate or key not usable: {err}") from err
        try:
            await self._listen("plain", self._port, None)
            if self._tls is not None:
                await self._listen("tls", self._tls.port, context)
        except BaseException:
            await self.stop()
            raise
        _LOGGER.debug("rlink device server listening on %s:%s", self.host, self.port)

    async def _listen(self, name: str, port: int, context: ssl.SSLContext | None) -> None:
        try:
            factory: Callable[[], asyncio.Protocol] = (
                (lambda: Connection(self)) if context is None else (lambda: TlsGate(self, context))
            )
            self._listeners[name] = await self.loop.create_server(
                factory, self.host, port, reuse_address=True
            )
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {port} on {self.host} is already in use by another program"
                ) from err
            raise ServerStartError(f"cannot listen on {self.host}:{port}: {err}") from err

    async def stop(self) -> None:
        """Stop listening and close every connection (flushed, then cut after a moment)."""
        self._stopping = True
        listeners, self._listeners = list(self._listeners.values()), {}
        for listener in listeners:
            listener.close()
        for handshake in list(self._handshakes):
            handshake.cancel()
        for connection in list(self._connections):
            connection.close()
        try:
            async with asyncio.timeout(STOP_SECONDS):
                while self._connections:  # noqa: ASYNC110 - ends as connections report lost
                    await asyncio.sleep(0.01)
        except TimeoutError:
            for connection in list(self._connections):
                connection.drop("server stopping")
        for listener in listeners:
            listener.close_clients()
        self._sessions.clear()
        self._exact.clear()
        self._wildcard.clear()
        self._online.clear()

    # --- the owner's view ---------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Send to the clients subscribed to `topic`; returns how many there were."""
        return self._deliver(topic, payload, qos)

    def is_connected(self, identity: str) -> bool:
        return identity in self._online

    def is_heard(self, topic: str) -> bool:
        """Whether a message on `topic` would reach anybody (a device that has just connected
        has not subscribed yet)."""
        return bool(self._subscribers(topic))

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def session(self, client_id: str) -> ClientSession | None:
        return self._sessions.get(client_id)

    def disconnect(self, identity: str) -> None:
        """Close every connection of a device or app (it left the hub)."""
        for connection in list(self._connections):
            if connection.principal is not None and connection.principal.identity == identity:
                connection.close()
        for client_id in [c for c, s in self._sessions.items() if s.principal.identity == identity]:
            self._discard(self._sessions[client_id])

    # --- connections --------------------------------------------------------------------

    def track(self, handshake: Coroutine[None, None, None]) -> None:
        """Run a TLS handshake; `stop` cancels those still running."""
        task = self.loop.create_task(handshake)
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)

    def admit(self, connection: Connection) -> bool:
        if self._stopping:
            return False
        reason = None
        if len(self._connections) >= self.limits.max_connections:
            reason = f"{self.limits.max_connections} connections already"
        else:
            reason = self._addresses.may_connect(connection.address)
        if reason is not None:
            self.stats.refused_connections += 1
            if self._throttle(("refused", connection.address)):
                _LOGGER.warning("rlink device server refused %s: %s", connection.address, reason)
            return False
        self._connections.add(connection)
        self._addresses.opened(connection.address)
        self.stats.connections += 1
        return True

    def login_failed(self, connection: Connection, client_id: str, refusal: Refused) -> None:
        self.stats.failed_logins += 1
        wait = self._addresses.failed(connection.address)
        if self._throttle(("login", connection.address, client_id)):
            _LOGGER.warning(
                "rlink device server refused %r from %s: %s%s",
                client_id[:80],
                connection.address,
                refusal.reason,
                f" (the address waits {wait:g} s)" if wait else "",
            )

    def attach(self, connection: Connection, principal: Principal, connect: Connect) -> bool:
        """Give a new login its session; returns whether a stored one was resumed."""
        client_id = principal.client_id
        existing = self._sessions.get(client_id)
        if existing is not None and isinstance(existing.writer, Connection):
            old = existing.writer
            existing.writer = None
            old.session = None
            self._ended(old, principal_changes=False)
            # MQTT-3.1.4-2: the older connection goes, at once: flushing first would wait
            # for ever on a connection that no longer reads (the device rebooted).
            old.drop("taken over by a new login")
        if existing is not None and (connect.clean_session or existing.clean):
            self._discard(existing)
            existing = None
        present = existing is not None
        if existing is None:
            existing = ClientSession(principal, connect.clean_session, self.limits, self._dropped)
            self._sessions[client_id] = existing
        existing.principal = principal
        existing.clean = connect.clean_session
        connection.session = existing
        return present  # MQTT-3.2.2-1, MQTT-3.2.2-2

    def logged_in(self, connection: Connection) -> None:
        principal, session = connection.principal, connection.session
        assert principal is not None
        assert session is not None
        self._addresses.settled(connection.address)
        self._addresses.succeeded(connection.address)
        self._online[principal.identity] = self._online.get(principal.identity, 0) + 1
        session.resume(connection)
        self._call("connected", self.inside.on_connected, principal)

    def gone(self, connection: Connection, *, clean: bool) -> None:
        """The transport closed."""
        if connection not in self._connections:
            return
        self._connections.discard(connection)
        if connection.principal is None:
            self._addresses.settled(connection.address)
            return
        session = connection.session
        if session is None or session.writer is not connection:
            return  # taken over: the newer connection carries on
        session.writer = None
        if not clean:
            self._publish_will(connection)
        self._ended(connection, principal_changes=True)
        if session.clean:
            self._discard(session)

    def _ended(self, connection: Connection, *, principal_changes: bool) -> None:
        """A logged-in connection stopped being the live one of its session."""
        principal = connection.principal
        assert principal is not None
        left = self._online.get(principal.identity, 0) - 1
        if left > 0:
            self._online[principal.identity] = left
        else:
            self._online.pop(principal.identity, None)
        if principal_changes and principal.identity not in self._online:
            self._call("disconnected", self.inside.on_disconnected, principal)

    def _publish_will(self, connection: Connection) -> None:
        will = connection.connect.will if connection.connect else None
        if will is None or self._stopping:
            return
        # The policy checked the will topic at login; retain is not kept.
        self.route(connection, will.topic, will.payload, will.qos)

    def _discard(self, session: ClientSession) -> None:
        if self._sessions.get(session.client_id) is session:
            del self._sessions[session.client_id]
        for topic_filter in list(session.subscriptions):
            self.unsubscribe(session, topic_filter)

    # --- routing ------------------------------------------------------------------------

    def subscribe(self, session: ClientSession, topic_filter: str, qos: int) -> None:
        session.subscriptions[topic_filter] = qos
        table = self._wildcard if "+" in topic_filter or "#" in topic_filter else self._exact
        table.setdefault(topic_filter, {})[session] = qos

    def unsubscribe(self, session: ClientSession, topic_filter: str) -> None:
        if session.subscriptions.pop(topic_filter, None) is None:
            return
        table = self._wildcard if "+" in topic_filter or "#" in topic_filter else self._exact
        subscribers = table.get(topic_filter)
        if subscribers is not None:
            subscribers.pop(session, None)
            if not subscribers:
                del table[topic_filter]

    def route(self, connection: Connection, topic: str, payload: bytes, qos: int) -> None:
        """A message from a client: the owner first, then subscribed clients."""
        principal = connection.principal
        assert principal is not None
        self.stats.messages_in += 1
        self._call("message", self.inside.on_publish, principal, topic, payload)
        self._deliver(topic, payload, qos)

    def _subscribers(self, topic: str) -> list[tuple[ClientSession, int]]:
        """Who subscribed to `topic`, with the QoS granted (a session twice if two filters
        match)."""
        targets = list(self._exact.get(topic, {}).items())
        for topic_filter, subscribers in self._wildcard.items():
            if filter_matches(topic_filter, topic):
                targets.extend(subscribers.items())
        return targets

    def _deliver(self, topic: str, payload: bytes, qos: int) -> int:
        targets = self._subscribers(topic)
        if not targets:
            return 0
        encoded = topic.encode()
        best: dict[ClientSession, int] = {}
        for session, granted in targets:  # overlapping filters: one copy, the highest QoS
            best[session] = max(best.get(session, 0), min(qos, granted))
        for session, granted in best.items():
            session.send(encoded, payload, granted)
        self.stats.messages_out += len(best)
        return len(best)

    def _call(self, what: str, handler: object, *args: object) -> None:
        try:
            handler(*args)  # type: ignore[operator]
        except Exception as err:  # the owner's bug must not end the connection
            if self._throttle(("inside", what, type(err).__name__)):
                _LOGGER.exception("rlink device server: handling a %s failed", what)
            else:
                _LOGGER.debug("rlink device server: handling a %s failed: %r", what, err)

    # --- what gets logged ---------------------------------------------------------------

    def _dropped(self, session: ClientSession) -> None:
        self.stats.dropped_messages += 1
        if self._throttle(("queue", session.client_id)):
            _LOGGER.warning(
                "rlink device server: %s has %d messages waiting; the oldest are dropped",
                session.client_id,
                self.limits.max_queued,
            )

    def refused_publish(self, connection: Connection, topic: str) -> None:
        if self._throttle(("publish", connection.address, topic)):
            _LOGGER.warning(
                "rlink device server: %s may not publish to %r; dropped", connection, topic[:200]
            )

    def refused_subscribe(self, connection: Connection, topic_filter: str) -> None:
        if self._throttle(("subscribe", connection.address, topic_filter)):
            _LOGGER.warning(
                "rlink device server: %s may not subscribe to %r", connection, topic_filter[:200]
            )

    def note_violation(self, connection: Connection, reason: str) -> None:
        self.stats.violations += 1
        _LOGGER.debug("rlink device server: closing %s: %s", connection, reason)

    def note_drop(self, connection: Connection, reason: str) -> None:
        _LOGGER.debug("rlink device server: dropping %s: %s", connection, reason)

    def identities(self) -> Collection[str]:
        return self._online.keys()
