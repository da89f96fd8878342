"""The model store: stored models first, dropped-in files next; a bad one is skipped, loudly."""

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


async def test_a_stored_model_wins_over_a_file(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    plug, light = TEMPLATES["plug"], TEMPLATES["light"]
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "key": STORAGE_KEY,
        "data": {"models": {"p1": plug.model("p1"), "bad": {"properties": 7}}},
    }
    _files(hass, p1=json.dumps(light.model("p1")))
    store = ModelStore(hass)
    await store.async_load()
    model = store.get("p1")
    assert model is not None
    assert model.property("switch") is not None  # the plug's, not the light's switch_led
    assert model.property("switch_led") is None
    assert store.get("bad") is None


async def test_no_models_folder_is_no_error(hass: HomeAssistant) -> None:
    store = ModelStore(hass)
    await store.async_load()
    assert store.product_ids == []
