"""The owner's side of a device server, shaped like an MQTT session.

The local hub talks to its devices through this link exactly as it would through an MQTT
session with an external broker (subscribe, publish, request), but nothing goes over a
socket: messages from devices arrive as calls from the server, decoded once, and commands
are put straight on the devices' connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..messages import Message, encode
from ..policy import Principal
from ..routing import MessageHandler, MessageRouter, NotConnected
from .server import DeviceServer

type PresenceListener = Callable[[Principal], None]


class ServerLink:
    """Routes what devices publish to handlers; sends to devices through the server."""

    def __init__(
        self,
        name: str = "rlink device server",
        *,
        on_connected: PresenceListener | None = None,
        on_disconnected: PresenceListener | None = None,
    ) -> None:
        self.name = name
        self.server: DeviceServer | None = None
        self._router = MessageRouter(name, answer=self._publish_raw)
        self.stats = self._router.stats
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._up = asyncio.Event()

    def attach(self, server: DeviceServer) -> None:
        self.server = server
        self._up.set()

    # --- the session API the hub uses ---------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.server is not None and self.server.running

    def subscribe(self, topic_filter: str, handler: MessageHandler) -> Callable[[], None]:
        remove = self._router.add(topic_filter, handler)

        def unsubscribe() -> None:
            remove()

        return unsubscribe

    async def wait_connected(self) -> None:
        await self._up.wait()

    async def wait_subscribed(self) -> None:
        await self._up.wait()  # routes are local: nothing to acknowledge

    def publish(self, topic: str, message: Message, *, qos: int = 1) -> None:
        server = self.server
        if server is None or not server.running:
            raise NotConnected(f"{self.name}: not running")
        server.publish(topic, encode(message), qos)
        self.stats.messages_out += 1

    def _publish_raw(self, topic: str, payload: bytes) -> None:
        if self.server is not None and self.server.running:
            self.server.publish(topic, payload, 1)
            self.stats.messages_out += 1

    async def request(
        self,
        topic: str,
        message: Message,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Message:
        return await self._router.request(lambda: self.publish(topic, message), message, timeout)

    async def close(self) -> None:
        self.server = None
        self._up.clear()
        self._router.fail_pending(NotConnected(f"{self.name}: closed"))

    # --- the server's Inside ------------------------------------------------------------

    def on_publish(self, principal: Principal, topic: str, payload: bytes) -> None:
        self._router.dispatch(topic, payload)

    def on_connected(self, principal: Principal) -> None:
        if self._on_connected is not None:
            self._on_connected(principal)

    def on_disconnected(self, principal: Principal) -> None:
        if self._on_disconnected is not None:
            self._on_disconnected(principal)
