"""What each app notification does in Home Assistant: one handler per code.

Devices are named by the cloud's deviceId. A notification about a device Home Assistant
has not seen adds it (and it is remembered). Malformed notifications are logged, at most
once per code and interval, and change nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ..const import (
    CONF_PID,
    CONF_UUID,
    DOMAIN,
    EVENT_CLOUD_NOTICE,
    EVENT_CLOUD_REPLY,
    EVENT_DEVICE_EVENT,
    EVENT_FIND_ALERT,
    EVENT_FOUND_DEVICES,
    SIGNAL_MODEL_EVENT,
    SIGNAL_WEBRTC,
)
from ..device import RlinkDevice
from ..discovery import CONF_HUB_ENTRY
from ..protocol.codes import AppNotification as Note
from ..protocol.errors import ProtocolError
from ..protocol.messages import JsonObject, Message
from ..protocol.topics import Topic

if TYPE_CHECKING:
    from ..coordinator import RlinkCoordinator
    from .replies import PendingReplies


class Account(Protocol):
    """What the router asks of the cloud account it serves (`account.CloudAccount`)."""

    coordinator: RlinkCoordinator
    replies: PendingReplies

    def heard(self) -> None: ...

    def device_for(
        self,
        device_id: str,
        *,
        gateway: str | None = None,
        pid: str | None = None,
        uuid: str | None = None,
    ) -> RlinkDevice: ...

    def remove_device(self, device_id: str) -> None: ...


_LOGGER = logging.getLogger(__name__)

OTA_STAGES: Final = {
    "download": "downloading",
    "burning": "burning",
    "done": "report",
    "fail": "fail",
}
"""The app's OTA vocabulary -> the device's, which the update entity reads."""
NETWORK_KEYS: Final = ("currentSsid", "networkType", "signal", "signalValue")
CONF_GATEWAY_ID: Final = "gateway_id"


def _text(data: JsonObject, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ProtocolError("a non-empty string is required", field=f"data.{key}")
    return value


def _entries(data: JsonObject, key: str) -> list[JsonObject]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise ProtocolError("a list of objects is required", field=f"data.{key}")
    return value


class NotificationRouter:
    """Turns the notifications of one account into device state, events and replies."""

    def __init__(self, cloud: Account) -> None:
        self.cloud = cloud
        self.coordinator = cloud.coordinator
        self.hass = cloud.coordinator.hass
        self.handled: dict[str, int] = {}
        self._handlers: dict[Note, Callable[[JsonObject], None]] = {
            Note.PROPERTY_CHANGE: self._property_change,
            Note.STATUS: self._status,
            Note.OTA_PROGRESS: self._ota_progress,
            Note.BIND_RESULT: self._bind_result,
            Note.DEVICE_PROPERTY_UPDATE: self._device_info,
            Note.SIGNAL_CHECK_RESULT: self._device_info,
            Note.WEBRTC_SIGNAL_EXCHANGE: self._webrtc,
            Note.WAKE_UP_SUCCESS: self._woke,
            Note.PWD_SET_RESULT: self._passwords,
            Note.COMMON_CMD_RESP: self._reply,
            Note.CONFIG_SETTINGS_RESP: self._reply,
            Note.SUB_REPLACE_RESULT: self._replaced,
            Note.LOCAL_GROUP_RESULT: self._saved,
            Note.LOCAL_SCENE_RESULT: self._saved,
            Note.ALERT: self._alert,
            Note.FIND: self._found,
            Note.IPC_TOKEN_USED: self._notice,
            Note.MATTER_FIND: self._notice,
            Note.MATTER_PAIR: self._notice,
            Note.SYS_NOTICE: self._sys_notice,
        }
        self._code: Note = Note.STATUS

    def handle(self, topic: Topic, message: Message) -> None:
        """The session's handler for both notification topics."""
        self.cloud.heard()
        code = Note(message.code)
        self._code = code
        try:
            self._handlers[code](message.data)
        except ProtocolError as err:
            self.coordinator.log.warning(
                ("notify", str(code)), "Ignored a malformed %s notification: %s", code, err
            )
            return
        self.handled[code] = self.handled.get(code, 0) + 1

    # --- helpers --------------------------------------------------------------------------

    def _device(self, data: JsonObject, **known: Any) -> RlinkDevice:
        return self.cloud.device_for(_text(data, "deviceId"), **known)

    def _heard_from(self, device: RlinkDevice) -> None:
        device.seen()
        if not device.online:
            self.coordinator.set_online(device, True)

    def _fire(self, event: str, **data: Any) -> None:
        self.hass.bus.async_fire(event, {"entry_id": self.coordinator.entry.entry_id, **data})

    # --- device state ---------------------------------------------------------------------

    def _property_change(self, data: JsonObject) -> None:
        for entry in _entries(data, "devices"):
            properties = entry.get("properties")
            if not isinstance(properties, dict):
                raise ProtocolError("an object is required", field="data.devices[].properties")
            gateway = entry.get("gatewayId") if isinstance(entry.get("gatewayId"), str) else None
            device = self._device(entry, gateway=gateway or None)
            device.record("in", str(Note.PROPERTY_CHANGE), properties)
            self._heard_from(device)
            self.coordinator.apply_reported(device, properties)
        for group in _entries(data, "groups"):
            self._fire(
                EVENT_CLOUD_NOTICE,
                code=str(Note.PROPERTY_CHANGE),
                group_id=_text(group, "groupId"),
                properties=group.get("properties") or {},
            )

    def _status(self, data: JsonObject) -> None:
        device = self._device(data)
        online = bool(data.get("online"))
        if "tcpOnlineStatus" in data:
            # A low-power device asleep keeps a TCP link: it can be woken, not commanded.
            device.info["tcpOnlineStatus"] = int(bool(data["tcpOnlineStatus"]))
            device.notify({"tcpOnlineStatus"})
        device.seen()
        self.coordinator.set_online(device, online)
        if online:
            self.coordinator.deliver_held(device)

    def _ota_progress(self, data: JsonObject) -> None:
        device = self._device(data)
        stage = OTA_STAGES.get(str(data.get("type")))
        if stage is None:
            raise ProtocolError(f"unknown stage {data.get('type')!r}", field="data.type")
        device.ota = {**data, "type": stage}
        if stage == "report":
            self.coordinator.update_versions(device, data)
        device.notify({"ota"})

    def _bind_result(self, data: JsonObject) -> None:
        for entry in _entries(data, "devices"):
            device_id = _text(entry, "deviceId")
            if entry.get("result", "success") != "success":
                _LOGGER.info(
                    "Binding %s failed: %s %s", device_id, entry.get("errCode"), entry.get("errMsg")
                )
                continue
            if entry.get("type") == "remove":
                self.cloud.remove_device(device_id)
                continue
            pid = entry.get("pid") if isinstance(entry.get("pid"), str) else None
            uuid = entry.get("uuid") if isinstance(entry.get("uuid"), str) else None
            gateway = entry.get("gatewayId") or None
            self.cloud.device_for(device_id, pid=pid, uuid=uuid, gateway=gateway)
        self.coordinator.save_soon()

    def _device_info(self, data: JsonObject) -> None:
        device = self._device(data)
        info = data.get("propertiesInfo")
        if not isinstance(info, dict):
            raise ProtocolError("an object is required", field="data.propertiesInfo")
        kept = {k: v for k, v in info.items() if k != "wifiList" and v is not None}
        device.info.update(kept)
        network = {k: kept[k] for k in NETWORK_KEYS if k in kept}
        device.network.update(network)
        device.notify(set(kept) | set(network))
        self.coordinator.save_values()
        self.cloud.replies.resolve(Note.DEVICE_PROPERTY_UPDATE, device.uuid, data)

    def _webrtc(self, data: JsonObject) -> None:
        device = self._device(data)
        async_dispatcher_send(self.hass, SIGNAL_WEBRTC.format(device.uuid), data)

    def _woke(self, data: JsonObject) -> None:
        device = self._device(data)
        self._heard_from(device)
        self.cloud.replies.resolve(Note.WAKE_UP_SUCCESS, device.uuid, data)
        self.coordinator.deliver_held(device)

    def _passwords(self, data: JsonObject) -> None:
        device = self._device(data)
        if isinstance(data.get("pwdList"), list):
            self.coordinator.set_passwords(device, _entries(data, "pwdList"))
        else:
            entry = data.get("pwdData")
            if not isinstance(entry, dict) or not isinstance(entry.get("index"), int):
                raise ProtocolError("pwdData with an index is required", field="data.pwdData")
            kept = [p for p in device.passwords if p.get("index") != entry["index"]]
            if data.get("operatorType") != 2:
                kept.append(entry)
            self.coordinator.set_passwords(device, sorted(kept, key=lambda p: p.get("index", 0)))
        self.cloud.replies.resolve(Note.PWD_SET_RESULT, device.uuid, data)

    # --- replies --------------------------------------------------------------------------

    def _reply(self, data: JsonObject) -> None:
        device = self._device(data)
        if not self.cloud.replies.resolve(self._code, device.uuid, data):
            self._fire(EVENT_CLOUD_REPLY, code=str(self._code), device_id=device.uuid, data=data)

    def _replaced(self, data: JsonObject) -> None:
        device = self._device(data)
        if data.get("result") == "success" and isinstance(data.get("newUuid"), str):
            device.hardware_uuid = data["newUuid"]
            self.coordinator.register(device)
            self.coordinator.save_soon()
        self._reply(data)

    def _saved(self, data: JsonObject) -> None:
        self._fire(EVENT_CLOUD_REPLY, code=str(self._code), data=data)

    # --- events ---------------------------------------------------------------------------

    def _alert(self, data: JsonObject) -> None:
        self.coordinator.fire(EVENT_FIND_ALERT, self._device(data))

    def _found(self, data: JsonObject) -> None:
        found = _entries(data, "devices")
        self._fire(EVENT_FOUND_DEVICES, code=str(Note.FIND), devices=found)
        for entry in found:
            uuid, gateway = _text(entry, "uuid"), entry.get("gatewayId")
            discovery_flow.async_create_flow(
                self.hass,
                DOMAIN,
                context={"source": SOURCE_INTEGRATION_DISCOVERY},
                data={
                    CONF_UUID: uuid,
                    CONF_PID: entry.get("pid") or "",
                    CONF_GATEWAY_ID: gateway if isinstance(gateway, str) else "",
                    CONF_HUB_ENTRY: self.coordinator.entry.entry_id,
                },
            )

    def _notice(self, data: JsonObject) -> None:
        self._fire(EVENT_CLOUD_NOTICE, code=str(self._code), data=data)

    def _sys_notice(self, data: JsonObject) -> None:
        raw = data.get("messageInfo")
        info: JsonObject = raw if isinstance(raw, dict) else {}
        title = str(info.get("title") or "rlink")
        body = str(info.get("body") or info.get("msgCode") or data.get("type") or "")
        # The same notice again replaces its notification instead of adding one more.
        digest = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:16]
        persistent_notification.async_create(
            self.hass, body, title=title, notification_id=f"{DOMAIN}_notice_{digest}"
        )
        self._fire(EVENT_CLOUD_NOTICE, code=str(Note.SYS_NOTICE), data=data)
        device_id = info.get("deviceId")
        if info.get("msgType") == "device_alarm" and device_id in self.coordinator.devices:
            device = self.coordinator.devices[device_id]
            output = {"title": title, "body": body}
            identifier = str(info.get("msgCode") or "alarm")
            self.coordinator.fire(EVENT_DEVICE_EVENT, device, identifier=identifier, output=output)
            async_dispatcher_send(
                self.hass, SIGNAL_MODEL_EVENT.format(device.uuid), identifier, output
            )
