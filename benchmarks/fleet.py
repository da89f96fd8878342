"""Simulated devices for the comparison benchmark, in a process of their own.

Each device is one MQTT 3.1.1 connection that logs in with its rlink credentials,
subscribes to its own ``issue`` and ``report_response`` (QoS 1) as rlink devices do,
answers every command that asks for a reply, and publishes QoS 1 ``property_report``s
when told to. The connections are plain asyncio protocols with their packets built
ahead, so one process can offer far more reports per second than any row under test
takes: the rows are measured, not this process.

Every row of the benchmark gets the same fleet, only pointed at another server.

Driven over stdin/stdout, one JSON object per line:

- ``{"cmd": "connect", "devices": M}``: connect devices 0..M-1 (those not connected yet);
- ``{"cmd": "run", "rate": R, "seconds": S, "devices": M, "record": PATH}``: R reports a
  second over devices 0..M-1 in turn for S seconds; with ``record``, every send time is
  written to PATH (int64 ns, device index, step), see `read_sends`;
- ``{"cmd": "stats"}``: reports sent and acknowledged so far, connections lost;
- ``{"cmd": "stop"}``.

Reports sent so far are also counted in a shared file (`Counters`), so the benchmark can
watch the backlog while a window runs, and can end a run early through another slot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import mmap
import resource
import struct
import sys
import time
from array import array
from pathlib import Path
from typing import Any, Final

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.topics import TopicKind, device_topic
from tools.rlink_sim import TEMPLATES, make_secret, make_uuid

STEPS: Final = 1250
"""A device's varying value cycles through this many values (0.1 apart)."""
PENDING: Final = 8  # logins in flight at once: the device server lets one address have 16
TICK: Final = 0.002


# --- who the devices are (shared with the rows, which must know them too) ---------------------


def seed(index: int) -> str:
    return f"bench-{index}"


def kind(index: int) -> str:
    """Half sensors (a temperature that changes), half plugs (a power draw that changes)."""
    return "sensor" if index % 2 == 0 else "plug"


VARYING: Final = {"sensor": ("temperature", -40.0), "plug": ("power", 0.0)}
"""The property each kind's reports change, and the value of step 0."""


def value(index: int, step: int) -> float:
    base = VARYING[kind(index)][1]
    return round(base + (step % STEPS) / 10, 1)


def step_of(index: int, state_value: float) -> int:
    """The step (mod STEPS) a value read back from a state stands for."""
    return (round(state_value * 10) - round(VARYING[kind(index)][1] * 10)) % STEPS


# --- shared counters ------------------------------------------------------------------------


class Counters:
    """int64 slots in a file both processes map: one writes a slot, the other reads it."""

    SLOTS: Final = 32

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if create:
            path.write_bytes(bytes(8 * self.SLOTS))
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), 8 * self.SLOTS)

    def set(self, slot: int, count: int) -> None:
        struct.pack_into("q", self._map, 8 * slot, count)

    def get(self, slot: int) -> int:
        return int(struct.unpack_from("q", self._map, 8 * slot)[0])

    def close(self) -> None:
        self._map.close()
        self._file.close()


def read_sends(path: Path) -> tuple[array[int], array[int], array[int]]:
    """(send ns, device index, step) as written by a recorded run."""
    data = path.read_bytes()
    count = len(data) // 24
    ns, device, step = array("q"), array("q"), array("q")
    ns.frombytes(data[: 8 * count])
    device.frombytes(data[8 * count : 16 * count])
    step.frombytes(data[16 * count : 24 * count])
    return ns, device, step


# --- MQTT 3.1.1, the little a device needs ----------------------------------------------------


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _packet(header: int, body: bytes) -> bytes:
    return bytes([header]) + _length(len(body)) + body


def connect_packet(client_id: str, username: str, password: str, keepalive: int) -> bytes:
    flags = 0x80 | 0x40 | 0x02  # username, password, clean session
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
    return _packet(0x10, body + _string(client_id) + _string(username) + _string(password))


def subscribe_packet(packet_id: int, topics: list[str]) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_string(t) + b"\x01" for t in topics)
    return _packet(0x82, body)


def publish_packet(topic: bytes, payload: bytes, packet_id: int) -> bytes:
    body = _string(topic) + struct.pack("!H", packet_id) + payload
    return _packet(0x32, body)


PINGREQ: Final = b"\xc0\x00"


class Device(asyncio.Protocol):
    """One device connection."""

    def __init__(self, fleet: Fleet, index: int) -> None:
        self.fleet = fleet
        self.index = index
        self.kind = kind(index)
        self.pid = TEMPLATES[self.kind].pid
        self.uuid = make_uuid(seed(index))
        self.secret = make_secret(seed(index))
        self.report_topic = device_topic(TopicKind.REPORT, self.pid, self.uuid).encode()
        self.response_topic = device_topic(TopicKind.ISSUE_RESPONSE, self.pid, self.uuid)
        self.step = 0
        self.inflight = 0
        self._next_id = 0
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.lost = False
        values = dict(TEMPLATES[self.kind].values)
        name = VARYING[self.kind][0]
        values[name] = 0.0
        body = messages.encode(
            messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": values}, msg_id="@")
        )
        # The payload as the protocol encodes it, with holes for the id, ts and value.
        head, tail = body.split(b'"id":"@"', 1)
        tail = tail.replace(f'"{name}":0.0'.encode(), f'"{name}":%s'.encode(), 1)
        ts_at = tail.index(b'"ts":')
        ts_end = tail.index(b",", ts_at)
        self._template = head + b'"id":"%s"' + tail[:ts_at] + b'"ts":%d' + tail[ts_end:]
        self._id_prefix = self.uuid[-4:].encode()

    # --- transport ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        creds = device_credentials(self.uuid, self.secret)
        transport.write(
            connect_packet(creds.client_id, creds.username, creds.password, self.fleet.keepalive)
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.fleet.lost += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"{self.uuid}: connection lost ({exc})"))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 2:
            length, shift, at = 0, 0, 1
            while True:
                if at >= len(buffer):
                    return
                byte = buffer[at]
                length |= (byte & 0x7F) << shift
                shift += 7
                at += 1
                if not byte & 0x80:
                    break
            if len(buffer) < at + length:
                return
            header, body = buffer[0], bytes(buffer[at : at + length])
            del buffer[: at + length]
            self._packet(header, body)

    def _packet(self, header: int, body: bytes) -> None:
        kind_ = header >> 4
        if kind_ == 4:  # PUBACK
            self.inflight -= 1
            self.fleet.acked += 1
        elif kind_ == 3:  # PUBLISH: a command or an answer from the hub
            self._on_publish(header, body)
        elif kind_ == 2:  # CONNACK
            if body[1] != 0:
                self.ready.set_exception(ConnectionError(f"{self.uuid}: CONNACK {body[1]}"))
                return
            topics = [
                device_topic(TopicKind.ISSUE, self.pid, self.uuid),
                device_topic(TopicKind.REPORT_RESPONSE, self.pid, self.uuid),
            ]
            self._write(subscribe_packet(self._new_id(), topics))
        elif kind_ == 9 and not self.ready.done():  # SUBACK
            if b"\x80" in body[2:]:
                self.ready.set_exception(ConnectionError(f"{self.uuid}: subscription refused"))
            else:
                self.ready.set_result(None)

    def _on_publish(self, header: int, body: bytes) -> None:
        qos = (header >> 1) & 3
        (topic_length,) = struct.unpack_from("!H", body)
        at = 2 + topic_length
        topic = body[2:at].decode()
        if qos:
            self._write(b"\x40\x02" + body[at : at + 2])
            at += 2
        self.fleet.received += 1
        if not topic.endswith("/issue"):
            return
        with contextlib.suppress(ValueError, KeyError):
            request = messages.decode(TopicKind.ISSUE, body[at:])
            if request.ack:  # a ping from the hub, say: answer as a device does
                self._publish(
                    self.response_topic.encode(), messages.encode(messages.reply(request, {}))
                )

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self.lost:
            self._transport.write(data)

    def _new_id(self) -> int:
        self._next_id = self._next_id % 0xFFFF + 1
        return self._next_id

    def _publish(self, topic: bytes, payload: bytes) -> None:
        self.inflight += 1
        self._write(publish_packet(topic, payload, self._new_id()))

    # --- what the benchmark asks ----------------------------------------------------------

    def report(self) -> int:
        """Publish the next value; returns its step."""
        self.step += 1
        step = self.step
        payload = self._template % (
            self._id_prefix + b"%d" % step,
            int(time.time()),
            b"%.1f" % value(self.index, step),
        )
        self._publish(self.report_topic, payload)
        return step

    def ping(self) -> None:
        self._write(PINGREQ)


class Fleet:
    def __init__(
        self,
        host: str,
        port: int,
        devices: int,
        keepalive: int,
        counters: Counters,
        slot: int,
        stop_slot: int,
    ) -> None:
        self.host, self.port = host, port
        self.keepalive = keepalive
        self.counters, self.slot, self.stop_slot = counters, slot, stop_slot
        self.devices: list[Device] = []
        self.size = devices
        self.sent = 0
        self.acked = 0
        self.received = 0
        self.lost = 0
        self._pinger: asyncio.Task[None] | None = None

    async def connect(self, count: int) -> float:
        """Connect devices up to `count`, a few logins at a time; returns the seconds it took."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        pending: set[asyncio.Future[None]] = set()
        for index in range(len(self.devices), min(count, self.size)):
            device = Device(self, index)
            self.devices.append(device)
            await loop.create_connection(lambda d=device: d, self.host, self.port)  # type: ignore[misc]
            pending.add(device.ready)
            if len(pending) >= PENDING:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    future.result()
        for future in pending:
            await asyncio.wait_for(future, 30)
        if self._pinger is None and self.keepalive:
            self._pinger = asyncio.create_task(self._keep_alive())
        return time.perf_counter() - started

    async def _keep_alive(self) -> None:
        # What an MQTT client does: a PINGREQ per keep-alive period, spread over the period.
        while True:
            devices = list(self.devices)
            gap = self.keepalive * 0.75 / max(1, len(devices))
            for device in devices:
                device.ping()
                await asyncio.sleep(gap)

    async def run(
        self, rate: float, seconds: float, count: int, record: str | None
    ) -> dict[str, Any]:
        devices = self.devices[:count]
        sends = (array("q"), array("q"), array("q")) if record else None
        cursor = 0
        sent_before, acked_before = self.sent, self.acked
        started = time.perf_counter()
        end = started + seconds
        perf = time.perf_counter_ns
        while (now := time.perf_counter()) < end:
            due = int(rate * (now - started)) - (self.sent - sent_before)
            for _ in range(due):
                device = devices[cursor]
                cursor = (cursor + 1) % len(devices)
                if sends is not None:
                    sends[0].append(perf())
                    sends[1].append(device.index)
                    sends[2].append(device.report() % STEPS)
                else:
                    device.report()
                self.sent += 1
            self.counters.set(self.slot, self.sent)
            if self.counters.get(self.stop_slot):
                break  # the benchmark has seen enough of this rate
            await asyncio.sleep(TICK)
        elapsed = time.perf_counter() - started
        sent = self.sent - sent_before
        if sends is not None and record:
            Path(record).write_bytes(b"".join(column.tobytes() for column in sends))
        return {
            "sent": sent,
            "achieved": sent / elapsed,
            "unacked": sent - (self.acked - acked_before),
            "lost_connections": self.lost,
        }


async def serve(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per device
    gc.freeze()  # what the imports brought stays out of every collection: fewer stalls
    counters = Counters(args.counters)
    fleet = Fleet(
        args.host, args.port, args.devices, args.keepalive, counters, args.slot, args.stop_slot
    )
    loop = asyncio.get_running_loop()

    def reply(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    while line := await loop.run_in_executor(None, sys.stdin.readline):
        request = json.loads(line)
        match request["cmd"]:
            case "connect":
                seconds = await fleet.connect(request["devices"])
                reply({"connected": len(fleet.devices), "seconds": seconds})
            case "run":
                reply(
                    await fleet.run(
                        request["rate"],
                        request["seconds"],
                        request["devices"],
                        request.get("record"),
                    )
                )
            case "stats":
                reply({"sent": fleet.sent, "acked": fleet.acked, "lost_connections": fleet.lost})
            case "stop":
                break
    counters.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--devices", type=int, required=True, help="devices this fleet may connect")
    parser.add_argument("--keepalive", type=int, default=60)
    parser.add_argument("--counters", type=Path, required=True)
    parser.add_argument("--slot", type=int, required=True, help="where to count reports sent")
    parser.add_argument("--stop-slot", type=int, required=True, help="set to end a run early")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
