"""A small rlink cloud: the device server, the app REST API and the app notifications.

Simulated devices log in to its device server with their own credentials, and apps with
app credentials. REST commands become device ``issue``s; what devices report and reply
becomes notifications on ``app/v2/{home}/notify`` (device matters) or
``app/v2/{userId}/userNotify`` (account matters). The REST signature is checked with
`verify_auth_headers`, the same scheme the integration signs with.

    async with FakeCloud([DeviceConfig(uuid, secret, kind="plug")]) as cloud:
        cloud.rest_url, cloud.mqtt_port, cloud.device_id(uuid)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import AppNotification as Note
from custom_components.rlink.protocol.codes import DeviceCommand as Cmd
from custom_components.rlink.protocol.errors import ProtocolError, RlinkError
from custom_components.rlink.protocol.messages import JsonObject, Message
from custom_components.rlink.protocol.model import ObjectModel, parse_model
from custom_components.rlink.protocol.policy import Principal, RlinkPolicy, Role
from custom_components.rlink.protocol.responder import (
    DeviceRef,
    Responder,
    ResponderBackend,
    SubDeviceRef,
)
from custom_components.rlink.protocol.rest import BASE_PATH, Endpoint, verify_auth_headers
from custom_components.rlink.protocol.server.link import ServerLink
from custom_components.rlink.protocol.server.server import DeviceServer
from custom_components.rlink.protocol.session import RequestTimeout, SessionError
from custom_components.rlink.protocol.topics import (
    DeviceTopic,
    Topic,
    TopicKind,
    app_topic,
    device_filter,
    device_topic,
)

from . import Running, Simulator
from .device import DeviceConfig

_LOGGER = logging.getLogger(__name__)

DEFAULT_USER: Final = "simUser01"
DEFAULT_SECRET: Final = "sim-app-secret-0123456789abcdef"  # noqa: S105 - simulator only
DEFAULT_HOME: Final = "home01"
STOP_STEP_SECONDS: Final = 15
OTA_TYPES: Final = {
    "downloading": "download",
    "burning": "burning",
    "report": "done",
    "fail": "fail",
}
"""Device OTA vocabulary -> the app's."""
_SIGNAL_FIELDS: Final = ("peerClientId", "method", "params", "rawData", "error")
USER_CODES: Final = frozenset(
    {Note.SYS_NOTICE, Note.MATTER_FIND, Note.MATTER_PAIR, Note.IPC_TOKEN_USED}
)
"""Codes sent to the user rather than to a home."""


@dataclass
class CloudDevice:
    """A device as the cloud knows it."""

    device_id: str
    config: DeviceConfig
    gateway: str | None = None
    """The uuid of its gateway, for a sub-device."""


@dataclass
class OtaTask:
    device_id: str
    body: JsonObject


@dataclass
class Faults:
    """Switches tests flip to make the cloud misbehave."""

    rest_status: int | None = None
    """Answer every REST call with this HTTP status."""
    rest_code: int | None = None
    """Answer every REST call with HTTP 200 and this non-zero result code."""
    muted: bool = False
    """Stop publishing notifications, until an app logs in again."""
    refuse_apps: bool = False


@dataclass
class RestCall:
    endpoint: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def device_id_for(uuid: str) -> str:
    """The cloud's id for a device: stable, and visibly not its uuid."""
    return f"dev{uuid[-8:].lower()}"


class FakeCloud(Running):
    """The broker, a REST server, and the simulated devices of one account."""

    def __init__(
        self,
        devices: Iterable[DeviceConfig],
        *,
        user_id: str = DEFAULT_USER,
        secret: str = DEFAULT_SECRET,
        home: str = DEFAULT_HOME,
        token: str | None = None,
        host: str = "127.0.0.1",
        mqtt_port: int = 0,
        rest_port: int = 0,
        reply_timeout: float = 5.0,
    ) -> None:
        self.user_id, self.secret, self.home, self.token = user_id, secret, home, token
        self.host = host
        self.reply_timeout = reply_timeout
        self.faults = Faults()
        self.configs = list(devices)
        self.devices: dict[str, CloudDevice] = {}
        for config in self.configs:
            self._enrol(config, None)
        self.groups: dict[str, list[str]] = {}
        """groupId -> deviceIds."""
        self.scenes: dict[str, list[tuple[str, JsonObject]]] = {}
        """sceneId -> (deviceId, properties) actions."""
        self.ota_tasks: dict[str, OtaTask] = {}
        self.upgrading: dict[str, str] = {}
        """uuid -> the version an upgrade is installing."""
        self.calls: list[RestCall] = []
        self.notifications: list[tuple[str, Message]] = []
        self.app_logins: list[str] = []
        """Client ids of the apps that logged in, in order."""
        self.policy = RlinkPolicy(
            secret_for=self._device_secret,
            app_secret_for=self._app_secret,
            homes_for=lambda user: (self.home,) if user == self.user_id else (),
        )
        self.session = ServerLink(
            "fake cloud", on_connected=self._connected, on_disconnected=self._disconnected
        )
        self.session.subscribe(device_filter(TopicKind.REPORT), self._on_report)
        # Replies are routed to their waiting request; the handler sees only late ones.
        self.session.subscribe(device_filter(TopicKind.ISSUE_RESPONSE), lambda _t, _m: None)
        self.broker = DeviceServer(self.policy, self.session, host=host, port=mqtt_port)
        self.responder = Responder(_Backend(self))
        self._rest_port = rest_port
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.simulator: Simulator | None = None
        self._ids = messages.MessageIds("cloud-")
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- account and devices --------------------------------------------------------------

    def _enrol(self, config: DeviceConfig, gateway: str | None) -> None:
        self.devices[config.uuid] = CloudDevice(device_id_for(config.uuid), config, gateway)
        for sub in config.sub_devices:
            self._enrol(sub, config.uuid)

    def device_id(self, uuid: str) -> str:
        return self.devices[uuid].device_id

    def by_device_id(self, device_id: str) -> CloudDevice:
        for device in self.devices.values():
            if device.device_id == device_id:
                return device
        raise RlinkError(1004, f"no device {device_id}")

    def _device_secret(self, uuid: str) -> str | None:
        device = self.devices.get(uuid)
        return device.config.secret if device is not None and device.gateway is None else None

    def _app_secret(self, user_id: str) -> str | None:
        if self.faults.refuse_apps or user_id != self.user_id:
            return None
        return self.secret

    def _connected(self, principal: Principal) -> None:
        if principal.role is Role.APP:
            self._app_online(principal.client_id)
        else:
            self._presence(principal.identity, True)

    def _disconnected(self, principal: Principal) -> None:
        if principal.role is Role.DEVICE:
            self._presence(principal.identity, False)

    def _app_online(self, client_id: str) -> None:
        self.app_logins.append(client_id)
        self.faults.muted = False
        # The app API lists no devices: tell a new session what is bound, as bind results.
        self._spawn(self._announce_bound())

    async def _announce_bound(self) -> None:
        await asyncio.sleep(0.3)  # the app subscribes right after its CONNACK
        entries = [
            _bind_entry(self, d.config.uuid, d.config.product_id, d.gateway, "add")
            for d in self.devices.values()
            if self.broker.is_connected(d.gateway or d.config.uuid)
        ]
        if entries:
            self.notify(Note.BIND_RESULT, {"devices": entries})

    async def start_devices(self) -> None:
        """Connect the simulated devices (when `start` was told to wait)."""
        self.simulator = Simulator("127.0.0.1", self.broker.port, self.configs)
        await self.simulator.start()

    @property
    def mqtt_port(self) -> int:
        return self.broker.port

    @property
    def rest_url(self) -> str:
        assert self._site is not None
        server = self._site._server  # aiohttp keeps the bound socket here only
        port = server.sockets[0].getsockname()[1] if server and server.sockets else self._rest_port  # type: ignore[union-attr]
        return f"http://{self.host}:{port}"

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, *, with_devices: bool = True) -> None:
        await self.broker.start()
        self.session.attach(self.broker)
        app = web.Application()
        app.router.add_post(BASE_PATH + "{endpoint}", self._on_rest)
        # A stop does not wait a minute for the app's kept-alive connections to go quiet.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self._rest_port)
        await self._site.start()
        if with_devices:
            await self.start_devices()

    async def stop(self) -> None:
        """Stop everything; a step that does not finish in time is named and skipped, so a
        stuck part shows in the log instead of holding up whoever stops the cloud."""
        for task in list(self._tasks):
            task.cancel()
        steps: list[tuple[str, Awaitable[Any]]] = []
        if self.simulator is not None:
            steps.append(("the simulated devices", self.simulator.stop()))
        if self._runner is not None:
            steps.append(("the REST server", self._runner.cleanup()))
        steps.append(("the cloud's own link", self.session.close()))
        steps.append(("the device server", self.broker.stop()))
        for name, step in steps:
            try:
                async with asyncio.timeout(STOP_STEP_SECONDS):
                    await step
            except TimeoutError:
                _LOGGER.warning("Stopping %s took over %s s; went on", name, STOP_STEP_SECONDS)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- notifications ------------------------------------------------------------------------

    def notify(self, code: Note, data: JsonObject) -> None:
        """Publish a notification where an app of this account hears it."""
        if self.faults.muted or not self.session.connected:
            return
        kind, owner = (
            (TopicKind.USER_NOTIFY, self.user_id)
            if code in USER_CODES
            else (TopicKind.NOTIFY, self.home)
        )
        if code is Note.PROPERTY_CHANGE:
            # Both lists, as in the protocol's example, the one with nothing to say empty.
            data = {"devices": [], "groups": [], **data}
        message = messages.notification(code, data, msg_id=self._ids())
        topic = app_topic(kind, owner)
        self.notifications.append((topic, message))
        self.session.publish(topic, message)

    def _presence(self, uuid: str, online: bool) -> None:
        if uuid in self.devices:
            self.notify(Note.STATUS, {"deviceId": self.device_id(uuid), "online": int(online)})

    def _on_report(self, topic: Topic, message: Message) -> None:
        assert isinstance(topic, DeviceTopic)
        if message.is_reply or topic.uuid not in self.devices:
            return
        reply = self.responder.handle(DeviceRef(topic.uuid, topic.pid), message)
        if reply is not None:
            self.session.publish(
                device_topic(TopicKind.REPORT_RESPONSE, topic.pid, topic.uuid), reply
            )

    # --- REST -----------------------------------------------------------------------------------

    async def _on_rest(self, request: web.Request) -> web.Response:
        try:
            verify_auth_headers(request.headers, self._app_secret)
            if self.token is not None and request.headers.get("Authorization") != (
                f"Bearer {self.token}"
            ):
                raise ProtocolError("bearer token missing or wrong", field="Authorization")
        except ProtocolError as err:
            return web.json_response({"code": 401, "msg": str(err)}, status=401)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"code": 1003, "msg": "body is not JSON"}, status=400)
        name = request.match_info["endpoint"]
        self.calls.append(RestCall(name, body, dict(request.headers)))
        if self.faults.rest_status is not None:
            return web.json_response({"msg": "failing on purpose"}, status=self.faults.rest_status)
        if self.faults.rest_code is not None:
            return web.json_response({"code": self.faults.rest_code, "msg": "failing on purpose"})
        try:
            handler = _REST[Endpoint(name)]
        except ValueError:
            return web.json_response({"code": 1002, "msg": f"no endpoint {name}"}, status=404)
        try:
            data = await handler(self, body)
        except RlinkError as err:
            return web.json_response({"code": err.code, "msg": err.msg})
        except (KeyError, TypeError, AttributeError) as err:
            return web.json_response({"code": 1002, "msg": f"invalid parameter: {err}"})
        return web.json_response({"code": 0, "msg": "success", "data": data})

    async def issue(
        self, device: CloudDevice, code: Cmd, data: JsonObject, *, ack: bool = True
    ) -> JsonObject:
        """Send a command to the device (through its gateway for a sub-device)."""
        carrier = self.devices[device.gateway] if device.gateway else device
        pid, uuid = carrier.config.product_id, carrier.config.uuid
        message = messages.command(code, data, ack=ack, msg_id=self._ids())
        topic = device_topic(TopicKind.ISSUE, pid, uuid)
        if not ack:
            self.session.publish(topic, message)
            return {}
        try:
            reply = await self.session.request(topic, message, timeout=self.reply_timeout)
        except RequestTimeout as err:
            raise RlinkError(1001, f"device {device.device_id} did not answer") from err
        except SessionError as err:
            raise RlinkError(1001, str(err)) from err
        return dict(reply.data)

    def _sub(self, device: CloudDevice, **fields: Any) -> JsonObject:
        return {"subUuid": device.config.uuid, **fields} if device.gateway else dict(fields)

    async def _set(self, device: CloudDevice, values: JsonObject) -> None:
        if device.gateway is None:
            await self.issue(device, Cmd.PROPERTY_SET, {"properties": values})
        else:
            await self.issue(
                device,
                Cmd.SUB_PROPERTY_SET,
                {"devices": [{"uuid": device.config.uuid, "properties": values}]},
            )

    async def _props_issue(self, body: JsonObject) -> None:
        await self._set(self.by_device_id(body["deviceId"]), body["data"])

    async def _batch_props_issue(self, body: JsonObject) -> None:
        for device_id in body["deviceIds"]:
            await self._set(self.by_device_id(device_id), body["data"])

    async def _props_report(self, body: JsonObject) -> None:
        self.by_device_id(body["deviceId"])
        self.notify(
            Note.PROPERTY_CHANGE,
            {"devices": [{"deviceId": body["deviceId"], "properties": body["data"]}]},
        )

    async def _ota_issue(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        self.ota_tasks[body["taskId"]] = OtaTask(device.device_id, body)
        await self._start_ota(device, body)

    async def _start_ota(self, device: CloudDevice, body: JsonObject) -> None:
        data = {
            "firmwareType": body.get("firmwareType", 2),
            "fileSize": body.get("fileSize"),
            "silence": False,
            "md5sum": body.get("md5sum"),
            "url": body["url"],
            "version": body["version"],
        }
        if device.gateway:
            data["subUuids"] = [device.config.uuid]
        self.upgrading[device.config.uuid] = str(body["version"])
        await self.issue(device, Cmd.OTA, data)

    async def _ota_batch_issue(self, body: list[JsonObject]) -> None:
        for entry in body:
            task = self.ota_tasks.get(entry["taskId"])
            if task is None:
                raise RlinkError(1002, f"no upgrade task {entry['taskId']}")
            await self._start_ota(self.by_device_id(entry["deviceId"]), task.body)

    async def _scan_issue(self, body: JsonObject) -> None:
        gateway = self.by_device_id(body["deviceId"])
        data = {k: body[k] for k in ("bind", "find", "uuids", "pids") if k in body}
        data["second"] = body.get("second", 60)
        await self.issue(gateway, Cmd.FIND_BIND, data)

    async def _group_props_issue(self, body: JsonObject) -> None:
        members = self.groups.get(body["groupId"])
        if members is None:
            raise RlinkError(24034, "no such group")
        for device_id in members:
            await self._set(self.by_device_id(device_id), body["data"])
        self.notify(
            Note.PROPERTY_CHANGE,
            {"groups": [{"groupId": body["groupId"], "properties": body["data"]}]},
        )

    async def _onekey_execute_issue(self, body: JsonObject) -> None:
        actions = self.scenes.get(body["sceneId"])
        if actions is None:
            raise RlinkError(24029, "no such scene")
        for device_id, values in actions:
            await self._set(self.by_device_id(device_id), values)

    async def _wake_up_issue(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        await self.issue(device, Cmd.WAKE_UP, self._sub(device))
        self.notify(Note.WAKE_UP_SUCCESS, {"deviceId": device.device_id})

    async def _notify_device_join(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        await self.issue(device, Cmd.AGORA_JOIN, {"agoraModel": body["agoraModel"]}, ack=False)

    async def _common_cmd(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        reply = await self.issue(
            device,
            Cmd.COMMON_CMD,
            self._sub(device, cmdType=body["cmdType"], cmdData=body["cmdData"]),
        )
        self.notify(
            Note.COMMON_CMD_RESP,
            {
                "deviceId": device.device_id,
                "respType": reply.get("respType"),
                "respData": reply.get("respData") or {},
            },
        )

    async def _reboot(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        await self.issue(device, Cmd.REBOOT, self._sub(device), ack=False)

    async def _sub_replace(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        if device.gateway is None:
            raise RlinkError(1002, "not a sub-device")
        old = device.config.uuid
        reply = await self.issue(device, Cmd.SUB_REPLACE, {"uuid": old, "newUuid": body["newUuid"]})
        if reply.get("result") == "success":
            # The simulator's gateway renamed its config already; follow it here.
            self.devices[body["newUuid"]] = self.devices.pop(old)
        self.notify(
            Note.SUB_REPLACE_RESULT,
            {
                "deviceId": device.device_id,
                "newUuid": body["newUuid"],
                "result": reply.get("result", "fail"),
            },
        )

    async def _props_get(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        data: JsonObject = {"reportAll": bool(body.get("reportAll", True))}
        if body.get("dps"):
            data["dps"] = body["dps"]
        if device.gateway:
            data["subUuids"] = [device.config.uuid]
        await self.issue(device, Cmd.PROPERTY_GET, data, ack=False)

    async def _config_settings(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        reply = await self.issue(
            device, Cmd.CONFIG_SETTINGS, {"type": body["type"], "settings": body["settings"]}
        )
        self.notify(
            Note.CONFIG_SETTINGS_RESP,
            {
                "deviceId": device.device_id,
                "type": body["type"],
                "settings": reply.get("settings", body["settings"]),
                "result": reply.get("result", "success"),
            },
        )

    async def _check_signal(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        reply = await self.issue(device, Cmd.PING, {})
        info = {k: v for k, v in reply.items() if k != "wifiList"}
        self.notify(
            Note.DEVICE_PROPERTY_UPDATE, {"deviceId": device.device_id, "propertiesInfo": info}
        )

    async def _webrtc(self, body: JsonObject) -> None:
        device = self.by_device_id(body["deviceId"])
        data = {k: body[k] for k in ("peerClientId", "method", "params", "rawData") if k in body}
        await self.issue(device, Cmd.WEBRTC_SIGNAL_EXCHANGE, data, ack=False)


_REST: Final[dict[Endpoint, Callable[[FakeCloud, Any], Awaitable[Any]]]] = {
    Endpoint.PROPS_ISSUE: FakeCloud._props_issue,
    Endpoint.BATCH_PROPS_ISSUE: FakeCloud._batch_props_issue,
    Endpoint.PROPS_REPORT: FakeCloud._props_report,
    Endpoint.OTA_ISSUE: FakeCloud._ota_issue,
    Endpoint.OTA_BATCH_ISSUE: FakeCloud._ota_batch_issue,
    Endpoint.SCAN_ISSUE: FakeCloud._scan_issue,
    Endpoint.GROUP_PROPS_ISSUE: FakeCloud._group_props_issue,
    Endpoint.ONEKEY_EXECUTE_ISSUE: FakeCloud._onekey_execute_issue,
    Endpoint.WAKE_UP_ISSUE: FakeCloud._wake_up_issue,
    Endpoint.NOTIFY_DEVICE_JOIN: FakeCloud._notify_device_join,
    Endpoint.COMMON_CMD: FakeCloud._common_cmd,
    Endpoint.REBOOT: FakeCloud._reboot,
    Endpoint.SUB_REPLACE: FakeCloud._sub_replace,
    Endpoint.PROPS_GET: FakeCloud._props_get,
    Endpoint.CONFIG_SETTINGS: FakeCloud._config_settings,
    Endpoint.CHECK_SIGNAL: FakeCloud._check_signal,
    Endpoint.WEBRTC_SIGNAL_EXCHANGE: FakeCloud._webrtc,
}


def _bind_entry(
    cloud: FakeCloud, uuid: str, pid: str | None, gateway: str | None, kind: str
) -> JsonObject:
    # `pid` is not in the spec's example; the integration reads it when present.
    entry: JsonObject = {
        "deviceId": cloud.device_id(uuid) if uuid in cloud.devices else uuid,
        "uuid": uuid,
        "trdUuid": uuid,
        "type": kind,
        "result": "success",
        "errCode": 0,
        "errMsg": "",
    }
    if pid:
        entry["pid"] = pid
    if gateway:
        entry["gatewayId"] = cloud.device_id(gateway)
    return entry


class _Backend(ResponderBackend):
    """The cloud's answers to device events: models from the templates, news to the app."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def _id(self, ref: DeviceRef | SubDeviceRef | str) -> str:
        uuid = ref if isinstance(ref, str) else ref.uuid
        return self.cloud.device_id(uuid) if uuid in self.cloud.devices else uuid

    def _subject(self, ref: DeviceRef, data: JsonObject) -> str:
        sub = data.get("subUuid")
        return self._id(sub) if isinstance(sub, str) and sub else self._id(ref)

    def model(self, pid: str) -> ObjectModel | None:
        for device in self.cloud.devices.values():
            if device.config.product_id == pid:
                return parse_model(device.config.template.model(pid))
        return None

    def bound(self, device: DeviceRef, data: JsonObject) -> None:
        # A device that restarts after an upgrade says its new version when it binds.
        if self.cloud.upgrading.get(device.uuid) == data.get("version"):
            del self.cloud.upgrading[device.uuid]
            self.cloud.notify(
                Note.OTA_PROGRESS,
                {
                    "deviceId": self._id(device),
                    "type": "done",
                    "percent": 100,
                    "resCode": 0,
                    "resMsg": "",
                    "version": data.get("version"),
                },
            )
        self.cloud.notify(
            Note.BIND_RESULT,
            {"devices": [_bind_entry(self.cloud, device.uuid, device.pid, None, "add")]},
        )

    def properties(self, device: DeviceRef, values: JsonObject) -> None:
        self.cloud.notify(
            Note.PROPERTY_CHANGE,
            {"devices": [{"deviceId": self._id(device), "properties": values}]},
        )

    def sub_properties(self, device: DeviceRef, sub: SubDeviceRef, values: JsonObject) -> None:
        self.cloud.notify(
            Note.PROPERTY_CHANGE,
            {
                "devices": [
                    {"deviceId": self._id(sub), "gatewayId": self._id(device), "properties": values}
                ]
            },
        )

    def properties_info(self, device: DeviceRef, info: JsonObject) -> None:
        self.cloud.notify(
            Note.DEVICE_PROPERTY_UPDATE, {"deviceId": self._id(device), "propertiesInfo": info}
        )

    def ota_progress(self, device: DeviceRef, data: JsonObject) -> None:
        self.cloud.notify(
            Note.OTA_PROGRESS,
            {
                "deviceId": self._subject(device, data),
                "type": OTA_TYPES.get(str(data.get("type")), str(data.get("type"))),
                "percent": data.get("percent", 0),
                "resCode": data.get("resCode", 0),
                "resMsg": data.get("resMsg", ""),
                "version": data.get("version", ""),
            },
        )

    def model_event(self, device: DeviceRef, identifier: str, output: JsonObject) -> None:
        self.cloud.notify(
            Note.SYS_NOTICE,
            {
                "type": "message",
                "messageInfo": {
                    "msgType": "device_alarm",
                    "msgCode": identifier,
                    "title": f"{identifier} on {self._id(device)}",
                    "body": ", ".join(f"{k}: {v}" for k, v in output.items()),
                    "deviceId": self._id(device),
                },
            },
        )

    def find_alert(self, device: DeviceRef, data: JsonObject) -> None:
        self.cloud.notify(Note.ALERT, {"deviceId": self._subject(device, data)})

    def passwords(self, device: DeviceRef, data: JsonObject) -> None:
        # A lock's own list (pwd_sync) goes out under the table's name for the code.
        self.cloud.notify(
            Note.PWD_SET_RESULT,
            {"deviceId": self._subject(device, data), "pwdList": data.get("pwdList", [])},
        )

    def webrtc_signal(self, device: DeviceRef, data: JsonObject) -> None:
        # The protocol's fields, and the device's `error` (a busy camera says so with it).
        passed = {k: data[k] for k in _SIGNAL_FIELDS if k in data}
        self.cloud.notify(Note.WEBRTC_SIGNAL_EXCHANGE, {"deviceId": self._id(device), **passed})

    def sub_bound(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        for sub in subs:
            if sub.uuid not in self.cloud.devices:
                config = next(
                    (
                        c
                        for c in self.cloud.devices[device.uuid].config.found_devices
                        if c.uuid == sub.uuid
                    ),
                    None,
                )
                if config is not None:
                    self.cloud.devices[sub.uuid] = CloudDevice(
                        device_id_for(sub.uuid), config, device.uuid
                    )
        self.cloud.notify(
            Note.BIND_RESULT,
            {"devices": [_bind_entry(self.cloud, s.uuid, s.pid, device.uuid, "add") for s in subs]},
        )
        return subs

    def sub_deleted(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        self.cloud.notify(
            Note.BIND_RESULT,
            {
                "devices": [
                    _bind_entry(self.cloud, s.uuid, s.pid, device.uuid, "remove") for s in subs
                ]
            },
        )
        return subs

    def sub_presence(self, device: DeviceRef, subs: list[SubDeviceRef], online: bool) -> None:
        for sub in subs:
            self.cloud.notify(Note.STATUS, {"deviceId": self._id(sub), "online": int(online)})

    def found(self, device: DeviceRef, subs: list[SubDeviceRef]) -> None:
        self.cloud.notify(
            Note.FIND,
            {
                "devices": [
                    {
                        "pid": s.pid,
                        "uuid": s.uuid,
                        "trdUuid": s.raw.get("trdUuid", s.uuid),
                        "gatewayId": self._id(device),
                        "productName": s.pid,
                        "imageUrl": "",
                        "switchDpList": [],
                    }
                    for s in subs
                ]
            },
        )
