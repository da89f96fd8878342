"""Random and mutated bytes against the device server's codec and against a live server.

The codec must turn any input into packets or `MalformedPacket`, nothing else; the live
server must close what it cannot use, log no exception, hold no descriptor afterwards, and
go on serving legitimate devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from custom_components.rlink.protocol.server.codec import (
    MalformedPacket,
    PacketReader,
    PacketType,
    check_flags,
    decode_connect,
    decode_empty,
    decode_packet_id,
    decode_publish,
    decode_subscribe,
    decode_unsubscribe,
)
from custom_components.rlink.protocol.server.limits import Limits
from custom_components.rlink.protocol.topics import TopicKind as K

from .brokers import EmbeddedRig, until
from .mqtt_wire import (
    ALICE,
    ALICE_SECRET,
    DISCONNECT_PACKET,
    PINGREQ_PACKET,
    PUBCOMP,
    PUBREL,
    RawClient,
    Will,
    ack,
    connect,
    device_connect,
    logged_in,
    open_files,
    publish,
    report,
    round_trip,
    running_rig,
    server_of,
    split_packet,
    subscribe,
    topic,
    unsubscribe,
)

ALICE_ID = f"rlink_{ALICE}_V2"

# Valid packets a client sends, to be cut, flipped and spliced.
CONNECTS = [
    connect(ALICE_ID, f"{ALICE}|signMethod=hmacSha256,ts=1700000000", "0" * 64),
    connect(ALICE_ID, "u", "p", clean=False, keep_alive=0, will=Will(topic(K.REPORT), b"{}", 1)),
    connect("c", protocol="MQIsdp", level=3),
]
AFTER_LOGIN = [
    report("fuzz", qos=0),
    report("fuzz", qos=1, packet_id=1),
    report("fuzz", qos=2, packet_id=2),
    publish(
        topic(K.ISSUE_RESPONSE), b'{"id":"1","ts":1,"code":"ping","res":0}', qos=1, packet_id=3
    ),
    subscribe(4, (topic(K.ISSUE), 1), (topic(K.REPORT_RESPONSE), 2)),
    unsubscribe(5, topic(K.ISSUE), "a/b"),
    ack(PUBREL, 2),
    ack(PUBCOMP, 7),
    PINGREQ_PACKET,
    DISCONNECT_PACKET,
]
VALID = CONNECTS + AFTER_LOGIN

_DECODERS: dict[PacketType, Callable[[int, bytes], object]] = {
    PacketType.CONNECT: lambda _flags, body: decode_connect(body),
    PacketType.PUBLISH: decode_publish,
    PacketType.SUBSCRIBE: lambda _flags, body: decode_subscribe(body),
    PacketType.UNSUBSCRIBE: lambda _flags, body: decode_unsubscribe(body),
    PacketType.PUBACK: lambda _flags, body: decode_packet_id(body),
    PacketType.PUBREC: lambda _flags, body: decode_packet_id(body),
    PacketType.PUBREL: lambda _flags, body: decode_packet_id(body),
    PacketType.PUBCOMP: lambda _flags, body: decode_packet_id(body),
    PacketType.PINGREQ: lambda _flags, body: decode_empty(PacketType.PINGREQ, body),
    PacketType.DISCONNECT: lambda _flags, body: decode_empty(PacketType.DISCONNECT, body),
}


@st.composite
def mutated(draw: st.DrawFn, packets: list[bytes] = VALID) -> bytes:
    """A valid packet with a few bytes flipped, cut, inserted or overwritten."""
    data = bytearray(draw(st.sampled_from(packets)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        match draw(st.sampled_from(["flip", "set", "cut", "insert", "truncate"])):
            case "flip" if data:
                data[at] ^= 1 << draw(st.integers(0, 7))
            case "set" if data:
                data[at] = draw(
                    st.sampled_from([0x00, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))])
                )
            case "cut" if data:
                del data[at : at + draw(st.integers(1, 8))]
            case "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            case _:
                del data[at:]
    return bytes(data)


def _decode_all(stream: bytes, chunks: list[int]) -> int:
    """Feed `stream` in pieces and decode every packet; returns how many were decoded."""
    reader = PacketReader(4096)
    decoded = pos = 0
    for size in [*chunks, len(stream)]:
        reader.feed(stream[pos : pos + size])
        pos += size
        while (found := reader.next()) is not None:
            packet_type, flags, body = found
            kind = check_flags(packet_type, flags)
            _DECODERS[kind](flags, body)
            decoded += 1
    return decoded


def _only_malformed(action: Callable[[], object]) -> None:
    with contextlib.suppress(MalformedPacket):
        action()


_QUICK = settings(max_examples=400, deadline=None, database=None)


# --- the codec ------------------------------------------------------------------------


@_QUICK
@given(st.binary(max_size=600), st.lists(st.integers(0, 64), max_size=8))
def test_reader_and_decoders_raise_only_malformed_on_random_bytes(
    stream: bytes, chunks: list[int]
) -> None:
    _only_malformed(lambda: _decode_all(stream, chunks))


@_QUICK
@given(st.binary(max_size=300), st.integers(0, 15), st.integers(0, 15))
def test_every_decoder_raises_only_malformed_on_random_bodies(
    body: bytes, packet_type: int, flags: int
) -> None:
    _only_malformed(lambda: check_flags(packet_type, flags))
    for decoder in _DECODERS.values():
        with contextlib.suppress(MalformedPacket):
            decoder(flags, body)


@_QUICK
@given(mutated(), st.lists(st.integers(0, 16), max_size=6))
def test_decoders_raise_only_malformed_on_mutated_packets(data: bytes, chunks: list[int]) -> None:
    _only_malformed(lambda: _decode_all(data, chunks))


@_QUICK
@given(st.lists(st.sampled_from(VALID), min_size=1, max_size=12), st.data())
def test_reader_finds_the_same_packets_however_the_stream_is_cut(
    packets: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = PacketReader(4096)
    found = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        reader.feed(stream[start:end])
        while (item := reader.next()) is not None:
            found.append(item)
    expected = []
    pos = 0
    while (item := split_packet(stream, pos)) is not None:
        expected.append((item[0].kind, item[0].flags, item[0].body))
        pos = item[1]
    assert found == expected
    assert reader.buffered == 0


# --- a live server --------------------------------------------------------------------


def _examples[T](strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """`count` values drawn by hypothesis, for tests that send them to a live server."""
    drawn: list[T] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn


@pytest.fixture(name="rig")
async def fixture_rig(sockets: None) -> AsyncIterator[EmbeddedRig]:
    # Fuzzed logins all fail, all from one address: it must not be made to wait.
    limits = Limits(failed_logins_allowed=1 << 20, max_pending_per_address=1024)
    async with running_rig(limits) as rig:
        yield rig


async def _send_and_hang_up(rig: EmbeddedRig, data: bytes) -> None:
    """Send `data` on a new connection, then end the sending side: the server must close."""
    client = await RawClient.open(rig.port)
    client.send(data)
    client.writer.write_eof()
    await client.until_closed()
    await client.close()


def _loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.exc_info or record.levelno >= logging.ERROR
    ]


async def _assert_still_serving(rig: EmbeddedRig, baseline: int) -> None:
    server = server_of(rig)
    await until(lambda: server.connection_count == 0)
    assert server._addresses.pending_total == 0
    await until(lambda: open_files() <= baseline)
    await round_trip(rig)


async def test_server_survives_random_streams(
    rig: EmbeddedRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    streams = _examples(st.binary(min_size=1, max_size=300), 150)
    # Streams that start like a CONNECT get further into the server.
    streams += [b"\x10" + s for s in _examples(st.binary(max_size=200), 150)]
    baseline = open_files()
    await _send_all(rig, streams)
    assert _loud(caplog) == []
    await _assert_still_serving(rig, baseline)


async def _send_all(rig: EmbeddedRig, payloads: list[bytes]) -> None:
    """Each payload on a connection of its own, twenty connections at a time."""
    for batch in range(0, len(payloads), 20):
        async with asyncio.TaskGroup() as group:
            for data in payloads[batch : batch + 20]:
                group.create_task(_send_and_hang_up(rig, data))


async def test_server_survives_mutated_connects(
    rig: EmbeddedRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    baseline = open_files()
    hellos = _examples(mutated(CONNECTS), 250)
    hellos.append(device_connect(ALICE, ALICE_SECRET))  # and one that is fine
    await _send_all(rig, hellos)
    assert _loud(caplog) == []
    await _assert_still_serving(rig, baseline)


async def test_server_survives_mutated_packets_after_login(
    rig: EmbeddedRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    baseline = open_files()
    for data in _examples(mutated(AFTER_LOGIN), 200):
        client = await logged_in(rig)
        client.send(data, PINGREQ_PACKET)
        client.writer.write_eof()
        await client.until_closed()  # answered or closed; either way, handled
        await client.close()
    assert _loud(caplog) == []
    await _assert_still_serving(rig, baseline)
