"""What one config entry runs: its coordinator and the entities it keeps."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .coordinator import RlinkCoordinator
from .entity import EntityFactory


@dataclass(slots=True)
class RlinkData:
    """An entry's `runtime_data`."""

    coordinator: RlinkCoordinator
    entities: EntityFactory


type RlinkConfigEntry = ConfigEntry[RlinkData]
