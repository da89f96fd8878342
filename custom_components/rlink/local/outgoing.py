"""What the hub sends devices: commands, writes, pings and product-wide offers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Final

from homeassistant.exceptions import (
    HomeAssistantError,
)

from ..const import (
    COMMAND_TIMEOUT,
    DOMAIN,
)
from ..device import RlinkDevice
from ..errors import command_error
from ..protocol import messages
from ..protocol.codes import DeviceCommand as Cmd
from ..protocol.codes import ProductCommand
from ..protocol.errors import RlinkError
from ..protocol.messages import Message
from ..protocol.responder import DeviceRef
from ..protocol.session import (
    NotConnected,
    RequestTimeout,
)
from ..protocol.topics import (
    TopicKind,
    device_topic,
    product_topic,
)
from ..transport import WAKE_TIMEOUT
from ..values import stored_form
from .base import Gathering, LocalBase

_LOGGER = logging.getLogger(__name__)


class Outgoing(LocalBase):
    """Commands to one device, or to every device of a product."""

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
        """Send a command; with ack, wait for and return the device's reply.

        A device known to be offline fails at once rather than after the timeout.
        Failures become translated `HomeAssistantError`s.
        """
        if self.session is None or not self.session.connected:
            raise command_error("not_connected", device)
        if require_online and not device.online:
            raise command_error("device_offline", device)
        message = messages.command(code, data, ack=ack, msg_id=self._ids())
        topic = device_topic(TopicKind.ISSUE, device.pid, device.uuid)
        if not self._heard(topic):
            # Connected but not subscribed yet (it has just come back): a command without a
            # reply would be lost without a word, one with a reply would time out.
            raise command_error("not_listening", device)
        device.record("out", str(code), message.data)
        try:
            if not message.ack:
                self.session.publish(topic, message)
                return None
            answer = await self.session.request(topic, message, timeout=timeout)
        except NotConnected as err:
            raise command_error("not_connected", device) from err
        except RequestTimeout as err:
            raise command_error("timeout", device, command=str(code)) from err
        except RlinkError as err:
            raise command_error(
                "device_refused", device, command=str(code), code=str(err.code), msg=err.msg or ""
            ) from err
        device.seen()
        return answer

    async def async_write(self, device: RlinkDevice, prepared: Mapping[str, Any]) -> None:
        """Send values already checked and encoded by `prepare_values`; done when the
        device confirms them, by its reply or by reporting them."""
        expected = dict(prepared)
        stored = stored_form(device, expected)
        reported = device.when(lambda d: all(d.values.get(k) == v for k, v in stored.items()))
        if device.gateway is None:
            await self.coordinator.async_confirmed(
                device, Cmd.PROPERTY_SET, {"properties": expected}, reported
            )
            return
        await self.coordinator.async_confirmed(
            self.target(device),
            Cmd.SUB_PROPERTY_SET,
            {"devices": [{"uuid": device.uuid, "properties": expected}]},
            reported,
        )

    async def async_refresh(self, device: RlinkDevice) -> None:
        gateway = self.target(device)
        data: dict[str, Any] = {"reportAll": True}
        if gateway is not device:
            data["subUuids"] = [device.uuid]
        await self.async_command(gateway, Cmd.PROPERTY_GET, data, ack=False)

    async def async_ping(self, device: RlinkDevice) -> dict[str, Any]:
        """Check the connection; the answer updates the network diagnostics."""
        reply = await self.async_command(
            self.target(device), Cmd.PING, ack=True, require_online=False
        )
        data = reply.data if reply is not None else {}
        gateway = self.target(device)
        self.coordinator.set_online(gateway, True)
        network = {k: data[k] for k in _NETWORK_KEYS if k in data}
        if network:
            gateway.network.update(network)
            gateway.notify(_NETWORK_KEYS)
            self.coordinator.save_values()
        return {k: v for k, v in data.items() if k != "wifiList"}

    async def async_wake(self, device: RlinkDevice, timeout: float = WAKE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Send `wake_up` and wait (bounded) until the device speaks again."""
        heard = device.next_message()
        data = {"subUuid": device.uuid} if device.gateway else {}
        try:
            await self.async_command(self.target(device), Cmd.WAKE_UP, data, ack=True)
            async with asyncio.timeout(timeout):
                await heard
        except TimeoutError:
            _LOGGER.debug("%s answered wake_up but has not reported since", device.name)
        finally:
            heard.cancel()

    def push_time_to_all(self) -> None:
        """The time zone changed: send every device a fresh `time` answer."""
        for device in self.devices.values():
            if device.gateway is None and device.online:
                reply = self.responder.push_time(DeviceRef(device.uuid, device.pid))
                self._publish(
                    device_topic(TopicKind.REPORT_RESPONSE, device.pid, device.uuid), reply
                )

    async def async_product_request(
        self, topic: str, message: Message, window: float, expected: int
    ) -> list[Message]:
        """Publish a product-wide command and gather replies for up to `window` seconds.

        Returns early once `expected` devices have answered.
        """
        if self.session is None or not self.session.connected:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="hub_not_connected")
        gathering = Gathering(expected)
        self._product_replies[message.id] = gathering
        try:
            self.session.publish(topic, message)
            async with asyncio.timeout(window):
                await gathering.complete.wait()
        except TimeoutError:
            pass  # whoever did not answer by now is reported as such
        finally:
            del self._product_replies[message.id]
        return gathering.replies

    async def async_offer_firmware(
        self, pid: str, order: dict[str, Any], window: float
    ) -> dict[str, Any]:
        """`silence_ota` to the whole product; every device of it says yes, no, or nothing."""
        message = messages.product_command(ProductCommand.SILENCE_OTA, order, ack=True)
        # One reply per connection: a gateway answers once for all its sub-devices.
        carriers = {
            self.target(d).uuid
            for d in self.devices.values()
            if d.pid == pid and self.coordinator.reachable(d)
        }
        replies = await self.async_product_request(
            product_topic(TopicKind.PRODUCT_ISSUE, pid), message, window, len(carriers)
        )
        devices: dict[str, Any] = {
            d.uuid: {"result": "not_accepted"} for d in self.devices.values() if d.pid == pid
        }
        for reply in replies:
            for entry in reply.data.get("devices") or []:
                if isinstance(entry, dict) and isinstance(entry.get("uuid"), str):
                    devices[entry["uuid"]] = {"result": "refused" if reply.res else "accepted"}
        return devices

    async def _send_quietly(self, device: RlinkDevice, code: Cmd, data: dict[str, Any]) -> None:
        try:
            await self.async_command(device, code, data, ack=False)
        except HomeAssistantError as err:
            _LOGGER.info("Could not send %s to %s: %s", code, device.name, err)


_NETWORK_KEYS: Final = frozenset({"currentSsid", "networkType", "signal", "signalValue"})
