"""Run simulated devices: ``python -m rlink_sim --broker HOST:PORT --config devices.yaml``.

With ``--cloud`` the devices get a small rlink cloud of their own instead: its device server listens
on ``--broker``, its app REST API on ``--rest-port``, and an app (the integration's cloud
account) logs in with the user id, secret and home it prints.

The YAML file lists devices; ``count`` repeats an entry with derived uuids and secrets:

    devices:
      - {uuid: rn014ebe0C20E122, secret: ef958e891ffa4c72ba6c64e73c5dd422, kind: plug}
      - {kind: sensor, count: 10, report_interval: 30}
      - kind: gateway
        sub_devices: [{kind: sensor}, {kind: light}]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import yaml

from . import Simulator, stop_on_signals
from .cloud import DEFAULT_HOME, DEFAULT_SECRET, DEFAULT_USER, FakeCloud
from .device import DeviceConfig, make_secret, make_uuid
from .templates import TEMPLATES


def _configs(entries: list[dict[str, Any]], prefix: str) -> list[DeviceConfig]:
    configs = []
    for position, raw in enumerate(entries):
        entry = dict(raw)
        count = int(entry.pop("count", 1))
        kind = entry.get("kind", "plug")
        if kind not in TEMPLATES:
            raise SystemExit(f"unknown kind {kind!r}; known: {', '.join(TEMPLATES)}")
        for index in range(count):
            seed = f"{prefix}{position}.{index}"
            config = {**entry}
            subs = config.pop("sub_devices", [])
            found = config.pop("found_devices", [])
            if count > 1 or "uuid" not in config:
                config["uuid"] = make_uuid(seed)
                config["secret"] = make_secret(seed)
            configs.append(
                DeviceConfig(
                    **config,
                    sub_devices=_configs(subs, f"{seed}/"),
                    found_devices=_configs(found, f"{seed}+"),
                )
            )
    return configs


def load(path: Path) -> list[DeviceConfig]:
    data = yaml.safe_load(path.read_text()) or {}
    return _configs(list(data.get("devices") or []), "")


async def run(host: str, port: int, devices: list[DeviceConfig], summary: bool = False) -> None:
    stop = stop_on_signals()
    async with Simulator(host, port, devices) as sim:
        logging.info("%d simulated devices connected to %s:%d", len(devices), host, port)
        for device in devices:
            logging.debug("  %-8s %s  secret %s", device.kind, device.uuid, device.secret)
        if summary:
            print(json.dumps({"connected": len(devices)}), flush=True)
        await stop.wait()
    if summary:  # for benchmarks driving the simulator from another process
        sent = sum(d.reports_sent for d in sim.devices.values())
        periodic = sum(d.periodic_reports for d in sim.devices.values())
        print(json.dumps({"reports_sent": sent, "periodic_reports": periodic}), flush=True)


async def run_cloud(cloud: FakeCloud, summary: bool = False) -> None:
    stop = stop_on_signals()
    async with cloud:
        account = {
            "user_id": cloud.user_id,
            "app_secret": cloud.secret,
            "home": cloud.home,
            "mqtt": f"{cloud.host}:{cloud.mqtt_port}",
            "rest_url": cloud.rest_url,
        }
        logging.info("fake rlink cloud with %d devices: %s", len(cloud.devices), account)
        for device in cloud.devices.values():
            logging.info(
                "  %-8s deviceId %s  uuid %s",
                device.config.kind,
                device.device_id,
                device.config.uuid,
            )
        if summary:
            print(json.dumps(account), flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="rlink_sim", description="Simulated rlink devices")
    parser.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT")
    parser.add_argument("--config", type=Path, required=True, help="devices YAML file")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--summary", action="store_true", help="print JSON lines when connected and at exit"
    )
    cloud = parser.add_argument_group("fake cloud (--cloud)")
    cloud.add_argument("--cloud", action="store_true", help="run a fake rlink cloud for them")
    cloud.add_argument("--rest-port", type=int, default=8080, help="its REST API's port")
    cloud.add_argument("--user", default=DEFAULT_USER, help="the account's user id")
    cloud.add_argument("--secret", default=DEFAULT_SECRET, help="the account's app secret")
    cloud.add_argument("--home", default=DEFAULT_HOME, help="the home (asset id)")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    host, _, port = args.broker.rpartition(":")
    devices = load(args.config)
    if args.cloud:
        fake = FakeCloud(
            devices,
            user_id=args.user,
            secret=args.secret,
            home=args.home,
            host=host or "127.0.0.1",
            mqtt_port=int(port),
            rest_port=args.rest_port,
        )
        asyncio.run(run_cloud(fake, args.summary))
    else:
        asyncio.run(run(host or "127.0.0.1", int(port), devices, args.summary))


if __name__ == "__main__":
    main()
