"""Transport benchmark: Mosquitto with a bare paho hub against the rlink device server.

Everything is measured in one run on one machine. On Mosquitto the hub is a bare paho
client (paho's network thread) subscribed to every device's ``report``; on the device
server it is the server's owner (`benchmarks.device_server`, its own process), called
with each message. The device side is a bare paho client in both:

1. report round trip: a report that asks for a reply → hub → the reply (p50, p99);
2. throughput: one device publishing QoS 1 reports as fast as it can, the last one asking
   for a reply: messages a second into the hub;
3. the hub's request round trip: `MqttSession.request` (the session external brokers
   use) on Mosquitto, `ServerLink.request` on the device server, next to two bare paho
   clients on Mosquitto;
4. N simulated devices (`rlink_sim`) reporting once a second: received, lost, and the
   server process's CPU and memory (Mosquitto's alone, or the device server with its hub).

Run ``scripts/bench`` (or ``python -m benchmarks.transport --help``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from rlink_sim import DeviceConfig, VirtualDevice, make_secret, make_uuid

from benchmarks.end_to_end import (
    RESULTS,
    ROOT,
    env,
    load_average,
    ms,
    start_mosquitto,
    write_report,
)
from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import Credentials, device_credentials
from custom_components.rlink.protocol.codes import DeviceCommand, DeviceEvent
from custom_components.rlink.protocol.session import MqttSession
from custom_components.rlink.protocol.timeinfo import time_reply
from custom_components.rlink.protocol.topics import (
    TopicKind,
    device_filter,
    device_topic,
)

FLOOR_SEED = "bench-floor"
PID = "simplug01"
UUID = make_uuid(FLOOR_SEED)
REPORT = device_topic(TopicKind.REPORT, PID, UUID)
REPORT_RESPONSE = device_topic(TopicKind.REPORT_RESPONSE, PID, UUID)
ISSUE = device_topic(TopicKind.ISSUE, PID, UUID)
ISSUE_RESPONSE = device_topic(TopicKind.ISSUE_RESPONSE, PID, UUID)
SCALE_PREFIX = "bench"


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    hub: BareHub | None = None
    results: dict[str, Any] = field(default_factory=dict)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.hub is not None:
            self.hub.close()
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.write(b'{"cmd": "stop"}\n')
                self.process.stdin.flush()
        self.process.terminate()
        self.process.wait(10)


def start_device_server(devices: int) -> Server:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.device_server",
            "--devices",
            str(devices),
            "--prefix",
            SCALE_PREFIX,
        ],
        cwd=ROOT,
        env=env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    return Server("rlink device server", info["port"], process)


# --- bare paho ----------------------------------------------------------------------------------


def floor_credentials() -> Credentials:
    return device_credentials(UUID, make_secret(FLOOR_SEED))


@contextlib.contextmanager
def paho_client(
    port: int,
    creds: Credentials,
    on_message: Callable[[mqtt.Client, mqtt.MQTTMessage], None] | None = None,
    subscribe: list[str] | None = None,
) -> Iterator[mqtt.Client]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=creds.client_id)
    client.username_pw_set(creds.username, creds.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    subscribed = threading.Event()
    if on_message:
        client.on_message = lambda c, _u, m: on_message(c, m)
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect("127.0.0.1", port, 60)
    # A well-tuned floor: no Nagle delay, as the session and the server do.
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    if subscribe:
        client.subscribe([(topic, 1) for topic in subscribe])
        subscribed.wait(10)
    try:
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


class BareHub:
    """The hub on Mosquitto at its barest: paho, answering every report that asks for it."""

    def __init__(self, port: int) -> None:
        self.reports = 0
        self._zone = "UTC"
        self._context = paho_client(
            port,
            Credentials("bench-bare-hub", "hub", "x", 0),
            self._on_message,
            [device_filter(TopicKind.REPORT)],
        )
        self._context.__enter__()

    def _on_message(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        body = messages.decode(TopicKind.REPORT, message.payload)
        if body.code is DeviceEvent.PROPERTY_REPORT:
            self.reports += 1
        if body.ack:
            _, _, pid, uuid, _ = message.topic.split("/")
            data = time_reply(self._zone) if body.code is DeviceEvent.TIME else {}
            client.publish(
                device_topic(TopicKind.REPORT_RESPONSE, pid, uuid),
                messages.encode(messages.reply(body, data)),
                qos=1,
            )

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def report_rtt(port: int, count: int) -> list[float]:
    """A report asking for a reply → hub → the reply, from a bare paho device, in ms."""
    answered = threading.Event()
    with paho_client(
        port, floor_credentials(), lambda _c, _m: answered.set(), [REPORT_RESPONSE]
    ) as device:
        samples = []
        for i in range(count):
            answered.clear()
            body = messages.encode(
                messages.event(
                    DeviceEvent.PROPERTY_REPORT,
                    {"properties": {"power": i % 100}},
                    ack=True,
                    msg_id=f"rtt-{i}",
                )
            )
            started = time.perf_counter_ns()
            device.publish(REPORT, body, qos=1)
            if answered.wait(5):
                samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def throughput(port: int, count: int) -> float:
    """QoS 1 reports a second from one device into the hub, as fast as they go."""
    answered = threading.Event()
    payload = messages.encode(
        messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {"switch": 1}}, msg_id="t")
    )
    last = messages.encode(
        messages.event(
            DeviceEvent.PROPERTY_REPORT, {"properties": {"switch": 0}}, ack=True, msg_id="last"
        )
    )
    with paho_client(
        port, floor_credentials(), lambda _c, _m: answered.set(), [REPORT_RESPONSE]
    ) as device:
        started = time.perf_counter()
        for _ in range(count - 1):
            device.publish(REPORT, payload, qos=1)
        device.publish(REPORT, last, qos=1)  # answered once every report before it is in
        answered.wait(120)
        elapsed = time.perf_counter() - started
    return count / elapsed


def bare_rtt(port: int, count: int) -> list[float]:
    """Hub → device → hub with two bare paho clients on Mosquitto, in ms."""
    answered = threading.Event()
    with (
        paho_client(
            port,
            floor_credentials(),
            lambda c, m: c.publish(ISSUE_RESPONSE, m.payload, qos=1),
            [ISSUE],
        ),
        paho_client(
            port,
            Credentials("bench-rtt-hub", "hub", "x", 0),
            lambda _c, _m: answered.set(),
            [ISSUE_RESPONSE],
        ) as hub,
    ):
        samples = []
        for _ in range(count):
            answered.clear()
            started = time.perf_counter_ns()
            hub.publish(ISSUE, b"{}", qos=1)
            if answered.wait(5):
                samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


@contextlib.contextmanager
def answering_device(port: int) -> Iterator[None]:
    """The floor device, answering every command with success."""

    def answer(client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        request = messages.decode(TopicKind.ISSUE, message.payload)
        client.publish(ISSUE_RESPONSE, messages.encode(messages.reply(request, {})), qos=1)

    with paho_client(port, floor_credentials(), answer, [ISSUE]):
        yield


async def session_rtt(port: int, count: int) -> list[float]:
    """`MqttSession.request` on Mosquitto, against a bare paho device answering, in ms."""
    hub_creds = Credentials(f"bench-hub-{time.monotonic_ns()}", "hub", "x", 0)
    hub = MqttSession("127.0.0.1", port, lambda: hub_creds, name="hub")
    hub.subscribe(device_filter(TopicKind.ISSUE_RESPONSE), lambda _t, _m: None)
    await hub.connect()
    await hub.wait_subscribed()
    samples = []
    with answering_device(port):
        await asyncio.sleep(0.3)
        for _ in range(count):
            started = time.perf_counter_ns()
            await hub.request(ISSUE, messages.command(DeviceCommand.PING), timeout=5)
            samples.append((time.perf_counter_ns() - started) / 1e6)
    await hub.close()
    return samples


def link_rtt(server: Server, count: int) -> list[float]:
    """`ServerLink.request` inside the device server's process, in ms."""
    with answering_device(server.port):
        time.sleep(0.3)
        return list(server.ask({"cmd": "rtt", "samples": count})["rtt"])


# --- many devices -----------------------------------------------------------------------------


async def scale(server: Server, devices: int, seconds: float) -> dict[str, Any]:
    """`devices` simulated devices reporting once a second for `seconds`."""
    fleet = [
        VirtualDevice(
            DeviceConfig(
                make_uuid(f"{SCALE_PREFIX}{i}"),
                make_secret(f"{SCALE_PREFIX}{i}"),
                kind="sensor",
                report_interval=1.0,
            ),
            "127.0.0.1",
            server.port,
            reply_timeout=30,
        )
        for i in range(devices)
    ]
    process = psutil.Process(server.process.pid)
    rss_before = process.memory_info().rss
    counted_before = received_count(server)
    started = time.perf_counter()
    for batch in range(0, devices, 16):  # the device server lets an address have 16 logins pending
        await asyncio.gather(*(d.connect() for d in fleet[batch : batch + 16]))
    connect_seconds = time.perf_counter() - started
    cpu_before, wall_before = process.cpu_times(), time.perf_counter()
    own_before = psutil.Process().cpu_times()
    peak_rss = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        await asyncio.sleep(1)
        peak_rss = max(peak_rss, process.memory_info().rss)
    cpu_after, wall = process.cpu_times(), time.perf_counter() - wall_before
    own_after = psutil.Process().cpu_times()
    await asyncio.gather(*(d.close() for d in fleet))
    await asyncio.sleep(2)  # the last reports still travelling
    sent = sum(d.reports_sent for d in fleet)  # the start sequence's first report too
    received = received_count(server) - counted_before
    return {
        "devices": devices,
        "seconds": seconds,
        "connect_seconds": connect_seconds,
        "sent": sent,
        "received": received,
        "lost": sent - received,
        "server_cpu_percent": 100
        * ((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system))
        / wall,
        "server_rss_before_mb": rss_before / 2**20,
        "server_peak_rss_mb": peak_rss / 2**20,
        "devices_cpu_percent": 100
        * ((own_after.user + own_after.system) - (own_before.user + own_before.system))
        / wall,
        "failed_devices": sum(1 for d in fleet if not d.reports_sent),
    }


def received_count(server: Server) -> int:
    if server.hub is not None:
        return server.hub.reports
    return int(server.ask({"cmd": "stats"})["reports"])


# --- report ------------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    lines = [
        "# Transport benchmark",
        "",
        f"Run {results['when']} on {results['machine']}, Python {results['python']}. "
        f"Load average (1 / 5 / 15 min) {results['load_before']} before, "
        f"{results['load_after']} after. Samples: {results['samples']} per latency, "
        f"{results['burst']} for throughput.",
        "",
        "On Mosquitto the hub is a bare paho client (its network thread) answering the "
        "reports that ask for it; on the device server it is the server's owner, in the same "
        "process, called with each message. The device is a bare paho client on both.",
        "",
        "## Device ↔ hub",
        "",
        "| server | report → hub → reply p50 / p99 (ms) | throughput into the hub (msg/s) "
        "| hub request RTT p50 / p99 (ms) |",
        "|---|---|---|---|",
    ]
    for name, row in results["servers"].items():
        rtt, request = ms(row["report_rtt"]), ms(row["request_rtt"])
        lines.append(
            f"| {name} | {rtt[0]:.2f} / {rtt[1]:.2f} | {row['throughput']:.0f} "
            f"| {request[0]:.2f} / {request[1]:.2f} ({row['request_kind']}) |"
        )
    bare = results.get("bare_rtt")
    if bare:
        p50, p99 = ms(bare)
        lines.append(
            f"| Mosquitto, two bare paho clients (floor) | - | - | {p50:.2f} / {p99:.2f} |"
        )
    servers = results["servers"]
    if len(servers) == 2:
        a, b = servers.values()
        lines += [
            "",
            "Device server against Mosquitto: report round trip p50 "
            f"x{ms(b['report_rtt'])[0] / ms(a['report_rtt'])[0]:.2f}, throughput "
            f"x{b['throughput'] / a['throughput']:.2f}.",
        ]
        if bare:
            lines.append(
                f"Request round trip against two bare paho clients (p50): the session on "
                f"Mosquitto x{ms(a['request_rtt'])[0] / ms(bare)[0]:.2f}, the device server's "
                f"link x{ms(b['request_rtt'])[0] / ms(bare)[0]:.2f}."
            )
    scaled = [(name, row["scale"]) for name, row in servers.items() if row.get("scale")]
    if scaled:
        s0 = scaled[0][1]
        lines += [
            "",
            f"## {s0['devices']} simulated devices, one report a second each for "
            f"{s0['seconds']:.0f} s",
            "",
            "| server | connected in (s) | reports sent | received | lost "
            "| server CPU (% of a core) | server RSS before → peak (MB) "
            "| simulator CPU (% of a core) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, s in scaled:
            lines.append(
                f"| {name} | {s['connect_seconds']:.1f} | {s['sent']} | {s['received']} "
                f"| {s['lost']} | {s['server_cpu_percent']:.1f} "
                f"| {s['server_rss_before_mb']:.0f} → {s['server_peak_rss_mb']:.0f} "
                f"| {s['devices_cpu_percent']:.0f} |"
            )
            if s["failed_devices"]:
                lines.append(f"\n{s['failed_devices']} devices never reported on {name}.")
        lines += [
            "",
            "Mosquitto's figures are the broker alone (its bare hub runs in the benchmark's "
            "process); the device server's include its hub, and its memory before the devices "
            "is mostly the Python modules it imports (Home Assistant's among them).",
        ]
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "samples": args.samples,
        "burst": args.burst,
        "servers": {},
        "load_before": load_average(),
    }
    with tempfile.TemporaryDirectory() as workdir:
        process, port = start_mosquitto(Path(workdir), "mosquitto")
        mosquitto = Server("Mosquitto", port, process)
        mosquitto.hub = BareHub(port)
        servers = [mosquitto, start_device_server(max(args.devices, 1))]
        try:
            for server in servers:
                print(f"-- {server.name}: round trips, throughput", flush=True)
                row: dict[str, Any] = {
                    "report_rtt": await asyncio.to_thread(report_rtt, server.port, args.samples),
                    "throughput": await asyncio.to_thread(throughput, server.port, args.burst),
                }
                if server.hub is not None:
                    row["request_rtt"] = await session_rtt(server.port, args.samples)
                    row["request_kind"] = "MqttSession"
                    results["bare_rtt"] = await asyncio.to_thread(
                        bare_rtt, server.port, args.samples
                    )
                else:
                    row["request_rtt"] = await asyncio.to_thread(link_rtt, server, args.samples)
                    row["request_kind"] = "ServerLink"
                if args.devices:
                    print(f"-- {server.name}: {args.devices} devices for {args.seconds:.0f} s")
                    row["scale"] = await scale(server, args.devices, args.seconds)
                results["servers"][server.name] = row
        finally:
            for server in servers:
                server.stop()
    results["load_after"] = load_average()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--output", type=Path, default=RESULTS / "transport.md")
    args = parser.parse_args()
    write_report(render(asyncio.run(run(args))), args.output)


if __name__ == "__main__":
    main()
