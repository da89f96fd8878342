"""The hub keeps a reported value as the model reads it: `"1"` and then `true` for a boolean
is one value, not a change, and entities read it without checking it again."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback

from custom_components.rlink import entity as rlink_entity
from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.auth import device_credentials
from custom_components.rlink.protocol.codes import DeviceEvent
from custom_components.rlink.protocol.model import BoolEncoding
from custom_components.rlink.protocol.session import MqttSession
from custom_components.rlink.protocol.topics import TopicKind, device_topic

from .brokers import until
from .hub import device, entity_id, hub_with

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def test_equal_values_in_other_spellings_are_no_change(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    plug = device("plug", "spelling-plug")
    entry = await hub_with(hass, plug)
    hub = entry.runtime_data.coordinator
    state = hub.devices[plug.uuid]
    report = device_topic(TopicKind.REPORT, plug.product_id, plug.uuid)
    link = MqttSession(
        "127.0.0.1", hub.transport.broker.port, lambda: device_credentials(plug.uuid, plug.secret)
    )
    await link.connect()
    countdown = entity_id(hass, "number", plug.uuid, "countdown")
    switch = entity_id(hass, "switch", plug.uuid, "switch")
    written: list[str] = []

    @callback
    def note(event: Event[Any]) -> None:
        if event.data["entity_id"] in (switch,):
            written.append(event.data["entity_id"])

    def send(values: dict[str, Any]) -> None:
        link.publish(report, messages.event(DeviceEvent.PROPERTY_REPORT, {"properties": values}))

    try:
        send({"switch": "1", "countdown": "40"})
        await until(lambda: hass.states.get(countdown).state == "40")
        assert hass.states.get(switch).state == "on"
        # Kept as the model reads them, not as they were spelled on the wire.
        assert state.values["switch"] is True
        assert state.values["countdown"] == 40

        unlisten = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, note),
            hass.bus.async_listen(EVENT_STATE_REPORTED, note, event_filter=_of(switch)),
        ]
        # Reading a state does not check the value again.
        monkeypatch.setattr(rlink_entity, "validate", _no_check)
        send({"switch": True})
        send({"countdown": 41})  # the same connection: handled after the one above
        await until(lambda: hass.states.get(countdown).state == "41")
        for undo in unlisten:
            undo()
        assert written == []  # nothing changed, so nothing was written
        assert hass.states.get(switch).state == "on"
        # The device writes booleans as JSON: writes to it will too.
        assert state.bool_encoding is BoolEncoding.JSON
    finally:
        await link.close()
    await hass.config_entries.async_unload(entry.entry_id)


def _of(entity: str) -> Any:
    @callback
    def concerns(data: Any) -> bool:
        return bool(data["entity_id"] == entity)

    return concerns


def _no_check(*_args: Any) -> Any:
    raise AssertionError("a stored value was checked again on read")
