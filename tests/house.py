"""The development house (tools/develop.py) in the test Home Assistant, in either mode.

The snapshot tests compare what a homeowner gets from it (entities, states, devices,
diagnostics) with what was reviewed. The house, its config entries and their ids are
develop's own; the device server, the fake cloud and the simulated devices are real.
Only the camera's alarm timer is replaced by a ring of the doorbell once the house has
settled, so that every run shows the same events.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.extensions.amber.serializer import Repr
from syrupy.types import PropertyPath, SerializableData

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.local.device_logs import upload_signature
from tools.develop import MAP_BUCKET, cloud_entry, house, hub_entry
from tools.rlink_sim import TEMPLATES, DeviceConfig, Simulator, VirtualDevice
from tools.rlink_sim.cloud import DEFAULT_SECRET, DEFAULT_USER, FakeCloud, device_id_for
from tools.rlink_sim.files import ObjectStore

from .brokers import free_port, until
from .hub import write_models

SETTLE_SECONDS: Final = 30.0
"""Generous: the house settles in about a second; a busy machine may take longer."""


@dataclass
class RunningHouse:
    """The house's config entry, its simulated devices, and what must never leak."""

    mode: str
    entry: ConfigEntry
    devices: list[DeviceConfig]
    virtual: Callable[[str], VirtualDevice]
    secrets: list[str] = field(default_factory=list)
    """Credentials and addresses no diagnostics may show."""
    disabled_by_default: list[str] = field(default_factory=list)
    """Entity ids the integration adds disabled (enabled here, to show their states)."""

    @property
    def doorbell(self) -> DeviceConfig:
        return next(d for d in self.devices if d.kind == "camera")

    def key(self, device: DeviceConfig) -> str:
        """The device's key in the integration: its uuid, or the cloud's id for it."""
        return device_id_for(device.uuid) if self.mode == "cloud" else device.uuid


def _all(devices: list[DeviceConfig]) -> list[DeviceConfig]:
    return [c for d in devices for c in (d, *_all(d.sub_devices))]


def _without_alarm_timer(devices: list[DeviceConfig]) -> list[DeviceConfig]:
    return [dataclasses.replace(d, event_interval=None) for d in devices]


def _mock_entry(stored: Mapping[str, Any]) -> MockConfigEntry:
    """The config entry develop writes to core.config_entries, as a test entry."""
    return MockConfigEntry(
        domain=stored["domain"],
        entry_id=stored["entry_id"],
        title=stored["title"],
        data=stored["data"],
        options=stored["options"],
        unique_id=stored["unique_id"],
        source=stored["source"],
        version=stored["version"],
        minor_version=stored["minor_version"],
        subentries_data=stored["subentries"],
    )


@contextmanager
def _all_entities_enabled(disabled: dict[str, bool]) -> Iterator[None]:
    """Every entity is added enabled, as Home Assistant's own snapshot tests do, so that
    its state can be shown; `disabled` learns which unique ids would have been disabled."""
    original = Entity.entity_registry_enabled_default.func  # type: ignore[attr-defined]

    def enabled(entity: Entity) -> bool:
        disabled[str(entity.unique_id)] = not original(entity)
        return True

    with patch.object(Entity, "entity_registry_enabled_default", property(enabled)):
        yield


async def _settled(hass: HomeAssistant, running: RunningHouse) -> None:
    """Every device known, online, with its model and a value for each of its properties
    (and on a hub its firmware version), and Home Assistant done with what followed."""
    expected = len(_all(running.devices))
    versions = running.mode == "hub"  # a cloud account's app interface does not tell them

    def done() -> bool:
        devices = running.entry.runtime_data.coordinator.devices
        return len(devices) == expected and all(
            d.online
            and d.model is not None
            and not d.model_inferred
            and {p.identifier for p in d.model.properties} <= set(d.values)
            and (d.version is not None or not versions)
            for d in devices.values()
        )

    await until(done, SETTLE_SECONDS)
    await hass.async_block_till_done()


async def _ring(hass: HomeAssistant, running: RunningHouse) -> None:
    """What the camera's timer does: a press of the doorbell and an alarm with a photo.
    Waits until both of the doorbell's event entities show it."""
    registry = er.async_get(hass)
    key = running.key(running.doorbell)
    events = [
        registry.async_get_entity_id("event", DOMAIN, f"{key}_event_{identifier}")
        for identifier in ("doorbell", "alarm")
    ]
    assert None not in events, events
    await running.virtual(running.doorbell.uuid).ring()

    def shown() -> bool:
        return all(
            (state := hass.states.get(str(entity_id))) is not None and state.state != "unknown"
            for entity_id in events
        )

    await until(shown, SETTLE_SECONDS)
    await hass.async_block_till_done()


async def _set_up(hass: HomeAssistant, stack: AsyncExitStack, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    async def unload() -> None:
        assert await hass.config_entries.async_unload(entry.entry_id)

    stack.push_async_callback(unload)


async def _hub(hass: HomeAssistant, stack: AsyncExitStack, tmp_path: Path) -> RunningHouse:
    """Home Assistant's device server first, then the house connects to it (as develop)."""
    store = await stack.enter_async_context(ObjectStore(MAP_BUCKET, root=tmp_path / "store"))
    devices = _without_alarm_timer(house(store.url))
    port = free_port()
    entry = _mock_entry(hub_entry(port, devices, store))
    await _set_up(hass, stack, entry)
    simulator = await stack.enter_async_context(Simulator("127.0.0.1", port, devices))
    secrets = [
        *(d.secret for d in _all(devices)),
        *(upload_signature(d.uuid, d.secret) for d in _all(devices)),
        store.access_key,
        store.secret_key,
    ]
    return RunningHouse("hub", entry, devices, simulator.device, secrets)


async def _cloud(hass: HomeAssistant, stack: AsyncExitStack, tmp_path: Path) -> RunningHouse:
    """The fake cloud and its house first, then Home Assistant logs in to it (as develop)."""
    devices = _without_alarm_timer(house())
    cloud = await stack.enter_async_context(FakeCloud(devices))
    assert cloud.simulator is not None
    rest_port = int(cloud.rest_url.rsplit(":", 1)[1])
    entry = _mock_entry(cloud_entry(cloud.mqtt_port, rest_port, devices))
    await _set_up(hass, stack, entry)
    secrets = [DEFAULT_SECRET, DEFAULT_USER, *(d.secret for d in _all(devices))]
    return RunningHouse("cloud", entry, devices, cloud.simulator.device, secrets)


_MODES: Final = {"hub": _hub, "cloud": _cloud}
MODES: Final = tuple(_MODES)


@asynccontextmanager
async def development_house(
    hass: HomeAssistant, mode: str, tmp_path: Path
) -> AsyncIterator[RunningHouse]:
    """The house in `mode` ("hub" or "cloud"), settled, the doorbell rung once; unloaded
    and stopped at the end."""
    write_models(hass, TEMPLATES)  # what develop's prepare() puts in config/rlink/models
    disabled: dict[str, bool] = {}
    with _all_entities_enabled(disabled):
        async with AsyncExitStack() as stack:
            running = await _MODES[mode](hass, stack, tmp_path)
            await _settled(hass, running)
            await _ring(hass, running)
            running.disabled_by_default = _disabled(hass, running.entry, disabled)
            yield running


def _disabled(hass: HomeAssistant, entry: ConfigEntry, disabled: dict[str, bool]) -> list[str]:
    registry = er.async_get(hass)
    return sorted(
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if disabled.get(e.unique_id)
    )


# --- what varies from run to run ------------------------------------------------------------

_PORT_IN_ADDRESS: Final = re.compile(r"(?<=127\.0\.0\.1:)\d+")
_PROXY_TOKEN: Final = re.compile(r"(?<=token=)[0-9a-f]+")
_TIMESTAMP: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")
_PORT_KEYS: Final = frozenset({"port", "broker_port"})
_CLOCK_KEYS: Final = frozenset(
    {
        "at",
        "ts",
        "local_date_time",
        "is_dst",
        "dst_start_ts",
        "dst_start_local_date_time",
        "dst_end_ts",
        "dst_end_local_date_time",
    }
)
"""Diagnostics' times: when a message came, and the clock the hub sent a device."""
_TRAFFIC_KEYS: Final = frozenset(
    {
        "messages_in",
        "messages_out",
        "requests",
        "request_seconds_total",
        "request_seconds_max",
        "calls",
    }
)
"""Counts that follow how the run was scheduled (error counts stay: they must be 0)."""
_COUNTED: Final = frozenset({"notifications"})
"""Maps whose values are counts of the same kind."""


def _key(path: PropertyPath, back: int = 1) -> str | None:
    return str(path[-back][0]) if len(path) >= back else None


def stable(*, data: SerializableData, path: PropertyPath) -> SerializableData:
    """A syrupy matcher: ports, proxy tokens, times and traffic counts become placeholders;
    a device's recent messages are put in one order (a device's own start sequence and its
    answers to the hub interleave as the scheduler pleases)."""
    key = _key(path)
    if key in _PORT_KEYS and isinstance(data, int):
        return Repr("<port>")
    if key in _CLOCK_KEYS and not isinstance(data, dict | list):
        return Repr("<clock>")
    if (key in _TRAFFIC_KEYS or _key(path, 2) in _COUNTED) and isinstance(data, int | float):
        return Repr(f"<{type(data).__name__}>")
    if key == "access_token" and isinstance(data, str):
        return Repr("<token>")
    if key == "last_messages" and isinstance(data, list):
        return sorted(data, key=lambda m: (m["code"], m["direction"], repr(m["data"])))
    if isinstance(data, str):
        if _TIMESTAMP.fullmatch(data):
            return Repr("<timestamp>")
        return _PROXY_TOKEN.sub("<token>", _PORT_IN_ADDRESS.sub("<port>", data))
    return data
