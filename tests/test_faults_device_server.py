"""Faults on the integration's own device server, with numbered reports before, during and
after each: a device process frozen (SIGSTOP) past its keep-alive and resumed (SIGCONT),
and every connection cut at once on the server's side. Every report a device got a PUBACK
for becomes a state of its entity."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant

from .brokers import until
from .faults import COUNTER, NumberedReporter, StateLog, missing
from .hub import device, entity_id, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

ROOT = Path(__file__).resolve().parents[1]


class DeviceProcess:
    """`tests.numbered_device` in a process of its own, its acknowledgements read as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.acked: set[int] = set()
        self.connects = 0
        self.done = False
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, port: int, config: object, count: int, keepalive: int) -> DeviceProcess:
        uuid, secret, pid = config.uuid, config.secret, config.product_id  # type: ignore[attr-defined]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.numbered_device",
            "127.0.0.1",
            str(port),
            uuid,
            secret,
            pid,
            str(count),
            "0.05",
            str(keepalive),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := (await self.process.stdout.readline()).decode().strip():
            if line.startswith("ack "):
                self.acked.add(int(line.split()[1]))
            elif line == "connected":
                self.connects += 1
            elif line == "done":
                self.done = True

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await self._reader


async def test_a_frozen_device_resumes_without_losing_what_was_acknowledged(
    hass: HomeAssistant,
) -> None:
    plug = device("plug", "frozen-plug")
    entry = await hub_with(hass, plug)
    hub = entry.runtime_data.coordinator
    counter = entity_id(hass, "number", plug.uuid, COUNTER)
    log = StateLog(hass, counter)
    count = 60
    process = await DeviceProcess.start(hub.transport.broker.port, plug, count, keepalive=2)
    try:
        await until(lambda: len(process.acked) >= 15, 30)
        process.process.send_signal(signal.SIGSTOP)
        # Past its keep-alive the server gives the silent device up.
        await until(lambda: not hub.devices[plug.uuid].online, 30)
        process.process.send_signal(signal.SIGCONT)
        await until(lambda: process.done, 60)
        # Done, the device process leaves (its entities go unavailable): look at history.
        await until(lambda: count in log.numbers(), 30)
        assert process.connects >= 2  # it had to log in again
    finally:
        await process.stop()
    log.close()
    assert process.acked == set(range(1, count + 1))
    assert missing(process.acked, log.numbers()) == []
    await hass.config_entries.async_unload(entry.entry_id)


async def test_every_connection_cut_at_once(hass: HomeAssistant) -> None:
    plugs = [device("plug", f"cut-plug-{n}") for n in range(3)]
    entry = await hub_with(hass, *plugs)
    hub = entry.runtime_data.coordinator
    reporters = [NumberedReporter("127.0.0.1", hub.transport.broker.port, p) for p in plugs]
    logs = [StateLog(hass, entity_id(hass, "number", p.uuid, COUNTER)) for p in plugs]
    try:
        for reporter in reporters:
            await reporter.start()

        async def send(numbers: range) -> None:
            await asyncio.gather(*(r.send_paced(numbers, every=0.01) for r in reporters))

        await send(range(1, 21))
        await until(lambda: all(r.acknowledged >= set(range(1, 21)) for r in reporters), 15)
        # The server's side of every connection goes at once, as `ss -K` would do it.
        cut = send(range(21, 41))
        for listener in list(hub.transport.broker._listeners.values()):
            listener.abort_clients()
        await cut
        await until(lambda: all(r.connects >= 2 for r in reporters), 30)
        await send(range(41, 61))
        await until(lambda: all(r.all_acknowledged() for r in reporters), 30)
        for plug in plugs:
            counter = entity_id(hass, "number", plug.uuid, COUNTER)
            await until(lambda c=counter: hass.states.get(c).state == "60", 30)
    finally:
        for reporter in reporters:
            reporter.stop()
    for reporter, log in zip(reporters, logs, strict=True):
        log.close()
        assert reporter.acknowledged == set(range(1, 61))
        assert missing(reporter.acknowledged, log.numbers()) == []
    await hass.config_entries.async_unload(entry.entry_id)
