"""The rlink device server in a process of its own, so its CPU and memory can be measured.

The server's owner here is a minimal hub (`ServerLink` handlers, as the local hub has):
it answers every event that asks for a reply (the start sequence: ``time`` with a real
time answer, the others with success) and counts property reports. It knows the uuids
``make_uuid(f"{prefix}{i}")`` for i below --devices, and "bench-floor".

Prints one JSON line with its port, then answers JSON lines on stdin:
``{"cmd": "stats"}`` → reports counted, connections; ``{"cmd": "rtt", "samples": N}`` →
the hub's `ServerLink.request` (``ping`` to bench-floor, answered by whoever is logged in
as it) in ms; ``{"cmd": "stop"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import DeviceCommand, DeviceEvent
from custom_components.rlink.protocol.policy import RlinkPolicy
from custom_components.rlink.protocol.server.link import ServerLink
from custom_components.rlink.protocol.server.server import DeviceServer
from custom_components.rlink.protocol.timeinfo import time_reply
from custom_components.rlink.protocol.topics import (
    DeviceTopic,
    Topic,
    TopicKind,
    device_filter,
    device_topic,
)
from tools.rlink_sim import TEMPLATES, make_secret, make_uuid

FLOOR_SEED = "bench-floor"
FLOOR_PID = TEMPLATES["plug"].pid


async def main(devices: int, prefix: str) -> None:
    seeds = [f"{prefix}{i}" for i in range(devices)] + [FLOOR_SEED]
    known = {make_uuid(seed): make_secret(seed) for seed in seeds}
    zone = ZoneInfo("UTC")
    link = ServerLink("bench hub")
    reports = 0

    def on_report(topic: Topic, message: messages.Message) -> None:
        nonlocal reports
        assert isinstance(topic, DeviceTopic)
        if message.code is DeviceEvent.PROPERTY_REPORT:
            reports += 1
        if message.ack:
            data = time_reply(zone) if message.code is DeviceEvent.TIME else {}
            link.publish(
                device_topic(TopicKind.REPORT_RESPONSE, topic.pid, topic.uuid),
                messages.reply(message, data),
            )

    link.subscribe(device_filter(TopicKind.REPORT), on_report)
    link.subscribe(device_filter(TopicKind.ISSUE_RESPONSE), lambda _t, _m: None)
    server = DeviceServer(RlinkPolicy(secret_for=known.get), link, host="127.0.0.1", port=0)
    await server.start()
    link.attach(server)
    print(json.dumps({"port": server.port}), flush=True)

    async def rtt(samples: int) -> list[float]:
        issue = device_topic(TopicKind.ISSUE, FLOOR_PID, make_uuid(FLOOR_SEED))
        out = []
        for _ in range(samples):
            started = time.perf_counter_ns()
            await link.request(issue, messages.command(DeviceCommand.PING), timeout=5)
            out.append((time.perf_counter_ns() - started) / 1e6)
        return out

    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        request: dict[str, Any] = json.loads(line)
        match request["cmd"]:
            case "stats":
                reply: dict[str, Any] = {
                    "reports": reports,
                    "connections": server.connection_count,
                }
            case "rtt":
                reply = {"rtt": await rtt(request["samples"])}
            case _:
                break
        print(json.dumps(reply), flush=True)
    await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--prefix", default="bench")
    logging.basicConfig(level=logging.ERROR)
    args = parser.parse_args()
    asyncio.run(main(args.devices, args.prefix))
