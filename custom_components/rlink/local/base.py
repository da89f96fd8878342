"""What the parts of the local hub share: its connection, device server and policy."""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from typing import Any

from ..const import (
    BROKER_EMBEDDED,
    CONF_BROKER,
    CONF_PING_INTERVAL,
    DEFAULT_PING_INTERVAL,
)
from ..coordinator import RlinkCoordinator
from ..device import RlinkDevice
from ..protocol import messages
from ..protocol.messages import Message
from ..protocol.policy import RlinkPolicy
from ..protocol.responder import Responder
from ..protocol.server.link import ServerLink
from ..protocol.server.server import DeviceServer
from ..protocol.session import (
    MqttSession,
    NotConnected,
)
from ..transport import Transport
from .answers import HubAnswers
from .gateway_data import GatewayConfigs

_LOGGER = logging.getLogger(__name__)


class Gathering:
    """Replies to one product-wide command, complete when `expected` have come."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.replies: list[Message] = []
        self.complete = asyncio.Event()
        if expected <= 0:
            self.complete.set()

    def add(self, reply: Message) -> None:
        self.replies.append(reply)
        if len(self.replies) >= self.expected:
            self.complete.set()


class LocalBase(Transport):
    """The local hub's state; `hub.LocalHub` puts its parts together."""

    mode = "local"
    keeps_vacuum_maps = True  # the hub answers the vacuum's map events

    def __init__(self, coordinator: RlinkCoordinator) -> None:
        super().__init__(coordinator)
        self.coordinator: RlinkCoordinator = coordinator
        self.configs = GatewayConfigs()
        self.answers = HubAnswers(coordinator, self.configs)
        self.secrets: dict[str, str] = {}
        self.broker: DeviceServer | None = None
        self.policy: RlinkPolicy | None = None
        self.session: MqttSession | ServerLink | None = None
        self._link: ServerLink | None = None
        self._refused = False
        self.responder = Responder(self.answers)
        self._answering: set[tuple[str, str]] = set()
        """(device, code) of the answers waiting on I/O."""
        self._ids = messages.MessageIds()
        self._product_replies: dict[str, Gathering] = {}

    @property
    def embedded(self) -> bool:
        return bool(self.entry.data[CONF_BROKER] == BROKER_EMBEDDED)

    @property
    def ping_interval(self) -> float:
        return float(self.entry.options.get(CONF_PING_INTERVAL, DEFAULT_PING_INTERVAL))

    @property
    def gateway_configs(self) -> GatewayConfigs:
        return self.configs

    def cache_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"local_configs": self.configs.by_gateway}
        if self.policy is not None:
            data["logins"] = self.policy.replays.snapshot()
        return data

    def carrier_up(self, device: RlinkDevice) -> bool:
        """The session, and for a sub-device its gateway, are up."""
        if self.session is None or not self.session.connected:
            return False
        if device.gateway is not None:
            gateway = self.devices.get(device.gateway)
            return gateway is not None and gateway.online
        return True

    def _still_connected(self, device: RlinkDevice) -> bool:
        """A message may arrive after its sender left; the device server knows."""
        return self.broker is None or self.broker.is_connected(device.uuid)

    def _heard(self, topic: str) -> bool:
        """Whether a command on `topic` reaches the device: the device server knows who
        has subscribed; an external broker does not say."""
        return self.broker is None or self.broker.is_heard(topic)

    def _publish(self, topic: str, message: Message) -> None:
        if self.session is None:
            return
        try:
            self.session.publish(topic, message)
        except NotConnected as err:
            self.log.warning(("publish", topic), "Could not answer on %s: %s", topic, err)

    @abstractmethod
    async def _resync(self, device: RlinkDevice) -> None:
        """Ask a device (and its sub-devices) for all their values (`presence.Presence`)."""
