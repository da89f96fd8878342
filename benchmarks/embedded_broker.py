"""The embedded broker in a process of its own, so its CPU and memory can be measured.

Knows the uuids ``make_uuid("bench<i>")`` for i below --devices, and "bench-floor"
for the floor measurements. Prints one JSON line
with its port and the hub's credentials, then serves until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging

from rlink_sim import make_secret, make_uuid

from custom_components.rlink.protocol.broker import DeviceGate, EmbeddedBroker


async def main(devices: int) -> None:
    seeds = [f"bench{i}" for i in range(devices)] + ["bench-floor"]
    known = {make_uuid(seed): make_secret(seed) for seed in seeds}
    broker = EmbeddedBroker(DeviceGate(secret_for=known.get), host="127.0.0.1", port=0)
    await broker.start()
    hub = broker.hub_credentials
    print(
        json.dumps({"port": broker.port, "hub": [hub.client_id, hub.username, hub.password]}),
        flush=True,
    )
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(parser.parse_args().devices))
