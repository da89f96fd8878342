"""The device server as real devices see it: plain paho clients speaking MQTT 3.1.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceCommand
from custom_components.rlink.protocol.server.limits import Limits
from custom_components.rlink.protocol.topics import TopicKind as K

from .brokers import EmbeddedRig, free_port, until
from .mqtt_wire import (
    ALICE,
    ALICE_SECRET,
    HubInbox,
    report_payload,
    running_rig,
    server_of,
    topic,
)


class PahoDevice:
    """A device as firmware would run it: a paho client on its own network thread.

    Every connection attempt signs fresh credentials (the server accepts each ts once),
    and on every connection the device subscribes to `subscriptions` again.
    """

    def __init__(
        self,
        rig: EmbeddedRig,
        uuid: str = ALICE,
        secret: str = ALICE_SECRET,
        *,
        clean_session: bool = True,
        subscriptions: tuple[tuple[str, int], ...] = (),
        answer_commands: bool = False,
    ) -> None:
        self.rig, self.uuid, self.secret = rig, uuid, secret
        self.subscriptions = list(subscriptions)
        self.answer_commands = answer_commands
        self.session_present: list[bool] = []
        """One entry per accepted connection."""
        self.refusals: list[str] = []
        self.received: list[mqtt.MQTTMessage] = []
        self.subacks: list[list[int]] = []
        self.completed: list[int] = []
        """Message ids of publishes the server has acknowledged (or, at QoS 0, taken)."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"rlink_{uuid}_V2",
            clean_session=clean_session,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        # Fractions of a second work, though paho annotates the delays as int.
        client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)  # type: ignore[arg-type]
        client.on_pre_connect = self._sign
        client.on_connect = self._connected
        client.on_subscribe = self._subscribed
        client.on_message = self._message
        client.on_publish = self._published
        self.client = client

    # --- paho's callbacks, on its network thread --------------------------------------

    def _sign(self, client: mqtt.Client, _userdata: Any) -> None:
        creds = device_credentials(self.uuid, self.secret)
        client.username_pw_set(creds.username, creds.password)

    def _connected(
        self, client: mqtt.Client, _userdata: Any, flags: Any, code: Any, _p: Any
    ) -> None:
        if code.is_failure:
            self.refusals.append(str(code))
            return
        self.session_present.append(bool(flags.session_present))
        if self.subscriptions:
            client.subscribe(self.subscriptions)

    def _subscribed(self, _c: Any, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
        self.subacks.append([code.value for code in codes])

    def _message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.received.append(message)
        if self.answer_commands and message.topic == topic(K.ISSUE, self.uuid):
            command = messages.decode(K.ISSUE, message.payload)
            reply = messages.encode(messages.reply(command))
            client.publish(topic(K.ISSUE_RESPONSE, self.uuid), reply, qos=1)

    def _published(self, _c: Any, _u: Any, mid: int, _code: Any, _p: Any) -> None:
        self.completed.append(mid)

    # --- the test's side --------------------------------------------------------------

    def start(self) -> None:
        self.client.connect_async("127.0.0.1", self.rig.port, keepalive=30)
        self.client.loop_start()

    async def connected(self, times: int = 1) -> None:
        """Wait for the `times`-th accepted connection and its SUBACK, if it subscribes."""
        await until(lambda: len(self.session_present) >= times, 10)
        if self.subscriptions:
            await until(lambda: len(self.subacks) >= times, 10)

    async def stop(self) -> None:
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)


type DeviceFactory = Callable[..., Awaitable[PahoDevice]]


@pytest.fixture(name="rig")
async def fixture_rig(sockets: None) -> AsyncIterator[EmbeddedRig]:
    async with running_rig(Limits(failed_logins_allowed=1000), port=free_port()) as rig:
        yield rig


@pytest.fixture(name="connect_device")
async def fixture_connect_device(rig: EmbeddedRig) -> AsyncIterator[DeviceFactory]:
    """Start paho devices; every one still running is stopped at the end of the test."""
    devices: list[PahoDevice] = []

    async def start(**kw: Any) -> PahoDevice:
        device = PahoDevice(rig, **kw)
        devices.append(device)
        device.start()
        await device.connected()
        return device

    yield start
    for device in devices:
        await device.stop()


async def test_device_publishes_reach_the_hub_at_every_qos(
    rig: EmbeddedRig, connect_device: DeviceFactory
) -> None:
    inbox = HubInbox(rig)
    device = await connect_device()
    sent = [
        device.client.publish(topic(K.REPORT), report_payload(f"q{qos}"), qos=qos).mid
        for qos in (0, 1, 2)
    ]
    await until(lambda: sorted(device.completed) == sorted(sent))  # PUBACK, PUBCOMP
    assert inbox.ids == ["q0", "q1", "q2"]


async def test_hub_commands_reach_the_device_at_qos_1(
    rig: EmbeddedRig, connect_device: DeviceFactory
) -> None:
    device = await connect_device(subscriptions=((topic(K.ISSUE), 1),), answer_commands=True)
    assert device.subacks == [[1]]
    command = messages.command(DeviceCommand.PING, ack=True)
    reply = await rig.link.request(topic(K.ISSUE), command, timeout=5)
    assert (reply.id, reply.res) == (command.id, 0)
    [delivered] = device.received
    assert (delivered.qos, delivered.retain) == (1, False)


async def test_persistent_session_keeps_commands_while_the_device_is_away(
    rig: EmbeddedRig, connect_device: DeviceFactory
) -> None:
    first = await connect_device(clean_session=False, subscriptions=((topic(K.ISSUE), 1),))
    assert first.session_present == [False]
    await first.stop()
    await until(lambda: rig.offline == [ALICE])
    sent = [messages.command(DeviceCommand.PING, msg_id=f"while-away-{n}") for n in range(3)]
    for command in sent:
        rig.link.publish(topic(K.ISSUE), command, qos=1)
    session = server_of(rig).session(f"rlink_{ALICE}_V2")
    assert session is not None
    assert len(session.queue) == 3  # kept for the device

    back = await connect_device(clean_session=False)  # subscribes to nothing itself
    assert back.session_present == [True]
    await until(lambda: len(back.received) == 3)
    ids = [messages.decode(K.ISSUE, m.payload).id for m in back.received]
    assert ids == [c.id for c in sent]
    await until(lambda: not session.inflight)  # paho acknowledged them all


@pytest.mark.parametrize("drop", ["server-restart", "connection-cut"])
async def test_device_reconnects_after_a_dropped_connection(
    rig: EmbeddedRig, connect_device: DeviceFactory, drop: str
) -> None:
    device = await connect_device(subscriptions=((topic(K.ISSUE), 1),), answer_commands=True)
    command = messages.command(DeviceCommand.PING, ack=True)
    assert (await rig.link.request(topic(K.ISSUE), command, timeout=5)).res == 0
    if drop == "server-restart":
        await rig.stop()
        await rig.start()
    else:
        connection = next(c for c in server_of(rig)._connections if c.principal)
        connection.drop("the network went away")
    await device.connected(times=2)  # with fresh credentials: the old ones were used
    await until(lambda: rig.offline == [ALICE])
    command = messages.command(DeviceCommand.PING, ack=True)
    assert (await rig.link.request(topic(K.ISSUE), command, timeout=5)).res == 0
    assert device.refusals == []
