"""MQTT 3.1.1 packets: an incremental reader, strict decoders and the encoders a server needs.

Written here rather than taken from a library: the server needs only the server's half of
3.1.1 (decode what clients send, encode what a server answers), with every check the
standard asks of a receiver and a size limit applied before a body is buffered. The
maintained Python MQTT codecs live inside full clients or brokers (paho, gmqtt, …) and
cannot be used on their own.

Every decoding failure raises `MalformedPacket` with a short reason; nothing else escapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final


class MalformedPacket(Exception):
    """The bytes are not a packet the standard allows; the connection must be closed."""


class PacketTooLarge(MalformedPacket):
    """The announced packet is larger than the server accepts."""


class UnacceptableProtocol(MalformedPacket):
    """A well-formed CONNECT for a protocol version the server does not speak."""


class PacketType(IntEnum):
    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14


class ConnackCode(IntEnum):
    ACCEPTED = 0
    UNACCEPTABLE_PROTOCOL = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_CREDENTIALS = 4
    NOT_AUTHORIZED = 5


SUBACK_FAILURE: Final = 0x80
# Protocol name -> level: 3.1.1 (level 4) and, cheaply, 3.1 (level 3).
PROTOCOLS: Final = {"MQTT": 4, "MQIsdp": 3}
# The fixed-header flags each packet type must carry (MQTT-2.2.2-1, MQTT-2.2.2-2).
_FIXED_FLAGS: Final = {
    PacketType.CONNECT: 0,
    PacketType.PUBACK: 0,
    PacketType.PUBREC: 0,
    PacketType.PUBREL: 2,
    PacketType.PUBCOMP: 0,
    PacketType.SUBSCRIBE: 2,
    PacketType.UNSUBSCRIBE: 2,
    PacketType.PINGREQ: 0,
    PacketType.DISCONNECT: 0,
}
CLIENT_PACKETS: Final = frozenset(_FIXED_FLAGS) | {PacketType.PUBLISH}
PINGRESP: Final = b"\xd0\x00"


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class Connect:
    protocol_level: int
    clean_session: bool
    keep_alive: int
    client_id: str
    will: Will | None
    username: str | None
    password: bytes | None


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    packet_id: int


@dataclass(frozen=True, slots=True)
class Subscribe:
    packet_id: int
    filters: tuple[tuple[str, int], ...]
    """(filter, requested QoS); a filter that is not valid is given QoS -1."""


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    packet_id: int
    filters: tuple[str, ...]


class PacketReader:
    """Splits a byte stream into (type, flags, body) packets, refusing oversized ones early."""

    __slots__ = ("_buffer", "_pos", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._buffer = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buffer[: self._pos]
            self._pos = 0
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer) - self._pos

    def next(self) -> tuple[int, int, bytes] | None:
        """The next complete packet, or None until more bytes arrive."""
        buffer, start = self._buffer, self._pos
        end = len(buffer)
        index = start + 1
        length = 0
        shift = 0
        while True:
            if index >= end:
                return None
            byte = buffer[index]
            length |= (byte & 0x7F) << shift
            index += 1
            if not byte & 0x80:
                break
            shift += 7
            if shift > 21:
                raise MalformedPacket("remaining length longer than four bytes")
        if length > self.max_size:
            raise PacketTooLarge(f"packet of {length} bytes, more than {self.max_size}")
        if end - index < length:
            return None
        first = buffer[start]
        self._pos = index + length
        return first >> 4, first & 0x0F, bytes(buffer[index : index + length])


def check_flags(packet_type: int, flags: int) -> PacketType:
    """The packet type, if a client may send it with these flags."""
    try:
        kind = PacketType(packet_type)
    except ValueError:
        raise MalformedPacket(f"reserved packet type {packet_type}") from None
    if kind not in CLIENT_PACKETS:
        raise MalformedPacket(f"{kind.name} is not sent by clients")
    if kind is not PacketType.PUBLISH and flags != _FIXED_FLAGS[kind]:
        raise MalformedPacket(f"{kind.name} with fixed-header flags {flags:#x}")
    return kind


# --- decoding ----------------------------------------------------------------------------


def _string(body: bytes, pos: int, what: str) -> tuple[str, int]:
    raw, pos = _binary(body, pos, what)
    try:
        text = raw.decode("utf-8")  # strict: no encoded surrogates either (MQTT-1.5.3-1)
    except UnicodeDecodeError:
        raise MalformedPacket(f"{what} is not UTF-8") from None
    if "\x00" in text:
        raise MalformedPacket(f"{what} contains U+0000")  # MQTT-1.5.3-2
    return text, pos


def _binary(body: bytes, pos: int, what: str) -> tuple[bytes, int]:
    if len(body) < pos + 2:
        raise MalformedPacket(f"{what} is cut short")
    length = int.from_bytes(body[pos : pos + 2])
    pos += 2
    if len(body) < pos + length:
        raise MalformedPacket(f"{what} is cut short")
    return body[pos : pos + length], pos + length


def _packet_id(body: bytes, pos: int) -> int:
    if len(body) < pos + 2:
        raise MalformedPacket("packet identifier is cut short")
    packet_id = int.from_bytes(body[pos : pos + 2])
    if packet_id == 0:
        raise MalformedPacket("packet identifier 0")  # MQTT-2.3.1-1
    return packet_id


def decode_connect(body: bytes) -> Connect:
    name, pos = _string(body, 0, "protocol name")
    if len(body) < pos + 4:
        raise MalformedPacket("CONNECT variable header is cut short")
    level, flags = body[pos], body[pos + 1]
    keep_alive = int.from_bytes(body[pos + 2 : pos + 4])
    pos += 4
    if name not in PROTOCOLS:
        raise MalformedPacket(f"protocol name {name!r}")  # MQTT-3.1.2-1
    if PROTOCOLS[name] != level:
        raise UnacceptableProtocol(f"protocol {name} level {level}")  # MQTT-3.1.2-2
    if flags & 0x01:
        raise MalformedPacket("CONNECT reserved flag set")  # MQTT-3.1.2-3
    will_flag, will_qos, will_retain = bool(flags & 0x04), (flags >> 3) & 0x03, bool(flags & 0x20)
    has_username, has_password = bool(flags & 0x80), bool(flags & 0x40)
    if not will_flag and (will_qos or will_retain):
        raise MalformedPacket("will QoS or retain without a will")  # MQTT-3.1.2-13, -15
    if will_qos == 3:
        raise MalformedPacket("will QoS 3")  # MQTT-3.1.2-14
    if has_password and not has_username:
        raise MalformedPacket("password without a user name")  # MQTT-3.1.2-22
    client_id, pos = _string(body, pos, "client identifier")
    will = None
    if will_flag:
        topic, pos = _string(body, pos, "will topic")
        payload, pos = _binary(body, pos, "will message")
        check_topic_name(topic)
        will = Will(topic, payload, will_qos, will_retain)
    username = password = None
    if has_username:
        username, pos = _string(body, pos, "user name")
    if has_password:
        password, pos = _binary(body, pos, "password")
    if pos != len(body):
        raise MalformedPacket("bytes after the CONNECT payload")
    return Connect(level, bool(flags & 0x02), keep_alive, client_id, will, username, password)


def decode_publish(flags: int, body: bytes) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MalformedPacket("PUBLISH with QoS 3")  # MQTT-3.3.1-4
    dup = bool(flags & 0x08)
    if dup and not qos:
        raise MalformedPacket("DUP set on a QoS 0 PUBLISH")  # MQTT-3.3.1-2
    topic, pos = _string(body, 0, "topic name")
    check_topic_name(topic)
    packet_id = 0
    if qos:
        packet_id = _packet_id(body, pos)
        pos += 2
    return Publish(topic, body[pos:], qos, bool(flags & 0x01), dup, packet_id)


def decode_subscribe(body: bytes) -> Subscribe:
    packet_id = _packet_id(body, 0)
    pos, filters = 2, []
    while pos < len(body):
        topic_filter, pos = _string(body, pos, "topic filter")
        if pos >= len(body):
            raise MalformedPacket("topic filter without its QoS byte")
        requested = body[pos]
        pos += 1
        if requested & 0xFC or requested == 3:
            raise MalformedPacket(f"requested QoS byte {requested:#x}")  # MQTT-3.8.3-4
        filters.append((topic_filter, requested if valid_filter(topic_filter) else -1))
    if not filters:
        raise MalformedPacket("SUBSCRIBE without a topic filter")  # MQTT-3.8.3-3
    return Subscribe(packet_id, tuple(filters))


def decode_unsubscribe(body: bytes) -> Unsubscribe:
    packet_id = _packet_id(body, 0)
    pos, filters = 2, []
    while pos < len(body):
        topic_filter, pos = _string(body, pos, "topic filter")
        filters.append(topic_filter)
    if not filters:
        raise MalformedPacket("UNSUBSCRIBE without a topic filter")  # MQTT-3.10.3-2
    return Unsubscribe(packet_id, tuple(filters))


def decode_packet_id(body: bytes) -> int:
    """The body of PUBACK, PUBREC, PUBREL and PUBCOMP."""
    if len(body) != 2:
        raise MalformedPacket(f"acknowledgement of {len(body)} bytes")
    return _packet_id(body, 0)


def decode_empty(kind: PacketType, body: bytes) -> None:
    """PINGREQ and DISCONNECT have no body."""
    if body:
        raise MalformedPacket(f"{kind.name} with a body")


def check_topic_name(topic: str) -> None:
    if not topic:
        raise MalformedPacket("empty topic name")  # MQTT-4.7.3-1
    if "+" in topic or "#" in topic:
        raise MalformedPacket("wildcard in a topic name")  # MQTT-3.3.2-2


def valid_filter(topic_filter: str) -> bool:
    """Wildcards only as whole levels, `#` only last (MQTT-4.7.1-2, MQTT-4.7.1-3)."""
    if not topic_filter:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if ("#" in level and (level != "#" or index != len(levels) - 1)) or (
            "+" in level and level != "+"
        ):
            return False
    return True


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Whether a valid filter matches a topic name; `$` topics match no leading wildcard."""
    if topic_filter == topic:
        return True
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False  # MQTT-4.7.2-1
    parts = topic.split("/")
    for index, level in enumerate(topic_filter.split("/")):
        if level == "#":
            return True
        if index >= len(parts) or (level != "+" and level != parts[index]):
            return False
    return len(parts) == len(topic_filter.split("/"))


# --- encoding ----------------------------------------------------------------------------


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        out.append(byte | 0x80 if length else byte)
        if not length:
            return bytes(out)


def encode_connack(session_present: bool, code: int) -> bytes:
    return bytes((0x20, 2, 1 if session_present and code == 0 else 0, code))  # MQTT-3.2.2-4


def encode_publish(
    topic: bytes, payload: bytes, qos: int, packet_id: int = 0, *, dup: bool = False
) -> bytes:
    """`topic` already UTF-8 encoded: one topic is often sent to many clients."""
    header = 0x30 | (qos << 1) | (0x08 if dup else 0)
    length = 2 + len(topic) + (2 if qos else 0) + len(payload)
    parts = [bytes((header,)), _remaining_length(length), len(topic).to_bytes(2), topic]
    if qos:
        parts.append(packet_id.to_bytes(2))
    parts.append(payload)
    return b"".join(parts)


def encode_ack(kind: PacketType, packet_id: int) -> bytes:
    """PUBACK, PUBREC, PUBREL (flags 0b0010) or PUBCOMP."""
    first = (kind << 4) | (0x02 if kind is PacketType.PUBREL else 0)
    return bytes((first, 2)) + packet_id.to_bytes(2)


def encode_suback(packet_id: int, codes: list[int]) -> bytes:
    return bytes((0x90,)) + _remaining_length(2 + len(codes)) + packet_id.to_bytes(2) + bytes(codes)


def encode_unsuback(packet_id: int) -> bytes:
    return bytes((0xB0, 2)) + packet_id.to_bytes(2)
