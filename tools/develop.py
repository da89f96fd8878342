"""The development instance: Home Assistant with a hub and a simulated house.

``python -m tools.develop`` prepares ``config/`` (configuration, models, the hub's config
entry with one subentry per simulated device), starts Home Assistant, waits for the
embedded broker, and runs the simulated devices until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import STORAGE_VERSION, STORAGE_VERSION_MINOR, ConfigEntry

from custom_components.rlink.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.session import ConnectError, MqttSession
from tools.rlink_sim import TEMPLATES, DeviceConfig, Simulator, make_secret, make_uuid

REPO = Path(__file__).resolve().parents[1]
HUB_ENTRY_ID = "01RLINKDEVELOPMENTHUB0000"
CONFIGURATION = """\
# The development instance of the rlink integration (created by scripts/develop).
# A light set of Home Assistant's own integrations: the UI, history and the sun.
frontend:
config:
history:
logbook:
sun:

logger:
  default: info
  logs:
    custom_components.rlink: debug
"""


def house() -> list[DeviceConfig]:
    """A plug, a sensor, a light, a lock, a camera, a vacuum and a gateway with two subs."""

    def make(kind: str, name: str, **kwargs: Any) -> DeviceConfig:
        seed = f"develop/{name}"
        return DeviceConfig(make_uuid(seed), make_secret(seed), kind=kind, name=name, **kwargs)

    return [
        make("plug", "Kitchen plug", report_interval=30),
        make("sensor", "Living room sensor", report_interval=30),
        make("light", "Desk light"),
        make("lock", "Front door"),
        make("camera", "Doorbell"),
        make("vacuum", "Robot vacuum"),
        make(
            "gateway",
            "Gateway",
            sub_devices=[make("sensor", "Bedroom sensor"), make("plug", "Heater plug")],
        ),
    ]


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))  # noqa: S104 - the broker listens everywhere
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def _entry(port: int, devices: list[DeviceConfig]) -> dict[str, Any]:
    entry = ConfigEntry(
        entry_id=HUB_ENTRY_ID,
        domain=DOMAIN,
        title="rlink development hub",
        data={"mode": "local", "broker": "embedded", "port": port},
        options={},
        source="user",
        version=1,
        minor_version=1,
        unique_id=f"embedded:{port}",
        discovery_keys=MappingProxyType({}),
        subentries_data=[
            {
                "data": {"uuid": d.uuid, "secret": d.secret, "pid": d.product_id},
                "subentry_id": f"01RLINKDEV{d.uuid[-12:].upper()}",
                "subentry_type": SUBENTRY_DEVICE,
                "title": d.name or d.kind,
                "unique_id": d.uuid,
            }
            for d in devices
        ],
    )
    return entry.as_dict()  # type: ignore[return-value]


def prepare(config: Path, port: int, devices: list[DeviceConfig]) -> None:
    """Write everything Home Assistant needs to start with the hub configured."""
    (config / ".storage").mkdir(parents=True, exist_ok=True)
    if not (config / "configuration.yaml").exists():
        (config / "configuration.yaml").write_text(CONFIGURATION)
    link = config / "custom_components"
    if not link.exists():
        link.symlink_to(REPO / "custom_components", target_is_directory=True)
    models = config / "rlink" / "models"
    models.mkdir(parents=True, exist_ok=True)
    for template in TEMPLATES.values():
        (models / f"{template.pid}.json").write_text(json.dumps(template.model(), indent=2))
    storage = config / ".storage" / "core.config_entries"
    entries: list[dict[str, Any]] = []
    if storage.exists():
        entries = json.loads(storage.read_text())["data"]["entries"]
    entries = [e for e in entries if e["entry_id"] != HUB_ENTRY_ID] + [_entry(port, devices)]
    storage.write_text(
        json.dumps(
            {
                "version": STORAGE_VERSION,
                "minor_version": STORAGE_VERSION_MINOR,
                "key": "core.config_entries",
                "data": {"entries": entries},
            },
            indent=2,
            default=str,
        )
    )


async def _wait_for_broker(
    port: int, device: DeviceConfig, process: subprocess.Popen[bytes], seconds: float
) -> None:
    """Log in as one of the house's devices until Home Assistant's broker accepts it."""
    async with asyncio.timeout(seconds):
        while True:
            if process.poll() is not None:
                raise SystemExit(f"Home Assistant exited with status {process.returncode}")
            probe = MqttSession(
                "127.0.0.1",
                port,
                lambda: device_credentials(device.uuid, device.secret),
                connect_timeout=5,
                name="develop probe",
            )
            try:
                await probe.connect()
            except ConnectError:
                await asyncio.sleep(0.5)
                continue
            finally:
                await probe.close()
            return


async def run(config: Path, port: int, devices: list[DeviceConfig]) -> None:
    process = subprocess.Popen(  # noqa: ASYNC220 - a long-running child, waited on below
        [sys.executable, "-m", "homeassistant", "-c", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        logging.info("Waiting for Home Assistant and its embedded broker on port %d", port)
        await _wait_for_broker(port, devices[0], process, 600)
        async with Simulator("127.0.0.1", port, devices):
            logging.info("The simulated house is connected. Open http://localhost:8123")
            while not stop.is_set() and process.poll() is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)
    finally:
        if process.poll() is None:
            process.terminate()
            await asyncio.to_thread(process.wait, 60)


def main() -> None:
    parser = argparse.ArgumentParser(prog="develop", description=__doc__)
    parser.add_argument("--config", type=Path, default=REPO / "config")
    parser.add_argument("--port", type=int, default=1883, help="preferred broker port")
    parser.add_argument(
        "--prepare-only", action="store_true", help="write config/ and exit without starting"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s develop: %(message)s")
    port = free_port(args.port)
    devices = house()
    prepare(args.config, port, devices)
    logging.info("config/ is ready (hub on port %d, %d devices)", port, len(devices))
    if not args.prepare_only:
        asyncio.run(run(args.config, port, devices))


if __name__ == "__main__":
    main()
