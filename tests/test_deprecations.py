"""The suite's deprecation guard (conftest.fail_on_deprecations) hears what HA reports."""

from __future__ import annotations

import logging
from pathlib import Path
from types import MappingProxyType

import pytest
from homeassistant.core import HomeAssistant

from custom_components.rlink import event as event_platform

from .conftest import _DeprecationRecorder
from .hub import device, hub_with

INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "rlink"


@pytest.mark.provokes_deprecation
async def test_a_deprecated_constant_used_by_the_integration_is_heard(
    hass: HomeAssistant,
) -> None:
    recorder = _DeprecationRecorder()
    logging.getLogger().addHandler(recorder)
    try:
        # Code that Home Assistant takes for the integration's own, by its file name.
        probe = compile(
            "from homeassistant.const import CONCENTRATION_PARTS_PER_BILLION\n",
            str(INTEGRATION / "deprecation_probe.py"),
            "exec",
        )
        exec(probe, {"__name__": "custom_components.rlink.deprecation_probe"})
    finally:
        logging.getLogger().removeHandler(recorder)
    assert any("CONCENTRATION_PARTS_PER_BILLION" in found for found in recorder.found)


@pytest.mark.provokes_deprecation
@pytest.mark.usefixtures("custom_integrations", "sockets")
async def test_a_doorbell_event_without_ring_is_heard(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Home Assistant's warning for a doorbell event entity that cannot fire `ring` (it
    stops working in 2027.4) fails a test, as any deprecated use does: here the doorbell
    fires the model's own identifier, as it did before it rang."""
    monkeypatch.setattr(event_platform, "STANDARD_EVENT_TYPES", MappingProxyType({}))
    recorder = _DeprecationRecorder()
    logging.getLogger().addHandler(recorder)
    try:
        entry = await hub_with(hass, device("camera"))
        await hass.async_block_till_done()
    finally:
        logging.getLogger().removeHandler(recorder)
    assert any("'ring' event type" in found for found in recorder.found), recorder.found
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_other_warnings_are_not_taken_for_deprecations() -> None:
    recorder = _DeprecationRecorder()
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "rlink device went away", (), None
    )
    recorder.emit(record)
    assert recorder.found == []
