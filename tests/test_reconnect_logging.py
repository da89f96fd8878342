"""A lost broker connection is logged twice, when it drops and when it is back, however
many attempts the reconnect takes: for an external broker (Mosquitto) and for the cloud."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from rlink_sim.cloud import FakeCloud

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.protocol.session import MqttSession

from .brokers import Mosquitto, free_port, until
from .test_cloud_e2e import PLUG, cloud_entry

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

ATTEMPTS = 4
"""Failed attempts the test waits for while the broker is away."""


class _Attempts(logging.Handler):
    """Counts the session's failed connection attempts (logged at debug level)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "next attempt" in record.getMessage():
            self.count += 1


def _rlink_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What rlink logged at info level or above."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.rlink") and r.levelno >= logging.INFO
    ]


def _quick_retries(session: MqttSession) -> None:
    session._backoff = (0.05, 0.2)  # many attempts within the test, not one a minute


async def _outage(
    caplog: pytest.LogCaptureFixture, session: MqttSession, stop: Any, start: Any
) -> list[str]:
    """Stop the broker, let the session fail ATTEMPTS times, start it again; what rlink
    logged about it meanwhile."""
    attempts = _Attempts()
    session_log = logging.getLogger("custom_components.rlink.protocol.session")
    session_log.addHandler(attempts)
    level = session_log.level
    session_log.setLevel(logging.DEBUG)
    try:
        caplog.clear()
        await stop()
        await until(lambda: attempts.count >= ATTEMPTS, 30)
        await start()
        await until(lambda: session.connected, 30)
    finally:
        session_log.removeHandler(attempts)
        session_log.setLevel(level)
    return [line for line in _rlink_lines(caplog) if "broker" in line or "attempt" in line]


async def test_external_broker_outage_is_logged_once_each_way(
    hass: HomeAssistant, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    for step in ("local_hub", "external"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": step}
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": mosquitto.port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry = result["result"]
    session = entry.runtime_data.coordinator.transport.session
    _quick_retries(session)

    lines = await _outage(caplog, session, mosquitto.stop, mosquitto.start)
    assert len(lines) == 2, lines
    assert "lost its broker connection" in lines[0]
    assert "connected to its broker again" in lines[1]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_cloud_outage_is_logged_once_each_way(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    cloud = FakeCloud([PLUG], mqtt_port=free_port())
    await cloud.start(with_devices=False)
    try:
        entry = await cloud_entry(hass, cloud)
        session = entry.runtime_data.coordinator.transport.session
        _quick_retries(session)

        async def restart() -> None:
            await cloud.broker.start()
            cloud.session.attach(cloud.broker)

        lines = await _outage(caplog, session, cloud.broker.stop, restart)
        assert len(lines) == 2, lines
        assert "lost its broker connection" in lines[0]
        assert "connected to its broker again" in lines[1]
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await cloud.stop()
