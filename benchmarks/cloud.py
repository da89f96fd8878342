"""Cloud-account benchmark: Home Assistant as an rlink app, against the simulated cloud.

The simulated cloud (``python -m rlink_sim --cloud``: its broker, REST server and one plug)
runs in a process of its own, as a real cloud would be elsewhere. In this process, first
Home Assistant with a cloud account, then a bare app, do the same two things through it:

1. report: a `propsReport` call comes back as a `property_change` notification
   (Home Assistant: `rlink.cloud_report_properties` → sensor state);
2. write: `propsIssue` → device → report → `property_change`
   (Home Assistant: `switch.turn_on` / `turn_off` → switch state).

The bare app is an aiohttp POST signed like the integration's and a paho client driven by
this event loop (no thread), so the ratio is what the integration adds to the same work.

Run ``scripts/bench`` (or ``python -m benchmarks.cloud --help``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import paho.mqtt.client as mqtt
import yaml

import custom_components  # noqa: F401 - must be imported before Home Assistant's loader looks
from benchmarks.end_to_end import RESULTS, ROOT, env, load_average, ms, run_facts, write_report
from benchmarks.rows import free_port
from custom_components.rlink.const import DOMAIN
from custom_components.rlink.protocol import rest
from custom_components.rlink.protocol.auth import Credentials, app_credentials
from custom_components.rlink.protocol.topics import TopicKind, app_topic
from tools.rlink_sim import make_secret, make_uuid
from tools.rlink_sim.cloud import device_id_for

UUID = make_uuid("bench-cloud")
DEVICE_ID = device_id_for(UUID)

type Step = Callable[[int], Awaitable[Any]]


# --- the simulated cloud, in its own process ------------------------------------------------


@asynccontextmanager
async def cloud_process(config_dir: str) -> AsyncIterator[dict[str, Any]]:
    """Start the command-line cloud with one plug; yields the account it prints."""
    spec = Path(config_dir, "cloud.yaml")
    device = {"uuid": UUID, "secret": make_secret("bench-cloud"), "kind": "plug"}
    spec.write_text(yaml.safe_dump({"devices": [device]}))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rlink_sim",
        "--cloud",
        "--broker",
        f"127.0.0.1:{free_port()}",
        "--rest-port",
        str(free_port()),
        "--config",
        str(spec),
        "--summary",
        cwd=ROOT,
        env=env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        yield json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
    finally:
        process.terminate()
        await process.wait()


# --- measuring ------------------------------------------------------------------------------


async def _timed(samples: int, act: Step, arrived: asyncio.Event) -> list[float]:
    """Milliseconds from the start of `act(i)` to `arrived`, for samples that arrive in 5 s."""
    out = []
    for i in range(samples):
        arrived.clear()
        started = time.perf_counter_ns()
        await act(i)
        try:
            async with asyncio.timeout(5):
                await arrived.wait()
        except TimeoutError:
            continue
        out.append((time.perf_counter_ns() - started) / 1e6)
    return out


def _power(i: int) -> float:
    return round(10 + (i % 500) / 10, 1)  # differs from the one before


def _switch(i: int) -> int:
    return 1 if i % 2 == 0 else 0


# --- through Home Assistant -----------------------------------------------------------------


async def through_home_assistant(account: dict[str, Any], samples: int) -> dict[str, Any]:
    from homeassistant.helpers import device_registry as dr  # noqa: PLC0415
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

    from benchmarks.rows import home_assistant  # noqa: PLC0415

    host, _, port = account["mqtt"].rpartition(":")
    with tempfile.TemporaryDirectory() as config_dir:
        async with home_assistant(config_dir) as hass:
            from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
                MockConfigEntry,
            )

            entry = MockConfigEntry(
                domain=DOMAIN,
                data={
                    "mode": "cloud",
                    "user_id": account["user_id"],
                    "app_secret": account["app_secret"],
                    "sign_method": "hmacSha256",
                    "host": host,
                    "port": int(port),
                    "tls": False,
                    "tls_insecure": False,
                    "rest_url": account["rest_url"],
                    "homes": [account["home"]],
                },
                unique_id=f"{account['user_id']}@{account['mqtt']}",
            )
            entry.add_to_hass(hass)
            await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            try:
                entities = er.async_get(hass)
                async with asyncio.timeout(30):  # the registry has no event to wait on
                    while (  # noqa: ASYNC110
                        switch := entities.async_get_entity_id(
                            "switch", DOMAIN, f"{DEVICE_ID}_switch"
                        )
                    ) is None or (
                        power := entities.async_get_entity_id(
                            "sensor", DOMAIN, f"{DEVICE_ID}_power"
                        )
                    ) is None:
                        await asyncio.sleep(0.1)
                (device,) = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, DEVICE_ID)})
                changed = {switch: asyncio.Event(), power: asyncio.Event()}

                def on_state(event: Any) -> None:
                    if (waiter := changed.get(event.data["entity_id"])) is not None:
                        waiter.set()

                hass.bus.async_listen("state_changed", on_state)

                async def report(i: int) -> None:
                    await hass.services.async_call(
                        DOMAIN,
                        "cloud_report_properties",
                        {"device_id": device.id, "properties": {"power": _power(i)}},
                        blocking=True,
                    )

                async def write(i: int) -> None:
                    service = "turn_on" if _switch(i) else "turn_off"
                    await hass.services.async_call(
                        "switch", service, {"entity_id": switch}, blocking=True
                    )

                await write(1)  # start from off, whatever the plug said first
                await asyncio.sleep(0.5)
                return {
                    "ha_report": await _timed(samples, report, changed[power]),
                    "ha_write": await _timed(samples, write, changed[switch]),
                }
            finally:
                await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_block_till_done()


# --- the bare app ---------------------------------------------------------------------------


@asynccontextmanager
async def loop_driven_paho(
    host: str, port: int, creds: Credentials, topic: str, on_message: Callable[[bytes], None]
) -> AsyncIterator[mqtt.Client]:
    """A paho client whose socket this event loop serves, subscribed to `topic`."""
    loop = asyncio.get_running_loop()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=creds.client_id)
    client.username_pw_set(creds.username, creds.password)
    subscribed = loop.create_future()
    client.on_message = lambda _c, _u, m: on_message(m.payload)
    client.on_subscribe = lambda *_a: subscribed.done() or subscribed.set_result(None)
    client.on_socket_open = lambda c, _u, sock: loop.add_reader(sock, c.loop_read)
    client.on_socket_close = lambda _c, _u, sock: loop.remove_reader(sock)
    client.on_socket_register_write = lambda c, _u, sock: loop.add_writer(sock, c.loop_write)
    client.on_socket_unregister_write = lambda _c, _u, sock: loop.remove_writer(sock)
    client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
    client.connect(host, port, 60)
    client.socket().setsockopt(6, 1, 1)  # TCP_NODELAY, as the session does

    async def housekeeping() -> None:
        # paho's keep-alive and retries want a call every second, not an event.
        while client.loop_misc() == mqtt.MQTT_ERR_SUCCESS:  # noqa: ASYNC110
            await asyncio.sleep(1)

    misc = asyncio.create_task(housekeeping())
    try:
        await asyncio.wait_for(subscribed, 10)
        yield client
    finally:
        misc.cancel()
        client.disconnect()


async def bare_app(account: dict[str, Any], samples: int) -> dict[str, Any]:
    host, _, port = account["mqtt"].rpartition(":")
    arrived = asyncio.Event()
    expected: list[dict[str, Any]] = [{}]

    def on_message(payload: bytes) -> None:
        for device in (json.loads(payload).get("data") or {}).get("devices") or []:
            if device.get("properties") == expected[0]:
                arrived.set()

    creds = app_credentials(account["user_id"], account["app_secret"])
    topic = app_topic(TopicKind.NOTIFY, account["home"])
    async with (
        loop_driven_paho(host, int(port), creds, topic, on_message),
        aiohttp.ClientSession() as http,
    ):
        client = rest.RestClient(
            http, account["rest_url"], account["user_id"], account["app_secret"]
        )

        async def report(i: int) -> None:
            expected[0] = {"power": _power(i)}
            await client.call(rest.props_report(DEVICE_ID, expected[0]))

        async def write(i: int) -> None:
            expected[0] = {"switch": _switch(i)}
            await client.call(rest.props_issue(DEVICE_ID, expected[0]))

        return {
            "bare_report": await _timed(samples, report, arrived),
            "bare_write": await _timed(samples, write, arrived),
        }


# --- report ---------------------------------------------------------------------------------

ROWS = (
    ("report", "propsReport → notification", "rlink.cloud_report_properties → sensor state"),
    ("write", "propsIssue → device → notification", "switch service → switch state"),
)


def render(r: dict[str, Any]) -> str:
    lines = [
        "# Cloud-account benchmark",
        "",
        f"Run {r['when']} on {r['machine']}, Python {r['python']}, Home Assistant "
        f"{r['ha_version']}; {r['samples']} samples per path. Load average (1 / 5 / 15 min) "
        f"{r['load_before']} before, {r['load_after']} after. The simulated rlink cloud and "
        "its plug run in their own process. Floor: a bare app (aiohttp POST, paho on the "
        "event loop) through the same cloud in the same run.",
        "",
        "| path | p50 (ms) | p99 (ms) | arrived | p50 against the floor |",
        "|---|---|---|---|---|",
    ]
    for key, bare_name, ha_name in ROWS:
        ha, bare = r[f"ha_{key}"], r[f"bare_{key}"]
        (ha50, ha99), (bare50, bare99) = ms(ha), ms(bare)
        lines += [
            f"| bare app: {bare_name} (floor) | {bare50:.2f} | {bare99:.2f} | {len(bare)} | 1.00 |",
            f"| Home Assistant: {ha_name} | {ha50:.2f} | {ha99:.2f} | {len(ha)} "
            f"| {ha50 / bare50:.2f} |",
        ]
    return "\n".join(lines) + "\n"


async def run(samples: int) -> dict[str, Any]:
    results = run_facts() | {"samples": samples}
    with tempfile.TemporaryDirectory() as config_dir:
        async with cloud_process(config_dir) as account:
            print("-- through Home Assistant", flush=True)
            results |= await through_home_assistant(account, samples)
            print("-- bare app", flush=True)
            results |= await bare_app(account, samples)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--output", type=Path, default=RESULTS / "cloud.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(run(args.samples))
    results["load_after"] = load_average()
    write_report(render(results), args.output)


if __name__ == "__main__":
    main()
