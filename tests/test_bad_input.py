"""Bad input: the hub says what went wrong, keeps running, and keeps its state."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceCommand as Cmd
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.session import MqttSession
from custom_components.rlink.protocol.topics import Topic, TopicKind, device_topic

from .brokers import until
from .hub import add_device, create_embedded_hub, device, device_entry, entity_id, write_models

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


@pytest.fixture(name="plug_hub")
async def fixture_plug_hub(hass: HomeAssistant) -> Any:
    """A hub with one plug whose raw client the test drives."""
    write_models(hass, ["plug"])
    plug = device("plug")
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, plug)
    hub = entry.runtime_data.coordinator
    pid = plug.product_id
    client = MqttSession(
        "127.0.0.1", hub.transport.broker.port, lambda: device_credentials(plug.uuid, plug.secret)
    )
    replies: asyncio.Queue[Message] = asyncio.Queue()
    client.subscribe(
        device_topic(TopicKind.REPORT_RESPONSE, pid, plug.uuid),
        lambda _t, m: replies.put_nowait(m),
    )
    await client.connect()
    await until(lambda: hub.devices[plug.uuid].online)
    topic = device_topic(TopicKind.REPORT, pid, plug.uuid)

    async def report(values: dict[str, Any], ack: bool = True) -> Message | None:
        event = messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": values}, ack=ack)
        client.publish(topic, event)
        if not ack:
            return None
        async with asyncio.timeout(5):
            return await replies.get()

    await report({"switch": 1, "power": 5.0})
    power = entity_id(hass, "sensor", plug.uuid, "power")
    await until(lambda: hass.states.get(power).state == "5.0")
    yield SimpleNamespace(
        hass=hass, entry=entry, plug=plug, client=client, topic=topic, report=report, power=power
    )
    await client.close()
    await hass.config_entries.async_unload(entry.entry_id)


def _raw(client: MqttSession, topic: str, payload: bytes) -> None:
    """Publish bytes the session's own encoder would never produce."""
    assert client._client is not None
    client._client.publish(topic, payload, qos=1)


async def test_malformed_json_unknown_code_and_wrong_types(
    plug_hub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    hass = plug_hub.hass
    entry = plug_hub.entry
    client = plug_hub.client
    topic = plug_hub.topic
    power = plug_hub.power
    hub = entry.runtime_data.coordinator
    before = hub.transport.session.stats.parse_errors
    caplog.set_level(logging.WARNING)
    for payload in (
        b"{not json",
        b"{not json either",
        json.dumps({"id": "1", "ts": 1, "code": "no_such_code", "data": {}}).encode(),
        json.dumps({"id": "2", "ts": "yesterday", "code": "property_report"}).encode(),
        json.dumps({"id": "3", "ts": 1, "code": "property_report", "data": [1]}).encode(),
    ):
        _raw(client, topic, payload)
    await until(lambda: hub.transport.session.stats.parse_errors == before + 5)
    # One line per kind of problem, not one per message.
    dropped = [r for r in caplog.records if "dropped a message" in r.getMessage()]
    assert len(dropped) == 4
    assert any("not JSON" in r.getMessage() for r in dropped)
    assert any("no_such_code" in r.getMessage() for r in dropped)
    assert hass.states.get(power).state == "5.0"
    assert hub.transport.session.connected


async def test_a_request_of_an_unknown_code_that_asks_for_a_reply_is_refused(
    plug_hub: Any,
) -> None:
    """The device would otherwise wait for its timeout: it gets 1006 at once, under the
    code and id it sent; without ack nothing is answered."""
    client = plug_hub.client
    plug = plug_hub.plug
    answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    assert client._client is not None
    client._client.message_callback_add(
        device_topic(TopicKind.REPORT_RESPONSE, plug.product_id, plug.uuid),
        lambda _c, _u, m: loop.call_soon_threadsafe(answers.put_nowait, json.loads(m.payload)),
    )
    for msg_id, ack in (("u1", 1), ("u2", 0), ("u3", True)):
        body = {"id": msg_id, "ts": 1, "code": "no_such_event", "ack": ack, "data": {}}
        _raw(client, plug_hub.topic, json.dumps(body).encode())
    # Answered after the three above (this callback now takes the session's replies).
    known = messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": {"switch": 0}}, ack=True)
    _raw(client, plug_hub.topic, messages.encode(known))
    got: list[dict[str, Any]] = []
    while not got or got[-1]["code"] != "property_report":
        async with asyncio.timeout(5):
            got.append(await answers.get())
    refusals = [a for a in got if a["code"] == "no_such_event"]
    assert [(a["id"], a["res"]) for a in refusals] == [("u1", 1006), ("u3", 1006)]
    assert all(a["msg"] for a in refusals)  # the cloud's answers to events say why
    assert [a["code"] for a in got if a not in refusals] == ["property_report"]
    assert plug_hub.entry.runtime_data.coordinator.transport.session.connected


async def test_wrong_field_type_is_answered_with_1002(plug_hub: Any) -> None:
    hass = plug_hub.hass
    entry = plug_hub.entry
    report = plug_hub.report
    power = plug_hub.power
    reply = await report([1, 2])  # properties must be an object
    assert reply.res == 1002
    assert "data.properties" in reply.msg
    assert hass.states.get(power).state == "5.0"
    assert entry.runtime_data.coordinator.transport.session.connected


async def test_values_outside_the_model_change_nothing(
    plug_hub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    hass = plug_hub.hass
    entry = plug_hub.entry
    plug = plug_hub.plug
    report = plug_hub.report
    power = plug_hub.power
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        reply = await report({"bogus": 1, "power": -5})  # not in the model; below min 0
        assert reply.res == 0
    assert hass.states.get(power).state == "5.0"
    assert "bogus" not in entry.runtime_data.coordinator.devices[plug.uuid].values
    lines = [r.getMessage() for r in caplog.records if "model does not allow" in r.getMessage()]
    assert len(lines) == 2  # once for bogus, once for power: rate limited
    await report({"power": 7.5})
    await until(lambda: hass.states.get(power).state == "7.5")


async def test_a_huge_value_is_logged_as_a_short_excerpt(
    plug_hub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    huge = "9" * 1_000_000  # nearly the largest packet the device server takes (1 MiB)
    reply = await plug_hub.report({"power": huge})
    assert reply.res == 0
    lines = [r.getMessage() for r in caplog.records if "model does not allow" in r.getMessage()]
    assert len(lines) == 1
    assert len(lines[0]) < 300
    assert f"({len(repr(huge))} characters)" in lines[0]
    assert plug_hub.hass.states.get(plug_hub.power).state == "5.0"


async def test_refused_and_unanswered_commands(plug_hub: Any) -> None:
    hass = plug_hub.hass
    entry = plug_hub.entry
    plug = plug_hub.plug
    client = plug_hub.client
    issue = device_topic(TopicKind.ISSUE, plug.product_id, plug.uuid)

    def refuse(topic_: Topic, message: Message) -> None:
        if str(message.code) == "property_set":
            client.publish(
                device_topic(TopicKind.ISSUE_RESPONSE, plug.product_id, plug.uuid),
                messages.reply(message, res=1002, msg="switch is locked"),
            )

    client.subscribe(issue, refuse)
    await asyncio.sleep(0.1)
    switch = entity_id(hass, "switch", plug.uuid, "switch")
    with pytest.raises(HomeAssistantError) as refused:
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert refused.value.translation_key == "device_refused"
    assert "1002" in str(refused.value)
    assert hass.states.get(switch).state == "on"

    # The raw client never answers pings: the check-connection button's command, with a
    # shorter wait than the button's.
    hub = entry.runtime_data.coordinator
    with pytest.raises(HomeAssistantError) as silent:
        await hub.async_command(hub.devices[plug.uuid], Cmd.PING, ack=True, timeout=1)
    assert silent.value.translation_key == "timeout"
    assert entry.runtime_data.coordinator.transport.session.connected


async def test_invalid_writes_never_reach_the_device(plug_hub: Any) -> None:
    hass = plug_hub.hass
    plug = plug_hub.plug
    device_id = device_entry(hass, plug.uuid).id
    cases = {
        "unknown_property": {"nope": 1},
        "invalid_value": {"countdown": 999999},
    }
    for key, properties in cases.items():
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                "set_properties",
                {"device_id": device_id, "properties": properties},
                blocking=True,
            )
        assert err.value.translation_key == key
    with pytest.raises(ServiceValidationError) as read_only:
        await hass.services.async_call(
            DOMAIN,
            "set_properties",
            {"device_id": device_id, "properties": {"power": 3}},
            blocking=True,
        )
    assert "read-only" in str(read_only.value)


async def test_services_on_devices_that_are_not_the_hub_s(hass: HomeAssistant) -> None:
    """Home Assistant's own words for an unknown device, another integration's, or a hub
    that is not running; the hub's for a registry entry it no longer has."""
    write_models(hass, ["plug"])
    entry = await create_embedded_hub(hass)
    registry = dr.async_get(hass)
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    foreign = registry.async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "x")}
    )
    ghost = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "rn01nolongerhere")}, name="Ghost"
    )

    async def refused(device_id: str) -> tuple[str | None, str | None]:
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                "set_properties",
                {"device_id": device_id, "properties": {"switch": True}},
                blocking=True,
            )
        return err.value.translation_domain, err.value.translation_key

    assert await refused("not-a-device") == ("homeassistant", "service_device_not_found")
    assert await refused(foreign.id) == ("homeassistant", "service_device_wrong_domain")
    assert await refused(ghost.id) == (DOMAIN, "device_unknown")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await refused(ghost.id) == ("homeassistant", "service_config_entry_not_loaded")


async def test_a_write_is_confirmed_by_the_report_of_the_new_value(plug_hub: Any) -> None:
    """A device that never answers `property_set` but reports the value it took: the write
    succeeds as soon as the report arrives, long before a reply would time out."""
    hass = plug_hub.hass
    plug = plug_hub.plug
    client = plug_hub.client
    issue = device_topic(TopicKind.ISSUE, plug.product_id, plug.uuid)
    sets: list[Message] = []

    def report_instead(topic_: Topic, message: Message) -> None:
        if str(message.code) == "property_set":
            sets.append(message)
            event = messages.event(DeviceEvent.PROPERTY_REPORT, message.data, ack=False)
            client.publish(plug_hub.topic, event)

    client.subscribe(issue, report_instead)
    await client.wait_subscribed()
    switch = entity_id(hass, "switch", plug.uuid, "switch")
    async with asyncio.timeout(5):  # a reply would be waited for 10 s
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert hass.states.get(switch).state == "off"
    assert sets[0].ack is True  # asked for, so a refusal can say why


async def test_stray_events_do_not_change_what_a_modelled_device_is(plug_hub: Any) -> None:
    """The plug has a model: events of other kinds (a lock's, a camera's, a vacuum's, a
    gateway's) are answered, and it stays a plug."""
    hub = plug_hub.entry.runtime_data.coordinator
    plug = hub.devices[plug_hub.plug.uuid]
    before = plug.profile
    client = plug_hub.client
    for code, data in (
        (DeviceEvent.PWD_SYNC, {"pwdList": []}),
        (DeviceEvent.WEBRTC_CONFIG, {}),
        (DeviceEvent.SWEEPER_MAP_ADD, {"mapId": "m1"}),
        (DeviceEvent.SUB_LIST, {}),
    ):
        client.publish(plug_hub.topic, messages.event(code, data, ack=False))
    await plug_hub.report({"switch": 0})  # answered after all of them
    assert plug.profile == before
    assert not plug.behaviours


def test_a_colour_name_is_no_light_colour() -> None:
    """The spec's `property_report {"color": "red"}`: a text named colour is a sensor of its
    own, not the encoded colour a light is driven with."""
    from custom_components.rlink.kinds import find_roles  # noqa: PLC0415
    from custom_components.rlink.models import infer_model  # noqa: PLC0415

    inferred = infer_model("pid", {"switch": 1, "brightness": 80, "color": "red"})
    assert "color" not in find_roles(inferred, {})
    encoded = infer_model("pid", {"switch": 1, "brightness": 80, "colour_data": "00b403e803e8"})
    assert find_roles(encoded, {})["color"].identifier == "colour_data"


async def test_an_update_the_device_started_ends_when_it_starts_again(plug_hub: Any) -> None:
    """The device upgraded itself: progress, then it restarts and says its new version.
    The update entity does not stay in progress."""
    hass = plug_hub.hass
    plug = plug_hub.plug
    client = plug_hub.client
    update = entity_id(hass, "update", plug.uuid, "firmware")
    for data in ({"resCode": 0, "type": "downloading", "percent": 40}, {"type": "burning"}):
        client.publish(plug_hub.topic, messages.event(DeviceEvent.OTA_PROGRESS, data, ack=False))
    await until(lambda: hass.states.get(update).attributes.get("in_progress") is True)
    client.publish(
        plug_hub.topic, messages.event(DeviceEvent.INFO, {"version": "9.9.9"}, ack=False)
    )
    await until(lambda: hass.states.get(update).attributes.get("installed_version") == "9.9.9")
    assert hass.states.get(update).attributes.get("in_progress") is False


async def test_a_huge_field_in_a_malformed_message_is_logged_short(
    plug_hub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The words of a malformed message reach the log cut short, however long they were."""
    caplog.set_level(logging.WARNING)
    huge = "x" * 900_000
    envelope = {"id": "big-1", "ts": 1700000000, "data": {}}
    _raw(
        plug_hub.client,
        plug_hub.topic,
        json.dumps({**envelope, "code": "property_report", "ack": huge}).encode(),
    )
    _raw(plug_hub.client, plug_hub.topic, json.dumps({**envelope, "code": huge}).encode())
    await until(lambda: sum("characters)" in r.getMessage() for r in caplog.records) >= 2)
    long_lines = [r.getMessage() for r in caplog.records if "characters)" in r.getMessage()]
    assert all(len(line) < 500 for line in long_lines), [len(line) for line in long_lines]
    assert all(huge not in r.getMessage() for r in caplog.records)
    # The plug still reports.
    await plug_hub.report({"power": 7.5})
    await until(lambda: plug_hub.hass.states.get(plug_hub.power).state == "7.5")


def test_errors_keep_a_short_excerpt_of_what_a_device_said() -> None:
    from custom_components.rlink.protocol.errors import RlinkError, ValueRejected  # noqa: PLC0415
    from custom_components.rlink.protocol.model import DataType, Property, validate  # noqa: PLC0415

    with pytest.raises(ValueRejected) as raised:
        validate(Property("mode", DataType.ENUM, enums=("0", "1")), "7" * 100_000)
    assert len(str(raised.value)) < 400
    assert "characters)" in str(raised.value)
    assert len(str(RlinkError(1002, "no " * 50_000))) < 400
