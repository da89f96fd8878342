"""Diagnostics for a hub and for one device, with every secret redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from . import RlinkConfigEntry
from .cloud import RlinkCloud
from .const import (
    CONF_ACCESS_TOKEN,
    CONF_APP_SECRET,
    CONF_AUTH_TOKEN,
    CONF_REST_URL,
    CONF_SECRET,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_PUBLIC_URL,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_SESSION_TOKEN,
    CONF_UNLOCK_PASSWORD,
    CONF_USER_ID,
    DOMAIN,
)
from .device import RlinkDevice
from .device_logs import DATA_DEVICE_LOGS
from .hub import RlinkHub
from .protocol.server.link import ServerLink
from .protocol.session import MqttSession
from .runtime import DeviceRuntime

# Keys whose values never leave Home Assistant: credentials, lock codes, wifi and TURN
# passwords, tokens.
TO_REDACT: Final = {
    CONF_PASSWORD,
    CONF_APP_SECRET,
    CONF_ACCESS_TOKEN,
    CONF_AUTH_TOKEN,  # it lets anyone answer for the broker's logins
    "Authorization",
    CONF_USERNAME,
    CONF_SECRET,
    "pwd",
    "password",
    "secret",
    "token",
    "rtmToken",
    "rtcToken",
    "sessionToken",
    "secretAccessKey",
    "accessKeyId",
    CONF_UNLOCK_PASSWORD,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_SESSION_TOKEN,
    "encryptSecret",
    "logUploadUrl",  # its signature lets anyone upload as the device
    "credential",
    "wifiList",
    "config",
    "userId",
    CONF_USER_ID,
    # Where the account and the house are: hosts, addresses, network names.
    CONF_HOST,
    CONF_REST_URL,
    "base_url",
    CONF_STORE_PUBLIC_URL,  # anyone may read the vacuum's maps from there
    "imageUrl",  # an alarm's photo: on the camera's own address, or a signed link
    "mac",
    "ip",
    "currentSsid",
    "ssid",
    # What commands carry: a signed download link, the broker's address, TURN user names,
    # and WebRTC offers and candidates (they hold the house's addresses).
    "url",
    "tcpUrl",
    "userName",
    "params",
}


def _device(hub: DeviceRuntime, device: RlinkDevice) -> dict[str, Any]:
    model = device.model
    return {
        "uuid": device.uuid,
        "pid": device.pid,
        "gateway": device.gateway,
        "online": device.online,
        "available": hub.available(device),
        "version": device.version,
        "mcu_version": device.mcu_version,
        "network": device.network,
        "info": device.info,
        "values": device.values,
        "password_slots": len(device.passwords),
        "ota": device.ota,
        "model": None
        if model is None
        else {
            "inferred": device.model_inferred,
            "format": model.format,
            "version": model.version,
            "properties": {
                p.identifier: {"type": p.type, "access": p.access} for p in model.properties
            },
            "events": [e.identifier for e in model.events],
        },
        "last_messages": device.recent_messages(),
    }


def _session(session: MqttSession | ServerLink | None) -> dict[str, Any] | None:
    if session is None:
        return None
    if isinstance(session, ServerLink):
        return {
            "state": "running" if session.connected else "stopped",
            "stats": asdict(session.stats),
        }
    return {
        "state": session.state,
        "host": session.host,
        "port": session.port,
        "stats": asdict(session.stats),
    }


def _hub(hub: DeviceRuntime) -> dict[str, Any]:
    common = {
        "session": _session(hub.session) if isinstance(hub, RlinkHub | RlinkCloud) else None,
        "devices_online": sum(1 for d in hub.devices.values() if d.online),
        "devices": len(hub.devices),
        "models": hub.models.product_ids,
    }
    if isinstance(hub, RlinkCloud):
        return {
            "mode": "cloud",
            "rest": {
                "base_url": hub.rest.base_url,
                "calls": hub.rest.calls,
                "failures": hub.rest.failures,
            },
            "notifications": {str(k): v for k, v in hub.router.handled.items()},
            "watchdog_reconnects": hub.watchdog_reconnects,
            **common,
        }
    assert isinstance(hub, RlinkHub)
    return {
        "mode": "local",
        "broker": "embedded" if hub.embedded else "external",
        "broker_port": hub.broker.port if hub.broker else None,
        "device_server": asdict(hub.broker.stats) if hub.broker else None,
        **common,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: RlinkConfigEntry
) -> dict[str, Any]:
    hub = entry.runtime_data
    return async_redact_data(
        {
            "entry": {
                "data": dict(entry.data),
                "options": dict(entry.options),
                "subentries": [dict(s.data) for s in entry.subentries.values()],
            },
            "hub": _hub(hub),
            "devices": [_device(hub, d) for d in hub.devices.values()],
        },
        TO_REDACT,
    )


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: RlinkConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    hub = entry.runtime_data
    uuid = next((i for d, i in device.identifiers if d == DOMAIN), None)
    known = hub.devices.get(uuid) if uuid is not None else None
    # A registry device the hub no longer knows (removed, not yet spoken of) has no state.
    found = _device(hub, known) if known is not None else None
    if found is not None and uuid is not None:
        # Links to the logs it uploaded, for an administrator to open; not their text,
        # which no redaction could vouch for.
        found["uploaded_logs"] = await hass.data[DATA_DEVICE_LOGS].async_files(uuid)
    return async_redact_data({"hub": _hub(hub), "device": found}, TO_REDACT)
