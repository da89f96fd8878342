"""The local hub's `ResponderBackend`: what devices tell it becomes device state, registry
entries and events.

The responder decides the protocol side (reply shape, status codes). What devices ask
(time, weather, settings) is answered by `questions.Questions`, which this builds on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ..const import (
    DOMAIN,
    EVENT_DEVICE_EVENT,
    EVENT_FIND_ALERT,
    SIGNAL_MODEL_EVENT,
    SIGNAL_WEBRTC,
)
from ..device import RlinkDevice
from ..protocol.auth import is_device_uuid
from ..protocol.codes import DeviceCommand as Cmd
from ..protocol.messages import JsonObject
from ..protocol.responder import DeviceRef, SubDeviceRef
from . import gateway_data
from .gateway_data import REPORTED
from .questions import Questions

_LOGGER = logging.getLogger(__name__)

# What `info` may say of the network (its `config` is free-form; devices that report their
# signal there spare a ping): stored key -> key in `config`.
_NETWORK_FROM_INFO = {
    "currentSsid": "currentSsid",
    "mac": "mac",
    "ip": "ip",
    "networkType": "networkType",
    "signal": "signal",
    "signalValue": "signalValue",
}


class HubAnswers(Questions):
    """The backend of one hub's responder."""

    # --- what devices tell --------------------------------------------------------------

    def bound(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._device(device)
        if data.get("cleanData"):
            self._forget(target)
        self.coordinator.update_versions(target, data)

    def info(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._device(device)
        self.coordinator.update_versions(target, data)
        raw = data.get("config")
        details: Any = raw
        if isinstance(raw, str):
            try:
                details = json.loads(raw)
            except ValueError:
                details = None
        if isinstance(details, dict):
            # The wifi list carries passwords: keep only what is safe to show.
            network = {k: details[v] for k, v in _NETWORK_FROM_INFO.items() if v in details}
            if network:
                target.network.update(network)
                target.notify(network)
                self.coordinator.save_values()

    def _forget(self, device: RlinkDevice) -> None:
        device.values.clear()
        device.passwords.clear()
        self.coordinator.sweepers.pop(device.uuid, None)
        self.configs.by_gateway.pop(device.uuid, None)
        device.notify()
        self.coordinator.save_soon()

    def reset(self, device: DeviceRef, clean_data: bool) -> None:
        target = self._device(device)
        _LOGGER.info(
            "%s was reset by its owner%s",
            target.name,
            " and asked to forget its data" if clean_data else "",
        )
        if clean_data:
            self._forget(target)

    def properties(self, device: DeviceRef, values: JsonObject) -> None:
        self.coordinator.apply_reported(self._device(device), values)

    def properties_info(self, device: DeviceRef, info: JsonObject) -> None:
        target = self._device(device)
        target.info.update(info)
        target.notify(set(info))

    def _subject(self, device: DeviceRef, data: JsonObject) -> RlinkDevice | None:
        """The device an event is about: the sub-device its `subUuid` names, or the sender."""
        sub_uuid = data.get("subUuid")
        if isinstance(sub_uuid, str) and sub_uuid:
            return self._sub(device, sub_uuid)
        return self._device(device)

    def ota_progress(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._subject(device, data)
        if target is None:
            return
        target.ota = dict(data)
        if data.get("type") == "report":
            self.coordinator.update_versions(target, data)
        target.notify({"ota"})

    def model_event(self, device: DeviceRef, identifier: str, output: JsonObject) -> None:
        target = self._device(device)
        self.coordinator.fire(EVENT_DEVICE_EVENT, target, identifier=identifier, output=output)
        async_dispatcher_send(
            self.coordinator.hass, SIGNAL_MODEL_EVENT.format(target.uuid), identifier, output
        )

    def find_alert(self, device: DeviceRef, data: JsonObject) -> None:
        self.coordinator.fire(EVENT_FIND_ALERT, self._subject(device, data) or self._device(device))

    def passwords(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._subject(device, data)
        if target is None:
            return
        self.coordinator.set_passwords(target, data["pwdList"])

    def webrtc_signal(self, device: DeviceRef, data: JsonObject) -> None:
        async_dispatcher_send(self.coordinator.hass, SIGNAL_WEBRTC.format(device.uuid), data)

    def sub_bound(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        """Bind what has a device uuid; the reply lists only those."""
        gateway = self._device(device)
        bound = []
        for sub in subs:
            if not is_device_uuid(sub.uuid):
                self.coordinator.log.warning(
                    ("sub", gateway.uuid, sub.uuid),
                    "Gateway %s bound a sub-device %r, which is not a device uuid; ignored",
                    gateway.uuid,
                    sub.uuid[:40],
                )
                continue
            added = self.coordinator.add_subdevice(gateway, sub.uuid, sub.pid or "")
            self.coordinator.update_versions(added, sub.raw)
            bound.append(sub)
        return bound

    def sub_deleted(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        removed = [s for s in subs if self._sub(device, s.uuid) is not None]
        for sub in removed:
            self.coordinator.remove_subdevice(sub.uuid)
        return removed

    def sub_presence(self, device: DeviceRef, subs: list[SubDeviceRef], online: bool) -> None:
        for ref in subs:
            found = self._learn_sub(device, ref.uuid, ref.pid) if online else None
            if (sub := found or self._sub(device, ref.uuid)) is not None:
                sub.seen()
                self.coordinator.set_online(sub, online)

    def sub_properties(self, device: DeviceRef, sub: SubDeviceRef, values: JsonObject) -> None:
        target = self._learn_sub(device, sub.uuid, sub.pid)
        if target is not None:
            target.seen()
            if not target.online:
                self.coordinator.set_online(target, True)
            self.coordinator.apply_reported(target, values)

    def found(self, device: DeviceRef, subs: list[SubDeviceRef]) -> None:
        gateway = self._device(device)
        self.coordinator.fire(
            f"{DOMAIN}_found_devices",
            gateway,
            devices=[{"uuid": s.uuid, "pid": s.pid} for s in subs],
        )

    def local_config_requested(self, device: DeviceRef) -> None:
        gateway = self._device(device)
        payload = self.configs.payload(gateway.uuid)
        if payload is None:
            _LOGGER.info(
                "%s asked for its local configuration; the hub knows none in full, so the "
                "gateway keeps its own",
                gateway.name,
            )
            return
        self._issue_later(gateway, Cmd.UPDATE_LOCAL_CONFIG, payload)

    def local_data_sync(self, device: DeviceRef, data: JsonObject) -> None:
        gateway = self._device(device)
        listed = [u for u in data.get("subUuids") or [] if isinstance(u, str)]
        for uuid in listed:
            self._learn_sub(device, uuid, None)
        for sub in self.coordinator.devices.values():
            if "subUuids" in data and sub.gateway == gateway.uuid and sub.uuid not in listed:
                self.coordinator.log.warning(
                    ("unlisted", sub.uuid),
                    "%s no longer lists its sub-device %s; remove it from Home Assistant "
                    "if it is gone",
                    gateway.name,
                    sub.name,
                )
        store = self.configs.store(gateway.uuid)
        gateway_data.merge_reported(store, data)
        self.coordinator.save_soon()
        self.coordinator.announce(gateway)  # scenes follow the executions that still exist
        subs = [
            self._sub_entry(s)
            for s in self.coordinator.devices.values()
            if s.gateway == gateway.uuid
        ]
        own = store[REPORTED].get("subUuids", [s["uuid"] for s in subs])
        self._issue_later(
            gateway, Cmd.GATEWAY_DATA_INIT, gateway_data.init_payload(store, subs, own)
        )

    @callback
    def _issue_later(self, gateway: RlinkDevice, code: Cmd, data: JsonObject) -> None:
        """Send a command after the current reply has gone out."""

        async def send() -> None:
            try:
                await self.coordinator.async_command(gateway, code, data, ack=False)
            except Exception as err:
                _LOGGER.warning("Could not send %s to %s: %s", code, gateway.name, err)

        self.coordinator.spawn(send(), f"rlink {code} {gateway.uuid}")
