"""MQTT 3.1.1 packets built by hand, and a raw-socket client, for testing the device server.

Built independently of the server's codec, so a test checks the server against the
standard rather than against itself; it can also build what a well-behaved client never
would (bad flags, packet id 0, cut-short fields) to see how the server takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceCommand, DeviceEvent
from custom_components.rlink.protocol.topics import TopicKind, device_topic

from .brokers import EmbeddedRig

if TYPE_CHECKING:
    from custom_components.rlink.protocol.policy import RlinkPolicy
    from custom_components.rlink.protocol.server.limits import Limits
    from custom_components.rlink.protocol.server.server import DeviceServer

ALICE, ALICE_SECRET = "rn014ebe0C20E122", "ef958e891ffa4c72ba6c64e73c5dd422"
BOB, BOB_SECRET = "rn010c0B9cB35EA9", "adf2866e8ed94a5da5d45ee4e213f2a5"
PID: Final = "plug01"

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
PINGREQ_PACKET: Final = b"\xc0\x00"
DISCONNECT_PACKET: Final = b"\xe0\x00"


def topic(kind: TopicKind, uuid: str = ALICE) -> str:
    return device_topic(kind, PID, uuid)


# --- building packets -----------------------------------------------------------------


def varint(value: int) -> bytes:
    """MQTT's remaining-length encoding."""
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(value: str | bytes) -> bytes:
    """A length-prefixed string or binary field; str is UTF-8 encoded."""
    raw = value.encode() if isinstance(value, str) else value
    return len(raw).to_bytes(2) + raw


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + varint(len(body)) + body


@dataclass(frozen=True)
class Will:
    topic: str | bytes
    payload: bytes = b"gone"
    qos: int = 0
    retain: bool = False


def connect_body(
    client_id: str | bytes,
    username: str | bytes | None = None,
    password: str | bytes | None = None,
    *,
    clean: bool = True,
    keep_alive: int = 60,
    will: Will | None = None,
    protocol: str = "MQTT",
    level: int = 4,
    extra_flags: int = 0,
    properties: bool = False,
) -> bytes:
    """The CONNECT body; `extra_flags` ORs raw bits into the connect flags byte."""
    flags = extra_flags | (0x02 if clean else 0)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = field(protocol) + bytes((level, flags)) + keep_alive.to_bytes(2)
    if properties:
        body += b"\x00"  # an empty MQTT 5 property list
    body += field(client_id)
    if will is not None:
        body += field(will.topic) + field(will.payload)
    if username is not None:
        body += field(username)
    if password is not None:
        body += field(password)
    return body


def connect(*args: Any, **kw: Any) -> bytes:
    """A CONNECT packet; the arguments are those of `connect_body`."""
    return packet(0x10, connect_body(*args, **kw))


def device_connect(uuid: str, secret: str, *, ts: int | None = None, **kw: Any) -> bytes:
    """A CONNECT with freshly signed rlink credentials (or signed at `ts`)."""
    creds = device_credentials(uuid, secret, ts=ts)
    return connect(creds.client_id, creds.username, creds.password, **kw)


def publish(
    topic_name: str | bytes,
    payload: bytes = b"",
    *,
    qos: int = 0,
    packet_id: int = 0,
    dup: bool = False,
    retain: bool = False,
    flags: int | None = None,
) -> bytes:
    """A PUBLISH; `flags` overrides the fixed-header flags (to send QoS 3 and the like)."""
    if flags is None:
        flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = field(topic_name) + (packet_id.to_bytes(2) if qos or packet_id else b"") + payload
    return packet(0x30 | flags, body)


def subscribe(packet_id: int, *filters: tuple[str | bytes, int], flags: int = 0x02) -> bytes:
    body = packet_id.to_bytes(2) + b"".join(field(f) + bytes((q,)) for f, q in filters)
    return packet(0x80 | flags, body)


def unsubscribe(packet_id: int, *filters: str | bytes, flags: int = 0x02) -> bytes:
    return packet(0xA0 | flags, packet_id.to_bytes(2) + b"".join(field(f) for f in filters))


def ack(kind: int, packet_id: int, *, flags: int | None = None) -> bytes:
    """PUBACK, PUBREC, PUBREL or PUBCOMP; PUBREL carries flags 0b0010 unless told."""
    if flags is None:
        flags = 0x02 if kind == PUBREL else 0
    return bytes(((kind << 4) | flags, 2)) + packet_id.to_bytes(2)


def report_payload(msg_id: str) -> bytes:
    """A property report whose message id lets the hub's side count it."""
    event = messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {}}, msg_id=msg_id)
    return messages.encode(event)


def report(msg_id: str, qos: int = 1, packet_id: int = 0, uuid: str = ALICE, **kw: Any) -> bytes:
    """A PUBLISH of `report_payload` on the device's own report topic."""
    return publish(
        topic(TopicKind.REPORT, uuid), report_payload(msg_id), qos=qos, packet_id=packet_id, **kw
    )


# --- reading packets ------------------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    kind: int
    flags: int
    body: bytes

    @property
    def packet_id(self) -> int:
        """Of an acknowledgement or SUBACK / UNSUBACK."""
        return int.from_bytes(self.body[:2])

    @property
    def connack_code(self) -> int:
        assert self.kind == CONNACK, self
        return self.body[1]

    @property
    def session_present(self) -> bool:
        assert self.kind == CONNACK, self
        return bool(self.body[0] & 0x01)

    @property
    def suback_codes(self) -> list[int]:
        assert self.kind == SUBACK, self
        return list(self.body[2:])

    def publish(self) -> Incoming:
        assert self.kind == PUBLISH, self
        length = int.from_bytes(self.body[:2])
        pos = 2 + length
        qos = (self.flags >> 1) & 0x03
        packet_id = int.from_bytes(self.body[pos : pos + 2]) if qos else 0
        return Incoming(
            topic=self.body[2:pos].decode(),
            payload=self.body[pos + (2 if qos else 0) :],
            qos=qos,
            packet_id=packet_id,
            dup=bool(self.flags & 0x08),
            retain=bool(self.flags & 0x01),
        )


@dataclass(frozen=True)
class Incoming:
    topic: str
    payload: bytes
    qos: int
    packet_id: int
    dup: bool
    retain: bool


class ConnectionClosed(Exception):
    """The server ended the connection."""


def split_packet(data: bytes | bytearray, start: int = 0) -> tuple[Packet, int] | None:
    """The packet at `start` and where the next one begins, or None if it is incomplete."""
    length, shift, index = 0, 0, start + 1
    while True:
        if index >= len(data):
            return None
        byte = data[index]
        length |= (byte & 0x7F) << shift
        index += 1
        if not byte & 0x80:
            break
        shift += 7
    end = index + length
    if len(data) < end:
        return None
    first = data[start]
    return Packet(first >> 4, first & 0x0F, bytes(data[index:end])), end


class RawClient:
    """One TCP connection to the server, driven packet by packet by the test."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._buffer = bytearray()
        self._pos = 0  # where the next packet starts in _buffer
        self.eof = False

    @classmethod
    async def open(
        cls, port: int, *, source: str = "127.0.0.1", receive_buffer: int | None = None
    ) -> RawClient:
        """Connect from `source` (any 127.x address).

        With a `receive_buffer`, little of what the server sends is held on this side while
        the test does not read: the kernel's buffer is made that small, and the stream
        reader stops taking data in past it.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.bind((source, 0))
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        except BaseException:
            sock.close()
            raise
        limit = receive_buffer // 2 if receive_buffer else 1 << 16  # pauses at twice this
        reader, writer = await asyncio.open_connection(sock=sock, limit=limit)
        return cls(reader, writer)

    def send(self, *data: bytes) -> None:
        self.writer.write(b"".join(data))

    async def read(self, timeout: float = 5.0) -> Packet:  # noqa: ASYNC109
        """The next packet from the server; ConnectionClosed when it ended the connection."""
        async with asyncio.timeout(timeout):
            while (found := split_packet(self._buffer, self._pos)) is None:
                if self.eof:
                    left = len(self._buffer) - self._pos
                    raise ConnectionClosed(f"closed with {left} bytes unparsed")
                try:
                    chunk = await self.reader.read(1 << 16)
                except ConnectionResetError, BrokenPipeError:
                    chunk = b""
                if not chunk:
                    self.eof = True
                del self._buffer[: self._pos]
                self._pos = 0
                self._buffer += chunk
            next_packet, self._pos = found
            return next_packet

    async def expect(self, kind: int, timeout: float = 5.0) -> Packet:  # noqa: ASYNC109
        found = await self.read(timeout)
        assert found.kind == kind, f"expected packet type {kind}, got {found}"
        return found

    async def until_closed(self, timeout: float = 5.0) -> list[Packet]:  # noqa: ASYNC109
        """Wait for the server to end the connection; returns what it sent before."""
        received = []
        async with asyncio.timeout(timeout):
            while True:
                try:
                    received.append(await self.read(timeout))
                except ConnectionClosed:
                    return received

    async def login(self, uuid: str = ALICE, secret: str = ALICE_SECRET, **kw: Any) -> Packet:
        """Send a signed CONNECT; returns the CONNACK."""
        self.send(device_connect(uuid, secret, **kw))
        return await self.expect(CONNACK)

    async def subscribe(self, packet_id: int, *filters: tuple[str, int]) -> list[int]:
        self.send(subscribe(packet_id, *filters))
        suback = await self.expect(SUBACK)
        assert suback.packet_id == packet_id
        return suback.suback_codes

    async def ping(self) -> None:
        """A PINGREQ answered: everything sent before it has been handled."""
        self.send(PINGREQ_PACKET)
        await self.expect(PINGRESP)

    async def answer_command(self, reply_packet_id: int = 1) -> messages.Message:
        """Take one command from `issue`, acknowledge it and reply on `issue_response`."""
        incoming = (await self.expect(PUBLISH)).publish()
        if incoming.qos == 1:
            self.send(ack(PUBACK, incoming.packet_id))
        command = messages.decode(TopicKind.ISSUE, incoming.payload)
        uuid = incoming.topic.split("/")[3]
        response = messages.encode(messages.reply(command))
        self.send(
            publish(
                topic(TopicKind.ISSUE_RESPONSE, uuid),
                response,
                qos=1,
                packet_id=reply_packet_id,
            )
        )
        assert (await self.expect(PUBACK)).packet_id == reply_packet_id
        return command

    def abort(self) -> None:
        """Cut the connection without DISCONNECT."""
        self.writer.transport.abort()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


# --- whole scenarios ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_rig(
    limits: Limits | None = None, policy: RlinkPolicy | None = None, port: int = 0
) -> AsyncIterator[EmbeddedRig]:
    """A device server that knows ALICE and BOB (both of product PID); with a `port`, it
    can be stopped and started again where its clients expect it."""
    rig = EmbeddedRig(secrets={ALICE: ALICE_SECRET, BOB: BOB_SECRET}, limits=limits, port=port)
    if policy is not None:
        rig.policy = policy
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


async def logged_in(
    rig: EmbeddedRig,
    uuid: str = ALICE,
    secret: str = ALICE_SECRET,
    *,
    source: str = "127.0.0.1",
    receive_buffer: int | None = None,
    **kw: Any,
) -> RawClient:
    """A raw client whose login was accepted; `kw` goes to `connect_body`."""
    client = await RawClient.open(rig.port, source=source, receive_buffer=receive_buffer)
    connack = await client.login(uuid, secret, **kw)
    assert connack.connack_code == 0, connack
    return client


async def round_trip(
    rig: EmbeddedRig, uuid: str = BOB, secret: str = BOB_SECRET, *, source: str = "127.0.0.1"
) -> None:
    """A legitimate device logs in and answers a command from the hub: the normal case."""
    device = await logged_in(rig, uuid, secret, source=source)
    assert await device.subscribe(1, (topic(TopicKind.ISSUE, uuid), 1)) == [1]
    answering = asyncio.create_task(device.answer_command())
    try:
        reply = await rig.link.request(
            topic(TopicKind.ISSUE, uuid),
            messages.command(DeviceCommand.PING, ack=True),
            timeout=5,
        )
        command = await answering
    finally:
        answering.cancel()
    assert reply.res == 0
    assert reply.id == command.id
    device.send(DISCONNECT_PACKET)
    assert await device.until_closed() == []
    await device.close()


def server_of(rig: EmbeddedRig) -> DeviceServer:
    assert rig.broker is not None
    return rig.broker


def open_files() -> int:
    """File descriptors this process holds (test clients and server alike)."""
    return len(os.listdir("/proc/self/fd"))


class HubInbox:
    """What the hub hears on devices' report topics, by message id."""

    def __init__(self, rig: EmbeddedRig) -> None:
        self.ids: list[str] = []
        rig.link.subscribe(
            "rlink/v2/+/+/report", lambda _topic, message: self.ids.append(message.id)
        )
