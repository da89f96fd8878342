"""Scenes: a gateway's local one-click executions, run with `local_rule_exec`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.scene import Scene
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription
from .gateway_services import async_execute

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RlinkSceneDescription(RlinkEntityDescription, EntityDescription):
    """One stored one-click execution of a gateway."""

    short_id: int


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    configs = coordinator.transport.gateway_configs
    if device.gateway is not None or configs is None or not configs.knows(device.uuid):
        return []
    executes = configs.store(device.uuid)["executes"]
    return [
        RlinkScene(
            coordinator,
            device,
            RlinkSceneDescription(
                key=f"execute_{e['shortId']}",
                identifier=f"execute_{e['shortId']}",
                name=e.get("name") or None,
                translation_key=None if e.get("name") else "local_execute",
                translation_placeholders={"short_id": str(e["shortId"])},
                short_id=int(e["shortId"]),
            ),
        )
        for e in executes
    ]


class RlinkScene(RlinkEntity, Scene):
    """Runs on the gateway itself, so it works while Home Assistant's network is down."""

    entity_description: RlinkSceneDescription

    async def async_activate(self, **kwargs: Any) -> None:
        await async_execute(self.coordinator, self.device, self.entity_description.short_id)


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.SCENE, build, async_add_entities)
