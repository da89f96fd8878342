"""A bug met while handling one device message: the device gets the spec's generic error
(1001, service exception), the log gets one line without a traceback however often the
message comes, and the hub goes on serving that device and the others."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceEvent, Status
from custom_components.rlink.protocol.errors import RlinkError
from custom_components.rlink.protocol.session import MqttSession
from custom_components.rlink.protocol.topics import TopicKind, device_topic

from .brokers import until
from .hub import device, entity_id, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

REPEATS = 30


async def test_a_failing_answer_is_logged_once_answered_1001_and_serving_goes_on(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    sensor = device("sensor", "failing-sensor")
    entry = await hub_with(hass, sensor)
    hub = entry.runtime_data.coordinator

    def broken_info(*_args: Any) -> None:
        raise KeyError("a bug in the hub")

    hub.transport.answers.info = broken_info
    pid = sensor.product_id
    report = device_topic(TopicKind.REPORT, pid, sensor.uuid)
    link = MqttSession(
        "127.0.0.1",
        hub.transport.broker.port,
        lambda: device_credentials(sensor.uuid, sensor.secret),
    )
    link.subscribe(device_topic(TopicKind.REPORT_RESPONSE, pid, sensor.uuid), lambda _t, _m: None)
    await link.connect()
    try:
        await link.wait_subscribed()
        caplog.clear()
        for _ in range(REPEATS):
            with pytest.raises(RlinkError) as refused:
                await link.request(
                    report, messages.event(DeviceEvent.INFO, {"version": "1.0.0"}, ack=True)
                )
            assert refused.value.code == Status.SERVICE_EXCEPTION

        failures = [r for r in caplog.records if "Could not handle info" in r.getMessage()]
        assert len(failures) == 1
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
        rlink_warnings = [
            r
            for r in caplog.records
            if r.name.startswith("custom_components.rlink") and r.levelno >= logging.WARNING
        ]
        assert len(rlink_warnings) <= 2, [r.getMessage() for r in rlink_warnings]

        # The same connection is served as before: other events answered, values taken.
        answer = await link.request(report, messages.event(DeviceEvent.TIME, ack=True))
        assert answer.res == 0
        link.publish(
            report,
            messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {"temperature": 23.4}}),
        )
        temperature = entity_id(hass, "sensor", sensor.uuid, "temperature")
        await until(lambda: hass.states.get(temperature).state == "23.4")
    finally:
        await link.close()
    await hass.config_entries.async_unload(entry.entry_id)
