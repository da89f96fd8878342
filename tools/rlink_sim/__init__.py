"""Simulated rlink devices for tests, benchmarks and the development instance.

async with Simulator("127.0.0.1", port, [DeviceConfig(uuid, secret, kind="plug")]) as sim:
    sim.device(uuid).set("switch", 1)
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from custom_components.rlink.protocol.session import TlsOptions

from .device import DeviceConfig, VirtualDevice, make_secret, make_uuid
from .templates import TEMPLATES

__all__ = [
    "TEMPLATES",
    "DeviceConfig",
    "Running",
    "Simulator",
    "VirtualDevice",
    "make_secret",
    "make_uuid",
    "stop_on_signals",
]


def stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl-C or SIGTERM, for the command-line tools' main loops."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


class Running:
    """`async with` starts it and stops it, whatever happens inside."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class Simulator(Running):
    """A set of virtual devices on one broker."""

    def __init__(
        self,
        host: str,
        port: int,
        devices: Iterable[DeviceConfig],
        *,
        tls: TlsOptions | None = None,
        reply_timeout: float = 5.0,
    ) -> None:
        self.devices = {
            c.uuid: VirtualDevice(c, host, port, tls=tls, reply_timeout=reply_timeout)
            for c in devices
        }

    def device(self, uuid: str) -> VirtualDevice:
        return self.devices[uuid]

    async def start(self) -> None:
        await asyncio.gather(*(d.connect() for d in self.devices.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(d.close() for d in self.devices.values()))
