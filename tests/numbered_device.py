"""A device in a process of its own, for fault tests that freeze or kill it.

``python -m tests.numbered_device HOST PORT UUID SECRET PID COUNT EVERY KEEPALIVE`` sends
``countdown = 1..COUNT``, one every EVERY seconds (QoS 1, paho reconnecting by itself), and
prints ``ack N`` for each PUBACK, ``connected`` at each connection, and ``done`` once every
report is acknowledged.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.topics import TopicKind, device_topic


def main() -> None:
    host, port, uuid, secret, pid = sys.argv[1:6]
    count, every, keepalive = int(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
    topic = device_topic(TopicKind.REPORT, pid, uuid)
    lock = threading.Lock()
    numbers: dict[int, int] = {}  # message id -> number
    acked: set[int] = set()
    early: set[int] = set()  # acknowledged before their number was written down
    done = threading.Event()

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def sign(client: mqtt.Client, _userdata: Any) -> None:
        credentials = device_credentials(uuid, secret)
        client.username_pw_set(credentials.username, credentials.password)

    def acknowledge(number: int) -> None:
        acked.add(number)
        say(f"ack {number}")
        if len(acked) == count:
            done.set()

    def published(_client: Any, _userdata: Any, mid: int, *_args: Any) -> None:
        # paho calls this holding its own lock: never call paho while holding ours.
        with lock:
            if (number := numbers.get(mid)) is not None:
                acknowledge(number)
            else:
                early.add(mid)

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=device_credentials(uuid, secret).client_id,
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=True,
    )
    client.on_pre_connect = sign
    client.on_connect = lambda *_a: say("connected")
    client.on_publish = published
    client.reconnect_delay_set(0.2, 1.0)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(1000)
    client.connect_async(host, int(port), keepalive=keepalive)
    client.loop_start()
    for number in range(1, count + 1):
        body = messages.encode(
            messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {"countdown": number}})
        )
        info = client.publish(topic, body, qos=1)
        with lock:
            numbers[info.mid] = number
            if info.mid in early:
                early.discard(info.mid)
                acknowledge(number)
        time.sleep(every)
    if done.wait(60):
        say("done")
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
