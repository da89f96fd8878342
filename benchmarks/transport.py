"""Transport benchmark: bare paho against the rlink session, Mosquitto against the embedded broker.

Everything is measured in one run on one machine and reported as ratios to the floor, a
bare paho client on the same broker:

1. bare paho publish -> receive latency (p50, p99) and sustained throughput, per broker;
2. the session's request/response round trip next to a bare paho round trip;
3. N simulated devices on the embedded broker reporting once a second: received, lost,
   and the broker process's CPU and memory.

Run ``scripts/bench`` (or ``python -m benchmarks.transport --help``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from rlink_sim import DeviceConfig, VirtualDevice, make_secret, make_uuid

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import Credentials, device_credentials
from custom_components.rlink.protocol.codes import DeviceCommand, DeviceEvent
from custom_components.rlink.protocol.session import MqttSession
from custom_components.rlink.protocol.timeinfo import time_reply
from custom_components.rlink.protocol.topics import (
    DeviceTopic,
    TopicKind,
    device_filter,
    device_topic,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PID = "simplug01"
FLOOR_SEED = "bench-floor"


@dataclass
class BrokerProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    hub: Credentials | None  # None: anonymous broker

    def client_credentials(self) -> Credentials:
        """The device the floor measurements use (not one of the scale test's fleet)."""
        return device_credentials(make_uuid(FLOOR_SEED), make_secret(FLOOR_SEED))

    def hub_credentials(self) -> Credentials:
        return self.hub or Credentials(f"bench-hub-{time.monotonic_ns()}", "hub", "x", 0)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_embedded(devices: int) -> BrokerProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.embedded_broker", "--devices", str(devices)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    return BrokerProcess("embedded (amqtt)", info["port"], process, Credentials(*info["hub"], 0))


def start_mosquitto(workdir: Path) -> BrokerProcess | None:
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        return None
    port = _free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nset_tcp_nodelay true\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            break
        time.sleep(0.05)
    return BrokerProcess("Mosquitto", port, process, None)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- bare paho: the floor ------------------------------------------------------------------


@contextlib.contextmanager
def paho_client(
    broker: BrokerProcess,
    creds: Credentials,
    on_message: Callable[[mqtt.MQTTMessage], None] | None = None,
    subscribe: str | None = None,
) -> Iterator[mqtt.Client]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=creds.client_id)
    client.username_pw_set(creds.username, creds.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    subscribed = threading.Event()
    if on_message:
        client.on_message = lambda c, u, m: on_message(m)
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect("127.0.0.1", broker.port, 60)
    # A well-tuned floor: no Nagle delay, as the session does.
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    if subscribe:
        client.subscribe(subscribe, qos=1)
        subscribed.wait(10)
    try:
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


def bare_latency(broker: BrokerProcess, count: int) -> list[float]:
    """One message at a time from a device to the hub: publish -> receive, in ms."""
    creds = broker.client_credentials()
    uuid = make_uuid(FLOOR_SEED)
    topic = device_topic(TopicKind.REPORT, PID, uuid)
    arrived = threading.Event()
    samples: list[float] = []

    def on_message(message: mqtt.MQTTMessage) -> None:
        samples.append((time.perf_counter_ns() - int(message.payload)) / 1e6)
        arrived.set()

    with (
        paho_client(broker, broker.hub_credentials(), on_message, device_filter(TopicKind.REPORT)),
        paho_client(broker, creds) as publisher,
    ):
        for _ in range(count):
            arrived.clear()
            publisher.publish(topic, str(time.perf_counter_ns()), qos=1)
            arrived.wait(5)
    return samples


def bare_throughput(broker: BrokerProcess, count: int) -> float:
    """Messages per second from one device to the hub, QoS 1, as fast as they go."""
    uuid = make_uuid(FLOOR_SEED)
    topic = device_topic(TopicKind.REPORT, PID, uuid)
    received = 0
    done = threading.Event()

    def on_message(message: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    payload = messages.encode(
        messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {"switch": 1}})
    )
    with (
        paho_client(broker, broker.hub_credentials(), on_message, device_filter(TopicKind.REPORT)),
        paho_client(broker, broker.client_credentials()) as publisher,
    ):
        started = time.perf_counter()
        for _ in range(count):
            publisher.publish(topic, payload, qos=1)
        done.wait(120)
        elapsed = time.perf_counter() - started
    return received / elapsed


def bare_rtt(broker: BrokerProcess, count: int) -> list[float]:
    """Hub -> device -> hub with two bare paho clients, in ms."""
    uuid = make_uuid(FLOOR_SEED)
    issue, response = (
        device_topic(TopicKind.ISSUE, PID, uuid),
        device_topic(TopicKind.ISSUE_RESPONSE, PID, uuid),
    )
    answered = threading.Event()
    device_holder: list[mqtt.Client] = []
    with paho_client(
        broker,
        broker.client_credentials(),
        lambda m: device_holder[0].publish(response, m.payload, qos=1),
        issue,
    ) as device:
        device_holder.append(device)
        with paho_client(
            broker, broker.hub_credentials(), lambda m: answered.set(), response
        ) as hub:
            samples = []
            for _ in range(count):
                answered.clear()
                started = time.perf_counter_ns()
                hub.publish(issue, b"{}", qos=1)
                answered.wait(5)
                samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


# --- the session -------------------------------------------------------------------------------


async def session_rtt(broker: BrokerProcess, count: int) -> list[float]:
    """`MqttSession.request` against a device session answering every command, in ms."""
    uuid = make_uuid(FLOOR_SEED)
    issue, response = (
        device_topic(TopicKind.ISSUE, PID, uuid),
        device_topic(TopicKind.ISSUE_RESPONSE, PID, uuid),
    )
    device = MqttSession("127.0.0.1", broker.port, broker.client_credentials, name="device")
    device.subscribe(issue, lambda t, m: device.publish(response, messages.reply(m, {"signal": 1})))
    hub_creds = broker.hub_credentials()
    hub = MqttSession("127.0.0.1", broker.port, lambda: hub_creds, name="hub")
    hub.subscribe(device_filter(TopicKind.ISSUE_RESPONSE), lambda t, m: None)
    await device.connect()
    await hub.connect()
    await asyncio.sleep(0.3)
    samples = []
    for _ in range(count):
        started = time.perf_counter_ns()
        await hub.request(issue, messages.command(DeviceCommand.PING), timeout=5)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    await hub.close()
    await device.close()
    return samples


# --- many devices ------------------------------------------------------------------------------


async def scale(broker: BrokerProcess, devices: int, seconds: float) -> dict[str, Any]:
    """`devices` simulated devices reporting once a second for `seconds`."""
    hub_creds = broker.hub_credentials()
    hub = MqttSession("127.0.0.1", broker.port, lambda: hub_creds, name="hub")
    received = 0

    def on_report(topic: Any, message: messages.Message) -> None:
        nonlocal received
        assert isinstance(topic, DeviceTopic)
        if message.code is DeviceEvent.PROPERTY_REPORT:
            received += 1
        if message.ack:  # a minimal cloud: answer the start sequence
            data = time_reply("UTC") if message.code is DeviceEvent.TIME else {}
            hub.publish(
                device_topic(TopicKind.REPORT_RESPONSE, topic.pid, topic.uuid),
                messages.reply(message, data),
            )

    hub.subscribe(device_filter(TopicKind.REPORT), on_report)
    await hub.connect()
    fleet = [
        VirtualDevice(
            DeviceConfig(
                make_uuid(f"bench{i}"), make_secret(f"bench{i}"), kind="sensor", report_interval=1.0
            ),
            "127.0.0.1",
            broker.port,
            reply_timeout=30,
        )
        for i in range(devices)
    ]
    started = time.perf_counter()
    for batch in range(0, devices, 50):
        await asyncio.gather(*(d.connect() for d in fleet[batch : batch + 50]))
    connect_seconds = time.perf_counter() - started

    process = psutil.Process(broker.process.pid)
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
    sent = sum(d.reports_sent for d in fleet)
    await hub.close()
    return {
        "devices": devices,
        "seconds": seconds,
        "connect_seconds": connect_seconds,
        "sent": sent,
        "received": received,
        "lost": sent - received,
        "broker_cpu_percent": 100
        * ((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system))
        / wall,
        "broker_peak_rss_mb": peak_rss / 2**20,
        "devices_cpu_percent": 100
        * ((own_after.user + own_after.system) - (own_before.user + own_before.system))
        / wall,
        "failed_devices": sum(1 for d in fleet if not d.reports_sent),
    }


# --- report ------------------------------------------------------------------------------------


def _ms(values: list[float]) -> tuple[float, float]:
    """Median and 99th percentile."""
    return statistics.median(values), percentile(values, 99)


def write_report(report: str, output: Path) -> None:
    print(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report)
    print(f"written to {output}")


def render(results: dict[str, Any]) -> str:
    lines = [
        "# Transport benchmark",
        "",
        f"Run {results['when']} on {results['machine']}, Python {results['python']}. "
        f"Samples: {results['samples']} per latency, {results['burst']} for throughput.",
        "",
        "## Bare paho (the floor) and the rlink session, per broker",
        "",
        "| broker | publish→receive p50 / p99 (ms) | throughput (msg/s) | bare RTT p50 / p99 (ms) "
        "| session RTT p50 / p99 (ms) | session / bare (p50) |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results["brokers"].items():
        lat, bare, sess = _ms(row["latency"]), _ms(row["bare_rtt"]), _ms(row["session_rtt"])
        lines.append(
            f"| {name} | {lat[0]:.2f} / {lat[1]:.2f} | {row['throughput']:.0f} | {bare[0]:.2f} / {bare[1]:.2f} "
            f"| {sess[0]:.2f} / {sess[1]:.2f} | {sess[0] / bare[0]:.2f} |"
        )
    names = list(results["brokers"])
    if len(names) == 2:
        a, b = (results["brokers"][n] for n in names)
        lines += [
            "",
            f"Embedded broker against Mosquitto: latency p50 x{_ms(b['latency'])[0] / _ms(a['latency'])[0]:.2f}, "
            f"throughput x{b['throughput'] / a['throughput']:.2f}.",
        ]
    s = results.get("scale")
    if s:
        lines += [
            "",
            f"## {s['devices']} simulated devices on the embedded broker, one report a second for {s['seconds']:.0f} s",
            "",
            "| connected in (s) | reports sent | received | lost | broker CPU (% of a core) | broker peak RSS (MB) "
            "| simulator CPU (% of a core) |",
            "|---|---|---|---|---|---|---|",
            f"| {s['connect_seconds']:.1f} | {s['sent']} | {s['received']} | {s['lost']} | {s['broker_cpu_percent']:.0f} "
            f"| {s['broker_peak_rss_mb']:.0f} | {s['devices_cpu_percent']:.0f} |",
        ]
        if s["failed_devices"]:
            lines.append(f"\n{s['failed_devices']} devices never reported.")
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "samples": args.samples,
        "burst": args.burst,
        "brokers": {},
    }
    with tempfile.TemporaryDirectory() as workdir:
        brokers = [
            b for b in (start_mosquitto(Path(workdir)), start_embedded(max(args.devices, 1))) if b
        ]
        try:
            for broker in brokers:
                print(f"-- {broker.name}: latency, throughput, round trips", flush=True)
                row = {
                    "latency": await asyncio.to_thread(bare_latency, broker, args.samples),
                    "throughput": await asyncio.to_thread(bare_throughput, broker, args.burst),
                    "bare_rtt": await asyncio.to_thread(bare_rtt, broker, args.samples),
                    "session_rtt": await session_rtt(broker, args.samples),
                }
                results["brokers"][broker.name] = row
            if args.devices:
                print(f"-- {args.devices} devices for {args.seconds:.0f} s", flush=True)
                results["scale"] = await scale(brokers[-1], args.devices, args.seconds)
        finally:
            for broker in brokers:
                broker.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--output", type=Path, default=RESULTS / "transport.md")
    args = parser.parse_args()
    write_report(render(asyncio.run(run(args))), args.output)


if __name__ == "__main__":
    main()
