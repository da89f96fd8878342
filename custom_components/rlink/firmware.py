"""Firmware files the user provides, served to devices over Home Assistant's HTTP server.

A file in ``<config>/rlink/firmware/<pid>/`` is a firmware for that product. Its version
comes from a JSON sidecar (``<file>.json`` with ``version`` and optionally ``firmware_type``)
or from the file name (``plug_v1.2.3.bin``). Installing sends `ota` with a signed, expiring
URL of the file on Home Assistant, its size and MD5; the device downloads it from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import uuid as uuid_lib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import probatio
from aiohttp import web
from awesomeversion import AwesomeVersion, AwesomeVersionException
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .device import RlinkDevice
from .protocol.codes import DeviceCommand as Cmd
from .service_targets import Handler

if TYPE_CHECKING:
    from .coordinator import RlinkCoordinator

_LOGGER = logging.getLogger(__name__)

DATA_FIRMWARE: Final[HassKey[FirmwareCatalog]] = HassKey(f"{DOMAIN}_firmware")
URL_BASE: Final = "/api/rlink/firmware"
LINK_LIFETIME: Final = timedelta(hours=2)
INSTALL_TIMEOUT: Final = 900.0
SILENCE_WINDOW: Final = 10.0
STANDARD_FIRMWARE: Final = 2
_VERSION_IN_NAME: Final = re.compile(r"[vV_-](\d+(?:\.\d+)+)(?=[^\d]*$)")
_CHUNK: Final = 1 << 16

# resCode of a failed `ota_progress` -> translation key of the reason.
OTA_ERRORS: Final[Mapping[int, str]] = {
    -1: "download_timeout",
    -2: "file_missing",
    -3: "link_expired",
    -4: "md5_mismatch",
    -5: "install_failed",
}


@dataclass(frozen=True)
class FirmwareFile:
    pid: str
    version: str
    name: str
    path: Path
    size: int
    md5: str
    firmware_type: int = STANDARD_FIRMWARE


def _version_key(version: str) -> AwesomeVersion:
    return AwesomeVersion(version)


def newer(candidate: str, installed: str | None) -> bool:
    if installed is None:
        return True
    try:
        return _version_key(candidate) > _version_key(installed)
    except AwesomeVersionException:
        return candidate != installed


def _md5(path: Path) -> str:
    digest = hashlib.md5()  # noqa: S324 - the protocol's checksum, not a security measure
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(pid: str, path: Path) -> FirmwareFile | None:
    sidecar = path.with_name(path.name + ".json")
    meta: dict[str, Any] = {}
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text())
        except ValueError:
            _LOGGER.warning("Ignoring %s: not valid JSON", sidecar)
    version = meta.get("version")
    if not isinstance(version, str):
        found = _VERSION_IN_NAME.search(path.stem + path.suffix)
        version = found.group(1) if found else None
    if not version:
        _LOGGER.warning("Ignoring firmware %s: no version in its name or a sidecar", path)
        return None
    firmware_type = meta.get("firmware_type", STANDARD_FIRMWARE)
    return FirmwareFile(
        pid,
        version,
        path.name,
        path,
        path.stat().st_size,
        _md5(path),
        firmware_type if firmware_type in (1, 2, 3) else STANDARD_FIRMWARE,
    )


def scan(root: Path) -> dict[str, list[FirmwareFile]]:
    """Every firmware under `root`, per product, newest first. Blocking: run in the executor."""
    found: dict[str, list[FirmwareFile]] = {}
    if not root.is_dir():
        return found
    for product in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [
            described
            for path in sorted(product.iterdir())
            if path.is_file() and path.suffix != ".json"
            if (described := _describe(product.name, path)) is not None
        ]
        files.sort(key=lambda f: _version_key(f.version), reverse=True)
        if files:
            found[product.name] = files
    return found


type Signature = frozenset[tuple[str, int, int]]


def signature(root: Path) -> Signature:
    """Name, size and modification time of every file under `root` (cheap: no reading).
    Blocking: run in the executor."""
    if not root.is_dir():
        return frozenset()
    found = set()
    for product in root.iterdir():
        if product.is_dir():
            for path in product.iterdir():
                with contextlib.suppress(OSError):
                    stat = path.stat()
                    found.add((f"{product.name}/{path.name}", stat.st_size, stat.st_mtime_ns))
    return frozenset(found)


class FirmwareCatalog:
    """The firmware files on disk. `async_watch` notices a new or changed file within
    seconds; `async_scan` reads them (hashing is off the event loop)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.root = Path(hass.config.path(DOMAIN, "firmware"))
        self.files: dict[str, list[FirmwareFile]] = {}
        self._listeners: list[Callable[[], None]] = []
        self._scanned: Signature | None = None
        self._seen: Signature | None = None

    async def async_watch(self) -> None:
        """Rescan when the folder changed and has stopped changing (a file being copied in
        is read once it is complete, not half-written)."""
        now = await self.hass.async_add_executor_job(signature, self.root)
        settled = now == self._seen
        self._seen = now
        if settled and now != self._scanned:
            await self.async_scan()

    async def async_scan(self) -> None:
        before = await self.hass.async_add_executor_job(signature, self.root)
        files = await self.hass.async_add_executor_job(scan, self.root)
        self._scanned = self._seen = before
        if files != self.files:
            self.files = files
            for listener in list(self._listeners):
                listener()

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def latest(self, pid: str) -> FirmwareFile | None:
        files = self.files.get(pid)
        return files[0] if files else None

    def find(self, pid: str, version: str | None) -> FirmwareFile | None:
        if version is None:
            return self.latest(pid)
        return next((f for f in self.files.get(pid, []) if f.version == version), None)

    def url(self, firmware: FirmwareFile) -> str:
        """A signed link to the file that devices can fetch without a login."""
        if getattr(self.hass, "http", None) is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_local_url")
        try:
            base = get_url(self.hass, allow_external=False, allow_cloud=False)
        except NoURLAvailableError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="no_local_url"
            ) from err
        path = f"{URL_BASE}/{firmware.pid}/{firmware.name}"
        return base + async_sign_path(self.hass, path, LINK_LIFETIME, use_content_user=True)


class FirmwareView(HomeAssistantView):
    """Serves firmware files; the signature in the link stands in for a login."""

    url = URL_BASE + "/{pid}/{name}"
    name = "api:rlink:firmware"

    def __init__(self, catalog: FirmwareCatalog) -> None:
        self.catalog = catalog

    async def get(self, request: web.Request, pid: str, name: str) -> web.StreamResponse:
        firmware = next((f for f in self.catalog.files.get(pid, []) if f.name == name), None)
        if firmware is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(firmware.path)


# --- installing ----------------------------------------------------------------------------


def ota_data(
    catalog: FirmwareCatalog, device: RlinkDevice, firmware: FirmwareFile
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "firmwareType": firmware.firmware_type,
        "fileSize": firmware.size,
        "silence": False,
        "md5sum": firmware.md5,
        "url": catalog.url(firmware),
        "version": firmware.version,
    }
    if device.gateway:
        data["subUuids"] = [device.uuid]
    return data


def _ota_failed(device: RlinkDevice, res_code: Any) -> HomeAssistantError:
    reason = OTA_ERRORS.get(res_code if isinstance(res_code, int) else 0, "install_failed")
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=f"ota_{reason}",
        translation_placeholders={"device": device.name, "code": str(res_code)},
    )


async def async_install(
    coordinator: RlinkCoordinator,
    device: RlinkDevice,
    firmware: FirmwareFile,
    timeout: float = INSTALL_TIMEOUT,  # noqa: ASYNC109
) -> None:
    """Send `ota` and wait until the device runs the new version, or says it failed."""
    catalog = coordinator.hass.data[DATA_FIRMWARE]
    outcome: asyncio.Future[None] = coordinator.hass.loop.create_future()

    def follow(_changed: frozenset[str] | None) -> None:
        if outcome.done():
            return
        if device.ota.get("type") == "fail":
            outcome.set_exception(_ota_failed(device, device.ota.get("resCode")))
        elif device.ota.get("type") == "done" or device.version == firmware.version:
            outcome.set_result(None)

    device.ota = {"type": "requested", "version": firmware.version}
    device.notify({"ota"})
    undo = device.async_add_listener(follow)
    try:
        # Confirmed by the reply or by the first progress the device reports.
        await coordinator.async_confirmed(
            coordinator.target(device),
            Cmd.OTA,
            ota_data(catalog, device, firmware),
            device.when(lambda d: d.ota.get("type") not in (None, "requested")),
        )
        async with asyncio.timeout(timeout):
            await outcome
    except TimeoutError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="ota_timeout",
            translation_placeholders={"device": device.name},
        ) from err
    except HomeAssistantError:
        device.ota = {}
        device.notify({"ota"})
        raise
    finally:
        undo()
    device.ota = {}
    device.notify({"ota"})


async def async_silence_ota(
    coordinator: RlinkCoordinator, pid: str, firmware: FirmwareFile, window: float | None = None
) -> dict[str, Any]:
    """Offer a firmware to every device of a product; returns who accepted it.

    The answers are awaited for `window` seconds (`SILENCE_WINDOW` unless given), or until
    every device that can hear the offer has answered.
    """
    catalog = coordinator.hass.data[DATA_FIRMWARE]
    is_sub = any(d.pid == pid and d.gateway for d in coordinator.devices.values())
    task_id = uuid_lib.uuid4().hex
    data = {
        "taskId": task_id,
        "pid": pid,
        "pModel": "",
        "isSub": is_sub,
        "fileSize": firmware.size,
        "firmwareType": firmware.firmware_type,
        "md5sum": firmware.md5,
        "url": catalog.url(firmware),
        "version": "ALL",
        "targetVersion": firmware.version,
    }
    devices = await coordinator.async_offer_firmware(pid, data, window or SILENCE_WINDOW)
    return {"task_id": task_id, "version": firmware.version, "devices": devices}


# --- the service -----------------------------------------------------------------------------
# One device's firmware is its update entity (`update.install`, a version if wanted). What
# no entity can do is the protocol's product-wide upgrade: one offer to every device of a
# product (`silence_ota`; `otaBatchIssue` in a cloud account), with who accepted it.

ATTR_PRODUCT: Final = "product"
ATTR_VERSION: Final = "version"

SCHEMAS: Final[dict[str, probatio.Schema]] = {
    "firmware_update": probatio.Schema(
        {
            probatio.Required(ATTR_PRODUCT): probatio.All(cv.string, probatio.Length(min=1)),
            probatio.Optional(ATTR_VERSION): cv.string,
        }
    )
}


def _no_firmware(pid: str, version: str | None) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="no_firmware",
        translation_placeholders={"pid": pid, "version": version or "latest"},
    )


async def _firmware_update(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    catalog = hass.data[DATA_FIRMWARE]
    await catalog.async_scan()
    pid, version = call.data[ATTR_PRODUCT], call.data.get(ATTR_VERSION)
    firmware = catalog.find(pid, version)
    if firmware is None:
        raise _no_firmware(pid, version)
    hubs = [
        e.runtime_data.coordinator
        for e in hass.config_entries.async_loaded_entries(DOMAIN)
        if any(d.pid == pid for d in e.runtime_data.coordinator.devices.values())
    ]
    results: dict[str, Any] = {}
    for coordinator in hubs:
        results |= (await async_silence_ota(coordinator, pid, firmware))["devices"]
    return {"product": pid, "version": firmware.version, "devices": results}


HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    "firmware_update": (_firmware_update, SupportsResponse.OPTIONAL)
}
