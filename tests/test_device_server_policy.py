"""The device server's rlink policy: who may log in, what each device may touch, presence."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

import pytest

from custom_components.rlink.protocol import auth, messages
from custom_components.rlink.protocol.auth import Credentials, SignMethod
from custom_components.rlink.protocol.codes import DeviceCommand, DeviceEvent, ProductCommand
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.policy import RlinkPolicy
from custom_components.rlink.protocol.server.link import ServerLink
from custom_components.rlink.protocol.server.server import DeviceServer, PortInUse
from custom_components.rlink.protocol.session import AuthRefused, ConnectError, MqttSession
from custom_components.rlink.protocol.topics import TopicKind as K
from custom_components.rlink.protocol.topics import (
    device_filter,
    device_topic,
    product_topic,
)

from .brokers import EmbeddedRig, until

ALICE, ALICE_SECRET = "rn014ebe0C20E122", "ef958e891ffa4c72ba6c64e73c5dd422"
BOB, BOB_SECRET = "rn010c0B9cB35EA9", "adf2866e8ed94a5da5d45ee4e213f2a5"
PID = "plug01"


@pytest.fixture(name="rig")
async def fixture_rig(sockets: None) -> Any:
    rig = EmbeddedRig(secrets={ALICE: ALICE_SECRET, BOB: BOB_SECRET})
    await rig.start()
    yield rig
    await rig.stop()


async def _connect(rig: EmbeddedRig, creds: Callable[[], Credentials]) -> MqttSession:
    session = MqttSession("127.0.0.1", rig.port, creds, backoff=(0.2, 1.0))
    await session.connect()
    return session


async def _hub(rig: EmbeddedRig) -> tuple[ServerLink, list[tuple[str, Message]]]:
    """The server's owner, as the local hub is: it hears everything devices may publish."""
    hub = rig.link
    seen: list[tuple[str, Message]] = []
    for kind in (K.REPORT, K.ISSUE_RESPONSE):
        hub.subscribe(device_filter(kind), lambda t, m: seen.append((str(t), m)))
    hub.subscribe("product/v2/+/issue_response", lambda t, m: seen.append((str(t), m)))
    return hub, seen


def _device(uuid: str, secret: str, **kw: Any) -> Callable[[], Credentials]:
    return lambda: auth.device_credentials(uuid, secret, **kw)


@pytest.mark.parametrize(
    "creds",
    [
        pytest.param(_device(ALICE, BOB_SECRET), id="wrong-password"),
        pytest.param(
            lambda: Credentials(
                f"rlink_{ALICE}_V2",
                f"{ALICE}|signMethod=hmacSha256,ts=5",
                auth.sign(ALICE_SECRET, ALICE, 5, SignMethod.HMAC_SHA1),
                5,
            ),
            id="wrong-sign-method",
        ),
        pytest.param(
            lambda: Credentials(
                f"rlink_{BOB}_V2",
                auth.device_credentials(ALICE, ALICE_SECRET, ts=5).username,
                auth.device_credentials(ALICE, ALICE_SECRET, ts=5).password,
                5,
            ),
            id="client-id-names-another-device",
        ),
        pytest.param(
            lambda: Credentials("some-client", "x|signMethod=hmacSha1,ts=1", "p", 0),
            id="not-a-device",
        ),
        pytest.param(lambda: Credentials("rlink_hub_guess", "hub", "guess", 0), id="hub-guess"),
        pytest.param(
            lambda: Credentials("app_someone|5", "someone|signMethod=hmacSha1,ts=5", "p", 5),
            id="app-without-apps",
        ),
    ],
)
async def test_bad_credentials_are_refused(
    rig: EmbeddedRig, creds: Callable[[], Credentials]
) -> None:
    hub, seen = await _hub(rig)
    with pytest.raises(ConnectError, match="refused"):  # bad credentials or identifier
        await _connect(rig, creds)
    assert rig.online == []
    assert seen == []
    await hub.close()


async def test_unknown_device_is_refused_and_reported(rig: EmbeddedRig) -> None:
    stranger = "rn01aaaabbbbcccc"
    with pytest.raises(AuthRefused):
        await _connect(rig, _device(stranger, "s" * 32))
    assert rig.unknown == [stranger]
    assert rig.online == []


async def test_device_may_only_publish_to_its_own_topics(rig: EmbeddedRig) -> None:
    hub, seen = await _hub(rig)
    alice = await _connect(rig, _device(ALICE, ALICE_SECRET))
    event = messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {"switch": 1}})
    alice.publish(device_topic(K.REPORT, PID, ALICE), event)  # learns pid plug01
    forged = [
        device_topic(K.REPORT, PID, BOB),  # someone else's report
        device_topic(K.ISSUE, PID, BOB),  # commanding another device
        device_topic(K.ISSUE, PID, ALICE),  # commanding itself as if it were the hub
        device_topic(K.REPORT_RESPONSE, PID, ALICE),
        device_topic(K.REPORT, "otherpid", ALICE),  # a pid other than the one it uses
        product_topic(K.PRODUCT_ISSUE, PID),
        "app/v2/home/notify",
        "rlink/v2/plug01/rn014ebe0C20E122/report/extra",
    ]
    for topic in forged:
        alice.publish(topic, event)
    ota = messages.product_command(ProductCommand.SILENCE_OTA)
    alice.publish(product_topic(K.PRODUCT_ISSUE_RESPONSE, PID), messages.reply(ota))
    await asyncio.sleep(0.5)
    assert [topic for topic, _ in seen] == [
        device_topic(K.REPORT, PID, ALICE),
        product_topic(K.PRODUCT_ISSUE_RESPONSE, PID),
    ]
    await alice.close()
    await hub.close()


async def test_pinned_pid_is_enforced(rig: EmbeddedRig) -> None:
    rig.pids[ALICE] = "lock01"
    hub, seen = await _hub(rig)
    alice = await _connect(rig, _device(ALICE, ALICE_SECRET))
    event = messages.event(DeviceEvent.PROPERTY_REPORT)
    alice.publish(device_topic(K.REPORT, PID, ALICE), event)
    alice.publish(device_topic(K.REPORT, "lock01", ALICE), event)
    await asyncio.sleep(0.5)
    assert [topic for topic, _ in seen] == [device_topic(K.REPORT, "lock01", ALICE)]
    await alice.close()
    await hub.close()


async def test_device_cannot_listen_to_another_device(rig: EmbeddedRig) -> None:
    hub, _ = await _hub(rig)
    bob = await _connect(rig, _device(BOB, BOB_SECRET))
    bob_got: list[Message] = []
    bob.subscribe(device_topic(K.ISSUE, PID, BOB), lambda t, m: bob_got.append(m))
    alice = await _connect(rig, _device(ALICE, ALICE_SECRET))
    alice_got: list[Message] = []
    for topic in (
        device_topic(K.ISSUE, PID, BOB),
        device_filter(K.ISSUE),
        device_filter(K.REPORT),
        device_topic(K.REPORT, PID, BOB),
    ):
        alice.subscribe(topic, lambda t, m: alice_got.append(m))
    await asyncio.sleep(0.3)
    hub.publish(device_topic(K.ISSUE, PID, BOB), messages.command(DeviceCommand.PING))
    bob.publish(device_topic(K.REPORT, PID, BOB), messages.event(DeviceEvent.PROPERTY_REPORT))
    await asyncio.sleep(0.5)
    assert len(bob_got) == 1
    assert alice_got == []
    await alice.close()
    await bob.close()
    await hub.close()


async def test_hub_commands_reach_their_device(rig: EmbeddedRig) -> None:
    hub, _ = await _hub(rig)
    alice = await _connect(rig, _device(ALICE, ALICE_SECRET))
    got: list[Message] = []
    alice.subscribe(device_topic(K.ISSUE, PID, ALICE), lambda t, m: got.append(m))
    alice.subscribe(product_topic(K.PRODUCT_ISSUE, PID), lambda t, m: got.append(m))
    await asyncio.sleep(0.3)
    hub.publish(device_topic(K.ISSUE, PID, ALICE), messages.command(DeviceCommand.PING))
    hub.publish(
        product_topic(K.PRODUCT_ISSUE, PID), messages.product_command(ProductCommand.SILENCE_OTA)
    )
    await until(lambda: len(got) >= 2, 5)
    await alice.close()
    await hub.close()


async def test_stolen_client_id_does_not_disturb_the_device(rig: EmbeddedRig) -> None:
    hub, _ = await _hub(rig)
    hub.subscribe(device_filter(K.ISSUE_RESPONSE), lambda t, m: None)
    alice = await _connect(rig, _device(ALICE, ALICE_SECRET))

    def answer(topic: Any, message: Message) -> None:
        alice.publish(device_topic(K.ISSUE_RESPONSE, PID, ALICE), messages.reply(message))

    alice.subscribe(device_topic(K.ISSUE, PID, ALICE), answer)
    await asyncio.sleep(0.2)
    with pytest.raises(AuthRefused):
        await _connect(rig, _device(ALICE, BOB_SECRET))
    await asyncio.sleep(0.3)
    reply = await hub.request(
        device_topic(K.ISSUE, PID, ALICE), messages.command(DeviceCommand.PING), timeout=5
    )
    assert reply.res == 0
    assert rig.offline == []
    await alice.close()
    await hub.close()


async def test_presence_follows_connections(rig: EmbeddedRig) -> None:
    alice = await _connect(rig, _device(ALICE, ALICE_SECRET))
    await until(lambda: rig.online == [ALICE])
    await alice.close()
    await until(lambda: rig.offline == [ALICE], 5)


async def test_keepalive_expiry_means_offline(rig: EmbeddedRig) -> None:
    """A device that stops talking (power cut) goes offline once its keep-alive runs out."""
    creds = auth.device_credentials(ALICE, ALICE_SECRET)
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)

    def field(value: str) -> bytes:
        return struct.pack("!H", len(value)) + value.encode()

    variable = field("MQTT") + bytes([4, 0b11000010]) + struct.pack("!H", 1)  # keep-alive 1 s
    payload = field(creds.client_id) + field(creds.username) + field(creds.password)
    body = variable + payload
    length, remaining = bytearray(), len(body)
    while True:  # MQTT's variable-length integer
        remaining, digit = divmod(remaining, 128)
        length.append(digit | (0x80 if remaining else 0))
        if not remaining:
            break
    writer.write(bytes([0x10]) + bytes(length) + body)
    await writer.drain()
    assert (await reader.readexactly(4))[3] == 0  # CONNACK accepted
    await until(lambda: rig.online == [ALICE], 5)
    await until(lambda: rig.offline == [ALICE], 10)
    writer.close()


async def test_port_in_use_is_a_clear_error(rig: EmbeddedRig) -> None:
    second = DeviceServer(
        RlinkPolicy(secret_for=lambda _u: None), ServerLink(), host="127.0.0.1", port=rig.port
    )
    with pytest.raises(PortInUse, match=f"port {rig.port} .* already in use"):
        await second.start()


def test_a_gateway_may_hear_any_product_and_answer_for_its_sub_devices() -> None:
    """A gateway subscribes to its sub-devices' products before the hub knows them; other
    devices hear only their own product."""
    from custom_components.rlink.protocol.policy import Principal, Role  # noqa: PLC0415

    policy = RlinkPolicy(
        secret_for=lambda _u: None,
        pid_for={ALICE: "gw01", BOB: PID}.get,
        product_pids_for=lambda uuid: {"sensor01"} if uuid == ALICE else set(),
        hears_any_product=lambda uuid: uuid == ALICE,
    )
    gateway = Principal(f"rlink_{ALICE}_V2", ALICE, Role.DEVICE)
    plug = Principal(f"rlink_{BOB}_V2", BOB, Role.DEVICE)
    assert policy.may_subscribe(gateway, product_topic(K.PRODUCT_ISSUE, "not-yet-known"))
    assert not policy.may_subscribe(gateway, "product/v2/+/issue")  # still no wildcards
    assert not policy.may_subscribe(gateway, product_topic(K.PRODUCT_ISSUE_RESPONSE, "x"))
    assert policy.may_publish(gateway, product_topic(K.PRODUCT_ISSUE_RESPONSE, "sensor01"))
    assert not policy.may_publish(gateway, product_topic(K.PRODUCT_ISSUE_RESPONSE, "other"))
    assert policy.may_subscribe(plug, product_topic(K.PRODUCT_ISSUE, PID))
    assert not policy.may_subscribe(plug, product_topic(K.PRODUCT_ISSUE, "sensor01"))


async def test_connections_are_probed_by_tcp_keep_alive(rig: EmbeddedRig) -> None:
    """MQTT keep-alive 0 means no MQTT-level check: TCP probes still find a dead device."""
    import socket  # noqa: PLC0415

    alice = await _connect(rig, _device(ALICE, ALICE_SECRET))
    assert rig.broker is not None
    (connection,) = list(rig.broker._connections)
    sock = connection._transport.get_extra_info("socket")  # type: ignore[union-attr]
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    await alice.close()


async def test_tls_handshakes_count_against_the_connection_limits(
    sockets: None, tmp_path: Any
) -> None:
    """Connections that never finish their TLS handshake are held by the same limits as
    plain ones: past the per-address limit they are cut at once, and a real device still
    gets in over TLS once they are gone."""
    from custom_components.rlink.protocol.server.limits import Limits  # noqa: PLC0415
    from custom_components.rlink.protocol.server.server import TlsListener  # noqa: PLC0415
    from custom_components.rlink.protocol.session import TlsOptions  # noqa: PLC0415

    from .brokers import free_port, self_signed  # noqa: PLC0415

    cert, key = self_signed(tmp_path)
    rig = EmbeddedRig(
        secrets={ALICE: ALICE_SECRET},
        tls=TlsListener(str(cert), str(key), port=free_port()),
        limits=Limits(max_pending_per_address=3, connect_timeout=2.0),
    )
    await rig.start()
    assert rig.broker is not None
    tls_port = rig.broker.tls_port
    assert tls_port is not None
    held = [await asyncio.open_connection("127.0.0.1", tls_port) for _ in range(3)]
    await until(lambda: rig.broker is not None and rig.broker.connection_count == 3)
    extra_reader, extra_writer = await asyncio.open_connection("127.0.0.1", tls_port)
    assert await asyncio.wait_for(extra_reader.read(), 5) == b""  # cut at once
    await until(lambda: rig.broker is not None and rig.broker.connection_count == 0, 10)
    device = MqttSession(
        "127.0.0.1", tls_port, _device(ALICE, ALICE_SECRET), tls=TlsOptions(ca_file=str(cert))
    )
    await device.connect()
    await until(lambda: rig.online == [ALICE])
    await device.close()
    for _reader, writer in [*held, (extra_reader, extra_writer)]:
        writer.close()
    await rig.stop()
