"""Setting up a real hub in a test Home Assistant: config flow, broker, simulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigSubentry,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.rlink.const import CONF_SETTINGS, DOMAIN, SUBENTRY_DEVICE
from tools.rlink_sim import TEMPLATES, DeviceConfig, make_secret, make_uuid

from .brokers import free_port


def device(kind: str, seed: str | None = None, **kwargs: Any) -> DeviceConfig:
    seed = seed or kind
    return DeviceConfig(make_uuid(seed), make_secret(seed), kind=kind, **kwargs)


def write_models(hass: HomeAssistant, kinds: Iterable[str]) -> Path:
    """Drop the simulator's models where the model store looks for files."""
    directory = Path(hass.config.path("rlink", "models"))
    directory.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        template = TEMPLATES[kind]
        (directory / f"{template.pid}.json").write_text(json.dumps(template.model()))
    return directory


async def create_embedded_hub(hass: HomeAssistant, port: int | None = None) -> ConfigEntry:
    """Go through the config flow as a user would: menu, local hub, device server."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local_hub"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "embedded"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"port": port or free_port()}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return result["result"]


async def add_device(hass: HomeAssistant, entry: ConfigEntry, config: DeviceConfig) -> None:
    """The device subentry flow, with the uuid and secret the device was made with."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "uuid": config.uuid,
            "secret": config.secret,
            "pid": config.product_id,
            "name": config.name or config.kind.title(),
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()


def device_subentry(entry: ConfigEntry, uuid: str) -> ConfigSubentry:
    return next(s for s in entry.subentries.values() if s.unique_id == uuid)


async def set_device_settings(
    hass: HomeAssistant, entry: ConfigEntry, uuid: str, **steps: Any
) -> None:
    """Walk the device's reconfigure to its settings, as a user would: `settings` answers
    the first form (log upload off if not given), the others the kind steps by name."""
    subentry = device_subentry(entry, uuid)
    flows = hass.config_entries.subentries
    flow = await flows.async_init(
        (entry.entry_id, SUBENTRY_DEVICE),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id},
    )
    assert flow["type"] is FlowResultType.MENU, flow
    flow = await flows.async_configure(flow["flow_id"], {"next_step_id": "settings"})
    assert flow["step_id"] == "settings"
    flow = await flows.async_configure(
        flow["flow_id"], {"log_enable": False, **steps.pop("settings", {})}
    )
    while flow["type"] is FlowResultType.FORM:
        flow = await flows.async_configure(flow["flow_id"], steps.pop(flow["step_id"]))
    assert (flow["type"], flow["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    assert not steps, f"steps not shown: {list(steps)}"
    await hass.async_block_till_done()


def store_device_settings(
    hass: HomeAssistant, entry: ConfigEntry, uuid: str, settings: dict[str, Any]
) -> None:
    """Put a device's settings on its subentry directly, where its settings step keeps them."""
    subentry = device_subentry(entry, uuid)
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_SETTINGS: settings}
    )


async def hub_with(hass: HomeAssistant, *configs: DeviceConfig) -> ConfigEntry:
    """An embedded hub with these devices added, their models in place."""
    children = [s for c in configs for s in (*c.sub_devices, *c.found_devices)]
    write_models(hass, {c.kind for c in (*configs, *children)})
    entry = await create_embedded_hub(hass)
    for config in configs:
        await add_device(hass, entry, config)
    return entry


def entity_id(hass: HomeAssistant, platform: str, uuid: str, identifier: str) -> str:
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{uuid}_{identifier}")
    assert found is not None, f"no {platform} entity for {uuid}_{identifier}"
    return found


def enable_entity(hass: HomeAssistant, platform: str, uuid: str, identifier: str) -> None:
    """An entity that is disabled by default, enabled before its device is set up (as a
    user who enabled it earlier would have it)."""
    er.async_get(hass).async_get_or_create(platform, DOMAIN, f"{uuid}_{identifier}")


async def entity_id_soon(
    hass: HomeAssistant, platform: str, uuid: str, identifier: str, seconds: float = 5.0
) -> str:
    """The entity id once the entity exists (entities of an inferred model come later)."""
    registry = er.async_get(hass)
    unique_id = f"{uuid}_{identifier}"
    async with asyncio.timeout(seconds):
        while (found := registry.async_get_entity_id(platform, DOMAIN, unique_id)) is None:  # noqa: ASYNC110 - the registry has no event for one entity
            await asyncio.sleep(0.02)
    return found


def find_device(hass: HomeAssistant, uuid: str) -> dr.DeviceEntry | None:
    """The registry device of a uuid; a test never has two entries claiming one."""
    found = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, uuid)})
    assert len(found) <= 1, f"{len(found)} devices claim {uuid}"
    return found[0] if found else None


def device_entry(hass: HomeAssistant, uuid: str) -> dr.DeviceEntry:
    found = find_device(hass, uuid)
    assert found is not None, f"no device {uuid}"
    return found
