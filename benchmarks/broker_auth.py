"""Device logins through RabbitMQ with Home Assistant as its auth service.

A RabbitMQ node (Debian's package, MQTT plugin and HTTP auth backend) asks a Home Assistant
in this process about every login and topic of --devices simulated devices, which log in
(CONNECT → CONNACK, a fresh signature each) from a child process, --concurrency at a time.
Reported: logins per second, the devices' CONNECT → CONNACK time (which holds RabbitMQ's
``user`` and ``vhost`` calls to Home Assistant), the time Home Assistant spends answering one
call (from the view's start to its reply, per kind), and Home Assistant's CPU (this
process: RabbitMQ and the devices run in processes of their own). Writes
benchmarks/results/broker_auth.md.

    scripts/bench --broker-auth [--devices 1000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_START

from benchmarks.end_to_end import RESULTS, env, load_average, ms, run_facts, write_report
from benchmarks.fleet import seed
from benchmarks.rows import home_assistant, rlink_entry
from custom_components.rlink.local import broker_auth
from custom_components.rlink.local.broker_auth import URL_BASE, new_token
from tests.brokers import RabbitMQ, wait_listening
from tools.rlink_sim import make_secret, make_uuid

HUB_USER, HUB_PASSWORD = "home-assistant", "bench-hub-password"


# --- the devices (child process) ----------------------------------------------------------------


async def _log_in_all(port: int, devices: int, concurrency: int) -> dict[str, Any]:
    from custom_components.rlink.protocol import auth  # noqa: PLC0415
    from custom_components.rlink.protocol.session import ConnectError, MqttSession  # noqa: PLC0415

    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []
    failures: list[str] = []

    async def one(index: int) -> None:
        uuid, secret = make_uuid(seed(index)), make_secret(seed(index))
        async with gate:
            session = MqttSession(
                "127.0.0.1", port, lambda: auth.device_credentials(uuid, secret), keepalive=60
            )
            started = time.perf_counter()
            try:
                await session.connect()
                times.append((time.perf_counter() - started) * 1000)
            except ConnectError as err:
                failures.append(str(err))
            finally:
                await session.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(devices)))
    return {
        "seconds": time.perf_counter() - started,
        "times": times,
        "failed": len(failures),
        "failures": failures[:5],
    }


# --- Home Assistant and RabbitMQ (this process) -------------------------------------------------


def _time_calls(samples: dict[str, list[float]]) -> None:
    """Record how long Home Assistant takes to answer each call, per broker call kind."""
    view = broker_auth.BrokerAuthView
    original = view.get

    async def timed(self: Any, request: Any, token: str, broker: str, check: str) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, request, token, broker, check)
        finally:
            samples[check].append((time.perf_counter() - started) * 1000)

    view.get = view.post = timed  # type: ignore[method-assign]


async def run(devices: int, concurrency: int) -> str:
    facts = run_facts()
    samples: dict[str, list[float]] = defaultdict(list)
    _time_calls(samples)
    with tempfile.TemporaryDirectory(prefix="rlink-bench-auth-") as workdir:
        node = RabbitMQ(Path(workdir, "rabbitmq"))
        node.workdir.mkdir()
        Path(workdir, "config").mkdir()
        async with home_assistant(str(Path(workdir, "config"))) as hass:
            # The test instance is "running" without having started: its HTTP server
            # listens once the start event is heard.
            hass.bus.async_fire(EVENT_HOMEASSISTANT_START)
            http_port = hass.http.server_port
            await wait_listening(http_port)
            token = new_token()
            start = time.perf_counter()
            await node.start(f"http://127.0.0.1:{http_port}{URL_BASE}/{token}")
            rabbit_start = time.perf_counter() - start
            try:
                await rlink_entry(
                    hass,
                    {
                        "broker": "external",
                        "host": "127.0.0.1",
                        "port": node.port,
                        "username": HUB_USER,
                        "password": HUB_PASSWORD,
                        "broker_auth": True,
                        "auth_token": token,
                    },
                    devices,
                )
                samples.clear()
                child = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "benchmarks.broker_auth",
                    "--client",
                    str(node.port),
                    "--devices",
                    str(devices),
                    "--concurrency",
                    str(concurrency),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env=env(),
                )
                assert child.stdin is not None
                assert child.stdout is not None
                await child.stdout.readline()  # imported and ready: the window starts now
                cpu_before, wall_before = time.process_time(), time.perf_counter()
                child.stdin.write(b"go\n")
                await child.stdin.drain()
                output = await child.stdout.readline()
                cpu = time.process_time() - cpu_before
                wall = time.perf_counter() - wall_before
                await child.wait()
            finally:
                await node.stop()
    logins = json.loads(output)
    return _report(facts, devices, concurrency, logins, samples, cpu, wall, rabbit_start)


def _report(
    facts: dict[str, Any],
    devices: int,
    concurrency: int,
    logins: dict[str, Any],
    samples: dict[str, list[float]],
    cpu: float,
    wall: float,
    rabbit_start: float,
) -> str:
    times = logins["times"]
    lines = [
        "# Logins through RabbitMQ, Home Assistant as its auth service",
        "",
        f"Run {facts['when']} on {facts['machine']}, Python {facts['python']}, Home Assistant "
        f"{facts['ha_version']}; RabbitMQ from Debian's package (started in {rabbit_start:.1f} s)."
        f" Load average (1 / 5 / 15 min) {facts['load_before']} before, {load_average()} after."
        f" {devices} devices log in once each, {concurrency} at a time, from their own process.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| logins accepted | {len(times)} of {devices} ({logins['failed']} refused) |",
        f"| logins per second | {len(times) / logins['seconds']:.0f} |",
    ]
    if times:
        p50, p99 = ms(times)
        lines.append(f"| CONNECT → CONNACK p50 / p99 (ms) | {p50:.1f} / {p99:.1f} |")
    for check, values in sorted(samples.items()):
        p50, p99 = ms(values)
        lines.append(
            f"| Home Assistant answering `{check}` p50 / p99 (ms), {len(values)} calls "
            f"| {p50:.2f} / {p99:.2f} |"
        )
    lines.append(
        f"| Home Assistant CPU during the logins | {cpu / wall * 100:.0f} % of one core "
        f"({cpu:.1f} s in {wall:.1f} s) |"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)  # the devices' process
    args = parser.parse_args()
    if args.client:
        print("ready", flush=True)
        sys.stdin.readline()
        result = asyncio.run(_log_in_all(args.client, args.devices, args.concurrency))
        print(json.dumps(result), flush=True)
        return
    report = asyncio.run(run(args.devices, args.concurrency))
    write_report(report, RESULTS / "broker_auth.md")


if __name__ == "__main__":
    main()
