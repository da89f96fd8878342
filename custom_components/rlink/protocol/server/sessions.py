"""A client's session: its subscriptions and the messages it still has to receive or release.

A session outlives its connection when the client asked for a persistent one (clean
session 0): QoS 1 and 2 messages then wait for it, up to a bound, and those it had not
acknowledged are sent again, marked as duplicates, when it comes back (MQTT-4.4.0-1).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..policy import Principal
from .codec import PacketType, encode_ack, encode_publish
from .limits import Limits

if TYPE_CHECKING:
    from collections.abc import Callable


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...


@dataclass(slots=True)
class Outgoing:
    topic: bytes
    payload: bytes
    qos: int
    released: bool = False
    """QoS 2: the client sent PUBREC, so PUBREL is what is owed now."""


class ClientSession:
    """State kept per client id."""

    __slots__ = (
        "_next_id",
        "awaiting_release",
        "clean",
        "client_id",
        "dropped",
        "inflight",
        "limits",
        "on_drop",
        "principal",
        "queue",
        "subscriptions",
        "writer",
    )

    def __init__(
        self,
        principal: Principal,
        clean: bool,
        limits: Limits,
        on_drop: Callable[[ClientSession], None],
    ) -> None:
        self.client_id = principal.client_id
        self.principal = principal
        self.clean = clean
        self.limits = limits
        self.on_drop = on_drop
        self.subscriptions: dict[str, int] = {}
        self.inflight: dict[int, Outgoing] = {}
        self.queue: deque[Outgoing] = deque()
        self.awaiting_release: set[int] = set()
        self.writer: Writer | None = None
        self.dropped = 0
        self._next_id = 0

    # --- to the client ------------------------------------------------------------------

    def send(self, topic: bytes, payload: bytes, qos: int) -> None:
        """Deliver now, or keep for later (QoS 1/2), or drop (QoS 0 with nobody there)."""
        writer = self.writer
        if not qos:
            if writer is not None:
                writer.write(encode_publish(topic, payload, 0))
            return
        message = Outgoing(topic, payload, qos)
        if writer is not None and not self.queue and len(self.inflight) < self.limits.max_inflight:
            self._transmit(writer, message)
            return
        self.queue.append(message)
        if len(self.queue) > self.limits.max_queued:
            self.queue.popleft()
            self.dropped += 1
            self.on_drop(self)

    def _transmit(self, writer: Writer, message: Outgoing) -> None:
        packet_id = self._new_id()
        self.inflight[packet_id] = message
        writer.write(encode_publish(message.topic, message.payload, message.qos, packet_id))

    def _new_id(self) -> int:
        while True:
            self._next_id = self._next_id % 0xFFFF + 1
            if self._next_id not in self.inflight:
                return self._next_id

    def acknowledged(self, kind: PacketType, packet_id: int) -> None:
        """PUBACK, PUBREC or PUBCOMP from the client."""
        message = self.inflight.get(packet_id)
        if kind is PacketType.PUBREC:
            if message is not None and message.qos == 2:
                message.released = True
            if self.writer is not None:
                self.writer.write(encode_ack(PacketType.PUBREL, packet_id))
            return
        if message is not None and (message.qos == 2) == (kind is PacketType.PUBCOMP):
            del self.inflight[packet_id]
            self.pump()

    def pump(self) -> None:
        writer = self.writer
        while writer is not None and self.queue and len(self.inflight) < self.limits.max_inflight:
            self._transmit(writer, self.queue.popleft())

    def resume(self, writer: Writer) -> None:
        """A connection took the session: resend what was unacknowledged, then the queue."""
        self.writer = writer
        for packet_id, message in self.inflight.items():
            if message.released:
                writer.write(encode_ack(PacketType.PUBREL, packet_id))
            else:
                writer.write(
                    encode_publish(message.topic, message.payload, message.qos, packet_id, dup=True)
                )
        self.pump()
