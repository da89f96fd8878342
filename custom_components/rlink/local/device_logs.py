"""Logs that devices upload to the address the `info` answer names (`logUploadUrl`).

A device cannot log in to Home Assistant, so its upload link carries a signature made with
the device's own secret: only Home Assistant and that device can make it, and it names the
device. What arrives is bounded (size of one upload, how often, how many files are kept)
and readable by administrators through an authenticated view that diagnostics link to.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN

URL_BASE: Final = "/api/rlink/device_log"
MAX_UPLOAD: Final = 1024 * 1024
"""Bytes one upload may carry; a device's log for one interval is far smaller."""
KEEP_PER_DEVICE: Final = 5
"""Newest files kept per device, older ones are deleted as new ones arrive."""
MIN_INTERVAL: Final = 10.0
"""Seconds between two uploads of one device (the protocol's shortest cycle is a minute)."""
_FILE_NAME: Final = re.compile(r"^\d{8}T\d{6}_\d{6}\.log$")
_UUID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

DATA_DEVICE_LOGS: HassKey[DeviceLogs] = HassKey(f"{DOMAIN}_device_logs")

type SecretLookup = Callable[[str], str | None]


def upload_signature(uuid: str, secret: str) -> str:
    """The last part of a device's upload link: made with its secret, so it names the
    device and nobody but Home Assistant and the device can make it."""
    return hmac.new(
        secret.encode(), f"rlink-device-log/{uuid}".encode(), hashlib.sha256
    ).hexdigest()[:32]


class DeviceLogs:
    """The uploaded logs of every hub's devices, under `<config>/rlink/device_logs/<uuid>/`."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.root = Path(hass.config.path(DOMAIN, "device_logs"))
        self._lookups: list[SecretLookup] = []
        self._last_upload: dict[str, float] = {}

    def add_secrets(self, lookup: SecretLookup) -> Callable[[], None]:
        """A hub tells whose logs it takes: `lookup` gives a device's secret, or None."""
        self._lookups.append(lookup)
        return lambda: self._lookups.remove(lookup)

    def secret(self, uuid: str) -> str | None:
        return next((s for lookup in self._lookups if (s := lookup(uuid)) is not None), None)

    def upload_url(self, uuid: str) -> str | None:
        """The link a device uploads its logs to; None without a local URL or secret."""
        secret = self.secret(uuid)
        if secret is None or getattr(self.hass, "http", None) is None:
            return None
        try:
            base = get_url(self.hass, allow_external=False, allow_cloud=False)
        except NoURLAvailableError:
            return None
        return f"{base}{URL_BASE}/{uuid}/{upload_signature(uuid, secret)}"

    def accepts(self, uuid: str, signature: str) -> bool:
        secret = self.secret(uuid) if _UUID.match(uuid) else None
        expected = upload_signature(uuid, secret) if secret is not None else "-" * 32
        # Compared even when the device is unknown, so the answer's timing tells nothing.
        return hmac.compare_digest(signature.encode(), expected.encode()) and secret is not None

    def too_soon(self, uuid: str) -> bool:
        now = time.monotonic()
        if now - self._last_upload.get(uuid, -MIN_INTERVAL) < MIN_INTERVAL:
            return True
        self._last_upload[uuid] = now
        if len(self._last_upload) > 4096:  # only signed uploads get here: real devices
            self._last_upload = {
                u: t for u, t in self._last_upload.items() if now - t < MIN_INTERVAL
            }
        return False

    async def async_store(self, uuid: str, body: bytes) -> str:
        return await self.hass.async_add_executor_job(self._store, uuid, body)

    async def async_files(self, uuid: str) -> list[dict[str, Any]]:
        return await self.hass.async_add_executor_job(self._files, uuid)

    async def async_forget(self, uuid: str) -> None:
        """A device left its hub: its logs go with it."""
        self._last_upload.pop(uuid, None)
        await self.hass.async_add_executor_job(self._forget, uuid)

    def path(self, uuid: str, name: str) -> Path | None:
        if not _UUID.match(uuid) or not _FILE_NAME.match(name):
            return None  # nothing else is ever served: no way out of the folder
        return self.root / uuid / name

    # --- in the executor ----------------------------------------------------------------

    def _store(self, uuid: str, body: bytes) -> str:
        folder = self.root / uuid
        folder.mkdir(parents=True, exist_ok=True)
        name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S_%f") + ".log"
        (folder / name).write_bytes(body)
        for old in sorted(folder.glob("*.log"))[:-KEEP_PER_DEVICE]:
            old.unlink(missing_ok=True)
        return name

    def _files(self, uuid: str) -> list[dict[str, Any]]:
        # `open_at`, not `url`: diagnostics redact every `url` (commands carry signed ones),
        # and this link is useless without an administrator's login.
        folder = self.root / uuid
        if not _UUID.match(uuid) or not folder.is_dir():
            return []
        return [
            {
                "name": path.name,
                "bytes": path.stat().st_size,
                "open_at": f"{URL_BASE}/{uuid}/files/{path.name}",
            }
            for path in sorted(folder.glob("*.log"), reverse=True)
            if _FILE_NAME.match(path.name)
        ]

    def _forget(self, uuid: str) -> None:
        if _UUID.match(uuid):
            shutil.rmtree(self.root / uuid, ignore_errors=True)


class DeviceLogUploadView(HomeAssistantView):
    """Takes a device's log; the signature in the link stands in for a login."""

    url = URL_BASE + "/{uuid}/{signature}"
    name = "api:rlink:device_log_upload"
    requires_auth = False

    def __init__(self, logs: DeviceLogs) -> None:
        self.logs = logs

    async def post(self, request: web.Request, uuid: str, signature: str) -> web.Response:
        logs = self.logs
        if not logs.accepts(uuid, signature):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        if request.content_length is not None and request.content_length > MAX_UPLOAD:
            return web.Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        if logs.too_soon(uuid):
            return web.Response(status=HTTPStatus.TOO_MANY_REQUESTS)
        body = await request.content.read(MAX_UPLOAD + 1)
        if len(body) > MAX_UPLOAD:
            return web.Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        await logs.async_store(uuid, body)
        return self.json({"res": 0, "msg": "success"})

    put = post


class DeviceLogView(HomeAssistantView):
    """Serves an uploaded log to an administrator (diagnostics link here)."""

    url = URL_BASE + "/{uuid}/files/{name}"
    name = "api:rlink:device_log"

    def __init__(self, logs: DeviceLogs) -> None:
        self.logs = logs

    async def get(self, request: web.Request, uuid: str, name: str) -> web.StreamResponse:
        if not request["hass_user"].is_admin:
            return web.Response(status=HTTPStatus.FORBIDDEN)
        path = self.logs.path(uuid, name)
        exists = path is not None and await self.logs.hass.async_add_executor_job(path.is_file)
        if path is None or not exists:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(path, headers={"Content-Type": "text/plain; charset=utf-8"})
