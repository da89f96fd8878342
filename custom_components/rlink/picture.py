"""Pictures a device points at (alarm thumbnails), fetched with care.

The address comes from the device, so Home Assistant checks it before asking for it: http or
https only, a host that is the device's own address or a public one (never Home Assistant
itself, the router or other hosts of the house), no redirects, a time limit and a size limit.
A name is checked again when the connection is made, so it cannot point elsewhere between
the check and the request.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Final

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, ThreadedResolver
from aiohttp.abc import ResolveResult
from homeassistant.core import HomeAssistant
from homeassistant.util.ssl import client_context
from yarl import URL

MAX_URL_LENGTH: Final = 2048
MAX_BYTES: Final = 5 * 1024 * 1024
TIMEOUT: Final = ClientTimeout(total=10)
_SCHEMES: Final = frozenset({"http", "https"})

type Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class PictureRefused(Exception):
    """The address or the answer is not one Home Assistant takes from a device."""


def checked_url(raw: object) -> URL:
    """The address if its form is acceptable (scheme, host, length)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_URL_LENGTH:
        raise PictureRefused("not an address of a sensible length")
    try:
        url = URL(raw)
    except ValueError as err:
        raise PictureRefused(f"unreadable address: {err}") from err
    if url.scheme not in _SCHEMES or not url.host or url.user or url.password:
        raise PictureRefused("only http(s) addresses with a host and no credentials")
    return url


def _permitted(address: Address, device_address: Address | None, *, own: bool = False) -> bool:
    """The device's own address always; a public one unless the picture is the device's own."""
    return address == device_address or (address.is_global and not own)


def _address(text: str | None) -> Address | None:
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


async def _resolve(hass: HomeAssistant, host: str) -> list[Address]:
    literal = _address(host.strip("[]"))
    if literal is not None:
        return [literal]
    try:
        infos = await hass.loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as err:
        raise PictureRefused(f"cannot resolve {host}: {err}") from err
    found = [_address(str(info[4][0])) for info in infos]
    return [a for a in found if a is not None]


class _CheckedResolver(ThreadedResolver):
    """Name lookups for one fetch, refused unless every address is one a device may name."""

    def __init__(self, device_address: Address | None, *, own: bool) -> None:
        super().__init__()
        self._device_address = device_address
        self._own = own

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        addresses = [_address(r["host"]) for r in results]
        if not addresses or not all(
            a is not None and _permitted(a, self._device_address, own=self._own) for a in addresses
        ):
            raise OSError(f"{host} is neither the device nor a public host")
        return results


async def fetch_picture(
    hass: HomeAssistant, url: URL, device_ip: str | None, *, on_device: bool = False
) -> bytes:
    """The picture's bytes, or `PictureRefused` with the reason.

    `on_device`: the alarm said the recording is kept on the device (``storage: local``),
    so only the device itself may serve its picture.
    """
    assert url.host is not None  # checked_url made sure
    addresses = await _resolve(hass, url.host)
    device_address = _address(device_ip)
    if not addresses or not all(_permitted(a, device_address, own=on_device) for a in addresses):
        reason = "is not the device" if on_device else "is neither the device nor a public host"
        raise PictureRefused(f"{url.host} {reason}")
    connector = TCPConnector(
        resolver=_CheckedResolver(device_address, own=on_device),
        ssl=client_context(),
        use_dns_cache=False,
    )
    try:
        async with (
            ClientSession(connector=connector) as session,
            session.get(url, timeout=TIMEOUT, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise PictureRefused(f"the answer was HTTP {response.status}")
            if not response.content_type.startswith("image/"):
                raise PictureRefused(f"the answer is {response.content_type}, not a picture")
            if (response.content_length or 0) > MAX_BYTES:
                raise PictureRefused("the picture is too large")
            body = await response.content.read(MAX_BYTES + 1)
    except (ClientError, TimeoutError) as err:
        raise PictureRefused(f"the request failed: {err}") from err
    if len(body) > MAX_BYTES:
        raise PictureRefused("the picture is too large")
    return body
