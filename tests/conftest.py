"""Shared fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Import this repository's custom_components before Home Assistant's test harness puts
# its own testing_config/custom_components on the path: the loader searches whichever
# package of that name was imported first.
import custom_components  # noqa: F401

# What Home Assistant logs when code uses an API that is going away: report_usage
# (helpers/frame.py), deprecated constants and functions (helpers/deprecation.py), and an
# entity's "this will stop working" (asking to report it at the integration's tracker).
_DEPRECATION_MARKS = (
    "integration 'rlink'",
    "from rlink.",
    "from rlink,",
    "Detected code that",
    "'rlink' custom integration",
    "rlink-iot/home-assistant-rlink",
)


class _DeprecationRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if ("deprecated" in message or "stop working" in message) and any(
            mark in message for mark in _DEPRECATION_MARKS
        ):
            self.found.append(message)


@pytest.fixture(autouse=True)
def fail_on_deprecations(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test fails when Home Assistant says rlink (or the test) uses a deprecated API."""
    if request.node.get_closest_marker("provokes_deprecation"):
        yield
        return
    recorder = _DeprecationRecorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield
    finally:
        root.removeHandler(recorder)
    assert not recorder.found, "Home Assistant reported deprecated use:\n" + "\n".join(
        recorder.found
    )


@pytest.fixture(name="custom_integrations")
def fixture_custom_integrations(enable_custom_integrations: Any, hass: Any, tmp_path: Any) -> None:
    """Let Home Assistant load integrations from custom_components/, with its own config dir.

    The harness shares one config directory between tests; model files dropped by one test
    must not leak into the next.
    """
    hass.config.config_dir = str(tmp_path / "config")


@pytest.fixture(name="sockets")
def fixture_sockets(socket_enabled: Any) -> None:
    """Real sockets on loopback for the tests that run brokers."""


@pytest.fixture(name="embedded")
async def fixture_embedded(sockets: None) -> Any:
    """A running rlink device server."""
    from .brokers import EmbeddedRig  # noqa: PLC0415

    rig = EmbeddedRig()
    await rig.start()
    yield rig
    await rig.stop()


@pytest.fixture(name="mosquitto")
async def fixture_mosquitto(sockets: None, tmp_path: Any) -> Any:
    """A running Mosquitto (skipped where the binary is missing)."""
    from .brokers import MOSQUITTO, Mosquitto  # noqa: PLC0415

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (scripts/setup installs it when run as root)")
    broker = Mosquitto(tmp_path)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(name="strict_mosquitto")
async def fixture_strict_mosquitto(sockets: None, tmp_path: Any) -> Any:
    """A Mosquitto that lets only user "hub" with password "right" in."""
    from .brokers import MOSQUITTO, Mosquitto  # noqa: PLC0415

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (scripts/setup installs it when run as root)")
    broker = Mosquitto(tmp_path, users={"hub": "right"})
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(name="loopback_ice")
def fixture_loopback_ice(sockets: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """WebRTC peers gather candidates on loopback only.

    Home Assistant's test harness replaces the machine's network adapters with a fake one
    that cannot be bound, which would leave aiortc with no candidates at all.
    """
    import aioice.ice  # noqa: PLC0415

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_kw: ["127.0.0.1"])


@pytest.fixture(name="snapshot")
def fixture_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's format, in tests/snapshots/, as core writes them.

    The test plugin defines this fixture too, but syrupy's own plugin, loaded after it,
    wins; a conftest fixture wins over both.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
