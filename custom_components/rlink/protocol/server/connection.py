"""One client connection: reads packets, applies the server's rules, writes the answers.

An `asyncio.Protocol`, so a packet is handled in the callback that read it: no task, no
queue per client. A client that sends faster than it is handled is read a batch at a time
(others get their turn in between), and is not read at all while its own answers wait to
be written: TCP then slows it down, and nothing it sent is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING, Any, Final, Protocol

from ..policy import Principal, Refused
from .codec import (
    PINGRESP,
    SUBACK_FAILURE,
    ConnackCode,
    Connect,
    MalformedPacket,
    PacketReader,
    PacketType,
    UnacceptableProtocol,
    check_flags,
    decode_connect,
    decode_empty,
    decode_packet_id,
    decode_publish,
    decode_subscribe,
    decode_unsubscribe,
    encode_ack,
    encode_connack,
    encode_suback,
    encode_unsuback,
)

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from .limits import Limits
    from .sessions import ClientSession

_LOGGER = logging.getLogger(__name__)
KEEP_ALIVE_GRACE = 1.5  # the server waits one and a half keep-alive periods (MQTT-3.1.2-24)


_TCP_KEEPALIVE: Final = (
    ("TCP_KEEPIDLE", 120),  # seconds of silence before the first probe
    ("TCP_KEEPINTVL", 30),
    ("TCP_KEEPCNT", 4),
)


def _keep_probing(transport: asyncio.BaseTransport) -> None:
    """TCP keep-alive probes: a device that logged in with MQTT keep-alive 0 and then lost
    its power is still noticed, after about four minutes."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in _TCP_KEEPALIVE:
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


class ServerPolicy(Protocol):
    def login(self, connect: Connect) -> Principal: ...
    def may_publish(self, principal: Principal, topic: str) -> bool: ...
    def may_subscribe(self, principal: Principal, topic_filter: str) -> bool: ...


class Server(Protocol):
    """What a connection asks of the server it belongs to (`server.DeviceServer`)."""

    loop: asyncio.AbstractEventLoop
    limits: Limits
    policy: ServerPolicy

    def admit(self, connection: Connection) -> bool: ...

    def login_failed(self, connection: Connection, client_id: str, refusal: Refused) -> None: ...

    def attach(self, connection: Connection, principal: Principal, connect: Connect) -> bool: ...

    def logged_in(self, connection: Connection) -> None: ...

    def gone(self, connection: Connection, *, clean: bool) -> None: ...

    def subscribe(self, session: ClientSession, topic_filter: str, qos: int) -> None: ...

    def unsubscribe(self, session: ClientSession, topic_filter: str) -> None: ...

    def route(self, connection: Connection, topic: str, payload: bytes, qos: int) -> None: ...

    def refused_publish(self, connection: Connection, topic: str) -> None: ...

    def refused_subscribe(self, connection: Connection, topic_filter: str) -> None: ...

    def note_violation(self, connection: Connection, reason: str) -> None: ...

    def note_drop(self, connection: Connection, reason: str) -> None: ...

    def track(self, handshake: Coroutine[None, None, None]) -> None: ...


class Connection(asyncio.Protocol):
    __slots__ = (
        "_allowed",
        "_batch",
        "_clean_end",
        "_keep_alive",
        "_last_read",
        "_loop",
        "_paused",
        "_reader",
        "_server",
        "_timer",
        "_transport",
        "address",
        "closing",
        "connect",
        "principal",
        "session",
    )

    def __init__(self, server: Server) -> None:
        self._server = server
        self._loop = server.loop
        self._reader = PacketReader(server.limits.max_connect_size)
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._paused: set[str] = set()
        self._keep_alive = 0.0
        self._last_read = 0.0
        self._allowed: set[str] = set()  # topics this login was allowed to publish to
        self._clean_end = False
        self._batch: list[bytes] | None = None
        """Collects writes while a read is handled (see `_handle_packets`)."""
        self.address = "?"
        self.closing = False
        self.connect: Connect | None = None
        self.principal: Principal | None = None
        self.session: ClientSession | None = None

    # --- transport callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if self.admitted(transport):
            self._start(transport)

    def admitted(self, transport: asyncio.Transport) -> bool:
        """Count the connection against the limits, or cut it at once."""
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        if not self._server.admit(self):
            self.closing = True
            transport.abort()
            return False
        _keep_probing(transport)
        return True

    def secured(self, transport: asyncio.Transport) -> None:
        """The TLS handshake of an admitted connection is done: MQTT starts."""
        self._start(transport)

    def handshake_failed(self, reason: str) -> None:
        self.closing = True
        self._server.note_drop(self, f"TLS handshake failed: {reason}")
        self._server.gone(self, clean=False)

    def _start(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._last_read = self._loop.time()
        self._timer = self._loop.call_later(self._server.limits.connect_timeout, self._expire)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self._last_read = self._loop.time()
        self._reader.feed(data)
        self._handle_packets()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._server.gone(self, clean=self._clean_end)

    def pause_writing(self) -> None:
        self._pause("writing")  # `write` drops the client if the buffer still grows

    def resume_writing(self) -> None:
        self._resume("writing")

    # --- reading ------------------------------------------------------------------------

    def _handle_packets(self) -> None:
        # What is written while one read's packets are handled (acknowledgements, answers)
        # leaves in one send: a device that sends several reports in a row gets its PUBACKs
        # in one segment, and the syscall is paid once.
        self._batch = []
        try:
            self._handle_batch()
        finally:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, None
        if batch:
            self.write(batch[0] if len(batch) == 1 else b"".join(batch))

    def _handle_batch(self) -> None:
        handled = 0
        while not self.closing and not self._paused:
            try:
                packet = self._reader.next()
                if packet is None:
                    return
                self._dispatch(*packet)
            except MalformedPacket as err:
                self.violation(str(err))
                return
            handled += 1
            if handled >= self._server.limits.packets_per_turn and self._reader.buffered:
                self._pause("turn")
                self._loop.call_soon(self._next_turn)
                return

    def _next_turn(self) -> None:
        self._resume("turn")

    def _pause(self, reason: str) -> None:
        if not self._paused and self._transport is not None and not self.closing:
            self._transport.pause_reading()
        self._paused.add(reason)

    def _resume(self, reason: str) -> None:
        self._paused.discard(reason)
        if not self._paused and not self.closing and self._transport is not None:
            self._transport.resume_reading()
            self._handle_packets()

    def _dispatch(self, packet_type: int, flags: int, body: bytes) -> None:
        kind = check_flags(packet_type, flags)
        if self.principal is None:
            if kind is not PacketType.CONNECT:
                raise MalformedPacket(f"{kind.name} before CONNECT")  # MQTT-3.1.0-1
            self._on_connect(body)
            return
        session = self.session
        assert session is not None
        match kind:
            case PacketType.PUBLISH:
                self._on_publish(flags, body, session)
            case PacketType.PUBACK | PacketType.PUBREC | PacketType.PUBCOMP:
                session.acknowledged(kind, decode_packet_id(body))
            case PacketType.PUBREL:
                packet_id = decode_packet_id(body)
                session.awaiting_release.discard(packet_id)
                self.write(encode_ack(PacketType.PUBCOMP, packet_id))
            case PacketType.SUBSCRIBE:
                self._on_subscribe(body, session)
            case PacketType.UNSUBSCRIBE:
                request = decode_unsubscribe(body)
                for topic_filter in request.filters:
                    self._server.unsubscribe(session, topic_filter)
                self.write(encode_unsuback(request.packet_id))  # MQTT-3.10.4-4
            case PacketType.PINGREQ:
                decode_empty(kind, body)
                self.write(PINGRESP)  # MQTT-3.12.4-1
            case PacketType.DISCONNECT:
                decode_empty(kind, body)
                self._clean_end = True  # the will is discarded (MQTT-3.14.4-3)
                self.close()
            case PacketType.CONNECT:
                raise MalformedPacket("a second CONNECT")  # MQTT-3.1.0-2

    # --- packets ------------------------------------------------------------------------

    def _on_connect(self, body: bytes) -> None:
        try:
            connect = decode_connect(body)
        except UnacceptableProtocol as err:
            self._refuse(ConnackCode.UNACCEPTABLE_PROTOCOL, str(err))
            return
        if not connect.client_id:
            self._refuse(ConnackCode.IDENTIFIER_REJECTED, "empty client identifier")
            return
        try:
            principal = self._server.policy.login(connect)
        except Refused as refusal:
            self._server.login_failed(self, connect.client_id, refusal)
            self._refuse(refusal.code, refusal.reason)
            return
        self.connect = connect
        self.principal = principal
        self._reader.max_size = self._server.limits.max_packet_size
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        present = self._server.attach(self, principal, connect)
        self.write(encode_connack(present, ConnackCode.ACCEPTED))
        if connect.keep_alive:
            self._keep_alive = connect.keep_alive * KEEP_ALIVE_GRACE
            self._timer = self._loop.call_at(self._last_read + self._keep_alive, self._expire)
        self._server.logged_in(self)

    def _refuse(self, code: ConnackCode, reason: str) -> None:
        _LOGGER.debug("Refused a CONNECT from %s: %s", self.address, reason)
        self.write(encode_connack(False, code))  # MQTT-3.2.2-4
        self.close()

    def _on_publish(self, flags: int, body: bytes, session: ClientSession) -> None:
        publish = decode_publish(flags, body)
        if publish.qos == 2 and publish.packet_id in session.awaiting_release:
            self.write(encode_ack(PacketType.PUBREC, publish.packet_id))  # seen: not again
            return
        if publish.qos == 2 and (
            len(session.awaiting_release) >= self._server.limits.max_awaiting_release
        ):
            # Checked before routing: the client sends this one again, which must then be
            # its only delivery.
            self.drop("too many QoS 2 messages not released")
            return
        if self._may_publish(publish.topic):
            self._server.route(self, publish.topic, publish.payload, publish.qos)
        if publish.qos == 1:
            self.write(encode_ack(PacketType.PUBACK, publish.packet_id))  # MQTT-3.3.4-1
        elif publish.qos == 2:
            session.awaiting_release.add(publish.packet_id)
            self.write(encode_ack(PacketType.PUBREC, publish.packet_id))

    def _may_publish(self, topic: str) -> bool:
        if topic in self._allowed:
            return True
        assert self.principal is not None
        if self._server.policy.may_publish(self.principal, topic):
            self._allowed.add(topic)
            return True
        self._server.refused_publish(self, topic)
        return False

    def _on_subscribe(self, body: bytes, session: ClientSession) -> None:
        request = decode_subscribe(body)
        assert self.principal is not None
        codes = []
        for topic_filter, qos in request.filters:
            new = topic_filter not in session.subscriptions
            if (
                qos < 0
                or (new and len(session.subscriptions) >= self._server.limits.max_subscriptions)
                or not self._server.policy.may_subscribe(self.principal, topic_filter)
            ):
                codes.append(SUBACK_FAILURE)
                self._server.refused_subscribe(self, topic_filter)
                continue
            self._server.subscribe(session, topic_filter, qos)
            codes.append(qos)
        self.write(encode_suback(request.packet_id, codes))  # MQTT-3.8.4-1, MQTT-3.8.4-5

    # --- writing and ending -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or self.closing:
            return
        if self._batch is not None:
            self._batch.append(data)
            return
        transport.write(data)
        # Checked on every write while paused, not only when pause_writing comes (once, at
        # the high-water mark): QoS 0 to a client that stopped reading must stay bounded.
        if (
            "writing" in self._paused
            and not self.closing
            and transport.get_write_buffer_size() > self._server.limits.max_write_buffer
        ):
            self.drop("does not read what is sent to it")

    def close(self) -> None:
        """End after what was written is flushed."""
        self._flush()
        if self._transport is not None and not self.closing:
            self.closing = True
            self._transport.close()

    def drop(self, reason: str) -> None:
        """End at once, without flushing what the socket did not take."""
        self._server.note_drop(self, reason)
        batch, self._batch = self._batch, None
        if batch and self._transport is not None and not self.closing:
            # Acknowledgements of what was handled before the reason to drop still go out
            # as far as the socket takes them, as they would have unbatched.
            self._transport.write(b"".join(batch))
        if self._transport is not None:
            self.closing = True
            self._transport.abort()

    def violation(self, reason: str) -> None:
        """A malformed or forbidden packet: the connection ends (MQTT-4.8.0-1)."""
        self._server.note_violation(self, reason)
        self.drop(reason)

    def _expire(self) -> None:
        self._timer = None
        if self.closing:
            return
        if self.principal is None:
            self.drop("no CONNECT in time")
            return
        due = self._last_read + self._keep_alive
        if self._loop.time() >= due:
            self.drop("keep-alive expired")
        else:
            self._timer = self._loop.call_at(due, self._expire)

    @property
    def clean_end(self) -> bool:
        return self._clean_end

    def __repr__(self) -> str:
        who: Any = self.principal.client_id if self.principal else "not logged in"
        return f"<Connection {self.address} {who}>"
