"""The suite's deprecation guard (conftest.fail_on_deprecations) hears what HA reports."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant

from .conftest import _DeprecationRecorder

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


def test_other_warnings_are_not_taken_for_deprecations() -> None:
    recorder = _DeprecationRecorder()
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "rlink device went away", (), None
    )
    recorder.emit(record)
    assert recorder.found == []
