"""The MQTT session (external brokers, devices, apps) against Mosquitto and the device server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from custom_components.rlink.protocol import auth, errors, messages
from custom_components.rlink.protocol.auth import Credentials
from custom_components.rlink.protocol.codes import DeviceCommand, DeviceEvent
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.server.server import TlsListener
from custom_components.rlink.protocol.session import (
    AuthRefused,
    CannotConnect,
    MqttSession,
    NotConnected,
    RequestTimeout,
    SessionState,
    TlsFailure,
    TlsOptions,
)
from custom_components.rlink.protocol.topics import Topic, device_filter, device_topic
from custom_components.rlink.protocol.topics import TopicKind as K

from .brokers import MOSQUITTO, EmbeddedRig, Mosquitto, free_port, self_signed, until

UUID, SECRET, PID = "rn014ebe0C20E122", "ef958e891ffa4c72ba6c64e73c5dd422", "p1"
ISSUE = device_topic(K.ISSUE, PID, UUID)
ISSUE_RESPONSE = device_topic(K.ISSUE_RESPONSE, PID, UUID)


@dataclass
class Rig:
    """One broker, however it is run, and credentials for a hub and a device on it."""

    port: int
    hub: Callable[[], Credentials]
    restart: Callable[[], Any]
    stop: Callable[[], Any]

    def device(self) -> Callable[[], Credentials]:
        return lambda: auth.device_credentials(UUID, SECRET)


@pytest.fixture(name="rig")
async def fixture_rig(sockets: None, tmp_path: Any) -> Any:
    """Mosquitto: the session is the hub's client of an external broker."""
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (scripts/setup installs it when run as root)")
    mosquitto = Mosquitto(tmp_path)
    await mosquitto.start()

    async def restart_mosquitto() -> None:
        await mosquitto.stop()
        await asyncio.sleep(0.5)
        await mosquitto.start()

    counter = itertools.count()
    yield Rig(
        mosquitto.port,
        lambda: Credentials(f"hub-{next(counter)}", "hub", "x", 0),
        restart_mosquitto,
        mosquitto.stop,
    )
    await mosquitto.stop()


async def _session(rig: Rig, creds: Callable[[], Credentials], **kw: Any) -> MqttSession:
    session = MqttSession("127.0.0.1", rig.port, creds, backoff=(0.1, 0.5), **kw)
    await session.connect()
    return session


async def _subscribed(*sessions: MqttSession) -> None:
    """Until the SUBACKs, the broker may drop what is published to the new filters."""
    for session in sessions:
        await asyncio.wait_for(session.wait_subscribed(), 5)


def _answer_pings(device: MqttSession, *, res: int = 0, delay: float = 0.0) -> None:
    """A device that answers every command like `ping` would."""

    def on_issue(topic: Topic, message: Message) -> None:
        async def later() -> None:
            await asyncio.sleep(delay)
            device.publish(ISSUE_RESPONSE, messages.reply(message, {"signal": 1}, res=res))

        asyncio.get_running_loop().create_task(later())

    device.subscribe(ISSUE, on_issue)


async def test_publish_routes_to_the_most_specific_handler(rig: Rig) -> None:
    hub = await _session(rig, rig.hub)
    device = await _session(rig, rig.device())
    wildcard: list[Message] = []
    exact: list[tuple[Topic, Message]] = []
    hub.subscribe(device_filter(K.REPORT), lambda t, m: wildcard.append(m))
    hub.subscribe(
        device_topic(K.REPORT, PID, "rn010c0B9cB35EA9"), lambda t, m: exact.append((t, m))
    )
    await _subscribed(hub, device)
    device.publish(
        device_topic(K.REPORT, PID, UUID),
        messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {"a": 1}}),
    )
    await until(lambda: bool(wildcard), 5)
    assert wildcard[0].data == {"properties": {"a": 1}}
    assert exact == []
    assert hub.stats.messages_in == 1
    assert device.stats.messages_out == 1
    await device.close()
    await hub.close()


async def test_request_reply_error_timeout_and_late_reply(rig: Rig) -> None:
    hub = await _session(rig, rig.hub)
    hub.subscribe(device_filter(K.ISSUE_RESPONSE), lambda t, m: None)
    device = await _session(rig, rig.device())
    _answer_pings(device)
    await _subscribed(hub, device)

    reply = await hub.request(ISSUE, messages.command(DeviceCommand.PING), timeout=5)
    assert reply.data == {"signal": 1}
    assert reply.kind is K.ISSUE_RESPONSE
    assert hub.stats.requests == 1
    assert hub.stats.request_seconds_max > 0
    await device.close()

    failing = await _session(rig, rig.device())
    _answer_pings(failing, res=1004)
    await _subscribed(failing)
    with pytest.raises(errors.DeviceNotFound):
        await hub.request(ISSUE, messages.command(DeviceCommand.PING), timeout=5)
    await failing.close()

    slow = await _session(rig, rig.device())
    _answer_pings(slow, delay=0.6)
    await _subscribed(slow)
    with pytest.raises(RequestTimeout, match="no reply to ping"):
        await hub.request(ISSUE, messages.command(DeviceCommand.PING), timeout=0.2)
    await until(
        lambda: hub.stats.unmatched_replies >= 1, 5
    )  # the late answer is counted, and no request takes it
    await slow.close()
    await hub.close()


async def test_not_connected_fails_at_once(rig: Rig) -> None:
    session = MqttSession("127.0.0.1", rig.port, rig.hub)
    with pytest.raises(NotConnected):
        await session.request(ISSUE, messages.command(DeviceCommand.PING), timeout=30)
    with pytest.raises(NotConnected):
        session.publish(ISSUE, messages.command(DeviceCommand.PING))
    await session.connect()
    await session.close()
    assert session.state is SessionState.CLOSED
    with pytest.raises(NotConnected):
        session.publish(ISSUE, messages.command(DeviceCommand.PING))


async def test_reconnect_signs_again_and_resubscribes(rig: Rig) -> None:
    states: list[tuple[SessionState, str | None]] = []
    issued: list[int] = []
    clock = itertools.count(1_700_000_000, 7)

    def device_credentials() -> Credentials:
        issued.append(next(clock))
        return auth.device_credentials(UUID, SECRET, ts=issued[-1])

    device = await _session(rig, device_credentials, on_state=lambda s, r: states.append((s, r)))
    got: list[Message] = []
    device.subscribe(ISSUE, lambda t, m: got.append(m))
    first_ts = device.last_credentials.ts if device.last_credentials else None

    await rig.restart()
    await asyncio.wait_for(device.wait_connected(), 20)
    assert device.state is SessionState.CONNECTED
    assert device.last_credentials is not None
    assert device.last_credentials.ts != first_ts
    assert len(issued) >= 2
    assert device.stats.reconnects == 1
    assert any(s is SessionState.DISCONNECTED and r for s, r in states)

    hub = await _session(rig, rig.hub)
    hub.publish(ISSUE, messages.command(DeviceCommand.PROPERTY_GET))
    await until(lambda: bool(got), 5)  # the subscription made before the restart still works
    await hub.close()
    await device.close()


async def test_pending_request_fails_when_the_connection_drops(rig: Rig) -> None:
    hub = await _session(rig, rig.hub)
    pending = asyncio.ensure_future(
        hub.request(ISSUE, messages.command(DeviceCommand.PING), timeout=30)
    )
    await until(lambda: hub.stats.messages_out == 1, 5)
    await rig.stop()
    with pytest.raises(NotConnected):
        await asyncio.wait_for(pending, 10)
    await hub.close()


async def test_malformed_messages_are_counted_and_dropped(rig: Rig) -> None:
    hub = await _session(rig, rig.hub)
    received: list[Message] = []
    hub.subscribe(device_filter(K.REPORT), lambda t, m: received.append(m))
    await _subscribed(hub)
    raw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rlink_rn014ebe0C20E122_V2")
    creds = auth.device_credentials(UUID, SECRET)
    raw.username_pw_set(creds.username, creds.password)
    await asyncio.to_thread(raw.connect, "127.0.0.1", rig.port)
    raw.loop_start()
    try:
        topic = device_topic(K.REPORT, PID, UUID)
        for payload in (b"\xff", b"[]", b'{"id":1}', b'{"id":"1","ts":1,"code":"warp"}'):
            await asyncio.to_thread(
                lambda p=payload: raw.publish(topic, p, qos=1).wait_for_publish(5)
            )
        good = messages.encode(messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {}}))
        await asyncio.to_thread(lambda: raw.publish(topic, good, qos=1).wait_for_publish(5))
        await until(lambda: bool(received), 5)
    finally:
        raw.loop_stop()
        raw.disconnect()
    assert hub.stats.parse_errors == 4
    assert len(received) == 1
    assert hub.connected
    await hub.close()


async def test_handler_errors_do_not_break_the_session(rig: Rig) -> None:
    hub = await _session(rig, rig.hub)
    seen: list[Message] = []

    def broken(topic: Topic, message: Message) -> None:
        seen.append(message)
        raise RuntimeError("handler bug")

    hub.subscribe(device_filter(K.REPORT), broken)
    device = await _session(rig, rig.device())
    await _subscribed(hub, device)
    for _ in range(2):
        device.publish(
            device_topic(K.REPORT, PID, UUID), messages.event(DeviceEvent.PROPERTY_REPORT)
        )
    await until(lambda: len(seen) >= 2, 5)
    assert hub.connected
    await device.close()
    await hub.close()


async def test_unsubscribe_stops_delivery(embedded: EmbeddedRig) -> None:
    """On the device server the hub's link routes like a session."""
    embedded.secrets[UUID] = SECRET
    hub = embedded.link
    got: list[Message] = []
    undo = hub.subscribe(device_filter(K.REPORT), lambda t, m: got.append(m))
    undo()
    # A filter that stays: a reply on it, sent after the report, shows that the report
    # had its chance to arrive.
    hub.subscribe(device_filter(K.ISSUE_RESPONSE), lambda t, m: None)
    device = MqttSession("127.0.0.1", embedded.port, lambda: auth.device_credentials(UUID, SECRET))
    await device.connect()
    device.publish(device_topic(K.REPORT, PID, UUID), messages.event(DeviceEvent.PROPERTY_REPORT))
    device.publish(ISSUE_RESPONSE, messages.reply(messages.command(DeviceCommand.PING), {}))
    await until(lambda: hub.stats.unmatched_replies == 1, 5)
    assert got == []
    await device.close()
    await hub.close()


async def test_only_routable_filters_are_accepted() -> None:
    session = MqttSession("127.0.0.1", 1, lambda: Credentials("c", "u", "p", 0))
    for bad in ("#", "rlink/#", "rlink/v2/+/+/+", "foo/bar", "app/v2/+/+"):
        with pytest.raises(errors.ProtocolError):
            session.subscribe(bad, lambda t, m: None)
    for good in (
        "rlink/v2/+/+/report",
        "rlink/v2/p/+/report",
        "rlink/v2/+/u/issue",
        "rlink/v2/p/u/issue",
        "product/v2/+/issue",
        "app/v2/+/notify",
        "app/v2/me/userNotify",
    ):
        session.subscribe(good, lambda t, m: None)


async def test_connect_errors_are_typed(
    embedded: EmbeddedRig, sockets: None, tmp_path: Any
) -> None:
    closed_port = free_port()
    with pytest.raises(CannotConnect, match="cannot reach"):
        await MqttSession("127.0.0.1", closed_port, lambda: Credentials("c", "u", "p", 0)).connect()
    embedded.secrets[UUID] = SECRET
    with pytest.raises(AuthRefused, match="refused"):
        await MqttSession(
            "127.0.0.1", embedded.port, lambda: auth.device_credentials(UUID, "wrong" * 6)
        ).connect()


async def test_tls_to_a_plain_listener_fails_within_the_connect_timeout(
    embedded: EmbeddedRig, sockets: None
) -> None:
    """The plain listener takes a TLS hello for a malformed packet and closes the connection;
    a listener that stays silent instead would leave paho waiting its keep-alive (60 s) for
    the handshake, where the session gives up after its own timeout. Either way it says
    why, and works with the same server afterwards."""
    embedded.secrets[UUID] = SECRET
    session = MqttSession(
        "127.0.0.1",
        embedded.port,
        lambda: auth.device_credentials(UUID, SECRET),
        tls=TlsOptions(insecure=True),
        connect_timeout=1,
    )
    with pytest.raises(TlsFailure, match=r"no TLS handshake|TLS with .* failed"):
        await session.connect()
    await session.close()
    plain = MqttSession(
        "127.0.0.1", embedded.port, lambda: auth.device_credentials(UUID, SECRET), connect_timeout=5
    )
    await plain.connect()
    assert plain.connected
    await plain.close()


async def test_tls_to_a_silent_listener_gives_up_after_the_connect_timeout(
    sockets: None,
) -> None:
    held: list[asyncio.StreamWriter] = []
    silent = await asyncio.start_server(lambda _r, w: held.append(w), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    session = MqttSession(
        "127.0.0.1",
        port,
        lambda: auth.device_credentials(UUID, SECRET),
        tls=TlsOptions(insecure=True),
        connect_timeout=1,
    )
    with pytest.raises(TlsFailure, match="no TLS handshake"):
        await session.connect()
    await session.close()
    for writer in held:
        writer.close()
    silent.close()
    await silent.wait_closed()


async def test_tls_with_mosquitto(sockets: None, tmp_path: Any) -> None:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed")
    cert, key = self_signed(tmp_path)
    broker = Mosquitto(tmp_path, cert=(cert, key))
    await broker.start()
    try:
        assert broker.tls_port is not None
        creds = lambda: Credentials("tls-client", "u", "p", 0)  # noqa: E731
        trusted = MqttSession(
            "127.0.0.1", broker.tls_port, creds, tls=TlsOptions(ca_file=str(cert))
        )
        await trusted.connect()
        await trusted.close()
        insecure = MqttSession("127.0.0.1", broker.tls_port, creds, tls=TlsOptions(insecure=True))
        await insecure.connect()
        await insecure.close()
        other, _ = self_signed(tmp_path, "elsewhere")
        with pytest.raises(TlsFailure):
            await MqttSession(
                "127.0.0.1", broker.tls_port, creds, tls=TlsOptions(ca_file=str(other))
            ).connect()
    finally:
        await broker.stop()


async def test_tls_listener_of_the_device_server(sockets: None, tmp_path: Any) -> None:
    cert, key = self_signed(tmp_path)
    rig = EmbeddedRig(tls=TlsListener(str(cert), str(key), port=free_port()))
    rig.secrets[UUID] = SECRET
    await rig.start()
    try:
        assert rig.broker is not None
        assert rig.broker.tls_port is not None
        device = MqttSession(
            "127.0.0.1",
            rig.broker.tls_port,
            lambda: auth.device_credentials(UUID, SECRET),
            tls=TlsOptions(ca_file=str(cert)),
        )
        await device.connect()
        await until(lambda: rig.online == [UUID])
        await device.close()
    finally:
        await rig.stop()


async def test_a_burst_in_one_tls_record_is_read_at_once(sockets: None, tmp_path: Any) -> None:
    """The server answers a report with three commands and the PUBACK in one write, so one
    TLS record holds four packets: all reach the session without waiting for more bytes
    (paho alone reads one, and the rest sits decrypted where the selector cannot see it)."""
    cert, key = self_signed(tmp_path)
    rig = EmbeddedRig(tls=TlsListener(str(cert), str(key), port=free_port()))
    rig.secrets[UUID] = SECRET
    await rig.start()
    pid = "tlspid"
    issue = device_topic(K.ISSUE, pid, UUID)

    def answer(_topic: Topic, _message: Message) -> None:
        for n in range(3):
            rig.link.publish(issue, messages.command(DeviceCommand.PING, {"n": n}, ack=False))

    rig.link.subscribe(device_filter(K.REPORT), answer)
    got: list[int] = []
    device = MqttSession(
        "127.0.0.1",
        rig.broker.tls_port if rig.broker and rig.broker.tls_port else 0,
        lambda: auth.device_credentials(UUID, SECRET),
        tls=TlsOptions(ca_file=str(cert)),
    )
    device.subscribe(issue, lambda _t, m: got.append(m.data["n"]))
    try:
        await device.connect()
        await device.wait_subscribed()
        device.publish(device_topic(K.REPORT, pid, UUID), messages.event(DeviceEvent.TIME))
        await until(lambda: got == [0, 1, 2])  # nothing else is sent to the device
    finally:
        await device.close()
        await rig.stop()


async def test_close_says_disconnect_and_closes_the_socket(sockets: None) -> None:
    """A broker sees a clean DISCONNECT (it drops the will) and then the end of the stream."""
    received: list[bytes] = []
    done = asyncio.Event()

    async def broker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # the CONNECT
        writer.write(b"\x20\x02\x00\x00")  # CONNACK, accepted
        await writer.drain()
        while chunk := await reader.read(1024):
            received.append(chunk)
        done.set()  # EOF: the client closed its socket
        writer.close()

    server = await asyncio.start_server(broker, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    session = MqttSession("127.0.0.1", port, lambda: Credentials("c1", "u", "p", 0))
    await session.connect()
    await session.close()
    await asyncio.wait_for(done.wait(), 5)
    assert b"".join(received).endswith(b"\xe0\x00")
    server.close()
    await server.wait_closed()


async def test_a_failing_connection_loop_is_started_again(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    session = MqttSession("127.0.0.1", rig.port, rig.hub, backoff=(0.1, 0.5), name="fragile")
    real_run = session._run
    failures = [RuntimeError("a bug in the loop")]

    async def run_once_failing(*, connected: bool) -> None:
        if failures:
            raise failures.pop()
        await real_run(connected=connected)

    session._run = run_once_failing  # type: ignore[method-assign]
    session.start()
    await asyncio.wait_for(session.wait_connected(), 10)
    assert [r for r in caplog.records if "connection loop failed" in r.getMessage()]
    await session.close()
