"""Object models per product id: stored, dropped in as files, fetched, or inferred.

Lookup order for a product id: a model already in storage; a file
``<config>/rlink/models/<pid>.json`` (any format, as the platform returns it); otherwise the
model is inferred from what the device reports, read-only, and a repair issue tells the
user how to provide the real one. A model that arrives later replaces the inferred one and
the listeners rebuild the entities.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from .const import DOMAIN
from .protocol.errors import ProtocolError
from .protocol.model import (
    Access,
    DataType,
    ModelFormat,
    ObjectModel,
    Property,
    model_to_format,
    parse_model,
)

_LOGGER = logging.getLogger(__name__)

STORAGE_KEY: Final = f"{DOMAIN}.models"
STORAGE_VERSION: Final = 1
MODELS_DIR: Final = ("rlink", "models")

# What a reported value says about its type, for devices without a model.
_INFERRED_TYPES: Final[Mapping[type, DataType]] = {
    bool: DataType.BOOL,
    int: DataType.INT,
    float: DataType.DOUBLE,
    str: DataType.TEXT,
    dict: DataType.STRUCT,
    list: DataType.ARRAY,
}

type ModelListener = Callable[[str], None]


def _read_model_files(directory: Path) -> dict[str, Any]:
    """Every ``<pid>.json`` in `directory` (runs in the executor)."""
    found: dict[str, Any] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.json")):
        try:
            found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            _LOGGER.warning("Ignored model file %s: %s", path, err)
    return found


def infer_model(pid: str, values: Mapping[str, Any]) -> ObjectModel:
    """A read-only model with one property per reported value."""
    properties = tuple(
        Property(
            identifier=key, type=_INFERRED_TYPES.get(type(value), DataType.TEXT), access=Access.READ
        )
        for key, value in values.items()
    )
    return ObjectModel(pid, None, ModelFormat.COMPLETE, properties)


class ModelStore:
    """The models of every product the hub has met."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
        self._models: dict[str, ObjectModel] = {}
        self._inferred: dict[str, ObjectModel] = {}
        self._listeners: list[ModelListener] = []
        self.directory = Path(hass.config.path(*MODELS_DIR))

    async def async_load(self) -> None:
        stored = await self._store.async_load() or {}
        for pid, raw in stored.get("models", {}).items():
            self._accept(pid, raw, source="storage")
        files = await self.hass.async_add_executor_job(_read_model_files, self.directory)
        new_files = {pid: raw for pid, raw in files.items() if pid not in self._models}
        for pid, raw in new_files.items():
            self._accept(pid, raw, source=f"{self.directory / pid}.json")
        if any(pid in self._models for pid in new_files):
            self._schedule_save()

    def _accept(self, pid: str, raw: Any, *, source: str) -> bool:
        try:
            self._models[pid] = parse_model(raw)
        except ProtocolError as err:
            _LOGGER.warning("Ignored the object model of %s from %s: %s", pid, source, err)
            return False
        return True

    @callback
    def async_add_listener(self, listener: ModelListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def get(self, pid: str) -> ObjectModel | None:
        """The real model of `pid`, if there is one."""
        return self._models.get(pid)

    def effective(self, pid: str) -> ObjectModel | None:
        """The real model, or the one inferred from reports."""
        return self._models.get(pid) or self._inferred.get(pid)

    def is_inferred(self, pid: str) -> bool:
        return pid not in self._models and pid in self._inferred

    @property
    def product_ids(self) -> list[str]:
        return sorted(self._models)

    @callback
    def async_set(self, pid: str, raw: Any) -> ObjectModel:
        """Store a model (raises ProtocolError when it cannot be understood)."""
        model = parse_model(raw)
        self._models[pid] = model
        self._inferred.pop(pid, None)
        ir.async_delete_issue(self.hass, DOMAIN, f"missing_model_{pid}")
        self._schedule_save()
        self._notify(pid)
        return model

    @callback
    def async_observe(self, pid: str, values: Mapping[str, Any]) -> None:
        """Learn from a report of a product without a model."""
        if pid in self._models:
            return
        known = self._inferred.get(pid)
        props = {p.identifier: p for p in known.properties} if known else {}
        new = {key: value for key, value in values.items() if key not in props}
        if not new:
            return
        props.update({p.identifier: p for p in infer_model(pid, new).properties})
        self._inferred[pid] = ObjectModel(pid, None, ModelFormat.COMPLETE, tuple(props.values()))
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"missing_model_{pid}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="missing_model",
            translation_placeholders={"pid": pid, "path": f"{self.directory / pid}.json"},
        )
        self._notify(pid)

    def _notify(self, pid: str) -> None:
        for listener in list(self._listeners):
            listener(pid)

    def _schedule_save(self) -> None:
        self._store.async_delay_save(self._data_to_save, 1.0)

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "models": {
                pid: model_to_format(model, ModelFormat.COMPLETE)
                for pid, model in self._models.items()
            }
        }
