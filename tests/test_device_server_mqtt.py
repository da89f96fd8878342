"""The device server against MQTT 3.1.1's normative statements, one raw packet at a time.

Each test names the statement it checks. A connection the standard says must be closed is
shown closed with nothing sent back (or only the CONNACK the standard asks for).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import DeviceCommand
from custom_components.rlink.protocol.server.limits import Limits
from custom_components.rlink.protocol.topics import TopicKind as K

from .brokers import EmbeddedRig, until
from .mqtt_wire import (
    ALICE,
    ALICE_SECRET,
    BOB,
    BOB_SECRET,
    CONNACK,
    DISCONNECT_PACKET,
    PINGREQ_PACKET,
    PINGRESP,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    UNSUBACK,
    HubInbox,
    Incoming,
    Packet,
    RawClient,
    Will,
    ack,
    connect,
    device_connect,
    logged_in,
    packet,
    publish,
    report,
    report_payload,
    running_rig,
    server_of,
    subscribe,
    topic,
    unsubscribe,
)

ALICE_ID = f"rlink_{ALICE}_V2"
REFUSED_FILTER = 0x80


@pytest.fixture(name="rig")
async def fixture_rig(sockets: None) -> AsyncIterator[EmbeddedRig]:
    # Many tests log in badly on purpose; the address must not be made to wait.
    async with running_rig(Limits(failed_logins_allowed=1000)) as rig:
        yield rig


async def _answer_to(rig: EmbeddedRig, *data: bytes) -> list[Packet]:
    """What the server sends to a new connection that sends `data`, until it closes it."""
    client = await RawClient.open(rig.port)
    client.send(*data)
    try:
        return await client.until_closed()
    finally:
        await client.close()


async def _closes_after_login(rig: EmbeddedRig, *data: bytes) -> None:
    """A logged-in device sends `data`: the server closes the connection, answering nothing."""
    client = await logged_in(rig)
    client.send(*data)
    assert await client.until_closed() == []
    await until(lambda: not server_of(rig).is_connected(ALICE))
    await client.close()


def _connack(code: int, *, session_present: bool = False) -> Packet:
    return Packet(CONNACK, 0, bytes((int(session_present), code)))


# --- CONNECT --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(PINGREQ_PACKET, id="pingreq"),
        pytest.param(subscribe(1, (topic(K.ISSUE), 1)), id="subscribe"),
        pytest.param(report("early", qos=1, packet_id=1), id="publish"),
        pytest.param(DISCONNECT_PACKET, id="disconnect"),
    ],
)
async def test_first_packet_must_be_connect_mqtt_3_1_0_1(rig: EmbeddedRig, first: bytes) -> None:
    inbox = HubInbox(rig)
    assert await _answer_to(rig, first) == []
    assert inbox.ids == []
    assert rig.online == []


async def test_second_connect_closes_the_connection_mqtt_3_1_0_2(rig: EmbeddedRig) -> None:
    await _closes_after_login(rig, device_connect(ALICE, ALICE_SECRET))
    await until(lambda: rig.offline == [ALICE])


async def test_wrong_protocol_name_closes_without_connack_mqtt_3_1_2_1(rig: EmbeddedRig) -> None:
    assert await _answer_to(rig, device_connect(ALICE, ALICE_SECRET, protocol="MQTX")) == []
    assert rig.online == []


@pytest.mark.parametrize(
    ("protocol", "level", "properties"),
    [
        pytest.param("MQTT", 5, True, id="mqtt-5"),
        pytest.param("MQTT", 3, False, id="mqtt-name-level-3"),
        pytest.param("MQTT", 6, False, id="level-6"),
        pytest.param("MQTT", 255, False, id="level-255"),
        pytest.param("MQIsdp", 4, False, id="mqisdp-level-4"),
    ],
)
async def test_unknown_protocol_level_gets_connack_1_then_close_mqtt_3_1_2_2(
    rig: EmbeddedRig, protocol: str, level: int, properties: bool
) -> None:
    hello = device_connect(
        ALICE, ALICE_SECRET, protocol=protocol, level=level, properties=properties
    )
    assert await _answer_to(rig, hello) == [_connack(0x01)]
    assert rig.online == []


async def test_mqtt_3_1_login_is_accepted(rig: EmbeddedRig) -> None:
    """Protocol name MQIsdp with level 3: older firmwares speak MQTT 3.1."""
    client = await logged_in(rig, protocol="MQIsdp", level=3)
    await client.ping()
    await client.close()


async def test_reserved_connect_flag_closes_mqtt_3_1_2_3(rig: EmbeddedRig) -> None:
    assert await _answer_to(rig, device_connect(ALICE, ALICE_SECRET, extra_flags=0x01)) == []


@pytest.mark.parametrize(
    "hello",
    [
        pytest.param(
            device_connect(ALICE, ALICE_SECRET, extra_flags=0x08), id="will-qos-1-no-will-3.1.2-13"
        ),
        pytest.param(
            device_connect(ALICE, ALICE_SECRET, extra_flags=0x10), id="will-qos-2-no-will-3.1.2-13"
        ),
        pytest.param(
            device_connect(ALICE, ALICE_SECRET, will=Will(topic(K.REPORT), qos=3)),
            id="will-qos-3-3.1.2-14",
        ),
        pytest.param(
            device_connect(ALICE, ALICE_SECRET, extra_flags=0x20), id="will-retain-no-will-3.1.2-15"
        ),
    ],
)
async def test_will_flags_must_agree_mqtt_3_1_2_13_14_15(rig: EmbeddedRig, hello: bytes) -> None:
    assert await _answer_to(rig, hello) == []
    assert rig.online == []


async def test_password_without_user_name_closes_mqtt_3_1_2_22(rig: EmbeddedRig) -> None:
    hello = connect(ALICE_ID, None, "a password")
    assert await _answer_to(rig, hello) == []


async def test_silent_client_is_dropped_after_one_and_a_half_keep_alive_mqtt_3_1_2_24(
    rig: EmbeddedRig,
) -> None:
    loop = asyncio.get_running_loop()
    client = await logged_in(rig, keep_alive=1)
    logged_in_at = loop.time()
    assert await client.until_closed(timeout=5) == []
    silent_for = loop.time() - logged_in_at
    assert 1.3 <= silent_for < 3.0, silent_for
    await until(lambda: rig.offline == [ALICE])
    await client.close()


async def test_client_that_pings_stays_connected_mqtt_3_1_2_24(rig: EmbeddedRig) -> None:
    client = await logged_in(rig, keep_alive=1)
    for _ in range(6):  # three seconds: twice the server's allowance, pinging every half
        await asyncio.sleep(0.5)
        await client.ping()
    assert server_of(rig).is_connected(ALICE)
    assert rig.offline == []
    await client.close()


@pytest.mark.parametrize("clean", [False, True])
async def test_empty_client_id_gets_connack_2_mqtt_3_1_3_8(rig: EmbeddedRig, clean: bool) -> None:
    """Clean session 0 must be refused (3.1.3-8); rlink has no anonymous logins at all."""
    assert await _answer_to(rig, connect("", "user", "password", clean=clean)) == [_connack(0x02)]


async def test_second_login_closes_the_older_connection_mqtt_3_1_4_2(rig: EmbeddedRig) -> None:
    first = await logged_in(rig)
    second = await logged_in(rig)
    assert await first.until_closed() == []
    await second.ping()
    assert server_of(rig).is_connected(ALICE)
    assert rig.offline == []  # the device never went away
    await first.close()
    await second.close()


# --- CONNACK --------------------------------------------------------------------------


async def _end(client: RawClient) -> None:
    client.send(DISCONNECT_PACKET)
    assert await client.until_closed() == []
    await client.close()


async def test_session_present_flag_mqtt_3_2_2_1_2_3(rig: EmbeddedRig) -> None:
    server = server_of(rig)
    clean = await logged_in(rig, clean=True)
    await _end(clean)

    first = await RawClient.open(rig.port)
    assert await first.login(clean=False) == _connack(0, session_present=False)  # 3.2.2-3
    assert await first.subscribe(1, (topic(K.ISSUE), 1)) == [1]
    await _end(first)

    again = await RawClient.open(rig.port)
    assert await again.login(clean=False) == _connack(0, session_present=True)  # 3.2.2-2
    # The stored subscription is what delivers this: nothing was subscribed again.
    assert server.publish(topic(K.ISSUE), b"kept", 1) == 1
    kept = (await again.expect(PUBLISH)).publish()
    assert kept.payload == b"kept"
    again.send(ack(PUBACK, kept.packet_id))
    await _end(again)

    last = await RawClient.open(rig.port)
    assert await last.login(clean=True) == _connack(0, session_present=False)  # 3.2.2-1
    assert server.publish(topic(K.ISSUE), b"nobody", 1) == 0  # the old session is gone
    await _end(last)


async def test_refused_connack_has_session_present_0_mqtt_3_2_2_4(rig: EmbeddedRig) -> None:
    server = server_of(rig)
    stored = await logged_in(rig, clean=False)
    assert await stored.subscribe(1, (topic(K.ISSUE), 1)) == [1]
    await _end(stored)
    wrong_secret = device_connect(ALICE, BOB_SECRET, clean=False)
    assert await _answer_to(rig, wrong_secret) == [_connack(0x04)]
    assert server.session(ALICE_ID) is not None  # the stored session is not touched


# --- PUBLISH from the client ----------------------------------------------------------


async def test_publish_with_qos_3_closes_mqtt_3_3_1_4(rig: EmbeddedRig) -> None:
    inbox = HubInbox(rig)
    await _closes_after_login(rig, publish(topic(K.REPORT), report_payload("q3"), flags=0x06))
    assert inbox.ids == []


async def test_dup_on_qos_0_closes_mqtt_3_3_1_2(rig: EmbeddedRig) -> None:
    inbox = HubInbox(rig)
    await _closes_after_login(rig, publish(topic(K.REPORT), report_payload("dup"), flags=0x08))
    assert inbox.ids == []


@pytest.mark.parametrize(
    "name", ["rlink/v2/plug01/+/report", "rlink/v2/plug01/rn014ebe0C20E122/#", "+"]
)
async def test_wildcard_in_topic_name_closes_mqtt_3_3_2_2(rig: EmbeddedRig, name: str) -> None:
    await _closes_after_login(rig, publish(name, report_payload("wild"), qos=1, packet_id=1))


async def test_empty_topic_name_closes_mqtt_4_7_3_1(rig: EmbeddedRig) -> None:
    await _closes_after_login(rig, publish("", b"{}", qos=1, packet_id=1))


async def test_publish_is_acknowledged_by_its_qos_mqtt_3_3_4_1(rig: EmbeddedRig) -> None:
    inbox = HubInbox(rig)
    client = await logged_in(rig)
    client.send(
        report("q0", qos=0), report("q1", qos=1, packet_id=5), report("q2", qos=2, packet_id=6)
    )
    assert (await client.expect(PUBACK)).packet_id == 5
    assert (await client.expect(PUBREC)).packet_id == 6
    client.send(ack(PUBREL, 6))
    assert (await client.expect(PUBCOMP)).packet_id == 6
    assert inbox.ids == ["q0", "q1", "q2"]
    await client.close()


async def test_refused_publish_is_acknowledged_and_dropped(rig: EmbeddedRig) -> None:
    """A device that may not publish somewhere still gets its PUBACK, or it would resend."""
    inbox = HubInbox(rig)
    client = await logged_in(rig)
    client.send(report("forged", qos=1, packet_id=1, uuid=BOB))
    assert (await client.expect(PUBACK)).packet_id == 1
    client.send(report("marker", qos=1, packet_id=2))
    assert (await client.expect(PUBACK)).packet_id == 2
    assert inbox.ids == ["marker"]
    await client.close()


async def test_qos_2_duplicate_before_pubrel_is_delivered_once_mqtt_4_3_3_2(
    rig: EmbeddedRig,
) -> None:
    inbox = HubInbox(rig)
    client = await logged_in(rig)
    client.send(report("once", qos=2, packet_id=9))
    assert (await client.expect(PUBREC)).packet_id == 9
    client.send(report("once", qos=2, packet_id=9, dup=True))  # the PUBREC was "lost"
    assert (await client.expect(PUBREC)).packet_id == 9
    client.send(ack(PUBREL, 9))
    assert (await client.expect(PUBCOMP)).packet_id == 9
    # Released: the identifier now names a new message.
    client.send(report("next", qos=2, packet_id=9))
    assert (await client.expect(PUBREC)).packet_id == 9
    client.send(ack(PUBREL, 9))
    assert (await client.expect(PUBCOMP)).packet_id == 9
    assert inbox.ids == ["once", "next"]
    await client.close()


# --- PUBLISH to the client ------------------------------------------------------------


async def test_outbound_qos_1_flow_mqtt_4_3_2_1(rig: EmbeddedRig) -> None:
    client = await logged_in(rig)
    assert await client.subscribe(1, (topic(K.ISSUE), 1)) == [1]
    command = messages.command(DeviceCommand.PING)
    rig.link.publish(topic(K.ISSUE), command, qos=1)
    incoming = (await client.expect(PUBLISH)).publish()
    assert (incoming.topic, incoming.qos, incoming.dup, incoming.retain) == (
        topic(K.ISSUE),
        1,
        False,
        False,  # MQTT-3.3.1-9
    )
    assert incoming.packet_id != 0
    assert messages.decode(K.ISSUE, incoming.payload).id == command.id
    session = server_of(rig).session(ALICE_ID)
    assert session is not None
    assert list(session.inflight) == [incoming.packet_id]  # unacknowledged until PUBACK
    client.send(ack(PUBACK, incoming.packet_id))
    await client.ping()
    assert session.inflight == {}
    await client.close()


async def test_outbound_qos_2_flow_mqtt_4_3_3_1(rig: EmbeddedRig) -> None:
    client = await logged_in(rig)
    assert await client.subscribe(1, (topic(K.ISSUE), 2)) == [2]
    rig.link.publish(topic(K.ISSUE), messages.command(DeviceCommand.PING), qos=2)
    incoming = (await client.expect(PUBLISH)).publish()
    assert (incoming.qos, incoming.dup, incoming.retain) == (2, False, False)
    client.send(ack(PUBREC, incoming.packet_id))
    release = await client.expect(PUBREL)
    assert (release.flags, release.packet_id) == (0x02, incoming.packet_id)
    session = server_of(rig).session(ALICE_ID)
    assert session is not None
    assert list(session.inflight) == [incoming.packet_id]  # unacknowledged until PUBCOMP
    client.send(ack(PUBCOMP, incoming.packet_id))
    await client.ping()
    assert session.inflight == {}
    await client.close()


async def test_delivery_qos_is_the_lower_of_published_and_granted_mqtt_3_8_4_6(
    rig: EmbeddedRig,
) -> None:
    client = await logged_in(rig)
    assert await client.subscribe(1, (topic(K.ISSUE), 0)) == [0]
    rig.link.publish(topic(K.ISSUE), messages.command(DeviceCommand.PING), qos=1)
    incoming = (await client.expect(PUBLISH)).publish()
    assert (incoming.qos, incoming.packet_id) == (0, 0)
    await client.close()


# --- acknowledgements and fixed headers -----------------------------------------------


@pytest.mark.parametrize("flags", [0x00, 0x03, 0x0A])
async def test_pubrel_with_other_flags_closes_mqtt_3_6_1_1(rig: EmbeddedRig, flags: int) -> None:
    client = await logged_in(rig)
    client.send(report("held", qos=2, packet_id=3))
    assert (await client.expect(PUBREC)).packet_id == 3
    client.send(ack(PUBREL, 3, flags=flags))
    assert await client.until_closed() == []
    await client.close()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(ack(PUBACK, 1, flags=0x01), id="puback"),
        pytest.param(ack(PUBREC, 1, flags=0x02), id="pubrec"),
        pytest.param(ack(PUBCOMP, 1, flags=0x08), id="pubcomp"),
        pytest.param(subscribe(1, (topic(K.ISSUE), 1), flags=0x00), id="subscribe"),
        pytest.param(unsubscribe(1, topic(K.ISSUE), flags=0x0F), id="unsubscribe"),
        pytest.param(b"\xc1\x00", id="pingreq"),
        pytest.param(b"\xe2\x00", id="disconnect"),
    ],
)
async def test_bad_fixed_header_flags_close_mqtt_2_2_2_1_2(rig: EmbeddedRig, data: bytes) -> None:
    await _closes_after_login(rig, data)


async def test_connect_with_bad_fixed_header_flags_closes_mqtt_2_2_2_2(rig: EmbeddedRig) -> None:
    hello = bytearray(device_connect(ALICE, ALICE_SECRET))
    hello[0] |= 0x01
    assert await _answer_to(rig, bytes(hello)) == []


@pytest.mark.parametrize(
    "first_byte",
    [
        pytest.param(0x00, id="reserved-0"),
        pytest.param(0xF0, id="reserved-15"),
        pytest.param(0x20, id="connack"),
        pytest.param(0x90, id="suback"),
        pytest.param(0xB0, id="unsuback"),
        pytest.param(0xD0, id="pingresp"),
    ],
)
async def test_reserved_and_server_only_packet_types_close_mqtt_4_8_0_1(
    rig: EmbeddedRig, first_byte: int
) -> None:
    await _closes_after_login(rig, packet(first_byte, b"\x00\x01" if first_byte else b""))


async def test_remaining_length_of_five_bytes_closes_mqtt_2_2_3(rig: EmbeddedRig) -> None:
    await _closes_after_login(rig, b"\x30\xff\xff\xff\xff\x01")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(report("zero", qos=1, packet_id=0), id="publish-qos-1"),
        pytest.param(report("zero", qos=2, packet_id=0), id="publish-qos-2"),
        pytest.param(subscribe(0, (topic(K.ISSUE), 1)), id="subscribe"),
        pytest.param(unsubscribe(0, topic(K.ISSUE)), id="unsubscribe"),
        pytest.param(ack(PUBACK, 0), id="puback"),
    ],
)
async def test_packet_identifier_0_closes_mqtt_2_3_1_1(rig: EmbeddedRig, data: bytes) -> None:
    inbox = HubInbox(rig)
    await _closes_after_login(rig, data)
    assert inbox.ids == []


# --- SUBSCRIBE and UNSUBSCRIBE --------------------------------------------------------


async def test_subscribe_without_a_filter_closes_mqtt_3_8_3_3(rig: EmbeddedRig) -> None:
    await _closes_after_login(rig, subscribe(1))


@pytest.mark.parametrize("requested", [0x03, 0x04, 0x81, 0xFC])
async def test_subscribe_with_bad_qos_byte_closes_mqtt_3_8_3_4(
    rig: EmbeddedRig, requested: int
) -> None:
    await _closes_after_login(rig, subscribe(1, (topic(K.ISSUE), requested)))


async def test_suback_answers_every_filter_in_order_mqtt_3_8_4_1_5(rig: EmbeddedRig) -> None:
    client = await logged_in(rig)
    codes = await client.subscribe(
        7,
        (topic(K.ISSUE), 1),  # its own commands
        (topic(K.ISSUE, BOB), 1),  # another device's
        ("rlink/v2/+/+/issue", 0),  # everyone's
        ("rlink/#/issue", 0),  # not a valid filter (MQTT-4.7.1-2)
        ("", 0),  # not a filter at all (MQTT-4.7.3-1)
        (topic(K.REPORT_RESPONSE), 2),
    )
    assert codes == [1, REFUSED_FILTER, REFUSED_FILTER, REFUSED_FILTER, REFUSED_FILTER, 2]
    await client.ping()  # a refused filter does not end the connection
    await client.close()


async def test_unsubscribe_without_a_filter_closes_mqtt_3_10_3_2(rig: EmbeddedRig) -> None:
    await _closes_after_login(rig, unsubscribe(1))


async def test_unsuback_for_every_unsubscribe_mqtt_3_10_4_4(rig: EmbeddedRig) -> None:
    server = server_of(rig)
    client = await logged_in(rig)
    client.send(unsubscribe(3, "never/subscribed"))  # nothing to remove: answered all the same
    assert (await client.expect(UNSUBACK)).packet_id == 3
    assert await client.subscribe(4, (topic(K.ISSUE), 1)) == [1]
    client.send(unsubscribe(5, topic(K.ISSUE)))
    assert (await client.expect(UNSUBACK)).packet_id == 5
    assert server.publish(topic(K.ISSUE), b"after", 1) == 0  # MQTT-3.10.4-2
    await client.close()


# --- PINGREQ, DISCONNECT --------------------------------------------------------------


async def test_pingreq_gets_pingresp_mqtt_3_12_4_1(rig: EmbeddedRig) -> None:
    client = await logged_in(rig)
    client.send(PINGREQ_PACKET)
    assert await client.read() == Packet(PINGRESP, 0, b"")
    await client.close()


async def test_disconnect_discards_the_will_mqtt_3_14_4_3(rig: EmbeddedRig) -> None:
    inbox = HubInbox(rig)
    will = Will(topic(K.REPORT), report_payload("will"), qos=1)
    client = await logged_in(rig, will=will)
    await _end(client)
    await until(lambda: rig.offline == [ALICE])
    marker = await logged_in(rig)
    marker.send(report("marker", qos=1, packet_id=1))
    assert (await marker.expect(PUBACK)).packet_id == 1
    assert inbox.ids == ["marker"]
    await marker.close()


# --- UTF-8 ----------------------------------------------------------------------------

_BAD_UTF8 = {
    "invalid-byte": b"\xff",
    "cut-short": b"\xc3",
    "overlong": b"\xc0\xaf",
    "surrogate": b"\xed\xa0\x80",
}


def _with(text: bytes) -> bytes:
    return b"rlink/v2/plug01/" + text + b"/report"


def _bad_strings(bad: dict[str, bytes]) -> list[object]:
    """Each bad sequence in a CONNECT's client id, will topic and user name."""
    cases: list[object] = []
    for name, text in bad.items():
        cases += [
            pytest.param(connect(b"rlink_" + text + b"_V2", "u", "p"), id=f"client-id-{name}"),
            pytest.param(connect(ALICE_ID, "u", "p", will=Will(_with(text))), id=f"will-{name}"),
            pytest.param(connect(ALICE_ID, b"user" + text, "p"), id=f"username-{name}"),
        ]
    return cases


def _bad_strings_after_login(bad: dict[str, bytes]) -> list[object]:
    """Each bad sequence in a PUBLISH topic, a SUBSCRIBE filter and an UNSUBSCRIBE filter."""
    cases: list[object] = []
    for name, text in bad.items():
        cases += [
            pytest.param(publish(_with(text), b"{}", qos=1, packet_id=1), id=f"topic-{name}"),
            pytest.param(subscribe(1, (_with(text), 1)), id=f"subscribe-{name}"),
            pytest.param(unsubscribe(1, _with(text)), id=f"unsubscribe-{name}"),
        ]
    return cases


@pytest.mark.parametrize("hello", _bad_strings(_BAD_UTF8))
async def test_ill_formed_utf8_in_connect_closes_mqtt_1_5_3_1(
    rig: EmbeddedRig, hello: bytes
) -> None:
    assert await _answer_to(rig, hello) == []


@pytest.mark.parametrize("data", _bad_strings_after_login(_BAD_UTF8))
async def test_ill_formed_utf8_after_login_closes_mqtt_1_5_3_1(
    rig: EmbeddedRig, data: bytes
) -> None:
    await _closes_after_login(rig, data)


@pytest.mark.parametrize("hello", _bad_strings({"nul": b"\x00"}))
async def test_u0000_in_connect_closes_mqtt_1_5_3_2(rig: EmbeddedRig, hello: bytes) -> None:
    assert await _answer_to(rig, hello) == []


@pytest.mark.parametrize("data", _bad_strings_after_login({"nul": b"\x00"}))
async def test_u0000_after_login_closes_mqtt_1_5_3_2(rig: EmbeddedRig, data: bytes) -> None:
    await _closes_after_login(rig, data)


# --- sessions -------------------------------------------------------------------------


async def test_unacknowledged_messages_are_resent_on_reconnect_mqtt_4_4_0_1(
    rig: EmbeddedRig,
) -> None:
    """A QoS 1 PUBLISH not acknowledged comes again with DUP; a QoS 2 one that got its
    PUBREC is owed a PUBREL, which comes again; both keep their packet identifiers."""
    first = await logged_in(rig, clean=False)
    assert await first.subscribe(1, (topic(K.ISSUE), 2)) == [2]
    rig.link.publish(topic(K.ISSUE), messages.command(DeviceCommand.PING), qos=1)
    rig.link.publish(topic(K.ISSUE), messages.command(DeviceCommand.PING), qos=2)
    unacknowledged = (await first.expect(PUBLISH)).publish()
    received = (await first.expect(PUBLISH)).publish()
    assert (unacknowledged.qos, received.qos) == (1, 2)
    first.send(ack(PUBREC, received.packet_id))
    assert (await first.expect(PUBREL)).packet_id == received.packet_id
    first.abort()
    await until(lambda: rig.offline == [ALICE])

    again = await RawClient.open(rig.port)
    assert await again.login(clean=False) == _connack(0, session_present=True)
    resent = (await again.expect(PUBLISH)).publish()
    assert resent == Incoming(
        topic=unacknowledged.topic,
        payload=unacknowledged.payload,
        qos=1,
        packet_id=unacknowledged.packet_id,
        dup=True,
        retain=False,
    )
    release = await again.expect(PUBREL)
    assert release.packet_id == received.packet_id
    again.send(ack(PUBACK, resent.packet_id), ack(PUBCOMP, release.packet_id))
    await again.ping()
    session = server_of(rig).session(ALICE_ID)
    assert session is not None
    assert session.inflight == {}
    await again.close()


async def test_another_device_is_not_affected_by_a_violation(rig: EmbeddedRig) -> None:
    """MQTT-4.8.0-1 ends one connection, not the server: a second device carries on."""
    bob = await logged_in(rig, BOB, BOB_SECRET)
    await _closes_after_login(rig, b"\x30\xff\xff\xff\xff\x01")
    await bob.ping()
    assert server_of(rig).is_connected(BOB)
    await bob.close()
