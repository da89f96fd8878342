"""The model fetch over TLS, when the user asks for it: verified, never plain behind their back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.rlink import const
from custom_components.rlink.const import SUBENTRY_DEVICE
from custom_components.rlink.flows import device as device_flow
from custom_components.rlink.protocol.responder import DeviceRef, Responder
from custom_components.rlink.protocol.server.server import TlsListener
from custom_components.rlink.protocol.session import TlsOptions
from custom_components.rlink.protocol.topics import TopicKind, device_filter, device_topic

from .brokers import EmbeddedRig, free_port, self_signed
from .hub import create_embedded_hub, device
from .test_config_flow import _PlatformModels

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


async def test_the_model_comes_over_tls_when_asked(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path)
    platform = EmbeddedRig(tls=TlsListener(str(cert), str(key), port=free_port()))
    plug = device("plug", pid="platplug")
    platform.secrets[plug.uuid] = plug.secret
    await platform.start()
    assert platform.broker is not None
    responder = Responder(_PlatformModels())

    def answer(topic: Any, message: Any) -> None:
        reply = responder.handle(DeviceRef(topic.uuid, topic.pid), message)
        platform.link.publish(device_topic(TopicKind.REPORT_RESPONSE, topic.pid, topic.uuid), reply)

    platform.link.subscribe(device_filter(TopicKind.REPORT), answer)
    # Nothing listens on the plain port: a fetch that fell back to plain text would fail.
    monkeypatch.setitem(const.PLATFORM_HOSTS, "test", ("127.0.0.1", free_port()))
    monkeypatch.setitem(const.PLATFORM_TLS_HOSTS, "test", ("127.0.0.1", platform.broker.tls_port))
    entry = await create_embedded_hub(hass)
    try:
        flow = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
        )
        fields = {
            "uuid": plug.uuid,
            "secret": plug.secret,
            "pid": "platplug",
            "fetch_model": True,
            "environment": "test",
        }
        result = await hass.config_entries.subentries.async_configure(
            flow["flow_id"], {**fields, "fetch_tls": False}
        )
        assert result["errors"] == {"base": "platform_unreachable"}
        # The platform's certificate is not one the system trusts: refused, not ignored.
        result = await hass.config_entries.subentries.async_configure(
            flow["flow_id"], {**fields, "fetch_tls": True}
        )
        assert result["errors"] == {"base": "platform_tls"}
        assert entry.runtime_data.coordinator.models.get("platplug") is None
        # Trusted: the model arrives over TLS.
        monkeypatch.setattr(device_flow, "PLATFORM_TLS", TlsOptions(ca_file=str(cert)))
        result = await hass.config_entries.subentries.async_configure(
            flow["flow_id"], {**fields, "fetch_tls": True}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY, result
        await hass.async_block_till_done()
        assert entry.runtime_data.coordinator.models.get("platplug") is not None
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await platform.stop()
