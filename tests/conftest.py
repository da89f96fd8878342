"""Shared fixtures."""

from __future__ import annotations

from typing import Any

import pytest

# Import this repository's custom_components before Home Assistant's test harness puts
# its own testing_config/custom_components on the path: the loader searches whichever
# package of that name was imported first.
import custom_components  # noqa: F401


@pytest.fixture(name="custom_integrations")
def fixture_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load integrations from custom_components/."""
