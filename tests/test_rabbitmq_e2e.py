"""A real RabbitMQ (Debian's package) whose HTTP auth backend asks the test's Home
Assistant: simulated devices log in through it, forgeries, replays and other devices'
topics are refused by RabbitMQ on Home Assistant's answer, and the hub works end to end."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from custom_components.rlink.const import CONF_AUTH_TOKEN, DOMAIN
from custom_components.rlink.diagnostics import async_get_config_entry_diagnostics
from custom_components.rlink.protocol import auth, messages
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.session import AuthRefused, MqttSession, SessionState
from custom_components.rlink.protocol.topics import TopicKind, device_topic
from tools.rlink_sim import Simulator

from .brokers import RabbitMQ, until
from .hub import add_device, device, entity_id, write_models

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

HUB_USER, HUB_PASSWORD = "home-assistant", "hub-password-for-tests"
WAIT = 60.0  # RabbitMQ on a busy machine; every wait ends as soon as its condition holds


@pytest.fixture(name="rabbitmq")
async def fixture_rabbitmq(tmp_path: Path) -> Any:
    """A RabbitMQ node, started by the test once it knows where Home Assistant listens."""
    node = RabbitMQ(tmp_path / "rabbitmq")
    node.workdir.mkdir()
    yield node
    await node.stop()


def _refusals(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if "refused" in r.getMessage() and text in r.getMessage()
    ]


def _spy_session(port: int, spy: Any, states: list[SessionState]) -> MqttSession:
    """A device session that records its states (each login signed afresh)."""
    return MqttSession(
        "127.0.0.1",
        port,
        lambda: auth.device_credentials(spy.uuid, spy.secret),
        on_state=lambda state, _reason: states.append(state),
        backoff=(0.5, 2.0),
    )


async def test_rabbitmq_with_home_assistant_as_its_auth_service(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    rabbitmq: RabbitMQ,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.rlink.local.broker_auth")
    write_models(hass, ["plug"])
    assert await async_setup_component(hass, "http", {})
    # The test server freezes its routes when it starts (Home Assistant's own does not):
    # whatever registers views is set up first.
    for domain in (DOMAIN, "camera", "image"):
        assert await async_setup_component(hass, domain, {})
    client = await hass_client_no_auth()
    await hass.config.async_update(internal_url=str(client.make_url("")).rstrip("/"))
    plug, spy = device("plug"), device("plug", "spy")

    # The flow: an external broker that asks Home Assistant about its clients.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    for step in ("local_hub", "external"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": step}
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "host": "127.0.0.1",
            "port": rabbitmq.port,
            "username": HUB_USER,
            "password": HUB_PASSWORD,
            "broker_auth": True,
            "auth_allowed": "127.0.0.1",
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "broker_auth"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    base = placeholders["url"]
    assert f"auth_http.topic_path = {base}/rabbitmq/topic" in placeholders["rabbitmq"]
    await rabbitmq.start(base)
    # Submitting logs the hub in through RabbitMQ, which asks Home Assistant.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    await hass.async_block_till_done()
    for config in (plug, spy):
        await add_device(hass, entry, config)
    hub = entry.runtime_data.coordinator
    await until(lambda: hub.transport.session is not None and hub.transport.session.connected, WAIT)

    async with Simulator("127.0.0.1", rabbitmq.port, [plug]) as sim:
        # A report becomes a state; a command reaches the device.
        switch = entity_id(hass, "switch", plug.uuid, "switch")
        await until(lambda: hass.states.get(switch).state == "off", WAIT)
        assert sim.device(plug.uuid).session is not None

        # A forged signature and a replayed login are refused by RabbitMQ.
        forged = MqttSession(
            "127.0.0.1", rabbitmq.port, lambda: auth.device_credentials(spy.uuid, "0" * 32)
        )
        with pytest.raises(AuthRefused):
            await forged.connect()
        await forged.close()
        captured = auth.device_credentials(spy.uuid, spy.secret)
        first = MqttSession("127.0.0.1", rabbitmq.port, lambda: captured)
        await first.connect()
        await first.close()
        replay = MqttSession("127.0.0.1", rabbitmq.port, lambda: captured)
        with pytest.raises(AuthRefused):
            await replay.connect()
        await replay.close()
        assert _refusals(caplog, "not later than its last login")

        # The spy, logged in rightly, may not read the plug's commands nor report for it.
        heard: list[str] = []
        spied = _spy_session(rabbitmq.port, spy, [])
        await spied.connect()
        plug_issue = device_topic(TopicKind.ISSUE, plug.product_id, plug.uuid)
        spied.subscribe(plug_issue, lambda topic, _m: heard.append(str(topic)))
        await until(lambda: _refusals(caplog, f"may not subscribe {plug_issue!r}"), WAIT)
        await spied.close()  # RabbitMQ refused the subscription (and let go of the spy)
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        await until(lambda: hass.states.get(switch).state == "on", WAIT)
        assert heard == []

        states: list[SessionState] = []
        reporter = _spy_session(rabbitmq.port, spy, states)
        await reporter.connect()
        plug_report = device_topic(TopicKind.REPORT, plug.product_id, plug.uuid)
        forged_report = messages.event(
            DeviceEvent.PROPERTY_REPORT, {"properties": {"switch": False}}, ack=False
        )
        reporter.publish(plug_report, forged_report)
        await until(lambda: _refusals(caplog, f"may not publish {plug_report!r}"), WAIT)
        # RabbitMQ drops the connection of a client that publishes where it may not.
        await until(lambda: SessionState.DISCONNECTED in states, WAIT)
        await reporter.close()
        assert hass.states.get(switch).state == "on"

    # Logins are remembered like the device server's; the token never shows.
    assert hub.transport.policy is not None
    assert spy.uuid in hub.transport.policy.replays.snapshot()
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert entry.data[CONF_AUTH_TOKEN] not in str(diagnostics)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    await hass.config_entries.async_unload(entry.entry_id)
