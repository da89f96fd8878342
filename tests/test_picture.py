"""Alarm pictures: a name that changes its address after the check reaches nothing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from homeassistant.core import HomeAssistant
from yarl import URL

from custom_components.rlink.picture import PictureRefused, fetch_picture

pytestmark = pytest.mark.usefixtures("sockets")

PUBLIC = "93.184.215.14"


@pytest.fixture(name="picture_server")
async def fixture_picture_server() -> AsyncIterator[tuple[int, list[str]]]:
    hits: list[str] = []

    async def picture(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"\xff\xd8 a jpeg", content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", picture)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield port, hits
    await runner.cleanup()


def _answers(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[str]:
    """Name lookups answer `addresses` in turn (the last one from then on)."""
    asked: list[str] = []

    async def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        address = addresses[min(len(asked), len(addresses)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(hass.loop, "getaddrinfo", getaddrinfo)
    return asked


async def test_a_name_that_turns_local_after_the_check_is_not_fetched(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, picture_server: tuple[int, list[str]]
) -> None:
    port, hits = picture_server
    # Public when Home Assistant checks, Home Assistant's own host when it connects.
    asked = _answers(hass, monkeypatch, PUBLIC, "127.0.0.1")
    with pytest.raises(PictureRefused):
        await fetch_picture(hass, URL(f"http://pictures.example.net:{port}/a.jpg"), None)
    assert asked == ["pictures.example.net", "pictures.example.net"]
    assert hits == []


async def test_a_name_of_the_device_itself_is_fetched(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, picture_server: tuple[int, list[str]]
) -> None:
    port, hits = picture_server
    _answers(hass, monkeypatch, "127.0.0.1")
    url = URL(f"http://camera.lan:{port}/a.jpg")
    assert await fetch_picture(hass, url, "127.0.0.1") == b"\xff\xd8 a jpeg"
    assert hits == ["/a.jpg"]


async def test_a_picture_kept_on_the_device_comes_only_from_the_device(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, picture_server: tuple[int, list[str]]
) -> None:
    """An alarm recorded to the device's own storage: a public host serving its picture is
    not the device, so Home Assistant does not ask it."""
    port, hits = picture_server
    _answers(hass, monkeypatch, PUBLIC)
    url = URL(f"http://pictures.example.net:{port}/a.jpg")
    with pytest.raises(PictureRefused, match="is not the device"):
        await fetch_picture(hass, url, "192.168.1.23", on_device=True)
    # The device's own address serves it.
    _answers(hass, monkeypatch, "127.0.0.1")
    body = await fetch_picture(
        hass, URL(f"http://camera.lan:{port}/a.jpg"), "127.0.0.1", on_device=True
    )
    assert body == b"\xff\xd8 a jpeg"
    assert hits == ["/a.jpg"]
