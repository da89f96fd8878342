"""The ICE servers Home Assistant offers: to browsers by web_rtc, to cameras by the hub."""

from __future__ import annotations

from homeassistant.components.web_rtc import async_get_ice_servers
from homeassistant.core import HomeAssistant
from webrtc_models import RTCIceServer

from .protocol.messages import JsonObject


def ice_servers(hass: HomeAssistant) -> list[RTCIceServer]:
    """Home Assistant's ICE servers, as web_rtc (a dependency) offers them to browsers."""
    return list(async_get_ice_servers(hass))


def turn_auth(hass: HomeAssistant, lifetime: int) -> JsonObject | None:
    """The first TURN server's credentials in the protocol's `auth` shape, if any."""
    for server in ice_servers(hass):
        urls = [server.urls] if isinstance(server.urls, str) else list(server.urls)
        if server.username and any(u.startswith("turn") for u in urls):
            return {
                "userName": server.username,
                "password": server.credential or "",
                "expireSecond": lifetime,
            }
    return None
