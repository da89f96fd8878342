"""Numbered reports for fault tests: a device that counts, and what Home Assistant made of it.

The device is a real paho client on its own network thread (as a device's firmware would
be), publishing `countdown = n` with QoS 1; a report counts as acknowledged once the broker
(or the device server) sent its PUBACK. The claim every fault test checks: each
acknowledged number became a state of the entity, at the time or from history.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.topics import TopicKind, device_topic
from tools.rlink_sim import DeviceConfig

from .brokers import until

COUNTER = "countdown"
"""The plug's integer property the numbers go in (0..86400)."""


class NumberedReporter:
    """One device sending numbered reports, reconnecting by itself like a device does."""

    def __init__(self, host: str, port: int, config: DeviceConfig) -> None:
        self.config = config
        self.topic = device_topic(TopicKind.REPORT, config.product_id, config.uuid)
        self._host, self._port = host, port
        self._sent: list[tuple[int, int]] = []
        """(number, MQTT message id), in the order sent."""
        self._acked: dict[int, float] = {}
        """Message id -> when the PUBACK came (time.monotonic); ids are not reused in a test."""
        self._lock = threading.Lock()
        self.connects = 0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=device_credentials(config.uuid, config.secret).client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        # A fresh signature at every connection, as the spec asks of a device.
        client.on_pre_connect = self._sign
        client.on_connect = self._connected
        client.on_publish = self._published
        client.reconnect_delay_set(0.2, 1.0)
        client.max_queued_messages_set(0)  # keep everything while disconnected
        client.max_inflight_messages_set(1000)
        self.client = client

    def _sign(self, client: mqtt.Client, _userdata: Any) -> None:
        credentials = device_credentials(self.config.uuid, self.config.secret)
        client.username_pw_set(credentials.username, credentials.password)

    def _published(self, _client: Any, _userdata: Any, mid: int, *_args: Any) -> None:
        with self._lock:
            self._acked[mid] = time.monotonic()

    def _connected(self, *_args: Any) -> None:
        with self._lock:
            self.connects += 1

    async def start(self) -> None:
        self.client.connect_async(self._host, self._port, keepalive=10)
        self.client.loop_start()
        await until(lambda: self.connects > 0, 15)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def send(self, number: int) -> None:
        payload = messages.encode(
            messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {COUNTER: number}})
        )
        # Queued by paho when disconnected, and sent once it is connected again.
        info = self.client.publish(self.topic, payload, qos=1)
        with self._lock:
            self._sent.append((number, info.mid))

    async def send_paced(
        self,
        numbers: Iterable[int],
        *,
        every: float = 0.02,
        between: Callable[[int], Any] | None = None,
    ) -> None:
        """Send `numbers` at a device's pace; `between(n)` is awaited after each, if given."""
        for number in numbers:
            self.send(number)
            if between is not None:
                await between(number)
            await asyncio.sleep(every)

    @property
    def sent(self) -> list[int]:
        with self._lock:
            return [n for n, _info in self._sent]

    @property
    def acknowledged(self) -> set[int]:
        with self._lock:
            return {n for n, mid in self._sent if mid in self._acked}

    def acknowledged_between(self, start: float, end: float) -> set[int]:
        with self._lock:
            return {
                n for n, mid in self._sent if start <= self._acked.get(mid, float("-inf")) < end
            }

    def all_acknowledged(self) -> bool:
        with self._lock:
            return all(mid in self._acked for _n, mid in self._sent)


class StateLog:
    """Every state an entity took while the test watched, in order."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        self.entity_id = entity_id
        self.states: list[str] = []
        self._undo = hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed)
        if (state := hass.states.get(entity_id)) is not None:
            self.states.append(state.state)

    @callback
    def _changed(self, event: Event[Any]) -> None:
        if event.data["entity_id"] == self.entity_id and event.data["new_state"] is not None:
            self.states.append(event.data["new_state"].state)

    def numbers(self) -> set[int]:
        return {int(float(s)) for s in self.states if _is_number(s)}

    def close(self) -> None:
        self._undo()


def missing(acknowledged: set[int], seen: set[int]) -> list[int]:
    """Acknowledged numbers Home Assistant never showed."""
    return sorted(acknowledged - seen)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
