"""Reloading an entry twenty times while its devices report leaves nothing behind: the same
file descriptors, the same asyncio tasks, and memory that does not grow with the reloads."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from tools.rlink_sim import Simulator

from .brokers import until
from .hub import device, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

RELOADS = 20
WARM_UP = 5
"""Reloads before the baseline: first-time imports, caches and pools fill up then."""
DEVICES = [device("plug", f"reloaded-{n}", report_interval=0.05, vary="power") for n in range(4)]


@dataclass(frozen=True)
class Sample:
    fds: int
    tasks: int
    rlink_objects: int
    """Live instances of the integration's own classes (hubs, devices, entities, servers…)."""
    objects: int
    rss: int


def sample() -> Sample:
    gc.collect()
    with open("/proc/self/statm", encoding="ascii") as statm:
        rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    objects = gc.get_objects()
    ours = sum(1 for o in objects if type(o).__module__.startswith("custom_components.rlink"))
    return Sample(
        fds=len(os.listdir("/proc/self/fd")),
        tasks=len(asyncio.all_tasks()),
        rlink_objects=ours,
        objects=len(objects),
        rss=rss,
    )


@pytest.fixture(name="quiet_logs")
def fixture_quiet_logs(hass: HomeAssistant) -> Iterator[None]:
    """Warnings and errors only: the test's log capture keeps every record, and with it
    whatever its arguments refer to (asyncio's debug mode logs each server it starts with
    the server object, and so with the whole hub behind it), which would read as a leak."""
    loggers = [
        logging.getLogger(name) for name in ("", "asyncio", "homeassistant", "custom_components")
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.mark.usefixtures("quiet_logs")
async def test_reloads_under_traffic_leave_nothing_behind(hass: HomeAssistant) -> None:
    entry = await hub_with(hass, *DEVICES)
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, DEVICES
    ) as sim:
        for virtual in sim.devices.values():
            assert virtual.session is not None
            virtual.session._backoff = (0.05, 0.2)  # back quickly after each reload

        async def serving(since: float) -> None:
            """Every device is back on the reloaded hub and has reported to it: traffic
            flows through every cycle."""
            hub = entry.runtime_data.coordinator
            await until(
                lambda: all(
                    (d := hub.devices[c.uuid]).online and (d.last_seen or 0) > since
                    for c in DEVICES
                ),
                30,
            )

        await serving(0)
        samples: list[Sample] = []
        for _ in range(RELOADS):
            started = time.monotonic()
            assert await hass.config_entries.async_reload(entry.entry_id)
            assert entry.state is ConfigEntryState.LOADED
            await serving(started)
            await hass.async_block_till_done()
            for virtual in sim.devices.values():  # the simulator's transcript is not the hub's
                virtual.sent.clear()
                virtual.received.clear()
                virtual.replied.clear()
            samples.append(sample())
    await hass.config_entries.async_unload(entry.entry_id)

    baseline, last = samples[WARM_UP - 1], samples[-1]
    # A leak grows with every reload: fifteen reloads show it many times over. One hub kept
    # alive holds some 500 objects of the integration and 4,000 in all; the slack below is
    # what the test harness itself keeps (its storage mock records every write).
    assert last.fds <= baseline.fds + 2, [s.fds for s in samples]
    assert last.tasks <= baseline.tasks + 3, [s.tasks for s in samples]
    assert last.rlink_objects <= baseline.rlink_objects + 50, [s.rlink_objects for s in samples]
    assert last.objects < baseline.objects + 6000, [s.objects for s in samples]
    assert last.rss < baseline.rss + 16 * 2**20, [s.rss // 2**20 for s in samples]
