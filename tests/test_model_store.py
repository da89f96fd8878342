"""The model store: the newer of a stored model and a dropped-in file wins; a bad one is
skipped, loudly."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.rlink.models import STORAGE_KEY, ModelStore
from tools.rlink_sim import TEMPLATES

pytestmark = pytest.mark.usefixtures("custom_integrations")


def _files(hass: HomeAssistant, **files: str) -> Path:
    directory = Path(hass.config.path("rlink", "models"))
    directory.mkdir(parents=True, exist_ok=True)
    for pid, text in files.items():
        (directory / f"{pid}.json").write_text(text)
    return directory


async def test_bad_model_files_are_skipped_and_named(
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    plug = TEMPLATES["plug"]
    _files(
        hass,
        good=json.dumps(plug.model("good")),
        broken='{"format": "complete", "properties": [',
        nonsense=json.dumps({"format": "complete", "properties": "none"}),
    )
    store = ModelStore(hass)
    await store.async_load()
    assert store.product_ids == ["good"]
    assert "broken.json" in caplog.text
    assert "nonsense" in caplog.text
    # What came from a file is kept in storage, so it survives the file's removal.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()
    assert set(hass_storage[STORAGE_KEY]["data"]["models"]) == {"good"}


async def test_a_model_stored_after_the_file_changed_wins(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """A model fetched after the file was written is the newer: a stale file does not undo
    it."""
    plug, light = TEMPLATES["plug"], TEMPLATES["light"]
    directory = _files(hass, p1=json.dumps(light.model("p1")))
    later = (directory / "p1.json").stat().st_mtime + 60
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "key": STORAGE_KEY,
        "data": {
            "models": {"p1": plug.model("p1"), "bad": {"properties": 7}},
            "stored_at": {"p1": later},
        },
    }
    store = ModelStore(hass)
    await store.async_load()
    model = store.get("p1")
    assert model is not None
    assert model.property("switch") is not None  # the plug's, not the light's switch_led
    assert model.property("switch_led") is None
    assert store.get("bad") is None


async def test_a_file_changed_after_the_model_was_stored_wins(
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The user put down a newer model file (a firmware added properties): it is taken at
    the next start, and stored, even though an older model of the product was stored; a
    store from before the times were kept counts as old as its own file."""
    plug, light = TEMPLATES["plug"], TEMPLATES["light"]
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "key": STORAGE_KEY,
        "data": {"models": {"p1": plug.model("p1"), "p2": plug.model("p2")}},
    }
    _files(hass, p1=json.dumps(light.model("p1")))
    store = ModelStore(hass)
    await store.async_load()
    model = store.get("p1")
    assert model is not None
    assert model.property("switch_led") is not None  # the file's
    assert "p1.json, newer than the stored one" in caplog.text
    stored_p2 = store.get("p2")
    assert stored_p2 is not None
    assert stored_p2.property("switch") is not None
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()
    saved = hass_storage[STORAGE_KEY]["data"]
    assert any(p["identifier"] == "switch_led" for p in saved["models"]["p1"]["properties"])
    assert saved["stored_at"]["p1"] > 0

    # The next start: nothing changed, so the stored copy is kept and nothing is logged;
    # nor when the file is written again with the same model (as scripts/develop does).
    caplog.clear()
    _files(hass, p1=json.dumps(light.model("p1")))
    again = ModelStore(hass)
    await again.async_load()
    reloaded = again.get("p1")
    assert reloaded is not None
    assert reloaded.property("switch_led") is not None
    assert "newer than the stored one" not in caplog.text


async def test_no_models_folder_is_no_error(hass: HomeAssistant) -> None:
    store = ModelStore(hass)
    await store.async_load()
    assert store.product_ids == []
