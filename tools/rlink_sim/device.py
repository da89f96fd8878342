"""A virtual rlink device: a real MQTT client speaking the device side of the protocol."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import SignMethod, device_credentials
from custom_components.rlink.protocol.codes import DeviceCommand as Cmd
from custom_components.rlink.protocol.codes import DeviceEvent as Evt
from custom_components.rlink.protocol.codes import ProductCommand
from custom_components.rlink.protocol.errors import RlinkError
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.session import MqttSession, SessionError, TlsOptions
from custom_components.rlink.protocol.topics import (
    ProductTopic,
    Topic,
    TopicKind,
    device_topic,
    product_topic,
)

from .files import PictureServer
from .templates import TEMPLATES, Template
from .vacuum import Cleaning
from .webrtc import BadOffer, LiveViews, snapshot

_LOGGER = logging.getLogger(__name__)

FIRST_EVENT_DELAY = 5.0
"""Seconds after start before a camera's first alarm."""


@dataclass
class DeviceConfig:
    """One simulated device (or a gateway's sub-device)."""

    uuid: str
    secret: str
    kind: str = "plug"
    pid: str | None = None
    name: str | None = None
    version: str = "1.0.0"
    sign_method: SignMethod = SignMethod.HMAC_SHA256
    report_interval: float | None = None
    """Seconds between unprompted property reports; None reports only on change."""
    vary: str | None = None
    """A numeric property whose value changes with every periodic report (benchmarks)."""
    busy: bool = False
    """A camera that answers every WebRTC offer with 'busy'."""
    relock_after: float = 5.0
    """Seconds a lock stays open after a remote unlock before it locks itself again."""
    remote_unlock: tuple[int, str] | None = None
    """The password index and password a lock's remote unlock must carry (None: any)."""
    stream: bool = True
    """A camera streams its test picture to each viewer (False: signalling only)."""
    event_interval: float | None = None
    """Seconds between a camera's motion alarms and doorbell presses (with a photo); None
    for none."""
    clean_seconds: float = 120.0
    """How long a vacuum's cleaning run takes."""
    store_url: str | None = None
    """Where the object store a vacuum uploads its maps to answers (the endpoint a real
    vacuum derives from the granted region)."""
    download_rate: float | None = None
    """Firmware bytes a second the device downloads at (None: as fast as it can)."""
    ip: str | None = None
    """The address the device says it has in `info`; its pictures are served there
    (127.0.0.1 when it says none)."""
    sub_devices: list[DeviceConfig] = field(default_factory=list)
    found_devices: list[DeviceConfig] = field(default_factory=list)
    """What a gateway finds when asked to search (find_bind)."""

    @property
    def template(self) -> Template:
        return TEMPLATES[self.kind]

    @property
    def product_id(self) -> str:
        return self.pid or self.template.pid


def make_uuid(seed: str) -> str:
    """A stable, well-formed device uuid derived from `seed`."""
    return "rn01" + hashlib.sha256(seed.encode()).hexdigest()[:12]


def make_secret(seed: str) -> str:
    return hashlib.sha256(f"secret:{seed}".encode()).hexdigest()[:32]


@dataclass
class SubDevice:
    config: DeviceConfig
    values: dict[str, Any]


class VirtualDevice:
    """Connects with real credentials, runs the start sequence, answers commands."""

    def __init__(
        self,
        config: DeviceConfig,
        host: str,
        port: int,
        *,
        tls: TlsOptions | None = None,
        reply_timeout: float = 5.0,
    ) -> None:
        self.config = config
        self.uuid = config.uuid
        self.pid = config.product_id
        self.host, self.port, self.tls = host, port, tls
        self.reply_timeout = reply_timeout
        self.values: dict[str, Any] = dict(config.template.values)
        self.version = config.version
        self.model: dict[str, Any] = config.template.model(self.pid)
        self.passwords: dict[int, dict[str, Any]] = {}
        self.subs: dict[str, SubDevice] = {
            s.uuid: SubDevice(s, dict(s.template.values)) for s in config.sub_devices
        }
        self.received: list[Message] = []
        """Every command and every reply this device got, in order."""
        self.sent: list[Message] = []
        """Every event this device published, in order."""
        self.replied: list[Message] = []
        """Every reply this device published to a command, in order."""
        self.downloaded: bytes | None = None
        """The last firmware this device downloaded."""
        self.log_upload_url: str | None = None
        """Where the hub's `info` answer said to upload logs."""
        self.log_uploads: list[int] = []
        """The HTTP status of each log upload, in order."""
        self._log_loop: asyncio.Task[None] | None = None
        self.replies: dict[str, Message] = {}
        """The last reply to each event code."""
        self.errors: list[str] = []
        self.reports_sent = 0
        self.periodic_reports = 0
        """Reports sent by the periodic timer (each one changes a value when `vary` is set)."""
        self.started = asyncio.Event()
        self.session: MqttSession | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ids = messages.MessageIds(f"{self.uuid[-4:]}-")
        self._waiters: list[tuple[str, asyncio.Future[Message]]] = []
        self._handlers: dict[
            Cmd | ProductCommand, Callable[[Message], Coroutine[Any, Any, dict[str, Any] | None]]
        ] = {
            Cmd.PROPERTY_SET: self._on_property_set,
            Cmd.PROPERTY_GET: self._on_property_get,
            Cmd.PING: self._on_ping,
            Cmd.REBOOT: self._on_reboot,
            Cmd.RESET: self._on_reset,
            Cmd.OTA: self._on_ota,
            Cmd.PWD_SET: self._on_pwd_set,
            Cmd.REMOTE_UNLOCK: self._on_remote_unlock,
            Cmd.WAKE_UP: self._on_wake_up,
            Cmd.WEBRTC_SIGNAL_EXCHANGE: self._on_webrtc,
            Cmd.FIND_BIND: self._on_find_bind,
            Cmd.SUB_PROPERTY_SET: self._on_sub_property_set,
            Cmd.SUB_DELETE: self._on_sub_delete,
            Cmd.COMMON_CMD: self._on_common_cmd,
            Cmd.CONFIG_SETTINGS: self._on_config_settings,
            Cmd.SUB_REPLACE: self._on_sub_replace,
            Cmd.LOCAL_GROUP_SET: self._on_local_group_set,
            Cmd.LOCAL_RULE_EXEC: self._on_local_rule_exec,
            Cmd.LOCAL_GROUP_UPDATE: self._on_local_group_update,
            Cmd.LOCAL_SCENE_UPDATE: self._on_local_scene_update,
            Cmd.UPDATE_LOCAL_CONFIG: self._on_update_local_config,
            Cmd.LOG_SWITCH: self._on_log_switch,
            ProductCommand.SILENCE_OTA: self._on_silence_ota,
        }
        self.local_groups: dict[int, list[str]] = {}
        self.local_rules: dict[int, list[dict[str, Any]]] = {}
        self.live = LiveViews(config.name or self.uuid, stream=config.stream)
        self.pictures: PictureServer | None = None
        self.cleaning = Cleaning(self, config.clean_seconds, config.store_url, self._spawn_task)

    # --- lifecycle ----------------------------------------------------------------------

    def topic(self, kind: TopicKind) -> str:
        return device_topic(kind, self.pid, self.uuid)

    async def connect(self) -> None:
        """Connect (raising the session's ConnectError on refusal) and run the start sequence."""
        session = MqttSession(
            self.host,
            self.port,
            lambda: device_credentials(self.uuid, self.config.secret, self.config.sign_method),
            tls=self.tls,
            keepalive=30,
            name=self.uuid,
        )
        session.subscribe(self.topic(TopicKind.ISSUE), self._on_issue)
        session.subscribe(self.topic(TopicKind.REPORT_RESPONSE), self._on_unsolicited_reply)
        # A gateway also hears the product-wide commands of its sub-devices' products.
        for pid in {self.pid, *(sub.config.product_id for sub in self.subs.values())}:
            session.subscribe(product_topic(TopicKind.PRODUCT_ISSUE, pid), self._on_issue)
        self.session = session
        await session.connect()
        await self.start_sequence()

    async def close(self) -> None:
        await self.live.close_all()
        if self.pictures is not None:
            await self.pictures.stop()
            self.pictures = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.session is not None:
            await self.session.close()
        self.started.clear()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._job_done)
        return task

    def _spawn_task(self, job: Any) -> None:
        """Keep a task (or a coroutine, started now) until it ends; `close` cancels it."""
        if asyncio.iscoroutine(job):
            self._spawn(job)
            return
        self._tasks.add(job)
        job.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task[Any]) -> None:
        """A background job (a reboot, an OTA) that loses the broker just ends, as on a
        real device; anything else is a simulator bug and is logged as one."""
        self._tasks.discard(task)
        if task.cancelled() or (err := task.exception()) is None:
            return
        if isinstance(err, SessionError):
            _LOGGER.info("%s: connection lost during a background job: %s", self.uuid, err)
        else:
            _LOGGER.error("%s: background job failed", self.uuid, exc_info=err)

    async def start_sequence(self) -> None:
        """What a freshly connected device says: bind, info, time, model, then its state."""
        await self.send(
            Evt.BIND,
            {
                "userId": "sim",
                "assetId": "",
                "version": self.version,
                "mcuVersion": "1.0.0",
                "cleanData": False,
            },
        )
        info = await self.send(
            Evt.INFO,
            {
                "checkPwd": 0,
                "bindStatus": 1,
                "version": self.version,
                "mcuVersion": "1.0.0",
                "config": json.dumps(self.network_info()),
            },
        )
        if info is not None:
            self.log_upload_url = info.data.get("logUploadUrl") or None
            self._follow_log_switch(info.data.get("logSwitch") or {})
        # What a cloud passes on to apps as `device_property_update` (the network details).
        network = {k: v for k, v in self.network_info().items() if k not in ("wifiList", "ip")}
        await self.send(Evt.UPDATE_PROPERTIES_INFO, {"propertiesInfo": network})
        await self.send(Evt.TIME)
        await self.send(Evt.MODEL, {"format": "complete"})
        if self.config.kind == "lock":
            await self.send(Evt.PWD_SYNC, {"pwdList": self.password_list()})
        if self.subs:
            await self._announce_subs(list(self.subs.values()))
        await self.report()
        if self.config.report_interval:
            self._spawn(self._periodic_reports(self.config.report_interval))
        if self.config.event_interval and self.config.kind == "camera":
            self._spawn(self._periodic_events(self.config.event_interval))
        self.started.set()

    def network_info(self) -> dict[str, Any]:
        """What the device says of its network in `info` (the `config` JSON)."""
        return {
            "currentSsid": "sim-wifi",
            "wifiList": [],
            **({"ip": self.config.ip} if self.config.ip else {}),
            "networkType": 1,
            "signal": 1,
            "signalValue": 92,
        }

    async def picture_url(self) -> str:
        """Take a photo and serve it from the camera's own web server; its address."""
        if self.pictures is None:
            self.pictures = PictureServer(
                lambda: snapshot(self.config.name or self.uuid), self.config.ip or "127.0.0.1"
            )
            await self.pictures.start()
        return self.pictures.keep()

    async def motion(self) -> None:
        """Motion seen: an alarm with a photo."""
        await self.emit("alarm", {"type": "ipc_motion", "imageUrl": await self.picture_url()})

    async def ring(self) -> None:
        """Someone pressed the doorbell: the press, and an alarm with the visitor's photo
        (the protocol's alarm is where a picture travels)."""
        await self.emit("doorbell", {})
        await self.emit("alarm", {"type": "ipc_doorbell", "imageUrl": await self.picture_url()})

    async def _periodic_events(self, interval: float) -> None:
        """A motion alarm soon after start (so there is a photo), then motion and rings in
        turn. Not at once: the hub adds a device's entities once its model is known."""
        rings = False
        await asyncio.sleep(min(interval, FIRST_EVENT_DELAY))
        while True:
            with contextlib.suppress(SessionError):
                await (self.ring() if rings else self.motion())
            rings = not rings
            await asyncio.sleep(interval)

    async def _announce_subs(self, subs: list[SubDevice]) -> None:
        devices = [{"uuid": s.config.uuid, "pid": s.config.product_id} for s in subs]
        await self.send(
            Evt.SUB_BIND,
            {
                "devices": [
                    {
                        **d,
                        "trdUuid": d["uuid"],
                        "version": s.config.version,
                        "mcuVersion": "1.0.0",
                        "type": "rino",
                    }
                    for d, s in zip(devices, subs, strict=True)
                ]
            },
        )
        await self.send(Evt.SUB_LOGIN, {"devices": devices})
        for pid in sorted({d["pid"] for d in devices}):
            await self.send(Evt.SUB_MODEL, {"format": "complete", "subPid": pid})
        await self.send(
            Evt.SUB_PROPERTY_REPORT,
            {
                "devices": [
                    {**d, "properties": s.values} for d, s in zip(devices, subs, strict=True)
                ]
            },
        )

    async def _periodic_reports(self, interval: float) -> None:
        step = 0
        while True:
            await asyncio.sleep(interval)
            if self.config.vary:
                step += 1
                self.values[self.config.vary] = round(20 + (step % 200) / 10, 1)
            with contextlib.suppress(SessionError):
                await self.report()
                self.periodic_reports += 1

    # --- sending --------------------------------------------------------------------------

    async def send(
        self, code: Evt, data: dict[str, Any] | None = None, *, ack: bool | None = None
    ) -> Message | None:
        """Publish an event; when it asks for a reply, wait for it and return it."""
        assert self.session is not None
        event = messages.event(code, data, ack=ack, msg_id=self._ids())
        self.sent.append(event)
        if not event.ack:
            self.session.publish(self.topic(TopicKind.REPORT), event)
            return None
        try:
            reply = await self.session.request(
                self.topic(TopicKind.REPORT), event, timeout=self.reply_timeout
            )
        except (RlinkError, SessionError) as err:
            self.errors.append(f"{code}: {err}")
            return None
        self.received.append(reply)
        self.replies[str(code)] = reply
        return reply

    async def report(self, values: dict[str, Any] | None = None) -> None:
        await self.send(Evt.PROPERTY_REPORT, {"properties": dict(values or self.values)})
        self.reports_sent += 1

    def set(self, identifier: str, value: Any) -> None:
        """Change a value as if the device itself did, and report it."""
        self.values[identifier] = value
        self._spawn(self.report({identifier: value}))

    async def emit(self, identifier: str, output: dict[str, Any]) -> None:
        """Raise a model event (an alarm, a doorbell press…)."""
        await self.send(Evt.EVENT, {"identifier": identifier, "output": output})

    def password_list(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in p.items() if k != "pwd"} for p in self.passwords.values()]

    # --- receiving ------------------------------------------------------------------------

    async def wait_for(self, code: str, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        """The next command (or reply) with `code` this device receives."""
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiters.append((code, waiter))
        async with asyncio.timeout(timeout):
            return await waiter

    def _record(self, message: Message) -> None:
        self.received.append(message)
        for entry in list(self._waiters):
            code, waiter = entry
            if code == str(message.code) and not waiter.done():
                waiter.set_result(message)
                self._waiters.remove(entry)

    def _on_unsolicited_reply(self, topic: Topic, message: Message) -> None:
        """A reply nobody waits for, such as a `time` pushed after a time-zone change."""
        self._record(message)
        self.replies[str(message.code)] = message

    def _on_issue(self, topic: Topic, message: Message) -> None:
        self._record(message)
        handler = self._handlers.get(message.code)  # type: ignore[call-overload]
        self._spawn(self._answer(topic, message, handler))

    async def _answer(self, topic: Topic, message: Message, handler: Any) -> None:
        res, data = 0, None
        try:
            data = await handler(message) if handler is not None else None
        except RlinkError as err:
            res = err.code
        except Exception:
            _LOGGER.exception("%s: handling %s failed", self.uuid, message.code)
            res = 1001
        if message.ack and self.session is not None and self.session.connected:
            kind = (
                TopicKind.PRODUCT_ISSUE_RESPONSE
                if topic.kind is TopicKind.PRODUCT_ISSUE
                else TopicKind.ISSUE_RESPONSE
            )
            reply_topic = (
                product_topic(kind, topic.pid)
                if isinstance(topic, ProductTopic)
                else self.topic(kind)
            )
            reply = messages.reply(message, data, res=res)
            self.replied.append(reply)
            self.session.publish(reply_topic, reply)

    # --- command handlers -----------------------------------------------------------------

    def _known(self, properties: Any, model: dict[str, Any]) -> dict[str, Any]:
        known = {p["identifier"] for p in model["properties"]}
        if not isinstance(properties, dict) or not set(properties) <= known:
            raise RlinkError(1002, "unknown property")
        return properties

    async def _on_property_set(self, message: Message) -> dict[str, Any]:
        properties = self._known(message.data.get("properties"), self.model)
        self.values.update(properties)
        self._spawn(self.report(properties))
        if self.config.kind == "vacuum":
            self.cleaning.apply(properties)
        return {"properties": properties}

    async def _on_property_get(self, message: Message) -> dict[str, Any]:
        wanted = message.data.get("dps") or []
        values = {k: v for k, v in self.values.items() if not wanted or k in wanted}
        self._spawn(self.report(values))
        for sub_uuid in message.data.get("subUuids") or []:
            if sub_uuid in self.subs:
                sub = self.subs[sub_uuid]
                self._spawn(
                    self.send(
                        Evt.SUB_PROPERTY_REPORT,
                        {
                            "devices": [
                                {
                                    "uuid": sub_uuid,
                                    "pid": sub.config.product_id,
                                    "properties": sub.values,
                                }
                            ]
                        },
                    )
                )
        return {}

    async def _on_ping(self, message: Message) -> dict[str, Any]:
        return {
            "currentSsid": "sim-wifi",
            "wifiList": [{"ssid": "sim-wifi", "rssi": -48}],
            "networkType": 1,
            "signal": 1,
            "signalValue": 92,
        }

    async def _restart(self, delay: float) -> None:
        assert self.session is not None
        self.started.clear()
        await self.session.close()
        await asyncio.sleep(delay)
        await self.connect()

    async def _on_reboot(self, message: Message) -> None:
        self._spawn(self._restart(0.2))

    async def _on_reset(self, message: Message) -> None:
        if message.data.get("clearData"):
            self.values = dict(self.config.template.values)
            self.passwords.clear()
        self._spawn(self._restart(0.2))

    async def _on_ota(self, message: Message) -> None:
        self._spawn(
            self._run_ota(
                str(message.data.get("version") or self.version),
                list(message.data.get("subUuids") or []),
                message.data,
            )
        )

    async def _on_silence_ota(self, message: Message) -> dict[str, Any]:
        data = message.data
        subs = [u for u, sub in self.subs.items() if sub.config.product_id == data.get("pid")]
        if subs and data.get("pid") != self.pid:
            return self._sub_silence_ota(data, subs)
        if data.get("version") not in ("ALL", self.version):
            raise RlinkError(1002, "not for this version")
        if data.get("targetVersion") == self.version:
            return {"taskId": data.get("taskId"), "devices": []}  # nothing to do
        self._spawn(self._run_ota(str(data.get("targetVersion") or self.version), [], data))
        return {"taskId": data.get("taskId"), "devices": [{"pid": self.pid, "uuid": self.uuid}]}

    def _sub_silence_ota(self, data: dict[str, Any], subs: list[str]) -> dict[str, Any]:
        """A product offer for sub-devices: one answer for all of them, one upgrade each."""
        target = str(data.get("targetVersion") or "")
        wanting = [
            u
            for u in subs
            if self.subs[u].config.version != target
            and data.get("version") in ("ALL", self.subs[u].config.version)
        ]
        for uuid in wanting:
            self._spawn(self._run_ota(target, [uuid], data))
        devices = [{"pid": self.subs[u].config.product_id, "uuid": u} for u in wanting]
        return {"taskId": data.get("taskId"), "devices": devices}

    async def _download(
        self, url: str, size: Any, md5: Any, target: dict[str, Any] | None = None
    ) -> int:
        """Fetch the firmware; 0, or the protocol's error code. At `download_rate` the
        device takes its time and reports each tenth downloaded, as a real one does."""
        import aiohttp  # noqa: PLC0415 - only OTA needs it

        rate = self.config.download_rate
        total = size if isinstance(size, int) and size > 0 else 0
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    url, timeout=aiohttp.ClientTimeout(total=None if rate else 30)
                ) as response,
            ):
                if response.status == 401:
                    return -3  # the signed link expired or was tampered with
                if response.status != 200:
                    return -2
                if not rate:
                    body = await response.read()
                else:
                    body, reported = b"", -1
                    async for chunk in response.content.iter_chunked(max(1, int(rate / 10))):
                        body += chunk
                        await asyncio.sleep(len(chunk) / rate)
                        tenth = len(body) * 10 // total if total else 0
                        if tenth != reported and tenth < 10:
                            reported = tenth
                            await self.send(
                                Evt.OTA_PROGRESS,
                                {
                                    "resCode": 0,
                                    "type": "downloading",
                                    "percent": tenth * 10,
                                    **(target or {}),
                                },
                            )
        except aiohttp.ClientError, TimeoutError:
            return -1
        self.downloaded = body
        if len(body) != size or hashlib.md5(body).hexdigest() != md5:  # noqa: S324
            return -4
        return 0

    async def _run_ota(
        self, version: str, sub_uuids: list[str], order: dict[str, Any] | None = None
    ) -> None:
        target = (
            {"subUuid": sub_uuids[0], "subPid": self.subs[sub_uuids[0]].config.product_id}
            if sub_uuids and sub_uuids[0] in self.subs
            else {}
        )
        if order and order.get("url"):
            failure = await self._download(
                order["url"], order.get("fileSize"), order.get("md5sum"), target
            )
            if failure:
                await self.send(Evt.OTA_PROGRESS, {"resCode": failure, "type": "fail", **target})
                return
        for percent in (0, 50, 100):
            await self.send(
                Evt.OTA_PROGRESS,
                {"resCode": 0, "type": "downloading", "percent": percent, **target},
            )
            await asyncio.sleep(0.05)
        await self.send(Evt.OTA_PROGRESS, {"resCode": 0, "type": "burning", **target})
        if self.config.download_rate:
            await asyncio.sleep(3)  # writing the flash takes a moment
        if target:
            self.subs[target["subUuid"]].config.version = version
            await self.send(
                Evt.OTA_PROGRESS,
                {
                    "resCode": 0,
                    "type": "report",
                    "version": version,
                    "mcuVersion": "1.0.0",
                    **target,
                },
            )
            return
        self.version = version
        await self._restart(0.1)  # a new firmware boots and announces itself

    async def _on_pwd_set(self, message: Message) -> dict[str, Any]:
        data = message.data
        entry = data.get("pwdData") or {}
        index = entry.get("index")
        if not isinstance(index, int):
            raise RlinkError(1002, "index missing")
        if data.get("operatorType") == 2:
            self.passwords.pop(index, None)
        else:
            self.passwords[index] = dict(entry)
        return {
            "subUuid": data.get("subUuid", ""),
            "subPid": "",
            "operatorType": data.get("operatorType"),
            "pwdData": {k: v for k, v in entry.items() if k != "pwd"},
        }

    async def _on_remote_unlock(self, message: Message) -> None:
        expected = self.config.remote_unlock
        given = (message.data.get("index"), message.data.get("pwd"))
        if expected is not None and given != expected:
            raise RlinkError(1002, "wrong password")  # the door stays shut
        self.set("lock_state", 0)
        self._spawn(self._relock())

    async def _relock(self) -> None:
        await asyncio.sleep(self.config.relock_after)
        self.set("lock_state", 1)

    async def _on_wake_up(self, message: Message) -> dict[str, Any]:
        self._spawn(self.report())  # awake: say so the way a real device does
        return {"subUuid": message.data.get("subUuid", ""), "subPid": ""}

    async def _on_webrtc(self, message: Message) -> None:
        data = message.data
        peer = str(data.get("peerClientId", ""))
        if data.get("method") == "ICE_CANDIDATE":
            with contextlib.suppress(ValueError):
                await self.live.candidate(peer, json.loads(data.get("params") or "null"))
            return
        if data.get("method") != "SDP_OFFER":
            await self.live.close(peer)  # CLOSE, or anything else that ends the view
            return
        base = {"peerClientId": peer, "source": data.get("source", 1)}
        if self.config.busy:
            await self.send(
                Evt.WEBRTC_SIGNAL_EXCHANGE,
                {**base, "method": "SDP_ANSWER", "error": -2, "params": "{}", "rawData": "{}"},
            )
            return
        try:
            offer = json.loads(data.get("params") or "{}").get("sdp", "")
            answer, candidates = await self.live.answer(peer, offer)
        except (BadOffer, ValueError, AttributeError) as err:
            _LOGGER.info("%s: cannot answer the offer: %s", self.uuid, err)
            await self.send(
                Evt.WEBRTC_SIGNAL_EXCHANGE,
                {**base, "method": "SDP_ANSWER", "error": -1, "params": "{}", "rawData": "{}"},
            )
            return
        # As in the protocol's examples: `error` on every signal (0 when all is well), the
        # viewer's `source` on the answer only.
        await self.send(
            Evt.WEBRTC_SIGNAL_EXCHANGE,
            {
                **base,
                "method": "SDP_ANSWER",
                "params": json.dumps({"type": "answer", "sdp": answer}),
                "rawData": "{}",
                "error": 0,
            },
        )
        for candidate in candidates:
            await self.send(
                Evt.WEBRTC_SIGNAL_EXCHANGE,
                {
                    "peerClientId": peer,
                    "method": "ICE_CANDIDATE",
                    "params": json.dumps(candidate),
                    "rawData": "{}",
                    "error": 0,
                },
            )

    async def _on_find_bind(self, message: Message) -> None:
        if not message.data.get("find", True) or not self.config.found_devices:
            return
        found = [SubDevice(c, dict(c.template.values)) for c in self.config.found_devices]
        await self.send(
            Evt.FIND_REPORT,
            {
                "devices": [
                    {"uuid": s.config.uuid, "trdUuid": s.config.uuid, "pid": s.config.product_id}
                    for s in found
                ]
            },
        )
        if message.data.get("bind", True):
            for sub in found:
                self.subs[sub.config.uuid] = sub
            await self._announce_subs(found)

    async def _on_sub_property_set(self, message: Message) -> dict[str, Any]:
        devices = message.data.get("devices") or []
        changed = []
        for device in devices:
            sub = self.subs.get(device.get("uuid", ""))
            if sub is None:
                raise RlinkError(1004, "no such sub-device")
            props = self._known(device.get("properties"), sub.config.template.model())
            sub.values.update(props)
            changed.append(
                {"uuid": sub.config.uuid, "pid": sub.config.product_id, "properties": props}
            )
        self._spawn(self.send(Evt.SUB_PROPERTY_REPORT, {"devices": changed}))
        return {"devices": devices}

    async def _on_sub_delete(self, message: Message) -> None:
        for device in message.data.get("devices") or []:
            self.subs.pop(device.get("uuid", ""), None)

    async def _on_sub_replace(self, message: Message) -> dict[str, Any]:
        old, new = message.data.get("uuid", ""), message.data.get("newUuid", "")
        sub = self.subs.pop(old, None)
        if sub is None:
            return {"uuid": old, "newUuid": new, "result": "fail"}
        sub.config.uuid = new
        self.subs[new] = sub
        self._spawn(
            self.send(Evt.SUB_LOGIN, {"devices": [{"uuid": new, "pid": sub.config.product_id}]})
        )
        return {"pid": sub.config.product_id, "uuid": old, "newUuid": new, "result": "success"}

    def _apply_to_subs(self, uuids: list[str], properties: dict[str, Any]) -> None:
        changed = []
        for uuid in uuids:
            if (sub := self.subs.get(uuid)) is not None:
                sub.values.update(properties)
                changed.append(
                    {"uuid": uuid, "pid": sub.config.product_id, "properties": properties}
                )
        if changed:
            self._spawn(self.send(Evt.SUB_PROPERTY_REPORT, {"devices": changed}))

    async def _on_local_group_set(self, message: Message) -> dict[str, Any]:
        short_id = int(message.data.get("shortId", -1))
        if short_id not in self.local_groups:
            raise RlinkError(24034, "no such group")
        self._apply_to_subs(self.local_groups[short_id], message.data.get("properties") or {})
        return dict(message.data)

    async def _on_local_rule_exec(self, message: Message) -> dict[str, Any]:
        short_id = int(message.data.get("shortId", -1))
        if short_id not in self.local_rules:
            raise RlinkError(24029, "no such rule")
        for action in self.local_rules[short_id]:
            self._apply_to_subs([action.get("uuid", "")], action.get("actionData") or {})
        return {"shortId": short_id}

    async def _on_local_group_update(self, message: Message) -> dict[str, Any]:
        data = message.data
        short_id = int(data.get("shortId", -1))
        members = [u for u in data.get("deviceUuids") or [] if u in self.subs]
        if data.get("operatorType") == 2:
            members = self.local_groups.pop(short_id, [])
        else:
            self.local_groups[short_id] = members
        return {
            "shortId": short_id,
            "operatorType": data.get("operatorType"),
            "devices": [
                {"pid": self.subs[u].config.product_id, "uuid": u}
                for u in members
                if u in self.subs
            ],
            "result": "success",
        }

    async def _on_local_scene_update(self, message: Message) -> dict[str, Any]:
        data = message.data
        scene = data.get("scene") or {}
        short_id = int(scene.get("shortId", -1))
        if data.get("operatorType") == 2:
            self.local_rules.pop(short_id, None)
        elif data.get("operatorType") == 1:
            self.local_rules[short_id] = list(scene.get("actions") or [])
        return {
            "shortId": short_id,
            "operatorType": data.get("operatorType"),
            "devices": [],
            "result": "success",
        }

    async def _on_update_local_config(self, message: Message) -> None:
        """Replace the lists named in `updates`, and only those."""
        data = message.data
        updates = set(data.get("updates") or [])
        if "groups" in updates:
            self.local_groups = {
                int(g["shortId"]): list(g.get("deviceUuids") or [])
                for g in data.get("groups") or []
            }
        for key in ("scenes", "executes") if updates & {"scenes", "executes"} else ():
            if key in updates:
                for rule in data.get(key) or []:
                    self.local_rules[int(rule["shortId"])] = list(rule.get("actions") or [])

    def local_data(self) -> dict[str, Any]:
        """What a gateway reports in `local_data_sync`: the sub-devices, groups and rules it has."""
        return {
            "subUuids": list(self.subs),
            "groupShortIds": sorted(self.local_groups),
            "dpGroupShortIds": [],
            "sceneShortIds": sorted(self.local_rules),
            "dpBinds": [],
        }

    async def _on_common_cmd(self, message: Message) -> dict[str, Any]:
        """Echo the pass-through command, as a device answering its own convention."""
        return {"respType": message.data.get("cmdType"), "respData": message.data.get("cmdData")}

    async def _on_log_switch(self, message: Message) -> None:
        self._follow_log_switch(message.data)

    def _follow_log_switch(self, switch: dict[str, Any]) -> None:
        """Upload logs once (type 1) or every `intervalTime` minutes (type 2), as told.
        The `info` answer spells the mode `tttype`, the `log_switch` command `type`."""
        if self._log_loop is not None:
            self._log_loop.cancel()
            self._log_loop = None
        if switch.get("enable") != 1 or self.log_upload_url is None:
            return
        mode = switch.get("type", switch.get("tttype", 1))
        interval = 60.0 * float(switch.get("intervalTime") or 10)
        self._log_loop = self._spawn(self._upload_logs(repeat=interval if mode == 2 else None))

    async def _upload_logs(self, repeat: float | None) -> None:
        import aiohttp  # noqa: PLC0415 - only log uploads and OTA need it

        while True:
            lines = [f"{m.ts} sent {m.code} {m.id}" for m in self.sent[-50:]]
            lines += [f"{m.ts} got {m.code} {m.id}" for m in self.received[-50:]]
            assert self.log_upload_url is not None
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.post(
                        self.log_upload_url,
                        data="\n".join(lines).encode(),
                        timeout=aiohttp.ClientTimeout(total=30),
                    ) as response,
                ):
                    self.log_uploads.append(response.status)
            except aiohttp.ClientError, TimeoutError:
                self.log_uploads.append(0)
            if repeat is None:
                return
            await asyncio.sleep(repeat)

    async def _on_config_settings(self, message: Message) -> dict[str, Any]:
        return {**message.data, "result": "success"}
