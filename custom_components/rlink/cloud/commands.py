"""Which app REST endpoint carries each device command, and which notification answers it.

Platforms and services speak in device commands (`DeviceCommand`), the same as on a local
hub. In a cloud account each command becomes the REST call built here; a command missing
from `COMMANDS` has no REST endpoint and fails with a translated error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from ..device import RlinkDevice
from ..protocol import rest
from ..protocol.codes import AppNotification as Note
from ..protocol.codes import DeviceCommand as Cmd
from ..protocol.messages import JsonObject

REPLY_TIMEOUT: Final = 15.0
"""Seconds to wait for the notification that answers a command."""


@dataclass(frozen=True, slots=True)
class Route:
    build: Callable[[RlinkDevice, JsonObject], rest.RestRequest]
    reply: Note | None = None
    """The notification that carries the device's answer, keyed by deviceId."""


def _properties(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    values = data.get("properties")
    if values is None:  # sub_property_set: devices[{uuid, properties}]
        values = next(iter(data.get("devices") or [{}])).get("properties") or {}
    return rest.props_issue(device.uuid, values)


def _property_get(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    return rest.props_get(device.uuid, list(data.get("dps") or []))


def _ota(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    return rest.ota_issue(
        device.uuid,
        task_id=str(data.get("taskId") or f"{device.pid}-{data['version']}"),
        url=data["url"],
        version=data["version"],
        file_size=int(data["fileSize"]),
        md5sum=data["md5sum"],
        firmware_type=int(data.get("firmwareType", 2)),
    )


def _scan(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    return rest.scan_issue(
        device.uuid,
        seconds=int(data.get("second") or data.get("time") or 60),
        bind=bool(data.get("bind", True)),
        find=bool(data.get("find", True)),
        uuids=list(data.get("uuids") or []),
        pids=list(data.get("pids") or []),
    )


def _webrtc(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    return rest.webrtc_signal_exchange(
        device.uuid,
        data["peerClientId"],
        data["method"],
        data.get("params") or "{}",
        data.get("rawData") or "{}",
    )


def _agora(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    mode = data.get("agoraModel") or ("playback" if data.get("playback") else "live")
    return rest.notify_device_join(device.uuid, "playback" if mode == "playback" else "live")


def _replace(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    return rest.sub_replace(device.uuid, data["newUuid"])


def _device_only(
    builder: Callable[[str], rest.RestRequest],
) -> Callable[[RlinkDevice, JsonObject], rest.RestRequest]:
    return lambda device, _data: builder(device.uuid)


def _common(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    return rest.common_cmd(device.uuid, data["cmdType"], data.get("cmdData") or {})


def _config(device: RlinkDevice, data: JsonObject) -> rest.RestRequest:
    return rest.config_settings(device.uuid, data["type"], data.get("settings") or {})


COMMANDS: Final[dict[Cmd, Route]] = {
    Cmd.PROPERTY_SET: Route(_properties),
    Cmd.SUB_PROPERTY_SET: Route(_properties),
    Cmd.PROPERTY_GET: Route(_property_get),
    Cmd.OTA: Route(_ota),
    Cmd.FIND_BIND: Route(_scan),
    Cmd.WAKE_UP: Route(_device_only(rest.wake_up_issue), Note.WAKE_UP_SUCCESS),
    Cmd.AGORA_JOIN: Route(_agora),
    Cmd.COMMON_CMD: Route(_common, Note.COMMON_CMD_RESP),
    Cmd.REBOOT: Route(_device_only(rest.reboot)),
    Cmd.SUB_REPLACE: Route(_replace, Note.SUB_REPLACE_RESULT),
    Cmd.CONFIG_SETTINGS: Route(_config, Note.CONFIG_SETTINGS_RESP),
    Cmd.PING: Route(_device_only(rest.check_signal), Note.DEVICE_PROPERTY_UPDATE),
    Cmd.WEBRTC_SIGNAL_EXCHANGE: Route(_webrtc),
}


def reply_data(code: Note, data: JsonObject) -> dict[str, Any]:
    """A reply notification in the shape the local hub's device reply has."""
    if code is Note.SUB_REPLACE_RESULT:
        return {"newUuid": data.get("newUuid"), "result": data.get("result")}
    return {k: v for k, v in data.items() if k != "deviceId"}
