"""Held writes for sleeping devices: a failed wake or delivery loses nothing.

A fake runtime plays the hub (wake and write can be made to fail); the end-to-end case, a
sleeping lock that wakes and takes its writes, is in test_kind_lock_light.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.desired import DesiredState
from custom_components.rlink.device import RlinkDevice


class FakeRuntime:
    def __init__(self, hass: HomeAssistant, *, reachable: bool) -> None:
        self.hass = hass
        self.reachable = reachable
        self.devices: dict[str, RlinkDevice] = {}
        self.woken: list[str] = []
        self.written: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.saves = 0

    def _fail(self) -> None:
        if not self.reachable:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="device_offline",
                translation_placeholders={"device": "Front door"},
            )

    def save_soon(self) -> None:
        self.saves += 1

    def available_gateway(self, device: RlinkDevice) -> bool:
        return True

    def spawn(self, job: Coroutine[Any, Any, Any], name: str) -> None:
        self.tasks.append(self.hass.async_create_task(job, name))

    async def async_wake(self, device: RlinkDevice) -> None:
        self.woken.append(device.uuid)
        self._fail()

    async def async_write(self, device: RlinkDevice, values: dict[str, Any]) -> None:
        self._fail()
        self.written.append(values)


def _lock(hub: FakeRuntime) -> RlinkDevice:
    lock = RlinkDevice("rn01a1b2c3d4e5f6", "pid1", "Front door", gateway="rn01gateway00001")
    hub.devices[lock.uuid] = lock
    return lock


async def test_a_failed_wake_and_delivery_keep_the_writes(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    hub = FakeRuntime(hass, reachable=False)
    desired = DesiredState(hub)  # type: ignore[arg-type]
    lock = _lock(hub)
    desired.hold(lock, {"auto_lock": 1})
    desired.hold(lock, {"auto_lock": 0, "volume": 2})  # the latest value wins
    # A sub-device is woken through its gateway at once; here the gateway cannot.
    await asyncio.gather(*hub.tasks)
    assert hub.woken == [lock.uuid, lock.uuid]
    assert "Could not wake Front door" in caplog.text

    await desired.deliver(lock)
    assert hub.written == []
    assert {k: v for k, (v, _asked) in lock.pending.items()} == {"auto_lock": 0, "volume": 2}
    assert "Could not deliver held writes to Front door" in caplog.text

    hub.reachable = True
    await desired.deliver(lock)
    assert hub.written == [{"auto_lock": 0, "volume": 2}]
    assert lock.pending == {}
    await desired.deliver(lock)  # nothing left: nothing sent
    assert len(hub.written) == 1


async def test_a_value_changed_while_it_was_sent_is_kept(hass: HomeAssistant) -> None:
    hub = FakeRuntime(hass, reachable=True)
    desired = DesiredState(hub)  # type: ignore[arg-type]
    lock = _lock(hub)
    desired.hold(lock, {"volume": 2})
    sent = hub.async_write

    async def write_then_change(device: RlinkDevice, values: dict[str, Any]) -> None:
        await sent(device, values)
        desired.hold(device, {"volume": 3})  # the user moved the slider meanwhile

    hub.async_write = write_then_change  # type: ignore[method-assign]
    await desired.deliver(lock)
    assert hub.written == [{"volume": 2}]
    assert lock.pending["volume"][0] == 3
