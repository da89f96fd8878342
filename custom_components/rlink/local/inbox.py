"""What devices send the hub: reports and events, answered through the responder."""

from __future__ import annotations

import logging
from typing import Final

from ..device import RlinkDevice
from ..kinds import BEHAVIOUR
from ..protocol import messages
from ..protocol.codes import DeviceEvent as Evt
from ..protocol.codes import Status
from ..protocol.messages import Message
from ..protocol.responder import DeviceRef
from ..protocol.server.link import ServerLink
from ..protocol.session import (
    MqttSession,
)
from ..protocol.topics import (
    DeviceTopic,
    ProductTopic,
    Topic,
    TopicKind,
    device_filter,
    device_topic,
)
from .base import LocalBase

_LOGGER = logging.getLogger(__name__)

_SWEEPER_EVENTS: Final = frozenset(
    {Evt.SWEEPER_MAP_ADD, Evt.SWEEPER_MAP_UPDATE, Evt.SWEEPER_MAP_DEL, Evt.SWEEPER_RECORD_ADD}
)


class Inbox(LocalBase):
    """Messages from devices, from the broker or the device server."""

    def _route(self, session: MqttSession | ServerLink) -> None:
        """Where device messages go. In place before the first can arrive: a device that
        reconnects the moment the server listens sends its backlog at once, and each of
        those reports is acknowledged, so it must have somewhere to go."""
        session.subscribe(device_filter(TopicKind.REPORT), self.coordinator.held(self._on_report))
        session.subscribe(
            device_filter(TopicKind.ISSUE_RESPONSE), self.coordinator.held(self._on_issue_response)
        )
        session.subscribe(
            str(ProductTopic(TopicKind.PRODUCT_ISSUE_RESPONSE, "+")), self._on_product_response
        )

    def _known_device(self, topic: Topic) -> RlinkDevice | None:
        assert isinstance(topic, DeviceTopic)
        device = self.devices.get(topic.uuid)
        if device is None or device.gateway is not None:
            self.log.warning(
                ("unknown", topic.uuid),
                "Message from %s, which is not a device of this hub; add it to use it",
                topic.uuid,
            )
            return None
        if not device.pid:
            device.pid = topic.pid
            self.coordinator.attach_model(device)
            self.coordinator.register(device)
            self.coordinator.announce(device)
        elif device.pid != topic.pid:
            self.log.warning(
                ("pid", topic.uuid),
                "Device %s uses product id %s, expected %s; message ignored",
                topic.uuid,
                topic.pid,
                device.pid,
            )
            return None
        return device

    def _on_report(self, topic: Topic, message: Message) -> None:
        assert isinstance(topic, DeviceTopic)
        if message.is_reply:
            return
        device = self._known_device(topic)
        if device is None:
            if message.ack and self.session is not None:
                refusal = messages.reply(
                    message, res=1004, msg="device not registered with the hub"
                )
                self._publish(
                    device_topic(TopicKind.REPORT_RESPONSE, topic.pid, topic.uuid), refusal
                )
            return
        device.seen()
        device.record("in", str(message.code), message.data)
        if not device.online and self._still_connected(device):
            device.needs_resync = True
            self.coordinator.set_online(device, True)
        ref = DeviceRef(device.uuid, device.pid)
        if self.responder.needs_io(str(message.code)):
            self.coordinator.spawn(
                self._answer_later(device, ref, message), f"rlink {message.code}"
            )
        else:
            self._answer(device, message, *self.responder.handle_with_status(ref, message))
        if message.code in _SWEEPER_EVENTS:
            self.coordinator.save_soon()
            device.notify({"sweeper"})
        if device.needs_resync:
            device.needs_resync = False
            self.coordinator.spawn(self._resync(device), f"rlink resync {device.uuid}")
            self.coordinator.deliver_held(device)

    def _answer(
        self, device: RlinkDevice, message: Message, reply: Message | None, status: int
    ) -> None:
        if status == Status.SUCCESS:
            self.learn_behaviour(device, message)
        if reply is None:
            return
        device.record("out", str(reply.code), reply.data)
        self._publish(device_topic(TopicKind.REPORT_RESPONSE, device.pid, device.uuid), reply)
        if reply.res:
            self.log.warning(
                ("refused", device.uuid, str(message.code)),
                "Answered %s from %s with status %s: %s",
                message.code,
                device.uuid,
                reply.res,
                reply.msg,
            )

    async def _answer_later(self, device: RlinkDevice, ref: DeviceRef, message: Message) -> None:
        """An answer that waits on I/O; one at a time per device and code, so a device
        that repeats its request cannot pile up work."""
        key = (device.uuid, str(message.code))
        if key in self._answering:
            busy = Status.SERVICE_EXCEPTION
            refusal = messages.reply(message, res=busy, msg="busy") if message.ack else None
            self._answer(device, message, refusal, busy)
            return
        self._answering.add(key)
        try:
            self._answer(
                device, message, *await self.responder.async_handle_with_status(ref, message)
            )
        finally:
            self._answering.discard(key)

    def _on_issue_response(self, topic: Topic, message: Message) -> None:
        """A reply nobody waits for any more (it came too late)."""
        assert isinstance(topic, DeviceTopic)
        if (device := self.devices.get(topic.uuid)) is not None:
            device.seen()
            device.record("in", str(message.code), message.data)
        _LOGGER.debug("Late reply %s %s from %s", message.code, message.id, topic.uuid)

    def _on_product_response(self, topic: Topic, message: Message) -> None:
        """Every device of a product answers a product command: collect them all."""
        gathering = self._product_replies.get(message.id)
        if gathering is not None:
            gathering.add(message)

    def learn_behaviour(self, device: RlinkDevice, message: Message) -> None:
        """An event only some kinds send: maybe the device (or its sub-device) is one.

        Only for a device without a real model (the model says what a device is), and only
        from an event that was handled without error: one stray message must not make a
        plug a lock.
        """
        code = str(message.code)
        if code not in BEHAVIOUR:
            return
        sub = self.devices.get(str(message.data.get("subUuid") or ""))
        if sub is not None and sub.gateway == device.uuid:
            device = sub
        if device.model is not None and not device.model_inferred:
            return
        if code not in device.behaviours:
            device.behaviours.add(code)
            self.coordinator.save_soon()
            if self.coordinator.resolve_profile(device):
                self.coordinator.announce(device)

    def _on_unknown_device(self, uuid: str) -> None:
        from ..discovery import async_discovered_device  # noqa: PLC0415 - avoids a cycle

        async_discovered_device(self.hass, self.entry, uuid)
