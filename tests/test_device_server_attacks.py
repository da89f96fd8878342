"""Hostile clients against the device server: each attack is refused or bounded.

Every test ends with a legitimate device's normal round trip (a command from the hub,
answered), and checks that what legitimate clients sent was not lost on the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials, is_device_uuid
from custom_components.rlink.protocol.codes import DeviceCommand, DeviceEvent
from custom_components.rlink.protocol.policy import Principal, RlinkPolicy
from custom_components.rlink.protocol.server.connection import Connection
from custom_components.rlink.protocol.server.limits import Limits
from custom_components.rlink.protocol.topics import TopicKind as K

from .brokers import EmbeddedRig, until
from .mqtt_wire import (
    ALICE,
    ALICE_SECRET,
    BOB,
    BOB_SECRET,
    DISCONNECT_PACKET,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    ConnectionClosed,
    HubInbox,
    Incoming,
    RawClient,
    Will,
    ack,
    connect,
    connect_body,
    device_connect,
    field,
    logged_in,
    open_files,
    publish,
    report,
    report_payload,
    round_trip,
    running_rig,
    server_of,
    topic,
    varint,
)

ALICE_ID = f"rlink_{ALICE}_V2"
_SECRETS = {ALICE: ALICE_SECRET, BOB: BOB_SECRET}
LENIENT = Limits(failed_logins_allowed=1000)
"""For tests whose bad logins are not the point: the address is never made to wait."""

type RigFactory = Callable[..., Awaitable[EmbeddedRig]]


@pytest.fixture(name="make_rig")
async def fixture_make_rig(sockets: None) -> AsyncIterator[RigFactory]:
    """Start a device server with the limits (and policy) a test needs."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(limits: Limits = LENIENT, policy: RlinkPolicy | None = None) -> EmbeddedRig:
            return await stack.enter_async_context(running_rig(limits, policy))

        yield make


def _connection_of(rig: EmbeddedRig, uuid: str) -> Connection:
    """The server's side of a logged-in device's connection."""
    connections = server_of(rig)._connections
    return next(c for c in connections if c.principal and c.principal.identity == uuid)


def _holds_little_for(rig: EmbeddedRig, uuid: str) -> asyncio.Transport:
    """The server's transport to a device, with a small kernel send buffer.

    On loopback the kernel would otherwise take megabytes of what the server writes to a
    client that does not read, long before the server's own back-pressure has a say.
    """
    transport = _connection_of(rig, uuid)._transport
    assert transport is not None
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return transport


async def _refused_at_once(client: RawClient) -> None:
    """The server closed the connection without a word."""
    assert await client.until_closed(timeout=2) == []


# --- connections that never log in ----------------------------------------------------


async def test_connections_that_never_log_in_are_bounded(make_rig: RigFactory) -> None:
    rig = await make_rig(Limits(max_connections=5, max_pending_per_address=3))
    server = server_of(rig)
    baseline = open_files()
    clients = [await RawClient.open(rig.port) for _ in range(8)]  # one address
    clients += [await RawClient.open(rig.port, source="127.0.0.2") for _ in range(4)]
    watching = [asyncio.create_task(c.until_closed(timeout=30)) for c in clients]
    # 3 from the first address (its pending limit), then 2 more from the second (the
    # server's limit): every other connection is closed at once.
    await until(lambda: sum(t.done() for t in watching) == len(clients) - 5)
    assert server.connection_count == 5
    assert [t.done() for t in watching] == [False] * 3 + [True] * 5 + [False] * 2 + [True] * 2
    assert open_files() <= baseline + len(clients) + 5
    assert server.stats.refused_connections == len(clients) - 5
    for client, task in zip(clients, watching, strict=True):
        task.cancel()
        await client.close()
    await until(lambda: server.connection_count == 0)
    assert server._addresses.pending_total == 0  # no count of waiting connections leaks
    await until(lambda: open_files() <= baseline)
    await round_trip(rig)
    await round_trip(rig, source="127.0.0.2")


async def test_half_sent_connect_is_closed_after_connect_timeout(make_rig: RigFactory) -> None:
    rig = await make_rig(Limits(connect_timeout=0.5))
    loop = asyncio.get_running_loop()
    hello = device_connect(ALICE, ALICE_SECRET)
    half = await RawClient.open(rig.port)
    silent = await RawClient.open(rig.port)
    half.send(hello[: len(hello) // 2])
    opened = loop.time()
    assert await half.until_closed() == []
    assert await silent.until_closed() == []
    assert 0.3 <= loop.time() - opened < 3.0
    await until(lambda: server_of(rig).connection_count == 0)
    assert rig.online == []
    await half.close()
    await silent.close()
    await round_trip(rig)


# --- wills ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "will_topic",
    [
        pytest.param(topic(K.ISSUE, BOB), id="another-devices-issue"),
        pytest.param(topic(K.REPORT, BOB), id="another-devices-report"),
        pytest.param(topic(K.ISSUE, ALICE), id="its-own-issue"),
        pytest.param("product/v2/plug01/issue", id="product-issue"),
    ],
)
async def test_will_on_a_topic_the_device_may_not_publish_is_refused(
    make_rig: RigFactory, will_topic: str
) -> None:
    rig = await make_rig()
    inbox = HubInbox(rig)
    bob = await logged_in(rig, BOB, BOB_SECRET)
    assert await bob.subscribe(1, (topic(K.ISSUE, BOB), 1)) == [1]
    alice = await RawClient.open(rig.port)
    hello = device_connect(ALICE, ALICE_SECRET, will=Will(will_topic, report_payload("will"), 1))
    alice.send(hello)
    received = await alice.until_closed()
    assert [p.connack_code for p in received] == [0x05]
    assert rig.online == [BOB]
    # Markers through both paths a will could have taken: Bob's commands, and the hub.
    rig.link.publish(topic(K.ISSUE, BOB), messages.command(DeviceCommand.PING, msg_id="mark"))
    marker = (await bob.expect(PUBLISH)).publish()
    assert messages.decode(K.ISSUE, marker.payload).id == "mark"
    bob.send(ack(PUBACK, marker.packet_id), report("marker", packet_id=2, uuid=BOB))
    assert (await bob.expect(PUBACK)).packet_id == 2
    assert inbox.ids == ["marker"]
    await bob.close()
    await alice.close()
    await round_trip(rig)


@pytest.mark.parametrize("retain", [False, True])
async def test_will_on_its_own_report_is_delivered_when_the_connection_dies(
    make_rig: RigFactory, retain: bool
) -> None:
    rig = await make_rig(policy=_OwnReportsReadable(secret_for=_SECRETS.get))
    inbox = HubInbox(rig)
    will = Will(topic(K.REPORT), report_payload("will"), qos=1, retain=retain)
    alice = await logged_in(rig, will=will)
    alice.abort()
    await until(lambda: rig.offline == [ALICE])
    assert inbox.ids == ["will"]  # published before the device is reported gone
    await alice.close()
    # Retained or not, nothing is kept for whoever subscribes next (here the device itself,
    # which this policy lets read its own report).
    again = await logged_in(rig)
    assert await again.subscribe(1, (topic(K.REPORT), 1)) == [1]
    delivered = await _echoed(again, report("marker", packet_id=1))
    assert messages.decode(K.REPORT, delivered.payload).id == "marker"
    assert not delivered.retain
    assert inbox.ids == ["will", "marker"]
    await again.close()
    await round_trip(rig)


async def _echoed(client: RawClient, own_report: bytes) -> Incoming:
    """Publish a QoS 1 report the client is subscribed to: its PUBACK and its copy come."""
    client.send(own_report)
    first, second = await client.read(), await client.read()
    kinds = {first.kind: first, second.kind: second}
    assert set(kinds) == {PUBACK, PUBLISH}, (first, second)
    return kinds[PUBLISH].publish()


class _OwnReportsReadable(RlinkPolicy):
    """The rlink policy, plus: a device may subscribe to its own report topic.

    No real login may read a report; this lets a test show that the server itself keeps
    nothing retained for a later subscriber.
    """

    def may_subscribe(self, principal: Principal, topic_filter: str) -> bool:
        own_report = topic_filter == topic(K.REPORT, principal.identity)
        return own_report or super().may_subscribe(principal, topic_filter)


# --- retained messages ----------------------------------------------------------------


async def test_retained_publish_is_never_delivered_to_a_later_subscriber(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig(policy=_OwnReportsReadable(secret_for=_SECRETS.get))
    inbox = HubInbox(rig)
    alice = await logged_in(rig)
    alice.send(report("retained", packet_id=1, retain=True))
    assert (await alice.expect(PUBACK)).packet_id == 1
    assert inbox.ids == ["retained"]  # delivered as an ordinary message
    assert await alice.subscribe(2, (topic(K.REPORT), 1)) == [1]
    first = await _echoed(alice, report("marker", packet_id=3))
    assert messages.decode(K.REPORT, first.payload).id == "marker"
    # Subscribed when a retained message comes: delivered with retain 0 (MQTT-3.3.1-9).
    live = await _echoed(alice, report("retained-again", packet_id=4, retain=True))
    assert messages.decode(K.REPORT, live.payload).id == "retained-again"
    assert not live.retain
    await alice.close()
    await round_trip(rig)


# --- oversized packets ----------------------------------------------------------------


async def test_oversized_packet_is_refused_on_its_announced_length(make_rig: RigFactory) -> None:
    rig = await make_rig(Limits(max_packet_size=64 * 1024, failed_logins_allowed=1000))
    inbox = HubInbox(rig)
    # Before login: the fixed header alone, announcing 256 MiB, is enough.
    stranger = await RawClient.open(rig.port)
    stranger.send(b"\x10" + varint(256 << 20))
    assert await stranger.until_closed() == []
    await stranger.close()
    # After login, while the body streams in: the server does not buffer it.
    alice = await logged_in(rig)
    announced = 16 << 20
    name = field(topic(K.REPORT))
    header = b"\x30" + varint(announced) + name
    chunk = bytes(64 * 1024)
    tracemalloc.start()
    try:
        sent = await _stream(alice, header, chunk, announced - len(name))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent < announced
    assert peak < 4 << 20, f"{peak} bytes traced while a {announced}-byte packet was sent"
    await until(lambda: rig.offline == [ALICE])
    await alice.close()
    # A packet of exactly the largest size is accepted.
    largest = await logged_in(rig)
    payload = _padded_report("big", 64 * 1024 - len(name) - 2)  # the packet id takes 2
    largest.send(publish(topic(K.REPORT), payload, qos=1, packet_id=1))
    assert (await largest.expect(PUBACK)).packet_id == 1
    assert inbox.ids == ["big"]
    await largest.close()
    await round_trip(rig)


def _padded_report(msg_id: str, size: int) -> bytes:
    """A report payload of exactly `size` bytes."""
    bare = len(_report_with_padding(msg_id, ""))
    payload = _report_with_padding(msg_id, "x" * (size - bare))
    assert len(payload) == size
    return payload


def _report_with_padding(msg_id: str, padding: str) -> bytes:
    data = {"properties": {}, "padding": padding}
    return messages.encode(messages.event(DeviceEvent.PROPERTY_REPORT, data, msg_id=msg_id))


async def _stream(client: RawClient, header: bytes, chunk: bytes, body_size: int) -> int:
    """Send a packet's header and then its body, until done or the server hangs up."""
    sent = 0
    try:
        client.send(header)
        while sent < body_size:
            client.send(chunk)
            await client.writer.drain()
            sent += len(chunk)
    except ConnectionError, OSError:
        pass
    return sent


# --- replayed logins ------------------------------------------------------------------


async def _connack_code(rig: EmbeddedRig, hello: bytes) -> int:
    """The return code a login gets (an accepted one then disconnects)."""
    client = await RawClient.open(rig.port)
    client.send(hello)
    code = (await client.read()).connack_code
    if code == 0:
        client.send(DISCONNECT_PACKET)
    assert await client.until_closed() == []
    await client.close()
    return code


async def test_replayed_login_is_refused(make_rig: RigFactory) -> None:
    rig = await make_rig()
    creds = device_credentials(ALICE, ALICE_SECRET)
    captured = connect(creds.client_id, creds.username, creds.password)
    assert await _connack_code(rig, captured) == 0
    assert await _connack_code(rig, captured) == 0x04  # the same login again
    assert await _connack_code(rig, device_connect(ALICE, ALICE_SECRET, ts=creds.ts - 60)) == 4
    assert await _connack_code(rig, device_connect(ALICE, ALICE_SECRET, ts=0)) == 0x04
    assert rig.online == [ALICE]
    # A clock stuck in 2001 is fine as long as it moves forward.
    assert await _connack_code(rig, device_connect(BOB, BOB_SECRET, ts=1_000_000_000)) == 0
    assert await _connack_code(rig, device_connect(BOB, BOB_SECRET, ts=1_000_000_007)) == 0
    assert await _connack_code(rig, device_connect(BOB, BOB_SECRET, ts=1_000_000_007)) == 4
    assert rig.online == [ALICE, BOB, BOB]
    await round_trip(rig)


# --- floods ---------------------------------------------------------------------------


async def test_flooding_device_is_slowed_and_loses_nothing(make_rig: RigFactory) -> None:
    rig = await make_rig()
    inbox = HubInbox(rig)
    flooder = await logged_in(rig, receive_buffer=4096)
    transport = _holds_little_for(rig, ALICE)
    # A high-water mark of 8 KiB instead of 64: back-pressure after thousands of PUBACKs
    # rather than tens of thousands, so the test runs in a moment.
    transport.set_write_buffer_limits(high=8192)
    _low, high = transport.get_write_buffer_limits()
    count = 10_000  # more PUBACKs than the kernel and the server hold for it
    flooder.send(*(report(f"r{n}", packet_id=n + 1) for n in range(count)))
    # Its PUBACKs pile up past the high-water mark, so the server stops reading it.
    await until(lambda: transport.get_write_buffer_size() > high, 20)
    assert not transport.is_reading()
    held_back = len(inbox.ids)
    assert 0 < held_back < count
    # The server serves others meanwhile, and reads nothing more from the flooder.
    await round_trip(rig)
    assert len(inbox.ids) == held_back
    assert server_of(rig).is_connected(ALICE)
    # Once it reads its acknowledgements, the rest comes through: nothing is lost.
    acknowledged = set()
    while len(acknowledged) < count:
        got = await flooder.expect(PUBACK, timeout=20)
        acknowledged.add(got.packet_id)
    assert acknowledged == set(range(1, count + 1))
    assert inbox.ids == [f"r{n}" for n in range(count)]
    assert ALICE not in rig.offline
    await flooder.close()


async def test_qos_2_messages_not_released_are_bounded_and_delivered_once(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig(Limits(max_awaiting_release=4, failed_logins_allowed=1000))
    inbox = HubInbox(rig)
    alice = await logged_in(rig, clean=False)
    alice.send(*(report(f"m{n}", qos=2, packet_id=n) for n in range(1, 6)))
    received = await alice.until_closed()  # the fifth is one too many
    assert [(p.kind, p.packet_id) for p in received] == [(PUBREC, n) for n in range(1, 5)]
    await until(lambda: rig.offline == [ALICE])
    await alice.close()
    # The device comes back and does what it owes: release four, send the fifth again.
    again = await logged_in(rig, clean=False)
    again.send(*(ack(PUBREL, n) for n in range(1, 5)))
    again.send(report("m5", qos=2, packet_id=5, dup=True))
    for n in range(1, 5):
        assert (await again.expect(PUBCOMP)).packet_id == n
    assert (await again.expect(PUBREC)).packet_id == 5
    again.send(ack(PUBREL, 5))
    assert (await again.expect(PUBCOMP)).packet_id == 5
    assert inbox.ids == [f"m{n}" for n in range(1, 6)]  # each exactly once
    await again.close()
    await round_trip(rig)


async def test_device_that_does_not_read_is_dropped_past_its_write_buffer(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig(Limits(max_write_buffer=256 * 1024, failed_logins_allowed=1000))
    alice = await logged_in(rig, receive_buffer=4096)
    _holds_little_for(rig, ALICE)
    assert await alice.subscribe(1, (topic(K.ISSUE), 0)) == [0]
    command = messages.command(DeviceCommand.PING, {"filler": "x" * 4000})
    for _ in range(1000):  # 4 MB, sent at QoS 0 as subscribed, that the device never reads
        if not server_of(rig).is_connected(ALICE):
            break
        rig.link.publish(topic(K.ISSUE), command, qos=1)
        await asyncio.sleep(0)
    await until(lambda: rig.offline == [ALICE])
    await alice.close()
    await round_trip(rig)


async def test_stuck_connection_is_let_go_when_the_device_logs_in_again(
    make_rig: RigFactory,
) -> None:
    """A device that rebooted leaves a connection that reads nothing: its new login must not
    wait for the old one to take what the server still had to write to it."""
    rig = await make_rig()
    server = server_of(rig)
    stuck = await logged_in(rig, receive_buffer=4096)
    transport = _holds_little_for(rig, ALICE)
    assert await stuck.subscribe(1, (topic(K.ISSUE), 0)) == [0]
    command = messages.command(DeviceCommand.PING, {"filler": "x" * 4000})
    _low, high = transport.get_write_buffer_limits()
    for _ in range(1000):
        if transport.get_write_buffer_size() > high:  # well past what this side takes in
            break
        rig.link.publish(topic(K.ISSUE), command)
        await asyncio.sleep(0)
    else:
        pytest.fail("the server's write buffer never filled")
    rebooted = await logged_in(rig)
    await until(lambda: server.connection_count == 1)
    await rebooted.ping()
    assert rig.offline == []  # the device never went away
    await stuck.close()
    await rebooted.close()
    await round_trip(rig)


async def test_messages_for_an_absent_device_are_bounded(make_rig: RigFactory) -> None:
    rig = await make_rig(Limits(max_queued=10, max_inflight=4, failed_logins_allowed=1000))
    alice = await logged_in(rig, clean=False)
    assert await alice.subscribe(1, (topic(K.ISSUE), 1)) == [1]
    alice.send(DISCONNECT_PACKET)
    assert await alice.until_closed() == []
    await alice.close()
    for n in range(50):
        rig.link.publish(topic(K.ISSUE), messages.command(DeviceCommand.PING, msg_id=f"c{n}"))
    assert server_of(rig).stats.dropped_messages == 40
    again = await logged_in(rig, clean=False)
    kept = []
    for _ in range(10):
        incoming = (await again.expect(PUBLISH)).publish()
        kept.append(messages.decode(K.ISSUE, incoming.payload).id)
        again.send(ack(PUBACK, incoming.packet_id))
    assert kept == [f"c{n}" for n in range(40, 50)]  # the newest
    await again.ping()
    await again.close()
    await round_trip(rig)


# --- logins ---------------------------------------------------------------------------


async def test_unknown_client_ids_are_announced_sparingly(make_rig: RigFactory) -> None:
    rig = await make_rig()
    not_uuids = [
        "abc",
        "x" * 5000,
        "rn01zzzzzzzzzzzz",  # sixteen characters, not hex
        "rn01-4ebe0C20E12",
        "rn014ebe0C20E122extra",
        "rn01/ebe0C20E122",  # not even an identity
        "",
    ]
    assert not any(is_device_uuid(name) for name in not_uuids)
    for name in not_uuids:
        code = await _connack_code(rig, connect(f"rlink_{name}_V2", f"{name}|x", "p"))
        assert code in (0x02, 0x04, 0x05)
    assert rig.unknown == []
    strangers = [f"rn01aaaabbbb{n:04x}" for n in range(15)]
    for uuid in [strangers[0], *strangers]:  # the first one twice
        assert await _connack_code(rig, device_connect(uuid, "s" * 32)) == 0x05
    assert rig.unknown == strangers[:10]  # once each, and ten a minute at most
    await round_trip(rig)


async def test_failed_logins_make_the_address_wait(make_rig: RigFactory) -> None:
    rig = await make_rig(Limits(failed_logins_allowed=3, backoff_first=1.0))
    loop = asyncio.get_running_loop()
    for _ in range(3):
        assert await _connack_code(rig, device_connect(ALICE, BOB_SECRET)) == 0x04
    refused_from = loop.time()
    waiting = await RawClient.open(rig.port)
    waiting.send(device_connect(BOB, BOB_SECRET))
    await _refused_at_once(waiting)  # even a good login, while the address waits
    await waiting.close()
    await round_trip(rig, ALICE, ALICE_SECRET, source="127.0.0.2")  # others are not affected

    async def admitted() -> bool:
        client = await RawClient.open(rig.port)
        client.send(device_connect(BOB, BOB_SECRET))
        try:
            code = (await client.read()).connack_code
        except ConnectionClosed:  # still waiting: closed without an answer
            return False
        finally:
            await client.close()
        return code == 0

    for _attempt in range(50):  # the wait is a second; each attempt is refused until then
        if await admitted():
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the address was still refused after 5 s")
    assert loop.time() - refused_from >= 0.9
    await round_trip(rig)


_MALFORMED_CONNECTS = {
    "cut-short": b"\x00\x04MQ",
    "no-flags": field("MQTT") + b"\x04",
    "no-client-id": field("MQTT") + b"\x04\x02\x00\x3c",
    "client-id-too-long-for-body": field("MQTT") + b"\x04\x02\x00\x3c\xff\xff",
    "will-flag-no-will": field("MQTT") + b"\x04\x06\x00\x3c" + field(ALICE_ID),
    "username-flag-no-username": field("MQTT") + b"\x04\x82\x00\x3c" + field(ALICE_ID),
    "trailing-bytes": connect_body(ALICE_ID, "u", "p") + b"\x00",
    "bad-utf8-username": connect_body(ALICE_ID, b"\xff\xfe", "p"),
    "binary-password": connect_body(ALICE_ID, f"{ALICE}|signMethod=hmacSha256,ts=1", b"\xff"),
    "huge-ts": connect_body(ALICE_ID, f"{ALICE}|signMethod=hmacSha256,ts={'9' * 5000}", "p"),
    "non-ascii-ts": connect_body(ALICE_ID, f"{ALICE}|signMethod=hmacSha256,ts=١٢٣", "p"),
    "unknown-sign-method": connect_body(ALICE_ID, f"{ALICE}|signMethod=md5,ts=1", "p"),
    "username-no-bar": connect_body(ALICE_ID, ALICE, "p"),
    "username-65535": connect_body(ALICE_ID, "u" * 65535, "p"),
    "no-username": connect_body(ALICE_ID),
    "app-bad-id": connect_body("app_someone|notdigits", "someone|x", "p"),
    "app-no-bar": connect_body("app_", "u", "p"),
    "other-device-in-username": connect_body(ALICE_ID, f"{BOB}|signMethod=hmacSha256,ts=1", "p"),
    "will-wildcard": connect_body(ALICE_ID, "u", "p", will=Will("rlink/#")),
    "will-empty-topic": connect_body(ALICE_ID, "u", "p", will=Will("")),
    "mqtt-5-properties": connect_body(ALICE_ID, "u", "p", level=5, properties=True),
}


async def test_malformed_connects_are_logged_without_a_traceback(
    make_rig: RigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rig = await make_rig()
    for name, body in _MALFORMED_CONNECTS.items():
        client = await RawClient.open(rig.port)
        client.send(b"\x10" + varint(len(body)) + body)
        received = await client.until_closed()
        assert all(p.connack_code != 0 for p in received), name
        await client.close()
    loud = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert loud == [], [r.getMessage() for r in loud]
    assert rig.online == []
    await round_trip(rig)
