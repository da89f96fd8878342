"""End-to-end benchmark: device → embedded broker → hub → Home Assistant state, and back.

Home Assistant runs in this process with the integration and its embedded broker, as it
does in a real installation. Every figure is set against the floor measured in the same run
on the same broker: bare paho clients.

1. report → HA state latency (p50, p99) next to bare publish → receive;
2. service call → ``issue`` → device → ``issue_response`` → service returns, next to a bare
   paho round trip;
3. N simulated devices (another process) reporting a changing value once a second: reports
   sent against HA state changes seen;
4. setup time and memory of the config entry for 100 / 500 / 1000 devices, each size in a
   fresh process.

Run ``scripts/bench`` (or ``python -m benchmarks.end_to_end --help``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
import yaml

import custom_components  # noqa: F401 - must be imported before Home Assistant's loader looks
from benchmarks.transport import RESULTS, ROOT, _ms, write_report
from custom_components.rlink.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import Credentials, device_credentials
from custom_components.rlink.protocol.broker import DeviceGate, EmbeddedBroker
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.topics import TopicKind, device_filter, device_topic
from tools.rlink_sim import TEMPLATES, make_secret, make_uuid

FLOOR = "e2e-floor"
SIZES = (100, 500, 1000)


# --- Home Assistant in this process ----------------------------------------------------------


@contextmanager
def _quiet() -> Iterator[None]:
    import logging  # noqa: PLC0415

    logging.basicConfig(level=logging.ERROR)
    yield


def _subentries(seeds: list[str], kind: str) -> list[dict[str, Any]]:
    pid = TEMPLATES[kind].pid
    return [
        {
            "data": {"uuid": make_uuid(s), "secret": make_secret(s), "pid": pid},
            "subentry_type": SUBENTRY_DEVICE,
            "title": s,
            "unique_id": make_uuid(s),
        }
        for s in seeds
    ]


async def _hass_with_hub(config_dir: str, seeds: list[str], kind: str) -> tuple[Any, Any, Any]:
    """Start a Home Assistant with a hub knowing `seeds` devices; returns (cm, hass, entry)."""
    from homeassistant import loader  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
        async_test_home_assistant,
    )

    models = Path(config_dir, "rlink", "models")
    models.mkdir(parents=True, exist_ok=True)
    for template in TEMPLATES.values():
        (models / f"{template.pid}.json").write_text(json.dumps(template.model()))
    manager = async_test_home_assistant(config_dir=config_dir)
    hass = await manager.__aenter__()
    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
    port = _free_port()
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"mode": "local", "broker": "embedded", "port": port},
        unique_id=f"embedded:{port}",
        subentries_data=_subentries(seeds, kind),
    )
    entry.add_to_hass(hass)
    return manager, hass, entry


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _paho(
    port: int, creds: Credentials, subscribe: str | None = None, on_message: Any = None
) -> Iterator[mqtt.Client]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=creds.client_id)
    client.username_pw_set(creds.username, creds.password)
    subscribed = threading.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    if on_message is not None:
        client.on_message = lambda c, u, m: on_message(m)
    client.connect("127.0.0.1", port, 60)
    client.socket().setsockopt(6, 1, 1)  # TCP_NODELAY, as the session does
    client.loop_start()
    if subscribe:
        client.subscribe(subscribe, qos=1)
        subscribed.wait(10)
    try:
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


# --- 1 and 2: latency and round trips ---------------------------------------------------------


async def latency_and_rtt(samples: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as config_dir:
        manager, hass, entry = await _hass_with_hub(config_dir, [FLOOR], "sensor")
        try:
            await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

            hub = entry.runtime_data
            port = hub.broker.port
            uuid, pid = make_uuid(FLOOR), TEMPLATES["sensor"].pid
            creds = device_credentials(uuid, make_secret(FLOOR))
            report, response = (
                device_topic(TopicKind.REPORT, pid, uuid),
                device_topic(TopicKind.ISSUE_RESPONSE, pid, uuid),
            )
            issue = device_topic(TopicKind.ISSUE, pid, uuid)
            results: dict[str, Any] = {}

            def answer(m: mqtt.MQTTMessage) -> None:
                request = messages.decode(TopicKind.ISSUE, m.payload)
                device.publish(response, messages.encode(messages.reply(request, {"signal": 1})))

            with _paho(port, creds, issue, answer) as device:
                # HA path: report -> state; the state's own timestamp of the change.
                entity = er.async_get(hass).async_get_entity_id(
                    "sensor", DOMAIN, f"{uuid}_temperature"
                )
                changed = asyncio.Event()
                stamps: list[float] = []

                def on_state(event: Any) -> None:
                    if event.data["entity_id"] == entity:
                        stamps.append(time.perf_counter_ns())
                        changed.set()

                hass.bus.async_listen("state_changed", on_state)
                ha_latency = []
                for i in range(samples):
                    changed.clear()
                    value = round(20 + (i % 200) / 10, 1)  # differs from the one before
                    body = messages.encode(
                        messages.event(
                            DeviceEvent.PROPERTY_REPORT, {"properties": {"temperature": value}}
                        )
                    )
                    sent = time.perf_counter_ns()
                    device.publish(report, body, qos=1)
                    try:
                        async with asyncio.timeout(5):
                            await changed.wait()
                    except TimeoutError:
                        continue
                    ha_latency.append((stamps[-1] - sent) / 1e6)
                results["ha_latency"] = ha_latency

                # Service call -> issue -> device -> reply -> service returns.
                from homeassistant.helpers import device_registry as dr  # noqa: PLC0415

                (registered,) = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, uuid)})
                device_id = registered.id
                rtt = []
                for _ in range(samples):
                    started = time.perf_counter_ns()
                    await hass.services.async_call(
                        DOMAIN,
                        "send_command",
                        {"device_id": device_id, "code": "ping"},
                        blocking=True,
                        return_response=True,
                    )
                    rtt.append((time.perf_counter_ns() - started) / 1e6)
                results["service_rtt"] = rtt

            # The floor: the same broker code on the same event loop, with bare paho clients
            # (a broker of its own, so the floor's hub login does not take over the hub's).
            floor = EmbeddedBroker(
                DeviceGate(secret_for={uuid: make_secret(FLOOR)}.get), host="127.0.0.1", port=0
            )
            await floor.start()
            try:
                results["bare_latency"] = await asyncio.to_thread(
                    _bare_latency, floor.port, creds, floor.hub_credentials, report, samples
                )
                results["bare_rtt"] = await asyncio.to_thread(
                    _bare_rtt, floor.port, creds, floor.hub_credentials, issue, response, samples
                )
            finally:
                await floor.stop()
        finally:
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await manager.__aexit__(None, None, None)
    return results


def _bare_latency(
    port: int, creds: Credentials, hub: Credentials, topic: str, count: int
) -> list[float]:
    arrived = threading.Event()
    out: list[float] = []

    def on_message(m: mqtt.MQTTMessage) -> None:
        out.append((time.perf_counter_ns() - int(json.loads(m.payload)["ts"])) / 1e6)
        arrived.set()

    with (
        _paho(port, hub, device_filter(TopicKind.REPORT), on_message),
        _paho(port, creds) as publisher,
    ):
        for _ in range(count):
            arrived.clear()
            publisher.publish(topic, json.dumps({"ts": time.perf_counter_ns()}), qos=1)
            arrived.wait(5)
    return out


def _bare_rtt(
    port: int, creds: Credentials, hub: Credentials, issue: str, response: str, count: int
) -> list[float]:
    answered = threading.Event()
    holder: list[mqtt.Client] = []
    with _paho(port, creds, issue, lambda m: holder[0].publish(response, m.payload, qos=1)) as d:
        holder.append(d)
        with _paho(port, hub, response, lambda m: answered.set()) as hub_client:
            out = []
            for _ in range(count):
                answered.clear()
                started = time.perf_counter_ns()
                hub_client.publish(issue, b"{}", qos=1)
                answered.wait(5)
                out.append((time.perf_counter_ns() - started) / 1e6)
    return out


# --- 3: many devices ---------------------------------------------------------------------------


async def fleet(devices: int, seconds: float) -> dict[str, Any]:
    seeds = [f"e2e-fleet-{i}" for i in range(devices)]
    with tempfile.TemporaryDirectory() as config_dir:
        manager, hass, entry = await _hass_with_hub(config_dir, seeds, "sensor")
        process: subprocess.Popen[str] | None = None
        try:
            await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            hub = entry.runtime_data
            targets = {f"sensor.{s.replace('-', '_')}_temperature" for s in seeds}
            changes = 0

            def on_state(event: Any) -> None:
                nonlocal changes
                old, new = event.data["old_state"], event.data["new_state"]
                if event.data["entity_id"] in targets and old and new:
                    try:
                        if float(old.state) != float(new.state):
                            changes += 1
                    except ValueError:
                        return

            hass.bus.async_listen("state_changed", on_state)
            spec = Path(config_dir, "fleet.yaml")
            spec.write_text(
                yaml.safe_dump(
                    {
                        "devices": [
                            {
                                "uuid": make_uuid(s),
                                "secret": make_secret(s),
                                "kind": "sensor",
                                "report_interval": 1.0,
                                "vary": "temperature",
                            }
                            for s in seeds
                        ]
                    }
                )
            )
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rlink_sim",
                    "--broker",
                    f"127.0.0.1:{hub.broker.port}",
                    "--config",
                    str(spec),
                    "--summary",
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools")])},
                stdout=subprocess.PIPE,
                text=True,
            )
            assert process.stdout is not None
            started = time.perf_counter()
            line = await asyncio.to_thread(process.stdout.readline)
            connect_seconds = time.perf_counter() - started
            assert json.loads(line)["connected"] == devices
            own = psutil.Process()
            cpu0, wall0, changes0 = own.cpu_times(), time.perf_counter(), changes
            peak = 0
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                await asyncio.sleep(1)
                peak = max(peak, own.memory_info().rss)
            cpu1, wall = own.cpu_times(), time.perf_counter() - wall0
            process.terminate()
            summary = json.loads(await asyncio.to_thread(process.stdout.readline))
            await asyncio.sleep(2)
            await hass.async_block_till_done()
            sent = summary["periodic_reports"]  # each one changes the value
            return {
                "devices": devices,
                "seconds": seconds,
                "connect_seconds": connect_seconds,
                "sent": sent,
                "changes": changes,
                "lost": sent - changes,
                "rate": (changes - changes0) / wall,
                "ha_cpu_percent": 100
                * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system))
                / wall,
                "ha_peak_rss_mb": peak / 2**20,
            }
        finally:
            if process is not None and process.poll() is None:
                process.kill()
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await manager.__aexit__(None, None, None)


# --- 4: setup cost -----------------------------------------------------------------------------


async def setup_cost(devices: int) -> dict[str, Any]:
    """Runs in a fresh process: memory and time to set up a hub with `devices` devices."""
    seeds = [f"e2e-setup-{i}" for i in range(devices)]
    with tempfile.TemporaryDirectory() as config_dir:
        manager, hass, entry = await _hass_with_hub(config_dir, seeds, "plug")
        try:
            # Load the integration's code first, so the figures are the entry's own.
            from homeassistant.setup import async_setup_component  # noqa: PLC0415

            await async_setup_component(hass, "sensor", {})
            rss0 = psutil.Process().memory_info().rss
            started = time.perf_counter()
            await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            seconds = time.perf_counter() - started
            rss1 = psutil.Process().memory_info().rss
            return {
                "devices": devices,
                "seconds": seconds,
                "entities": len(hass.states.async_all()),
                "rss_mb": (rss1 - rss0) / 2**20,
            }
        finally:
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await manager.__aexit__(None, None, None)


def _setup_in_subprocess(devices: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.end_to_end", "--setup-only", str(devices)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools")])},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report ------------------------------------------------------------------------------------


def render(r: dict[str, Any]) -> str:
    ha, bare = _ms(r["ha_latency"]), _ms(r["bare_latency"])
    svc, rtt = _ms(r["service_rtt"]), _ms(r["bare_rtt"])
    lines = [
        "# End-to-end benchmark",
        "",
        f"Run {r['when']} on {r['machine']}, Python {r['python']}. Home Assistant "
        f"{r['ha_version']} with the embedded broker in one process; {r['samples']} samples "
        "per latency. Floor: bare paho clients on the same broker in the same run.",
        "",
        "## Latency",
        "",
        "| path | p50 (ms) | p99 (ms) | p50 against the floor |",
        "|---|---|---|---|",
        f"| bare paho publish → receive (floor) | {bare[0]:.2f} | {bare[1]:.2f} | 1.00 |",
        f"| device report → Home Assistant state | {ha[0]:.2f} | {ha[1]:.2f} | "
        f"{ha[0] / bare[0]:.2f} |",
        f"| bare paho round trip (floor) | {rtt[0]:.2f} | {rtt[1]:.2f} | 1.00 |",
        f"| service call → device → reply → service returns | {svc[0]:.2f} | {svc[1]:.2f} | "
        f"{svc[0] / rtt[0]:.2f} |",
    ]
    f = r.get("fleet")
    if f:
        lines += [
            "",
            f"## {f['devices']} devices, one changing report a second each, {f['seconds']:.0f} s",
            "",
            "| connected in (s) | reports sent | HA state changes | lost | state changes/s "
            "| HA process CPU (% of a core) | HA peak RSS (MB) |",
            "|---|---|---|---|---|---|---|",
            f"| {f['connect_seconds']:.1f} | {f['sent']} | {f['changes']} | {f['lost']} "
            f"| {f['rate']:.0f} | {f['ha_cpu_percent']:.0f} | {f['ha_peak_rss_mb']:.0f} |",
        ]
    if r.get("setup"):
        lines += [
            "",
            "## Setup cost (fresh process per size)",
            "",
            "| devices | entities | setup (s) | memory (MB) | ms per device | MB per device |",
            "|---|---|---|---|---|---|",
        ]
        for s in r["setup"]:
            lines.append(
                f"| {s['devices']} | {s['entities']} | {s['seconds']:.2f} | {s['rss_mb']:.0f} "
                f"| {1000 * s['seconds'] / s['devices']:.2f} | {s['rss_mb'] / s['devices']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def run_facts(samples: int) -> dict[str, Any]:
    """When and where a run happened, for the report's first line."""
    from homeassistant.const import __version__  # noqa: PLC0415

    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "ha_version": __version__,
        "samples": samples,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results = run_facts(args.samples)
    print("-- latency and round trips", flush=True)
    results |= await latency_and_rtt(args.samples)
    if args.devices:
        print(f"-- {args.devices} devices for {args.seconds:.0f} s", flush=True)
        results["fleet"] = await fleet(args.devices, args.seconds)
    results["setup"] = []
    for size in args.sizes:
        print(f"-- setup with {size} devices", flush=True)
        results["setup"].append(await asyncio.to_thread(_setup_in_subprocess, size))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--setup-only", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=RESULTS / "end_to_end.md")
    args = parser.parse_args()
    with _quiet():
        if args.setup_only:
            print(json.dumps(asyncio.run(setup_cost(args.setup_only))))
            return
        results = asyncio.run(run(args))
    write_report(render(results), args.output)


if __name__ == "__main__":
    main()
