"""The development instance: Home Assistant with a hub and a simulated house.

``python -m tools.develop`` prepares ``config/`` (configuration, models, the hub's config
entry with one subentry per simulated device), starts Home Assistant, waits for the
device server, and runs the simulated devices until Ctrl-C.

With ``--cloud`` the house lives behind a fake rlink cloud (broker and app REST API) started
here, and Home Assistant gets a cloud account entry for it instead of the hub.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp
from homeassistant.components.http import config as http_config
from homeassistant.config_entries import STORAGE_VERSION, STORAGE_VERSION_MINOR, ConfigEntry
from homeassistant.util import dt as dt_util

from custom_components.rlink.const import (
    CONF_APP_SECRET,
    CONF_DEVICE_ID,
    CONF_HOMES,
    CONF_MODE,
    CONF_PID,
    CONF_REST_URL,
    CONF_SETTINGS,
    CONF_SIGN_METHOD,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_BUCKET,
    CONF_STORE_PUBLIC_URL,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_TYPE,
    CONF_TLS,
    CONF_TLS_INSECURE,
    CONF_UNLOCK_INDEX,
    CONF_UNLOCK_PASSWORD,
    CONF_USER_ID,
    CONF_UUID,
    DOMAIN,
    ENTRY_MINOR_VERSION,
    ENTRY_VERSION,
    MODE_CLOUD,
    SUBENTRY_DEVICE,
)
from custom_components.rlink.protocol.auth import SignMethod, device_credentials
from custom_components.rlink.protocol.session import ConnectError, MqttSession
from tools.rlink_sim import (
    TEMPLATES,
    DeviceConfig,
    Simulator,
    make_secret,
    make_uuid,
    stop_on_signals,
)
from tools.rlink_sim.cloud import (
    DEFAULT_HOME,
    DEFAULT_SECRET,
    DEFAULT_USER,
    FakeCloud,
    device_id_for,
)
from tools.rlink_sim.files import ObjectStore

REPO = Path(__file__).resolve().parents[1]
PORTS_FILE = ".rlink-develop-ports.json"
"""In config/: the ports of the last run, used again so nothing moves between runs."""
MAP_BUCKET = "rlink-maps"
FIRMWARE_RATE = 50_000
"""Bytes a second the simulated devices download firmware at: slow enough to watch."""
FRONT_DOOR_UNLOCK = (901, "develop-front-door")
"""The front door's remote-unlock password (index, password), set in its device options."""
HUB_ENTRY_ID = "01RLINKDEVELOPMENTHUB0000"
CLOUD_ENTRY_ID = "01RLINKDEVELOPMENTCLOUD00"
CONFIGURATION = """\
# The development instance of the rlink integration (created by scripts/develop).
# What a new installation has: Home Assistant's default set of integrations.
# scripts/develop sets the UI's port in .storage/http (8123 when it is free).
default_config:

logger:
  default: info
  logs:
    custom_components.rlink: debug
"""


def house(store_url: str | None = None, clean_seconds: float = 180.0) -> list[DeviceConfig]:
    """A plug, a sensor, a light, a lock, a camera, a vacuum and a gateway with two subs.

    The camera streams and raises an alarm with a photo every few minutes; the vacuum
    cleans for `clean_seconds` and uploads its map to the object store at `store_url`."""

    def make(kind: str, name: str, **kwargs: Any) -> DeviceConfig:
        seed = f"develop/{name}"
        return DeviceConfig(
            make_uuid(seed),
            make_secret(seed),
            kind=kind,
            name=name,
            download_rate=FIRMWARE_RATE,
            **kwargs,
        )

    return [
        make("plug", "Kitchen plug", report_interval=30),
        make("sensor", "Living room sensor", report_interval=30),
        make("light", "Desk light"),
        make("lock", "Front door", remote_unlock=FRONT_DOOR_UNLOCK),
        make("camera", "Doorbell", ip="127.0.0.1", event_interval=180),
        make("vacuum", "Robot vacuum", clean_seconds=clean_seconds, store_url=store_url),
        make(
            "gateway",
            "Gateway",
            sub_devices=[make("sensor", "Bedroom sensor"), make("plug", "Heater plug")],
        ),
    ]


def _all(devices: list[DeviceConfig]) -> list[DeviceConfig]:
    """The devices and their sub-devices."""
    return [c for d in devices for c in (d, *_all(d.sub_devices))]


def free_port(preferred: int, *fallbacks: int) -> int:
    for port in (*fallbacks, preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))  # noqa: S104 - the broker listens everywhere
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def ports(config: Path, wanted: dict[str, int]) -> dict[str, int]:
    """The ports of the last run where they are still free, else the wanted ones (or any
    free one); stored for the next run."""
    path = config / PORTS_FILE
    try:
        stored = json.loads(path.read_text())
    except OSError, ValueError:
        stored = {}
    chosen: dict[str, int] = {}
    for name, preferred in wanted.items():
        last = stored.get(name)
        fallbacks = [last] if isinstance(last, int) and last not in chosen.values() else []
        port = free_port(preferred, *fallbacks)
        while port in chosen.values():
            port = free_port(0)
        chosen[name] = port
    config.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**stored, **chosen}, indent=2))
    return chosen


def _entry(
    entry_id: str,
    title: str,
    data: dict[str, Any],
    unique_id: str,
    subentries: list[tuple[str, str, dict[str, Any]]],
) -> dict[str, Any]:
    """A config entry as Home Assistant stores it; subentries are (unique id, title, data)."""
    entry = ConfigEntry(
        entry_id=entry_id,
        domain=DOMAIN,
        title=title,
        data=data,
        options={},
        source="user",
        version=ENTRY_VERSION,
        minor_version=ENTRY_MINOR_VERSION,
        unique_id=unique_id,
        discovery_keys=MappingProxyType({}),
        subentries_data=[
            {
                "data": sub_data,
                "subentry_id": f"01RLINKDEV{sub_id[-12:].upper()}",
                "subentry_type": SUBENTRY_DEVICE,
                "title": sub_title,
                "unique_id": sub_id,
            }
            for sub_id, sub_title, sub_data in subentries
        ],
    )
    return entry.as_dict()  # type: ignore[return-value]


def device_settings(config: DeviceConfig, store: ObjectStore | None) -> dict[str, Any]:
    """What a device's settings steps would save on its subentry: a vacuum's map storage,
    a lock's remote-unlock password."""
    settings: dict[str, Any] = {}
    if store is not None and config.kind == "vacuum":
        settings |= {
            CONF_STORE_TYPE: "S3",
            CONF_STORE_BUCKET: store.bucket,
            CONF_STORE_ACCESS_KEY: store.access_key,
            CONF_STORE_SECRET_KEY: store.secret_key,
            CONF_STORE_PUBLIC_URL: store.public_url,
        }
    if config.remote_unlock is not None:
        index, password = config.remote_unlock
        settings |= {CONF_UNLOCK_INDEX: index, CONF_UNLOCK_PASSWORD: password}
    return {CONF_SETTINGS: settings} if settings else {}


def hub_entry(
    port: int, devices: list[DeviceConfig], store: ObjectStore | None = None
) -> dict[str, Any]:
    """The local hub on the device server, with the house's devices and their settings
    (the vacuums' maps going to `store`)."""

    return _entry(
        HUB_ENTRY_ID,
        "rlink development hub",
        {CONF_MODE: "local", "broker": "embedded", "port": port},
        f"embedded:{port}",
        [
            (
                d.uuid,
                d.name or d.kind,
                {
                    "uuid": d.uuid,
                    "secret": d.secret,
                    "pid": d.product_id,
                    **device_settings(d, store),
                },
            )
            for d in devices
        ],
    )


def cloud_entry(port: int, rest_port: int, devices: list[DeviceConfig]) -> dict[str, Any]:
    """A cloud account on the fake cloud. Only the top-level devices are added by hand;
    the sub-devices arrive the way a real account learns of them, as bind results."""
    return _entry(
        CLOUD_ENTRY_ID,
        "rlink development cloud",
        {
            CONF_MODE: MODE_CLOUD,
            CONF_USER_ID: DEFAULT_USER,
            CONF_APP_SECRET: DEFAULT_SECRET,
            CONF_SIGN_METHOD: str(SignMethod.HMAC_SHA256),
            "host": "127.0.0.1",
            "port": port,
            CONF_TLS: False,
            CONF_TLS_INSECURE: False,
            CONF_REST_URL: f"http://127.0.0.1:{rest_port}",
            CONF_HOMES: [DEFAULT_HOME],
        },
        f"{DEFAULT_USER}@127.0.0.1:{port}",
        [
            (
                device_id_for(d.uuid),
                d.name or d.kind,
                {CONF_DEVICE_ID: device_id_for(d.uuid), CONF_UUID: d.uuid, CONF_PID: d.product_id},
            )
            for d in devices
        ],
    )


def set_http_port(config: Path, port: int) -> None:
    """The UI's port lives in Home Assistant's HTTP store (its YAML form is deprecated)."""
    storage = config / ".storage" / http_config.STORAGE_KEY
    if storage.exists():
        stored = json.loads(storage.read_text())
    else:
        now = dt_util.utcnow().isoformat()
        stable = {**http_config.HTTP_STORAGE_SCHEMA({}), "created_at": now}
        stored = {
            "version": http_config.STORAGE_VERSION,
            "minor_version": http_config.STORAGE_MINOR_VERSION,
            "key": http_config.STORAGE_KEY,
            "data": {
                http_config.KEY_STABLE: {**stable, "error": None, "error_message": None},
                http_config.KEY_YAML_MIGRATION_DONE: True,
            },
        }
    stored["data"][http_config.KEY_STABLE][http_config.CONF_SERVER_PORT] = port
    stored["data"][http_config.KEY_PENDING] = None
    storage.write_text(json.dumps(stored, indent=2))


def prepare(config: Path, entry: dict[str, Any], http_port: int) -> None:
    """Write everything Home Assistant needs to start with `entry` (hub or cloud) configured."""
    (config / ".storage").mkdir(parents=True, exist_ok=True)
    set_http_port(config, http_port)
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
    # One of the two at a time: the other's devices would only show as unavailable.
    ours = {HUB_ENTRY_ID, CLOUD_ENTRY_ID}
    entries = [e for e in entries if e["entry_id"] not in ours] + [entry]
    forget_registries(config, ours - {entry["entry_id"]})
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


def forget_registries(config: Path, entry_ids: set[str]) -> None:
    """Drop the other mode's devices and entities from Home Assistant's registries, so the
    house's entities keep their ids (no `_2`) when switching between hub and cloud."""
    for key, live, deleted in (
        ("core.entity_registry", "entities", "deleted_entities"),
        ("core.device_registry", "devices", "deleted_devices"),
    ):
        path = config / ".storage" / key
        if not path.exists():
            continue
        stored = json.loads(path.read_text())
        data = stored["data"]
        for field in (live, deleted):
            data[field] = [
                item
                for item in data.get(field, [])
                if item.get("config_entry_id") not in entry_ids
                and not set(item.get("config_entries") or []) & entry_ids
            ]
        path.write_text(json.dumps(stored, indent=2))


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


async def _wait_for_app(cloud: FakeCloud, process: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait until Home Assistant's cloud account has logged in to the fake cloud."""
    async with asyncio.timeout(seconds):
        while not cloud.app_logins:
            if process.poll() is not None:
                raise SystemExit(f"Home Assistant exited with status {process.returncode}")
            await asyncio.sleep(0.5)


async def _until_stopped(process: subprocess.Popen[bytes]) -> None:
    stop = stop_on_signals()
    while not stop.is_set() and process.poll() is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1)


def _start_home_assistant(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "homeassistant", "-c", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


async def _wait_for_ui(http_port: int, process: subprocess.Popen[bytes], seconds: float) -> str:
    """Wait until Home Assistant serves its frontend; return the address to open."""
    url = f"http://127.0.0.1:{http_port}"
    async with asyncio.timeout(seconds), aiohttp.ClientSession() as client:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"Home Assistant exited with status {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with client.get(f"{url}/manifest.json") as response:
                    if response.status == 200:
                        return url
            await asyncio.sleep(0.5)


async def _stop_home_assistant(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        await asyncio.to_thread(process.wait, 60)


async def run_hub(
    config: Path, port: int, http_port: int, devices: list[DeviceConfig], store: ObjectStore
) -> None:
    """Home Assistant's device server first, then the house connects to it."""
    await store.start()
    process = _start_home_assistant(config)
    try:
        logging.info("Waiting for Home Assistant and its device server on port %d", port)
        await _wait_for_broker(port, devices[0], process, 600)
        url = await _wait_for_ui(http_port, process, 600)
        async with Simulator("127.0.0.1", port, devices):
            logging.info("The simulated house is connected. Open %s", url)
            await _until_stopped(process)
    finally:
        await _stop_home_assistant(process)
        await store.stop()


async def run_cloud(
    config: Path, port: int, rest_port: int, http_port: int, devices: list[DeviceConfig]
) -> None:
    """The fake cloud and its house first, then Home Assistant logs in to it as an app."""
    async with FakeCloud(devices, mqtt_port=port, rest_port=rest_port) as cloud:
        # Something for rlink.cloud_group_control and rlink.cloud_execute_scene to act on.
        plugs = [cloud.device_id(d.uuid) for d in _all(devices) if d.kind == "plug"]
        cloud.groups["plugs"] = plugs
        cloud.scenes["all-off"] = [(device_id, {"switch": 0}) for device_id in plugs]
        process = _start_home_assistant(config)
        try:
            logging.info("Waiting for Home Assistant to log in to the fake cloud")
            await _wait_for_app(cloud, process, 600)
            url = await _wait_for_ui(http_port, process, 600)
            logging.info("The cloud account is connected. Open %s", url)
            await _until_stopped(process)
        finally:
            await _stop_home_assistant(process)


def main() -> None:
    parser = argparse.ArgumentParser(prog="develop", description=__doc__)
    parser.add_argument("--config", type=Path, default=REPO / "config")
    parser.add_argument("--port", type=int, default=1883, help="preferred broker port")
    parser.add_argument(
        "--cloud", action="store_true", help="a cloud account on a fake rlink cloud, not a hub"
    )
    parser.add_argument(
        "--rest-port", type=int, default=8180, help="preferred REST port of the fake cloud"
    )
    parser.add_argument(
        "--http-port", type=int, default=8123, help="preferred port of Home Assistant's UI"
    )
    parser.add_argument(
        "--store-port", type=int, default=8190, help="preferred port of the vacuum's map store"
    )
    parser.add_argument(
        "--clean-seconds",
        type=float,
        default=180.0,
        help="how long the simulated vacuum's cleaning run takes",
    )
    parser.add_argument(
        "--prepare-only", action="store_true", help="write config/ and exit without starting"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s develop: %(message)s")
    chosen = ports(
        args.config,
        {
            "broker": args.port,
            "http": args.http_port,
            "rest": args.rest_port,
            "store": args.store_port,
        },
    )
    port, http_port, rest_port = chosen["broker"], chosen["http"], chosen["rest"]
    store = ObjectStore(MAP_BUCKET, port=chosen["store"], root=args.config / "rlink-object-store")
    devices = house(store.url, args.clean_seconds)
    if args.cloud:
        prepare(args.config, cloud_entry(port, rest_port, devices), http_port)
        logging.info(
            "config/ is ready (cloud account: MQTT port %d, REST port %d)", port, rest_port
        )
    else:
        prepare(args.config, hub_entry(port, devices, store), http_port)
        logging.info("config/ is ready (hub on port %d, %d devices)", port, len(devices))
    if args.prepare_only:
        return
    if args.cloud:
        asyncio.run(run_cloud(args.config, port, rest_port, http_port, devices))
    else:
        asyncio.run(run_hub(args.config, port, http_port, devices, store))


if __name__ == "__main__":
    main()
