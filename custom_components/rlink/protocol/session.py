"""An MQTT session on asyncio: signing, reconnecting, routing and request/response.

paho-mqtt does the MQTT work; its socket is driven by the event loop, the way Home
Assistant's own MQTT client does it: paho announces the socket through its
``on_socket_*`` callbacks and the loop calls ``loop_read``/``loop_write`` when the socket
is ready, plus ``loop_misc`` once a second for keep-alives. Only the TCP/TLS connect itself
(name lookup, handshake) runs in an executor, so nothing here ever blocks the loop and no
extra thread touches the client once it is connected. This beats paho's own network
thread, which would need locking around every callback and a hop back into the loop for
every message.

Every connection attempt uses a new paho client built from fresh credentials, so a
reconnect signs with a new ``ts`` (and an app's client id, which carries the ts, changes
with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from .auth import Credentials
from .messages import Message, encode
from .routing import (
    LinkError,
    LinkStats,
    MessageHandler,
    MessageRouter,
    NotConnected,
    RequestTimeout,
)

__all__ = [
    "AuthRefused",
    "CannotConnect",
    "ConnectError",
    "CredentialSource",
    "MessageHandler",
    "MqttSession",
    "NotConnected",
    "RequestTimeout",
    "SessionError",
    "SessionState",
    "SessionStats",
    "StateListener",
    "TlsFailure",
    "TlsOptions",
]

_LOGGER = logging.getLogger(__name__)

MAX_PACKETS_PER_READ: Final = 500
_AUTH_REFUSALS: Final = frozenset({"Bad user name or password", "Not authorized"})


SessionError = LinkError
SessionStats = LinkStats


class ConnectError(SessionError):
    """A connection attempt failed; subclasses say why."""


class CannotConnect(ConnectError):
    """The broker could not be reached or dropped the connection."""


class AuthRefused(ConnectError):
    """The broker refused the credentials."""


class TlsFailure(ConnectError):
    """The TLS handshake failed (certificate, protocol or configuration)."""


class SessionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """TLS for the broker connection: a CA file to trust, or no verification at all."""

    ca_file: str | None = None
    insecure: bool = False

    def context(self) -> ssl.SSLContext:
        """Build the SSL context (reads files: call it off the event loop)."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


type StateListener = Callable[[SessionState, str | None], None]
type CredentialSource = Callable[[], Credentials]


class MqttSession:
    """One MQTT connection, kept alive until `close`."""

    def __init__(
        self,
        host: str,
        port: int,
        credentials: CredentialSource,
        *,
        tls: TlsOptions | None = None,
        keepalive: int = 60,
        connect_timeout: float = 10.0,
        backoff: tuple[float, float] = (1.0, 60.0),
        on_state: StateListener | None = None,
        on_connect_error: Callable[[ConnectError], None] | None = None,
        name: str = "rlink",
        clean_session: bool = True,
    ) -> None:
        """`clean_session=False` asks the broker to keep the session's subscriptions, and
        the QoS 1 messages for them, while it is away: needs a client id that stays the same."""
        self.host = host
        self.port = port
        self.name = name
        self._router = MessageRouter(name, answer=self._publish_raw)
        self.stats = self._router.stats
        self._credentials = credentials
        self._tls = tls
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._backoff = backoff
        self._on_state = on_state
        self._on_connect_error = on_connect_error
        self._clean_session = clean_session
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._state = SessionState.DISCONNECTED
        self._client: mqtt.Client | None = None
        self._connack: asyncio.Future[None] | None = None
        self._lost = asyncio.Event()
        self._up = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._misc: asyncio.TimerHandle | None = None
        # SUBSCRIBE packets the broker has not acknowledged yet (paho message ids).
        self._unacked_subscriptions: set[int] = set()
        self._subscriptions_acked = asyncio.Event()
        self._subscriptions_acked.set()
        self._inflight: list[mqtt.MQTTMessageInfo] = []
        self._ever_connected = False
        self.last_credentials: Credentials | None = None

    # --- public API ---------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state is SessionState.CONNECTED

    def subscribe(self, topic_filter: str, handler: MessageHandler) -> Callable[[], None]:
        """Route messages matching `topic_filter` to `handler`; returns the undo function."""
        remove = self._router.add(topic_filter, handler)
        if self.connected and self._client is not None:
            self._send_subscribe(self._client, [(topic_filter, 1)])

        def unsubscribe() -> None:
            if remove() and self.connected and self._client is not None:
                self._client.unsubscribe(topic_filter)

        return unsubscribe

    async def connect(self) -> None:
        """Connect once, raising `ConnectError` on failure; then stay connected until `close`."""
        await self._attempt()
        self._start_runner(connected=True)

    def start(self) -> None:
        """Keep (re)connecting in the background until `close`, without waiting."""
        self._start_runner(connected=False)

    def _start_runner(self, *, connected: bool) -> None:
        runner = self._loop.create_task(self._run(connected=connected), name=f"{self.name} session")
        runner.add_done_callback(self._runner_ended)
        self._runner = runner

    def _runner_ended(self, runner: asyncio.Task[None]) -> None:
        """The reconnect loop must not die in silence: say why, and start it again."""
        if runner is not self._runner or runner.cancelled() or runner.exception() is None:
            return
        _LOGGER.error(
            "%s: the connection loop failed (%r); starting it again", self.name, runner.exception()
        )
        self._loop.call_later(self._backoff[0], self._restart_runner, runner)

    def _restart_runner(self, failed: asyncio.Task[None]) -> None:
        if self._runner is failed:  # not closed meanwhile
            self._start_runner(connected=False)

    async def wait_connected(self) -> None:
        """Wait until the session is connected (wrap it in a timeout)."""
        await self._up.wait()

    async def wait_subscribed(self) -> None:
        """Wait until connected with every subscription acknowledged (wrap it in a timeout).

        Until the SUBACK, a broker may drop what is published to the new filter.
        """
        while not (self.connected and self._subscriptions_acked.is_set()):
            await self._up.wait()
            await self._subscriptions_acked.wait()

    def reconnect(self, reason: str) -> None:
        """Drop the connection now; the session comes back with fresh credentials."""
        client = self._client
        if client is None:
            return
        _LOGGER.info("%s: reconnecting: %s", self.name, reason)
        self._client = None
        self._hang_up(client)
        self._fail_pending(reason)
        self._set_state(SessionState.DISCONNECTED, reason)
        self._lost.set()

    async def close(self) -> None:
        """Disconnect and stop reconnecting. Pending requests fail with NotConnected."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        client = self._client
        if client is not None and self.connected:
            await self._drain(timeout=1.0)
        self._client = None
        if client is not None:
            self._hang_up(client)
        self._fail_pending("session closed")
        self._set_state(SessionState.CLOSED, None)

    def publish(self, topic: str, message: Message, *, qos: int = 1) -> None:
        """Send `message` on `topic`; NotConnected when the session is down."""
        client = self._client
        if client is None or not self.connected:
            raise NotConnected(f"{self.name}: not connected to {self.host}:{self.port}")
        info = client.publish(topic, encode(message), qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise NotConnected(f"{self.name}: publish failed ({mqtt.error_string(info.rc)})")
        self.stats.messages_out += 1
        if qos:
            if len(self._inflight) >= 64:
                self._inflight = [i for i in self._inflight if not i.is_published()]
            self._inflight.append(info)

    def _publish_raw(self, topic: str, payload: bytes) -> None:
        client = self._client
        if client is not None and self.connected:
            client.publish(topic, payload, qos=1)
            self.stats.messages_out += 1

    async def _drain(self, timeout: float) -> None:  # noqa: ASYNC109
        """Give messages still in flight a moment to be acknowledged before disconnecting."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while any(not info.is_published() for info in self._inflight):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        self._inflight.clear()

    async def request(
        self,
        topic: str,
        message: Message,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Message:
        """Send a request and wait for the reply with the same id and code.

        Raises `RlinkError` when the reply reports a failure, `RequestTimeout` when none
        comes in time and `NotConnected` at once when the session is down. The reply topic
        must be subscribed (with any handler) for the reply to arrive.
        """
        return await self._router.request(lambda: self.publish(topic, message), message, timeout)

    # --- connection management ----------------------------------------------------------

    async def _run(self, *, connected: bool) -> None:
        attempt = 0
        while True:
            if not connected:
                try:
                    await self._attempt()
                except ConnectError as err:
                    if self._on_connect_error is not None:
                        self._on_connect_error(err)
                    delay = self._delay(attempt)
                    attempt += 1
                    # Whoever owns the session says once that it is down and once that it
                    # is back (see `on_state`); each attempt is only worth a debug line.
                    _LOGGER.debug("%s: %s; next attempt in %.1f s", self.name, err, delay)
                    await asyncio.sleep(delay)
                    continue
            connected = False
            attempt = 0
            await self._lost.wait()
            await asyncio.sleep(self._delay(0))

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: half to all of min(max, start * 2^attempt)."""
        start, ceiling = self._backoff
        base = min(ceiling, start * 2.0 ** min(attempt, 16))
        return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not secrecy

    async def _attempt(self) -> None:
        self._set_state(SessionState.CONNECTING, None)
        credentials = self._credentials()
        self.last_credentials = credentials
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=credentials.client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=self._clean_session,
        )
        client.username_pw_set(credentials.username, credentials.password)
        client.suppress_exceptions = True
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_socket_close = self._on_socket_close
        client.on_socket_unregister_write = self._on_socket_unregister_write
        # While connect() runs in the executor these two fire there: hop to the loop.
        client.on_socket_open = partial(self._threadsafe, self._on_socket_open)
        client.on_socket_register_write = partial(self._threadsafe, self._on_socket_register_write)
        self._lost.clear()
        self._connack = self._loop.create_future()
        self._client = client
        client.connect_timeout = self._connect_timeout
        handshake_done = False
        tls_sockets: list[socket.socket] = []
        try:
            if self._tls is not None:
                context = await self._loop.run_in_executor(None, self._tls.context)
                context.wrap_socket = _remembering(context.wrap_socket, tls_sockets)  # type: ignore[method-assign]
                client.tls_set_context(context)
            async with asyncio.timeout(self._connect_timeout):
                # paho waits up to the keep-alive for a TLS handshake; this wait is ours.
                connecting = self._loop.run_in_executor(
                    None, client.connect, self.host, self.port, self._keepalive
                )
                connecting.add_done_callback(partial(self._close_if_abandoned, client))
                await asyncio.shield(connecting)
                handshake_done = True
                client.on_socket_open = self._on_socket_open
                client.on_socket_register_write = self._on_socket_register_write
                await self._connack
        except BaseException as err:
            for tls_socket in tls_sockets:  # ends a handshake still waiting in the executor
                with contextlib.suppress(OSError):
                    tls_socket.shutdown(socket.SHUT_RDWR)
            self._abandon(client)
            if isinstance(err, ssl.SSLError | ssl.CertificateError):
                raise TlsFailure(f"TLS with {self.host}:{self.port} failed: {err}") from err
            if isinstance(err, TimeoutError) and self._tls is not None and not handshake_done:
                raise TlsFailure(
                    f"no TLS handshake from {self.host}:{self.port} in time (is TLS on there?)"
                ) from err
            if isinstance(err, TimeoutError):  # an OSError too: tell it apart first
                raise CannotConnect(f"{self.host}:{self.port} did not answer in time") from err
            if isinstance(err, OSError):
                raise CannotConnect(f"cannot reach {self.host}:{self.port}: {err}") from err
            raise
        finally:
            self._connack = None

    def _close_if_abandoned(self, client: mqtt.Client, connecting: asyncio.Future[Any]) -> None:
        """A connect that finished after we gave up on it must not leave a socket open."""
        if connecting.cancelled() or self._client is client:
            return
        connecting.exception()  # seen here, so asyncio does not report it as lost
        sock = client.socket()
        if sock is not None and sock.fileno() > -1:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)
        with contextlib.suppress(Exception):
            client.disconnect()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _abandon(self, client: mqtt.Client) -> None:
        if self._client is client:
            self._client = None
        with contextlib.suppress(Exception):
            client.disconnect()
        self._release_socket(client)
        self._set_state(SessionState.DISCONNECTED, "connection attempt failed")

    def _hang_up(self, client: mqtt.Client) -> None:
        """Say DISCONNECT (so the broker drops the will) and close the socket now."""
        self._release_socket(client)
        with contextlib.suppress(Exception):
            client.disconnect()
            client.loop_write()  # writes the DISCONNECT paho has just queued
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _release_socket(self, client: mqtt.Client) -> None:
        sock = client.socket()
        if sock is not None and sock.fileno() > -1:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None

    def _set_state(self, state: SessionState, reason: str | None) -> None:
        if state is self._state and reason is None:
            return
        self._state = state
        if state is SessionState.CONNECTED:
            self._up.set()
        else:
            self._up.clear()
        if self._on_state is not None:
            try:
                self._on_state(state, reason)
            except Exception:
                _LOGGER.exception("%s: state listener failed", self.name)

    def _fail_pending(self, reason: str) -> None:
        self._router.fail_pending(NotConnected(f"{self.name}: {reason}"))

    # --- paho callbacks (all on the loop, except where `_threadsafe` hops) ---------------

    def _threadsafe(self, callback: Callable[..., None], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            callback(*args)
        else:
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if client is not self._client:
            return
        waiter = self._connack
        if reason.is_failure:
            name = str(reason)
            cls = AuthRefused if name in _AUTH_REFUSALS else CannotConnect
            if waiter is not None and not waiter.done():
                waiter.set_exception(cls(f"{self.host}:{self.port} refused the connection: {name}"))
            return
        self._unacked_subscriptions.clear()
        self._subscriptions_acked.set()
        if self._router.routes:
            self._send_subscribe(client, [(topic, 1) for topic in self._router.routes])
        if self._ever_connected:
            self.stats.reconnects += 1
        self._ever_connected = True
        self._set_state(SessionState.CONNECTED, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _send_subscribe(self, client: mqtt.Client, filters: list[tuple[str, int]]) -> None:
        result, mid = client.subscribe(filters)
        if result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
            self._unacked_subscriptions.add(mid)
            self._subscriptions_acked.clear()

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if client is not self._client:
            return
        self._unacked_subscriptions.discard(mid)
        if not self._unacked_subscriptions:
            self._subscriptions_acked.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if client is not self._client:
            return
        self._client = None
        self._release_socket(client)
        self._fail_pending("connection lost")
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(
                CannotConnect(f"{self.host}:{self.port} closed the connection")
            )
        self._set_state(SessionState.DISCONNECTED, str(reason))
        self._lost.set()

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if client is not self._client:  # an attempt abandoned while it was connecting
            return
        # A reply is often a PUBACK followed by a PUBLISH: without this, Nagle holds the
        # second write until the peer's delayed ACK, adding ~40 ms to every round trip.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if sock.fileno() > -1:
            self._loop.add_reader(sock, self._read, client)
        if self._misc is None:
            self._misc = self._loop.call_later(1, self._tick, client)
        self._read(client)  # data may already be buffered

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if sock.fileno() > -1:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    def _on_socket_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if client is self._client and sock.fileno() > -1:
            self._loop.add_writer(sock, self._write, client)

    def _on_socket_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if sock.fileno() > -1:
            self._loop.remove_writer(sock)

    def _read(self, client: mqtt.Client) -> None:
        client.loop_read(MAX_PACKETS_PER_READ)
        # paho reads only as many packets per call as it has messages in flight (its
        # argument is ignored). Over TLS the rest of a record is then already decrypted
        # inside the SSL object, where the selector cannot see it: read on until it is
        # empty, or a burst in one record would wait for the next byte from the broker.
        sock = client.socket()
        for _ in range(MAX_PACKETS_PER_READ):
            if not isinstance(sock, ssl.SSLSocket) or not sock.pending():
                return
            if client.loop_read() != mqtt.MQTT_ERR_SUCCESS or client.socket() is not sock:
                return
        self._loop.call_soon(self._read, client)  # a long burst: the rest next turn

    def _write(self, client: mqtt.Client) -> None:
        client.loop_write()

    def _tick(self, client: mqtt.Client) -> None:
        self._misc = None
        if client is self._client and client.loop_misc() == mqtt.MQTT_ERR_SUCCESS:
            self._misc = self._loop.call_later(1, self._tick, client)

    # --- incoming messages --------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._router.dispatch(msg.topic, msg.payload)


def _remembering(
    wrap: Callable[..., ssl.SSLSocket], sockets: list[socket.socket]
) -> Callable[..., ssl.SSLSocket]:
    """`SSLContext.wrap_socket` that keeps the TLS socket, so a stuck handshake can be cut."""

    def wrap_socket(sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        wrapped = wrap(sock, *args, **kwargs)
        sockets.append(wrapped)
        return wrapped

    return wrap_socket
