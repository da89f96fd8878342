"""The cloud account: Home Assistant as an rlink app.

It listens to the account's notifications (``app/v2/{home}/notify`` and
``app/v2/{userId}/userNotify``) and sends commands through the app REST API. Devices are
known by the cloud's deviceId. Push is watched: when notifications stop for longer than
the configured interval, one device is asked for its values, and the session reconnects
if no news follows.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuid_lib
from collections.abc import Mapping
from typing import Any, Final

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..const import (
    COMMAND_TIMEOUT,
    CONF_ACCESS_TOKEN,
    CONF_APP_SECRET,
    CONF_HOMES,
    CONF_REST_URL,
    CONF_SIGN_METHOD,
    CONF_TLS,
    CONF_TLS_INSECURE,
    CONF_USER_ID,
    CONF_WATCHDOG_INTERVAL,
    DEFAULT_WATCHDOG_INTERVAL,
    DOMAIN,
)
from ..coordinator import RlinkCoordinator
from ..device import RlinkDevice
from ..errors import command_error
from ..protocol import messages, rest
from ..protocol.auth import SignMethod, app_credentials
from ..protocol.codes import AppNotification as Note
from ..protocol.codes import DeviceCommand as Cmd
from ..protocol.errors import RlinkError
from ..protocol.messages import JsonObject, Message
from ..protocol.session import (
    AuthRefused,
    ConnectError,
    MqttSession,
    SessionState,
    TlsOptions,
)
from ..protocol.topics import TopicKind, app_topic
from ..transport import WAKE_TIMEOUT, session_diagnostics
from ..values import prepare_values
from .commands import COMMANDS, REPLY_TIMEOUT, reply_data
from .devices import CloudDevices
from .notify import NotificationRouter
from .replies import PendingReplies

_LOGGER = logging.getLogger(__name__)

PROBE_WAIT: Final = 15.0
"""Seconds the watchdog waits for news after its probe before it reconnects."""
RESYNC_PARALLEL: Final = 4
"""REST calls a reconnect makes at once to ask devices for their values."""


class CloudAccount(CloudDevices):
    """The cloud account: Home Assistant plays an rlink app."""

    mode = "cloud"

    def __init__(self, coordinator: RlinkCoordinator) -> None:
        super().__init__(coordinator)
        self.coordinator: RlinkCoordinator = coordinator
        hass, data = coordinator.hass, coordinator.entry.data
        self.user_id: str = data[CONF_USER_ID]
        self.homes: list[str] = list(data.get(CONF_HOMES) or [])
        self.session: MqttSession | None = None
        self.rest = rest.RestClient(
            async_get_clientsession(hass, verify_ssl=not data.get(CONF_TLS_INSECURE, False)),
            data[CONF_REST_URL],
            self.user_id,
            data[CONF_APP_SECRET],
            SignMethod(data[CONF_SIGN_METHOD]),
            token=data.get(CONF_ACCESS_TOKEN) or None,
        )
        self.router = NotificationRouter(self)
        self.last_notification = time.monotonic()
        self.watchdog_reconnects = 0
        self._news = asyncio.Event()
        self.replies = PendingReplies()

    # --- configuration ------------------------------------------------------------------

    @property
    def watchdog_interval(self) -> float:
        return float(self.entry.options.get(CONF_WATCHDOG_INTERVAL, DEFAULT_WATCHDOG_INTERVAL))

    def _make_session(self) -> MqttSession:
        data = self.entry.data
        secret, method = data[CONF_APP_SECRET], SignMethod(data[CONF_SIGN_METHOD])
        tls = (
            TlsOptions(insecure=data.get(CONF_TLS_INSECURE, False)) if data.get(CONF_TLS) else None
        )
        return MqttSession(
            data[CONF_HOST],
            data[CONF_PORT],
            lambda: app_credentials(self.user_id, secret, method),  # fresh ts every attempt
            tls=tls,
            on_state=self._on_session_state,
            on_connect_error=self._on_connect_error,
            name="rlink cloud",
        )

    # --- lifecycle ----------------------------------------------------------------------

    async def async_start(self, cache: Mapping[str, Any]) -> None:
        self._restore(cache.get("devices", {}))
        self.sync_subentries()
        session = self._make_session()
        self.session = session
        handle = self.coordinator.held(self.router.handle)
        for home in self.homes:
            session.subscribe(app_topic(TopicKind.NOTIFY, home), handle)
        session.subscribe(app_topic(TopicKind.USER_NOTIFY, self.user_id), handle)
        await self.coordinator.connect(session, "cloud_auth_failed")
        self.coordinator.spawn(self._watch_push(), "rlink cloud watchdog")

    async def async_stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _on_connect_error(self, err: ConnectError) -> None:
        if isinstance(err, AuthRefused):
            _LOGGER.warning("The rlink broker refuses the account's credentials: %s", err)
            self.entry.async_start_reauth(self.hass)

    def _rest_refused(self, err: rest.RestAuthError) -> None:
        """The app API stopped taking the account's signature (a new secret, a revoked
        token): ask the user for credentials, once, rather than failing every command."""
        self.log.warning(
            ("rest_refused",), "The rlink app API refuses the account's credentials: %s", err
        )
        self.entry.async_start_reauth(self.hass)

    @callback
    def _on_session_state(self, state: SessionState, reason: str | None) -> None:
        self.coordinator.log_link(state, reason)
        if state is SessionState.CONNECTED:
            self.last_notification = time.monotonic()
            self.coordinator.spawn(self._resync_all(), "rlink cloud resync")
        for device in self.devices.values():
            device.notify()

    async def _resync_all(self) -> None:
        """Ask for every device's values again, a few at a time: a reconnect of a large
        account must not fire hundreds of REST calls at once."""
        limit = asyncio.Semaphore(RESYNC_PARALLEL)

        async def one(device: RlinkDevice) -> None:
            async with limit:
                await self._resync(device)

        await asyncio.gather(*(one(d) for d in list(self.devices.values())))

    async def _resync(self, device: RlinkDevice) -> None:
        """Ask for all values; they arrive as a property change (nothing lists them)."""
        try:
            await self.call(rest.props_get(device.uuid), device)
        except HomeAssistantError as err:
            _LOGGER.debug("Could not ask %s for its values: %s", device.name, err)

    def carrier_up(self, device: RlinkDevice) -> bool:
        return self.session is not None and self.session.connected

    def target(self, device: RlinkDevice) -> RlinkDevice:
        """The app API addresses every device by its own deviceId, sub-devices included:
        a command for a sub-device must not name its gateway (a reboot would restart it)."""
        return device

    def supports(self, code: Cmd) -> bool:
        return code in COMMANDS

    async def async_remove_device(self, device: RlinkDevice) -> bool:
        """Forgotten until the cloud speaks of it again."""
        self.forget_device(device.uuid)
        return True

    async def async_subdevice_replaced(self, sub: RlinkDevice, new_uuid: str) -> None:
        """The cloud keeps its device id: only the hardware behind it changed."""
        sub.hardware_uuid = new_uuid
        self.coordinator.register(sub)
        self.coordinator.save_soon()

    def diagnostics(self) -> dict[str, Any]:
        return {
            "session": session_diagnostics(self.session),
            "rest": {
                "base_url": self.rest.base_url,
                "calls": self.rest.calls,
                "failures": self.rest.failures,
            },
            "notifications": {str(k): v for k, v in self.router.handled.items()},
            "watchdog_reconnects": self.watchdog_reconnects,
        }

    # --- outgoing -----------------------------------------------------------------------

    async def call(self, request: rest.RestRequest, device: RlinkDevice | None = None) -> Any:
        """One REST call; failures become translated errors naming the device."""
        subject = device.name if device is not None else self.user_id
        if self.session is None or not self.session.connected:
            # What the call leads to comes back as notifications, and none would be heard.
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cloud_not_connected",
                translation_placeholders={"device": subject},
            )
        try:
            return await self.rest.call(request)
        except rest.RestAuthError as err:
            self._rest_refused(err)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cloud_rest_refused",
                translation_placeholders={"device": subject, "reason": str(err)},
            ) from err
        except rest.RestError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cloud_rest_failed",
                translation_placeholders={"device": subject, "reason": str(err)},
            ) from err
        except RlinkError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="device_refused",
                translation_placeholders={
                    "device": subject,
                    "command": str(request.endpoint),
                    "code": str(err.code),
                    "msg": err.msg,
                },
            ) from err

    async def async_command(
        self,
        device: RlinkDevice,
        code: Cmd,
        data: Mapping[str, Any] | None = None,
        *,
        ack: bool | None = None,
        timeout: float = COMMAND_TIMEOUT,  # noqa: ASYNC109
        require_online: bool = True,
    ) -> Message | None:
        """A device command through the REST endpoint that carries it.

        Replies the cloud sends as a notification are awaited when `ack` is not False.
        Commands the app API cannot carry fail with a translated error.
        """
        route = COMMANDS.get(code)
        if route is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="cloud_unsupported",
                translation_placeholders={"device": device.name, "command": str(code)},
            )
        request = route.build(device, dict(data or {}))
        device.record("out", str(request.endpoint), {})
        waiter = (
            self.replies.expect(route.reply, device.uuid)
            if route.reply and ack is not False
            else None
        )
        try:
            answer = await self.call(request, device)
            if waiter is None or route.reply is None:
                return messages.notification(Note.PROPERTY_CHANGE, _as_object(answer))
            async with asyncio.timeout(min(timeout, REPLY_TIMEOUT)):
                reply = await waiter
        except TimeoutError as err:
            raise command_error("timeout", device, command=str(code)) from err
        finally:
            if waiter is not None and route.reply is not None:
                self.replies.forget(route.reply, device.uuid, waiter)
        return messages.notification(route.reply, reply_data(route.reply, reply))

    async def async_write(self, device: RlinkDevice, prepared: Mapping[str, Any]) -> None:
        await self.call(rest.props_issue(device.uuid, prepared), device)

    async def async_write_many(self, devices: list[RlinkDevice], values: Mapping[str, Any]) -> None:
        """The same values for several devices: one `batchPropsIssue`."""
        if len(devices) < 2:
            await super().async_write_many(devices, values)
            return
        prepared = [prepare_values(d, values) for d in devices]
        if any(p != prepared[0] for p in prepared):  # encodings differ: one call each
            await super().async_write_many(devices, values)
            return
        await self.call(rest.batch_props_issue([d.uuid for d in devices], prepared[0]))

    async def async_refresh(self, device: RlinkDevice) -> None:
        await self.call(rest.props_get(device.uuid), device)

    async def async_ping(self, device: RlinkDevice) -> dict[str, Any]:
        """`checkSignal`: the answer comes as a device property update."""
        reply = await self.async_command(device, Cmd.PING, ack=True)
        info = (reply.data if reply is not None else {}).get("propertiesInfo") or {}
        return {k: v for k, v in info.items() if k != "wifiList"}

    async def async_wake(self, device: RlinkDevice, timeout: float = WAKE_TIMEOUT) -> None:  # noqa: ASYNC109
        try:
            await self.async_command(device, Cmd.WAKE_UP, ack=True, timeout=timeout)
        except HomeAssistantError as err:
            _LOGGER.debug("%s did not confirm waking up: %s", device.name, err)

    async def async_offer_firmware(
        self, pid: str, order: dict[str, Any], window: float
    ) -> dict[str, Any]:
        """`otaIssue` creates the task with the first device; `otaBatchIssue` adds the rest."""
        chosen = [d for d in self.devices.values() if d.pid == pid]
        results: dict[str, Any] = {d.uuid: {"result": "not_accepted"} for d in chosen}
        if not chosen:
            return results
        task_id = str(order.get("taskId") or uuid_lib.uuid4().hex)
        first, rest_of = chosen[0], chosen[1:]
        await self.call(
            rest.ota_issue(
                first.uuid,
                task_id=task_id,
                url=order["url"],
                version=order["targetVersion"],
                file_size=order["fileSize"],
                md5sum=order["md5sum"],
                firmware_type=order["firmwareType"],
            ),
            first,
        )
        results[first.uuid] = {"result": "accepted"}
        if rest_of:
            await self.call(rest.ota_batch_issue([(task_id, d.uuid) for d in rest_of]))
            for device in rest_of:
                results[device.uuid] = {"result": "accepted"}
        return results

    # --- push watchdog ------------------------------------------------------------------

    def heard(self) -> None:
        self.last_notification = time.monotonic()
        self._news.set()

    async def _watch_push(self) -> None:
        while True:
            interval = self.watchdog_interval
            await asyncio.sleep(max(1.0, min(interval / 4, 60)))
            if self.session is None or not self.session.connected:
                continue
            if time.monotonic() - self.last_notification >= interval:
                await self._probe()

    async def _probe(self) -> None:
        """Silence: ask one device for its values; no news means push is dead."""
        device = next((d for d in self.devices.values() if d.online), None) or next(
            iter(self.devices.values()), None
        )
        self._news.clear()
        if device is not None:
            try:
                await self.call(rest.props_get(device.uuid), device)
            except HomeAssistantError as err:
                _LOGGER.debug("Push probe could not be sent: %s", err)
            try:
                async with asyncio.timeout(PROBE_WAIT):
                    await self._news.wait()
            except TimeoutError:
                pass
            else:
                return
        if self.session is not None:
            self.watchdog_reconnects += 1
            self.last_notification = time.monotonic()
            self.session.reconnect("no notifications arrived; push may have stopped")


def _as_object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}
