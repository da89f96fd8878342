"""Object models per product id: stored, dropped in as files, fetched, or inferred.

Lookup order for a product id: the newer of the model in storage and a file
``<config>/rlink/models/<pid>.json`` (any format, as the platform returns it), so that a
file the user puts down or edits is taken at the next start even where an older model is
stored; otherwise the model is inferred from what the device reports, read-only, and a
repair issue tells the user how to provide the real one. A model that arrives later
replaces the inferred one and the listeners rebuild the entities.
"""

from __future__ import annotations

import json
import logging
import time
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


def _parsed(pid: str, raw: Any, source: str) -> ObjectModel | None:
    """A model read from `source`, or None (said once) when it cannot be understood."""
    try:
        return parse_model(raw)
    except ProtocolError as err:
        _LOGGER.warning("Ignored the object model of %s from %s: %s", pid, source, err)
        return None


def _same_model(one: ObjectModel, other: ObjectModel) -> bool:
    """Whether two models say the same, whatever format each came in."""
    return model_to_format(one, ModelFormat.COMPLETE) == model_to_format(
        other, ModelFormat.COMPLETE
    )


def _read_sources(store: Path, directory: Path) -> tuple[float, dict[str, tuple[float, Any]]]:
    """When the store's file last changed (0 without one), and the model files (runs in
    the executor)."""
    try:
        store_changed_at = store.stat().st_mtime
    except OSError:
        store_changed_at = 0.0
    return store_changed_at, _read_model_files(directory)


def _read_model_files(directory: Path) -> dict[str, tuple[float, Any]]:
    """Every ``<pid>.json`` in `directory`, with when it was last changed (runs in the
    executor)."""
    found: dict[str, tuple[float, Any]] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.json")):
        try:
            found[path.stem] = (path.stat().st_mtime, json.loads(path.read_text(encoding="utf-8")))
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
        self._stored_at: dict[str, float] = {}
        """When each model was stored (seconds since the epoch): a model file changed after
        that replaces it."""
        self._listeners: list[ModelListener] = []
        self.directory = Path(hass.config.path(*MODELS_DIR))

    async def async_load(self) -> None:
        stored = await self._store.async_load() or {}
        for pid, raw in stored.get("models", {}).items():
            if (stored_model := _parsed(pid, raw, "storage")) is not None:
                self._models[pid] = stored_model
        store_changed_at, files = await self.hass.async_add_executor_job(
            _read_sources, Path(self._store.path), self.directory
        )
        # A store written before the times were kept: its models are as old as its file.
        stored_at = stored.get("stored_at", {})
        self._stored_at = {pid: stored_at.get(pid, store_changed_at) for pid in self._models}
        taken = False
        for pid, (changed_at, raw) in files.items():
            if pid in self._models and changed_at <= self._stored_at.get(pid, 0.0):
                continue
            model = _parsed(pid, raw, f"{self.directory / pid}.json")
            if model is None:
                continue
            if pid in self._models and not _same_model(self._models[pid], model):
                _LOGGER.info(
                    "The object model of %s comes from %s/%s.json, newer than the stored one",
                    pid,
                    self.directory,
                    pid,
                )
            self._models[pid] = model
            self._stored_at[pid] = changed_at
            taken = True
        if taken:
            self._schedule_save()

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
        self._stored_at[pid] = time.time()
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
            },
            "stored_at": self._stored_at,
        }
