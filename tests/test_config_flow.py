"""Config flow: every path a user can take, against real brokers."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.rlink import const
from custom_components.rlink.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.rlink.protocol.model import parse_model
from custom_components.rlink.protocol.responder import DeviceRef, Responder, ResponderBackend
from custom_components.rlink.protocol.topics import TopicKind, device_filter, device_topic
from tools.rlink_sim import TEMPLATES, Simulator

from .brokers import EmbeddedRig, Mosquitto, free_port, self_signed
from .hub import add_device, create_embedded_hub, device, write_models

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def _start(hass: HomeAssistant, *steps: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    for step in steps:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": step}
        )
    return result


async def test_menu_offers_both_modes(hass: HomeAssistant) -> None:
    result = await _start(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["local_hub", "cloud_account"]
    result = await _start(hass, "cloud_account")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloud_account"


async def test_embedded_port_in_use_and_certificates(hass: HomeAssistant, tmp_path: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await _start(hass, "local_hub", "embedded")
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"port": port})
        assert result["errors"] == {"port": "port_in_use"}
    cert, key = self_signed(tmp_path)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    cases = [
        ({"certfile": str(cert)}, {"base": "certificate_incomplete"}),
        ({"certfile": str(bad), "keyfile": str(key)}, {"certfile": "invalid_certificate"}),
        (
            {"certfile": str(tmp_path / "missing"), "keyfile": str(key)},
            {"certfile": "invalid_certificate"},
        ),
    ]
    for extra, errors in cases:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"port": free_port(), **extra}
        )
        assert result["errors"] == errors
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                "port": free_port(),
                "certfile": str(cert),
                "keyfile": str(key),
                "tls_port": taken.getsockname()[1],
            },
        )
        assert result["errors"] == {"tls_port": "port_in_use"}
    tls_port = free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"port": free_port(), "certfile": str(cert), "keyfile": str(key), "tls_port": tls_port},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.transport.broker.tls_port == tls_port
    # A second hub on the same port is the same hub.
    again = await _start(hass, "local_hub", "embedded")
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {"port": entry.data["port"]}
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_embedded_listen_address(hass: HomeAssistant, sockets: None) -> None:
    """All interfaces by default; one address when asked, refused when it is not an address."""
    result = await _start(hass, "local_hub", "embedded")
    for bad in ("my-hub.local", "999.1.1.1", "::1"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"port": free_port(), "bind_host": bad}
        )
        assert result["errors"] == {"bind_host": "invalid_bind_host"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"port": free_port(), "bind_host": "127.0.0.1"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    server = entry.runtime_data.coordinator.transport.broker
    assert server.host == "127.0.0.1"
    _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.close()
    await writer.wait_closed()
    # Reconfigure back to every interface: the hub restarts there. The port it holds
    # needs no check, the address still does.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"port": entry.data["port"], "bind_host": "10.0.0.300"}
    )
    assert result["errors"] == {"bind_host": "invalid_bind_host"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"port": entry.data["port"], "bind_host": "0.0.0.0"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.transport.broker.host == "0.0.0.0"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_external_broker_errors(
    hass: HomeAssistant, strict_mosquitto: Mosquitto, tmp_path: Any
) -> None:
    result = await _start(hass, "local_hub", "external")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": free_port()}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"host": "127.0.0.1", "port": strict_mosquitto.port, "username": "u", "password": "wrong"},
    )
    assert result["errors"] == {"base": "invalid_auth"}


async def test_external_tls_failure(hass: HomeAssistant, sockets: None, tmp_path: Any) -> None:
    from .brokers import MOSQUITTO  # noqa: PLC0415

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed")
    broker = Mosquitto(tmp_path, cert=self_signed(tmp_path))
    await broker.start()
    try:
        result = await _start(hass, "local_hub", "external")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": broker.tls_port, "tls": True}
        )
        assert result["errors"] == {"base": "tls_failed"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {"host": "127.0.0.1", "port": broker.tls_port, "tls": True, "tls_insecure": True},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert result["result"].runtime_data.coordinator.transport.session.connected
        await hass.config_entries.async_unload(result["result"].entry_id)
    finally:
        await broker.stop()


async def test_device_subentry_validation(hass: HomeAssistant) -> None:
    entry = await create_embedded_hub(hass)
    plug = device("plug")
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"uuid": "nope", "secret": "short"}
    )
    assert result["errors"] == {"uuid": "invalid_uuid", "secret": "invalid_secret"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"uuid": plug.uuid, "secret": plug.secret, "fetch_model": True}
    )
    assert result["errors"] == {"pid": "pid_required"}
    await add_device(hass, entry, plug)
    again = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    again = await hass.config_entries.subentries.async_configure(
        again["flow_id"], {"uuid": plug.uuid, "secret": plug.secret}
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"
    await hass.config_entries.async_unload(entry.entry_id)


class _PlatformModels(ResponderBackend):
    def model(self, pid: str) -> Any:
        return parse_model(TEMPLATES["plug"].model(pid)) if pid == "platplug" else None


async def test_model_fetched_from_the_platform(
    hass: HomeAssistant, embedded: EmbeddedRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The platform is played by a broker and a responder that knows one model."""
    plug = device("plug", pid="platplug")
    embedded.secrets[plug.uuid] = plug.secret
    responder = Responder(_PlatformModels())
    cloud = embedded.link

    def answer(topic: Any, message: Any) -> None:
        reply = responder.handle(DeviceRef(topic.uuid, topic.pid), message)
        cloud.publish(device_topic(TopicKind.REPORT_RESPONSE, topic.pid, topic.uuid), reply)

    cloud.subscribe(device_filter(TopicKind.REPORT), answer)
    monkeypatch.setitem(const.PLATFORM_HOSTS, "test", ("127.0.0.1", embedded.port))
    monkeypatch.setitem(const.PLATFORM_HOSTS, "formal", ("127.0.0.1", free_port()))
    entry = await create_embedded_hub(hass)
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    fields = {"uuid": plug.uuid, "secret": plug.secret, "pid": "platplug", "fetch_model": True}
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {**fields, "environment": "formal"}
    )
    assert result["errors"] == {"base": "platform_unreachable"}
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {**fields, "secret": "y" * 32, "environment": "test"}
    )
    assert result["errors"] == {"base": "platform_auth"}
    other = device("plug", "other", pid="otherpid")
    embedded.secrets[other.uuid] = other.secret
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"],
        {
            **fields,
            "uuid": other.uuid,
            "secret": other.secret,
            "pid": "otherpid",
            "environment": "test",
        },
    )
    assert result["errors"] == {"base": "platform_no_model"}
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {**fields, "environment": "test", "name": "Fetched"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # The model came from the platform, so the plug has a switch it can write.
    hub = entry.runtime_data.coordinator
    assert hub.models.get("platplug") is not None
    assert not hub.devices[plug.uuid].model_inferred
    assert hass.states.get("switch.fetched_power") is not None
    await cloud.close()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unknown_device_is_discovered(hass: HomeAssistant) -> None:
    write_models(hass, ["plug"])
    entry = await create_embedded_hub(hass)
    plug = device("plug")
    sim = Simulator("127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug])
    with pytest.raises(Exception):  # noqa: B017, PT011 - refused: the hub does not know it
        await sim.start()
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["context"]["title_placeholders"] == {"uuid": plug.uuid}
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"secret": "x" * 5}
    )
    assert result["errors"] == {"secret": "invalid_secret"}
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"secret": plug.secret, "fetch_model": True}
    )
    assert result["errors"] == {"pid": "pid_required"}
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"secret": plug.secret, "name": "Desk plug"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "device_added"
    await hass.async_block_till_done()
    assert [s.title for s in entry.subentries.values()] == ["Desk plug"]
    await sim.stop()
    async with Simulator(
        "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [plug]
    ) as running:
        assert running.device(plug.uuid).errors == []
    await hass.config_entries.async_unload(entry.entry_id)


async def test_external_broker_reconfigure_and_options(hass: HomeAssistant, tmp_path: Any) -> None:
    from .brokers import MOSQUITTO  # noqa: PLC0415

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed")
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    first, second, third = (Mosquitto(tmp_path / name) for name in ("a", "b", "c"))
    for broker in (first, second, third):
        await broker.start()
    try:
        entries = []
        for broker in (first, second):
            result = await _start(hass, "local_hub", "external")
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"host": "127.0.0.1", "port": broker.port}
            )
            assert result["type"] is FlowResultType.CREATE_ENTRY
            entries.append(result["result"])
        await hass.async_block_till_done()
        entry = entries[0]

        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": free_port()}
        )
        assert result["errors"] == {"base": "cannot_connect"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": second.port}
        )
        assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")
        assert entry.data["port"] == first.port
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": third.port}
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert (entry.data["port"], entry.unique_id) == (third.port, f"127.0.0.1:{third.port}")
        assert entry.runtime_data.coordinator.transport.session.connected

        # Options of an external broker: how long a silent device may stay quiet.
        assert entry.supports_options
        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert "ping_interval" in result["data_schema"].schema
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"ping_interval": 90}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert entry.runtime_data.coordinator.transport.ping_interval == 90
        for each in entries:
            await hass.config_entries.async_unload(each.entry_id)
    finally:
        for broker in (first, second, third):
            await broker.stop()


async def test_discovery_of_a_gone_hub_or_a_known_device(hass: HomeAssistant) -> None:
    from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY  # noqa: PLC0415

    from custom_components.rlink.discovery import CONF_HUB_ENTRY  # noqa: PLC0415

    plug = device("plug")

    async def discover(hub_entry: str, **extra: str) -> dict[str, Any]:
        return await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={"uuid": plug.uuid, CONF_HUB_ENTRY: hub_entry, **extra},
        )

    assert (await discover("no-such-entry"))["reason"] == "hub_gone"
    found = await discover("no-such-entry", gateway_id="devgw", pid="p")
    assert found["reason"] == "hub_gone"
    entry = await create_embedded_hub(hass)
    await add_device(hass, entry, plug)
    assert (await discover(entry.entry_id))["reason"] == "already_configured"

    # The hub goes away while the user looks at a discovered device.
    other = device("plug", "other")
    pending = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={"uuid": other.uuid, CONF_HUB_ENTRY: entry.entry_id},
    )
    assert pending["step_id"] == "discovery_confirm"
    await hass.config_entries.async_remove(entry.entry_id)
    result = await hass.config_entries.flow.async_configure(
        pending["flow_id"], {"secret": other.secret}
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "hub_gone")


async def test_device_reconfigure_checks_the_secret(hass: HomeAssistant) -> None:
    entry = await create_embedded_hub(hass)
    plug = device("plug")
    await add_device(hass, entry, plug)
    (subentry,) = entry.subentries.values()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE),
        context={"source": "reconfigure", "subentry_id": subentry.subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "credentials"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"secret": "too-short"}
    )
    assert result["errors"] == {"secret": "invalid_secret"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"secret": "z" * 32, "name": "Renamed plug"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[subentry.subentry_id].data["secret"] == "z" * 32
    assert entry.subentries[subentry.subentry_id].title == "Renamed plug"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_model_fetch_that_times_out_or_brings_a_broken_model(
    hass: HomeAssistant, embedded: EmbeddedRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform that never answers, and one that answers with something not a model."""
    from functools import partial  # noqa: PLC0415

    from custom_components.rlink.flows import device as device_flow  # noqa: PLC0415
    from custom_components.rlink.protocol import messages  # noqa: PLC0415

    silent, broken = device("plug", "silent", pid="silentpid"), device("plug", "bad", pid="badpid")
    for plug in (silent, broken):
        embedded.secrets[plug.uuid] = plug.secret
    platform = embedded.link

    def answer(topic: Any, message: Any) -> None:
        if topic.pid == "badpid":
            reply = messages.reply(message, {"properties": "not a list"})
            platform.publish(device_topic(TopicKind.REPORT_RESPONSE, topic.pid, topic.uuid), reply)

    platform.subscribe(device_filter(TopicKind.REPORT), answer)
    monkeypatch.setitem(const.PLATFORM_HOSTS, "test", ("127.0.0.1", embedded.port))
    # The real fetch, with a wait short enough for a test.
    monkeypatch.setattr(device_flow, "fetch_model", partial(device_flow.fetch_model, timeout=1))
    entry = await create_embedded_hub(hass)
    for plug, error in ((silent, "platform_timeout"), (broken, "platform_bad_model")):
        flow = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
        )
        result = await hass.config_entries.subentries.async_configure(
            flow["flow_id"],
            {
                "uuid": plug.uuid,
                "secret": plug.secret,
                "pid": plug.product_id,
                "fetch_model": True,
                "environment": "test",
            },
        )
        assert result["errors"] == {"base": error}
        assert entry.runtime_data.coordinator.models.get(plug.product_id) is None
    await platform.close()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_the_spec_s_own_devices_can_be_added(hass: HomeAssistant) -> None:
    """The camera and vacuum of the protocol's examples have five-character product lines."""
    from tools.rlink_sim import DeviceConfig  # noqa: PLC0415

    entry = await create_embedded_hub(hass)
    for uuid, kind in (("inv01De86b75d01bb", "camera"), ("inv01cfbAaeb1E02E", "vacuum")):
        await add_device(hass, entry, DeviceConfig(uuid, "s" * 32, kind=kind))
    assert {"inv01De86b75d01bb", "inv01cfbAaeb1E02E"} <= set(entry.runtime_data.coordinator.devices)
    await hass.config_entries.async_unload(entry.entry_id)
