"""The device server with an open policy, for standard MQTT client test suites.

It exists only to run such suites (interoperability tests written for any MQTT 3.1.1
server) against `DeviceServer`: every client id logs in, as a device of that name, and
every topic may be published and subscribed, wildcards included. Nothing is retained, as
with the real policy: the server never stores retained messages.

It checks no credentials at all, so it must never face a real network: it listens on the
loopback address unless told otherwise.

    python -m tools.interop_server --port 1883 [--host 127.0.0.1] [--debug]

Ctrl-C (or SIGTERM) stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from custom_components.rlink.protocol.policy import Principal, Role
from custom_components.rlink.protocol.server.codec import Connect
from custom_components.rlink.protocol.server.server import DeviceServer

_LOGGER = logging.getLogger("interop_server")


class OpenPolicy:
    """Anyone logs in as a device named by its client id; any topic is allowed."""

    def login(self, connect: Connect) -> Principal:
        return Principal(connect.client_id, connect.client_id, Role.DEVICE)

    def may_publish(self, principal: Principal, topic: str) -> bool:
        return True

    def may_subscribe(self, principal: Principal, topic_filter: str) -> bool:
        return True


class Inside:
    """An owner that ignores everything: the suites only talk client to client."""

    def on_publish(self, principal: Principal, topic: str, payload: bytes) -> None:
        pass

    def on_connected(self, principal: Principal) -> None:
        pass

    def on_disconnected(self, principal: Principal) -> None:
        pass


async def serve(host: str, port: int) -> None:
    server = DeviceServer(OpenPolicy(), Inside(), host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    _LOGGER.info("listening on %s:%d (open policy: test use only)", host, server.port)
    try:
        await stop.wait()
    finally:
        await server.stop()
        _LOGGER.info("stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--debug", action="store_true", help="log why connections end")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
