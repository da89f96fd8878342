"""The cloud's side of the device protocol: what to answer to each device event.

`Responder.handle` takes an event a device published on its ``report`` topic and returns
the ``report_response`` to send (None when the device asked for no reply). What the answer
contains (the time zone, a model, the sub-devices of a gateway, …) comes from a
`ResponderBackend`, which the owner of the broker implements. The defaults of the backend
describe a cloud with no optional services: anything that needs the vendor's cloud is
answered with status 1006.

A handler that finds the event's data malformed raises `ProtocolError`; the reply then
carries status 1002 and the reason, and nothing is recorded.

A few answers may need I/O (temporary upload credentials come from the object store):
for the codes `needs_io` names, the owner calls `async_handle_with_status` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from types import MappingProxyType
from typing import Any, Final

from . import messages
from .codes import DeviceEvent as Evt
from .codes import Status
from .errors import ProductNotFound, ProtocolError, RlinkError, ServiceNotActivated
from .messages import JsonObject, Message
from .model import ModelFormat, ObjectModel, model_to_format
from .server.limits import LogThrottle
from .timeinfo import time_reply

_LOGGER = logging.getLogger(__name__)

FAILURE_LOG_INTERVAL: Final = 300.0
"""Seconds between two log lines about the same kind of failure."""


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """The device an event came from, as its topic names it."""

    uuid: str
    pid: str


@dataclass(frozen=True, slots=True)
class SubDeviceRef:
    """A gateway's sub-device, as a ``devices[]`` entry names it."""

    uuid: str
    pid: str | None
    raw: JsonObject


class ResponderBackend:
    """What the responder asks of whoever plays the cloud. Override what you support."""

    # --- answers ------------------------------------------------------------------------

    def time_zone(self, device: DeviceRef) -> tzinfo | str:
        """The device's zone: loaded, or a name (which `time_reply` loads, reading a file)."""
        return UTC

    def model(self, pid: str) -> ObjectModel | None:
        return None

    def remote_config(self, device: DeviceRef) -> JsonObject:
        return {}

    def log_switch(self, device: DeviceRef) -> JsonObject:
        return {"enable": 0}

    def sub_list(self, device: DeviceRef) -> list[JsonObject]:
        return []

    def weather(self, device: DeviceRef) -> JsonObject:
        raise ServiceNotActivated(Status.SERVICE_NOT_ACTIVATED, "no weather source configured")

    def webrtc_config(self, device: DeviceRef) -> JsonObject:
        raise ServiceNotActivated(Status.SERVICE_NOT_ACTIVATED, "no ICE servers configured")

    def sweeper_sts_token(self, device: DeviceRef, upload_type: str) -> JsonObject:
        raise ServiceNotActivated(Status.SERVICE_NOT_ACTIVATED, "no object storage configured")

    async def async_sweeper_sts_token(self, device: DeviceRef, upload_type: str) -> JsonObject:
        """`sweeper_sts_token` for a backend that asks the store for temporary credentials."""
        return self.sweeper_sts_token(device, upload_type)

    def sweeper(self, device: DeviceRef) -> SweeperStore:
        raise ServiceNotActivated(Status.SERVICE_NOT_ACTIVATED, "no map storage")

    def map_link(self, device: DeviceRef, entry: JsonObject) -> str | None:
        """Where the map's data can be fetched (`mapSignPath`), when the backend knows."""
        return None

    def tcp_url(self, device: DeviceRef) -> str | None:
        """The host of the low-power TCP link (`tcpUrl` of the `info` answer), if any."""
        return None

    def log_upload_url(self, device: DeviceRef) -> str | None:
        """Where the device uploads its logs (`logUploadUrl` of the `info` answer), if any."""
        return None

    # --- what devices tell --------------------------------------------------------------

    def bound(self, device: DeviceRef, data: JsonObject) -> None:
        """`bind` and `ipc_token_bind`: versions, and whether to forget stored data."""

    def info(self, device: DeviceRef, data: JsonObject) -> None:
        """`info`: versions and network details."""

    def reset(self, device: DeviceRef, clean_data: bool) -> None:
        """The device was reset by its owner."""

    def properties(self, device: DeviceRef, values: JsonObject) -> None:
        """`property_report`."""

    def properties_info(self, device: DeviceRef, info: JsonObject) -> None:
        """`update_properties_info`: device details that are not model properties."""

    def ota_progress(self, device: DeviceRef, data: JsonObject) -> None:
        """`ota_progress` (for the gateway itself or, with subUuid, for a sub-device)."""

    def model_event(self, device: DeviceRef, identifier: str, output: JsonObject) -> None:
        """`event`: a model event such as an alarm."""

    def find_alert(self, device: DeviceRef, data: JsonObject) -> None:
        """`find_alert`: the device asks to be found."""

    def passwords(self, device: DeviceRef, data: JsonObject) -> None:
        """`pwd_sync`: the lock's current password list."""

    def webrtc_signal(self, device: DeviceRef, data: JsonObject) -> None:
        """`webrtc_signal_exchange`: an SDP answer or ICE candidate for a viewer."""

    def sub_bound(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        """`sub_bind`: returns the sub-devices accepted."""
        return subs

    def sub_deleted(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        return subs

    def sub_presence(self, device: DeviceRef, subs: list[SubDeviceRef], online: bool) -> None:
        """`sub_login` / `sub_loginout`."""

    def sub_properties(self, device: DeviceRef, sub: SubDeviceRef, values: JsonObject) -> None:
        """One entry of `sub_property_report`."""

    def found(self, device: DeviceRef, subs: list[SubDeviceRef]) -> None:
        """`find_report`: what a searching gateway found."""

    def local_config_requested(self, device: DeviceRef) -> None:
        """`local_config`: the gateway wants its groups, scenes and executions issued."""

    def local_data_sync(self, device: DeviceRef, data: JsonObject) -> None:
        """`local_data_sync`: the gateway reports what it holds and wants the rest."""


class SweeperStore:
    """A robot vacuum's maps and cleaning records, as `sweeper_map_*` keeps them.

    Ids are strings of digits like the platform's. `dump` and `load` give a JSON form to
    persist.
    """

    _MAP_FIELDS: Final = ("mapFormat", "mapName", "mapPath", "mapDesc")
    _RECORD_FIELDS: Final = ("mapId", "recordPath", "recordDesc")

    def __init__(self) -> None:
        self.maps: dict[str, JsonObject] = {}
        self.records: list[JsonObject] = []
        self.selected: str | None = None
        """The map the user chose to look at; None for the newest."""
        self._next_id = 1

    def _new_id(self) -> str:
        new_id = str(self._next_id)
        self._next_id += 1
        return new_id

    def current(self) -> JsonObject | None:
        """The newest map (what `sweeper_map_list` answers)."""
        return max(self.maps.values(), key=lambda m: int(m["mapId"]), default=None)

    def shown(self) -> JsonObject | None:
        """The map to display: the chosen one while it exists, else the newest."""
        return self.maps.get(self.selected or "") or self.current()

    def add_map(self, data: JsonObject, now: int) -> JsonObject:
        fields = _text_fields(data, self._MAP_FIELDS)
        entry = {"mapId": self._new_id(), **fields, "createTime": now}
        self.maps[entry["mapId"]] = entry
        return entry

    def update_map(self, data: JsonObject) -> JsonObject:
        map_id = _text(data, "mapId")
        entry = self.maps.get(map_id)
        if entry is None:
            raise RlinkError(Status.INVALID_PARAMETER, f"no map {map_id}")
        entry.update(_text_fields(data, self._MAP_FIELDS))
        return entry

    def delete_map(self, data: JsonObject) -> bool:
        return self.maps.pop(_text(data, "mapId"), None) is not None

    def add_record(self, data: JsonObject, now: int) -> JsonObject:
        fields = _text_fields(data, self._RECORD_FIELDS)
        entry = {"recordId": self._new_id(), **fields, "createTime": now}
        self.records.append(entry)
        del self.records[:-100]  # a vacuum's history, not an archive
        return entry

    def dump(self) -> JsonObject:
        return {
            "maps": list(self.maps.values()),
            "records": self.records,
            "next": self._next_id,
            "selected": self.selected,
        }

    @classmethod
    def load(cls, raw: Mapping[str, Any]) -> SweeperStore:
        store = cls()
        store.maps = {str(m["mapId"]): dict(m) for m in raw.get("maps", [])}
        store.records = [dict(r) for r in raw.get("records", [])]
        store._next_id = int(raw.get("next", 1))
        store.selected = raw.get("selected")
        return store


def _text(data: JsonObject, key: str) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise ProtocolError("expected a non-empty string", field=f"data.{key}")
    return value


def _text_fields(data: JsonObject, keys: tuple[str, ...]) -> JsonObject:
    fields: JsonObject = {}
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ProtocolError("expected a string", field=f"data.{key}")
        fields[key] = str(value)
    return fields


def _object(data: JsonObject, key: str, *, required: bool = True) -> JsonObject:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError("expected an object", field=f"data.{key}")
    return value


def _flag(data: JsonObject, key: str) -> bool:
    value = data.get(key, False)
    if value in (0, 1, True, False) and not isinstance(value, float):
        return bool(value)
    raise ProtocolError("expected a boolean", field=f"data.{key}")


def sub_devices(data: JsonObject, *, pid_required: bool = False) -> list[SubDeviceRef]:
    """The ``devices`` list of a gateway event."""
    raw = data.get("devices")
    if not isinstance(raw, list):
        raise ProtocolError("expected a list", field="data.devices")
    subs = []
    for index, entry in enumerate(raw):
        path = f"data.devices[{index}]"
        if not isinstance(entry, dict):
            raise ProtocolError("expected an object", field=path)
        uuid = entry.get("uuid") or entry.get("trdUuid")
        if not isinstance(uuid, str) or not uuid:
            raise ProtocolError("expected a uuid", field=f"{path}.uuid")
        pid = entry.get("pid")
        if pid is not None and not isinstance(pid, str):
            raise ProtocolError("expected a string", field=f"{path}.pid")
        if pid_required and not pid:
            raise ProtocolError("a product id is required", field=f"{path}.pid")
        subs.append(SubDeviceRef(uuid, pid or None, entry))
    return subs


def _listed(subs: list[SubDeviceRef]) -> JsonObject:
    return {"devices": [{"uuid": s.uuid, "pid": s.pid or ""} for s in subs]}


def _upload_type(data: JsonObject) -> str:
    upload_type = data.get("type", "map")
    if upload_type not in ("map", "record"):
        raise ProtocolError("expected map or record", field="data.type")
    return str(upload_type)


def _requested_format(data: JsonObject) -> ModelFormat:
    raw = data.get("format", ModelFormat.COMPLETE)
    try:
        return ModelFormat(raw)
    except ValueError:
        raise ProtocolError(f"unknown model format {raw!r}", field="data.format") from None


type Answer = Callable[["Responder", DeviceRef, Message], JsonObject | None]


class Responder:
    """Answers device events on behalf of the cloud."""

    def __init__(self, backend: ResponderBackend, *, clock: Callable[[], int] | None = None):
        self.backend = backend
        self._clock = clock or messages._now
        self._failures = LogThrottle(FAILURE_LOG_INTERVAL)

    def handle(self, device: DeviceRef, message: Message) -> Message | None:
        """Act on `message` and return the reply to publish, if the device wants one."""
        return self.handle_with_status(device, message)[0]

    def handle_with_status(self, device: DeviceRef, message: Message) -> tuple[Message | None, int]:
        """`handle`, and the status it came to, whether the device wants a reply or not."""
        answer = _ANSWERS[Evt(message.code)]
        try:
            data = answer(self, device, message)
        except Exception as err:  # sorted out by `_refusal`
            return self._refusal(device, message, err)
        return self._reply(message, data, Status.SUCCESS, None), Status.SUCCESS

    @staticmethod
    def needs_io(code: str) -> bool:
        """Whether the answer to `code` is to come from `async_handle_with_status`."""
        return code in _ASYNC_ANSWERS

    async def async_handle_with_status(
        self, device: DeviceRef, message: Message
    ) -> tuple[Message | None, int]:
        """`handle_with_status` for an answer that may wait on I/O (`needs_io`)."""
        answer = _ASYNC_ANSWERS.get(message.code)
        if answer is None:
            return self.handle_with_status(device, message)
        try:
            data = await answer(self, device, message)
        except Exception as err:  # sorted out by `_refusal`
            return self._refusal(device, message, err)
        return self._reply(message, data, Status.SUCCESS, None), Status.SUCCESS

    def _refusal(
        self, device: DeviceRef, message: Message, error: Exception
    ) -> tuple[Message | None, int]:
        """The reply to a message whose handler raised `error`, and its status."""
        if isinstance(error, ProtocolError):
            _LOGGER.debug("%s sent a malformed %s: %s", device.uuid, message.code, error)
            status: int = Status.INVALID_PARAMETER
            return self._reply(message, None, status, str(error)), status
        if isinstance(error, RlinkError):
            if error.code == Status.SERVICE_NOT_ACTIVATED:
                _LOGGER.info("%s asked for %s: %s", device.uuid, message.code, error.msg)
            return self._reply(message, None, error.code, error.msg), error.code
        # A bug of ours: one message must not stop the others.
        self._note_failure(device, message, error)
        status = Status.SERVICE_EXCEPTION
        return self._reply(message, None, status, "service exception"), status

    def _note_failure(self, device: DeviceRef, message: Message, err: Exception) -> None:
        """A bug of ours, not the device's: said once per kind, the traceback at debug level,
        so a device repeating the message cannot fill the log."""
        if not self._failures((str(message.code), type(err).__name__)):
            return
        _LOGGER.warning(
            "Could not handle %s from %s (%s: %s); answered %s. Further failures of this kind "
            "are not logged for %d minutes",
            message.code,
            device.uuid,
            type(err).__name__,
            err,
            int(Status.SERVICE_EXCEPTION),
            FAILURE_LOG_INTERVAL // 60,
        )
        _LOGGER.debug("The failure handling %s", message.code, exc_info=err)

    def _reply(
        self, message: Message, data: JsonObject | None, res: int, msg: str | None
    ) -> Message | None:
        if not message.ack:
            return None
        return messages.reply(message, data, res=res, msg=msg, ts=self._clock())

    def push_time(self, device: DeviceRef) -> Message:
        """An unsolicited `time` answer, sent when the time zone changes."""
        request = messages.event(Evt.TIME, ack=True, ts=self._clock())
        return messages.reply(request, time_reply(self.backend.time_zone(device)))

    # --- one method per event -------------------------------------------------------------

    def _reset(self, device: DeviceRef, message: Message) -> None:
        self.backend.reset(device, _flag(message.data, "cleanData"))

    def _time(self, device: DeviceRef, message: Message) -> JsonObject:
        return time_reply(self.backend.time_zone(device), self._clock())

    def _model_json(self, pid: str, data: JsonObject) -> JsonObject:
        fmt = _requested_format(data)
        model = self.backend.model(pid)
        if model is None:
            raise ProductNotFound(Status.PRODUCT_NOT_FOUND, f"no object model for {pid}")
        return model_to_format(model, fmt)

    def _model(self, device: DeviceRef, message: Message) -> JsonObject:
        return self._model_json(device.pid, message.data)

    def _sub_model(self, device: DeviceRef, message: Message) -> JsonObject:
        sub_pid = _text(message.data, "subPid")
        return {**self._model_json(sub_pid, message.data), "subPid": sub_pid}

    def _config(self, device: DeviceRef, message: Message) -> JsonObject:
        return {"config": self.backend.remote_config(device)}

    def _bind(self, device: DeviceRef, message: Message) -> None:
        _flag(message.data, "cleanData")
        self.backend.bound(device, message.data)

    def _info(self, device: DeviceRef, message: Message) -> JsonObject:
        self.backend.info(device, message.data)
        answer: JsonObject = {"bindStatus": 1, "isClearData": 0}
        # Addresses only when the backend has them: a wrong one is worse than none.
        if (log_url := self.backend.log_upload_url(device)) is not None:
            answer["logUploadUrl"] = log_url
        if (tcp_url := self.backend.tcp_url(device)) is not None:
            answer["tcpUrl"] = tcp_url
        answer["logSwitch"] = self.backend.log_switch(device)
        return answer

    def _property_report(self, device: DeviceRef, message: Message) -> None:
        self.backend.properties(device, _object(message.data, "properties"))

    def _ota_progress(self, device: DeviceRef, message: Message) -> None:
        if not isinstance(message.data.get("type"), str):
            raise ProtocolError("expected a progress type", field="data.type")
        self.backend.ota_progress(device, message.data)

    def _sub_bind(self, device: DeviceRef, message: Message) -> JsonObject:
        subs = sub_devices(message.data, pid_required=True)
        return _listed(self.backend.sub_bound(device, subs))

    def _sub_delete(self, device: DeviceRef, message: Message) -> JsonObject:
        return _listed(self.backend.sub_deleted(device, sub_devices(message.data)))

    def _sub_login(self, device: DeviceRef, message: Message) -> JsonObject:
        subs = sub_devices(message.data)
        self.backend.sub_presence(device, subs, online=True)
        return _listed(subs)

    def _sub_loginout(self, device: DeviceRef, message: Message) -> JsonObject:
        subs = sub_devices(message.data)
        self.backend.sub_presence(device, subs, online=False)
        return _listed(subs)

    def _sub_property_report(self, device: DeviceRef, message: Message) -> None:
        subs = sub_devices(message.data)
        for index, sub in enumerate(subs):
            values = sub.raw.get("properties")
            if not isinstance(values, dict):
                raise ProtocolError("expected an object", field=f"data.devices[{index}].properties")
        for sub in subs:
            self.backend.sub_properties(device, sub, sub.raw["properties"])

    def _local_config(self, device: DeviceRef, message: Message) -> None:
        self.backend.local_config_requested(device)

    def _sub_list(self, device: DeviceRef, message: Message) -> JsonObject:
        return {"devices": self.backend.sub_list(device)}

    def _not_activated(self, device: DeviceRef, message: Message) -> None:
        raise ServiceNotActivated(
            Status.SERVICE_NOT_ACTIVATED, f"{message.code} needs the vendor's cloud"
        )

    def _p2p_config(self, device: DeviceRef, message: Message) -> JsonObject:
        p2p_type = message.data.get("type", "shangyun")
        if p2p_type != "webrtc":
            raise ServiceNotActivated(
                Status.SERVICE_NOT_ACTIVATED, f"p2p type {p2p_type!r} needs the vendor's cloud"
            )
        return {"type": "webrtc", "webrtcConfig": self.backend.webrtc_config(device)}

    def _event(self, device: DeviceRef, message: Message) -> None:
        identifier = _text(message.data, "identifier")
        output: JsonObject = next(
            (
                message.data[key]
                for key in ("output", "outputData", "params")
                if isinstance(message.data.get(key), dict)
            ),
            {},
        )
        self.backend.model_event(device, identifier, output)

    def _find_alert(self, device: DeviceRef, message: Message) -> None:
        self.backend.find_alert(device, message.data)

    def _find_report(self, device: DeviceRef, message: Message) -> None:
        self.backend.found(device, sub_devices(message.data))

    def _pwd_sync(self, device: DeviceRef, message: Message) -> None:
        pwd_list = message.data.get("pwdList")
        if not isinstance(pwd_list, list) or not all(isinstance(p, dict) for p in pwd_list):
            raise ProtocolError("expected a list of objects", field="data.pwdList")
        self.backend.passwords(device, message.data)

    def _local_data_sync(self, device: DeviceRef, message: Message) -> None:
        self.backend.local_data_sync(device, message.data)

    def _webrtc_signal(self, device: DeviceRef, message: Message) -> None:
        _text(message.data, "peerClientId")
        self.backend.webrtc_signal(device, message.data)

    def _update_properties_info(self, device: DeviceRef, message: Message) -> None:
        self.backend.properties_info(device, _object(message.data, "propertiesInfo"))

    def _weather(self, device: DeviceRef, message: Message) -> JsonObject:
        return self.backend.weather(device)

    def _webrtc_config(self, device: DeviceRef, message: Message) -> JsonObject:
        return self.backend.webrtc_config(device)

    def _sweeper_sts_token(self, device: DeviceRef, message: Message) -> JsonObject:
        return self.backend.sweeper_sts_token(device, _upload_type(message.data))

    async def _async_sweeper_sts_token(self, device: DeviceRef, message: Message) -> JsonObject:
        return await self.backend.async_sweeper_sts_token(device, _upload_type(message.data))

    def _sweeper_map_list(self, device: DeviceRef, message: Message) -> JsonObject:
        entry = self.backend.sweeper(device).current()
        if entry is None:
            return {}
        # The key is always there; empty when the map cannot be linked (its path is a key
        # in a store whose public address is unknown), as the protocol's other unknown
        # strings are.
        return {**entry, "mapSignPath": self.backend.map_link(device, entry) or ""}

    def _sweeper_map_add(self, device: DeviceRef, message: Message) -> JsonObject:
        entry = self.backend.sweeper(device).add_map(message.data, self._clock())
        return {k: v for k, v in entry.items() if k != "createTime"}

    def _sweeper_map_update(self, device: DeviceRef, message: Message) -> JsonObject:
        entry = self.backend.sweeper(device).update_map(message.data)
        return {k: v for k, v in entry.items() if k != "createTime"}

    def _sweeper_map_del(self, device: DeviceRef, message: Message) -> JsonObject:
        return {"result": self.backend.sweeper(device).delete_map(message.data)}

    def _sweeper_record_add(self, device: DeviceRef, message: Message) -> JsonObject:
        entry = self.backend.sweeper(device).add_record(message.data, self._clock())
        return {k: v for k, v in entry.items() if k != "createTime"}


_ANSWERS: Final[Mapping[Evt, Answer]] = MappingProxyType(
    {
        Evt.RESET: Responder._reset,
        Evt.TIME: Responder._time,
        Evt.MODEL: Responder._model,
        Evt.CONFIG: Responder._config,
        Evt.BIND: Responder._bind,
        Evt.INFO: Responder._info,
        Evt.PROPERTY_REPORT: Responder._property_report,
        Evt.OTA_PROGRESS: Responder._ota_progress,
        Evt.SUB_BIND: Responder._sub_bind,
        Evt.SUB_DELETE: Responder._sub_delete,
        Evt.SUB_LOGIN: Responder._sub_login,
        Evt.SUB_LOGINOUT: Responder._sub_loginout,
        Evt.SUB_MODEL: Responder._sub_model,
        Evt.SUB_PROPERTY_REPORT: Responder._sub_property_report,
        Evt.LOCAL_CONFIG: Responder._local_config,
        Evt.SUB_LIST: Responder._sub_list,
        Evt.IPC_CLOUD: Responder._not_activated,
        Evt.P2P_CONFIG: Responder._p2p_config,
        Evt.AGORA_TOKEN: Responder._not_activated,
        Evt.EVENT: Responder._event,
        Evt.IPC_TOKEN_BIND: Responder._bind,
        Evt.FIND_ALERT: Responder._find_alert,
        Evt.FIND_REPORT: Responder._find_report,
        Evt.IPC_LIVE_GET: Responder._not_activated,
        Evt.PWD_SYNC: Responder._pwd_sync,
        Evt.LOCAL_DATA_SYNC: Responder._local_data_sync,
        Evt.WEBRTC_SIGNAL_EXCHANGE: Responder._webrtc_signal,
        Evt.UPDATE_PROPERTIES_INFO: Responder._update_properties_info,
        Evt.AGORA_AI_TOKEN: Responder._not_activated,
        Evt.WEATHER: Responder._weather,
        Evt.SWEEPER_STS_TOKEN: Responder._sweeper_sts_token,
        Evt.SWEEPER_MAP_LIST: Responder._sweeper_map_list,
        Evt.SWEEPER_MAP_ADD: Responder._sweeper_map_add,
        Evt.SWEEPER_MAP_UPDATE: Responder._sweeper_map_update,
        Evt.SWEEPER_MAP_DEL: Responder._sweeper_map_del,
        Evt.SWEEPER_RECORD_ADD: Responder._sweeper_record_add,
        Evt.WEBRTC_CONFIG: Responder._webrtc_config,
    }
)
assert set(_ANSWERS) == set(Evt), "every device event needs an answer"

type AsyncAnswer = Callable[["Responder", DeviceRef, Message], Awaitable[JsonObject]]

_ASYNC_ANSWERS: Final[Mapping[str, AsyncAnswer]] = MappingProxyType(
    {Evt.SWEEPER_STS_TOKEN: Responder._async_sweeper_sts_token}
)
