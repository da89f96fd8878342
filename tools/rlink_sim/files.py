"""Small HTTP servers of the simulated house: an object store for vacuum maps (what a
vacuum's S3 or COS bucket is to a real one) and a camera's picture server for alarm photos."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from aiohttp import web

MAX_OBJECT: int = 2 * 1024 * 1024


class _Server:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.app = web.Application(client_max_size=MAX_OBJECT)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()


class ObjectStore(_Server):
    """Buckets of objects: PUT with the bucket's access key, GET for anyone (a public bucket,
    as the hub's `store_public_url` expects)."""

    def __init__(
        self, bucket: str, host: str = "127.0.0.1", port: int = 0, root: Path | None = None
    ) -> None:
        super().__init__(host, port)
        self.bucket = bucket
        self.access_key = f"sim-{secrets.token_hex(4)}"
        self.secret_key = secrets.token_hex(16)
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.root = root
        """Where objects are kept between runs (None: in memory only)."""
        if root is not None and root.is_dir():
            for path in root.rglob("*"):
                if path.is_file():
                    key = path.relative_to(root).as_posix()
                    self.objects[key] = (path.read_bytes(), "application/octet-stream")
        self.app.router.add_put("/{bucket}/{key:.+}", self._put)
        self.app.router.add_get("/{bucket}/{key:.+}", self._get)

    @property
    def public_url(self) -> str:
        return f"{self.url}/{self.bucket}"

    async def _put(self, request: web.Request) -> web.Response:
        if request.match_info["bucket"] != self.bucket:
            return web.Response(status=404)
        if request.headers.get("x-rlink-access-key") != self.access_key:
            return web.Response(status=403)
        body = await request.read()
        key = request.match_info["key"]
        if ".." in key.split("/"):
            return web.Response(status=400)
        self.objects[key] = (body, request.content_type)
        if self.root is not None:
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        return web.Response(status=200)

    async def _get(self, request: web.Request) -> web.Response:
        found = self.objects.get(request.match_info["key"])
        if request.match_info["bucket"] != self.bucket or found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])


class PictureServer(_Server):
    """A camera's own web server: each alarm's photo under /alarm/<n>.jpg."""

    def __init__(self, take: Callable[[], bytes], host: str = "127.0.0.1") -> None:
        super().__init__(host, 0)
        self.take = take
        self.pictures: dict[str, bytes] = {}
        self.app.router.add_get("/alarm/{name}", self._get)

    def keep(self) -> str:
        """Take a photo now; its address."""
        name = f"{len(self.pictures) + 1}.jpg"
        self.pictures[name] = self.take()
        while len(self.pictures) > 20:  # a camera keeps its last few
            del self.pictures[next(iter(self.pictures))]
        return f"{self.url}/alarm/{name}"

    async def _get(self, request: web.Request) -> web.Response:
        found = self.pictures.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found, content_type="image/jpeg")
