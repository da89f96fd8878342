"""The local hub: a broker, one session, the devices, and the answers to their events.

The hub plays the rlink cloud. It runs the rlink device server (or uses an external
broker), takes every device's ``report`` and ``issue_response``, answers events through the
`Responder`, keeps a `RlinkDevice` per device, and sends commands. On its own server the
hub has no MQTT client: the server calls it with each message and puts its commands on the
devices' connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Final

from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    EVENT_CORE_CONFIG_UPDATE,
    EVENT_HOMEASSISTANT_STOP,
)
from homeassistant.core import Event, callback
from homeassistant.exceptions import (
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers import device_registry as dr

from ..const import (
    CONF_AUTH_ALLOWED,
    CONF_AUTH_TOKEN,
    CONF_BIND_HOST,
    CONF_BROKER_AUTH,
    CONF_CERTFILE,
    CONF_KEYFILE,
    CONF_PID,
    CONF_SECRET,
    CONF_TLS,
    CONF_TLS_CA,
    CONF_TLS_INSECURE,
    CONF_TLS_PORT,
    CONF_UUID,
    DEFAULT_BIND_HOST,
    DEFAULT_TLS_PORT,
    DOMAIN,
    SUBENTRY_DEVICE,
)
from ..device import RlinkDevice
from ..kinds import Kind
from ..protocol.auth import Credentials
from ..protocol.broker_gate import BrokerGate
from ..protocol.codes import DeviceCommand as Cmd
from ..protocol.policy import ReplayGuard, RlinkPolicy
from ..protocol.server.link import ServerLink
from ..protocol.server.server import DeviceServer, ServerStartError, TlsListener
from ..protocol.session import (
    AuthRefused,
    ConnectError,
    MqttSession,
    SessionState,
    TlsOptions,
)
from ..transport import session_diagnostics
from .broker_auth import DATA_BROKER_AUTH, BrokerAuthService, parse_networks
from .device_logs import DATA_DEVICE_LOGS
from .inbox import Inbox
from .outgoing import Outgoing
from .presence import Presence

_LOGGER = logging.getLogger(__name__)


def external_session(data: Mapping[str, Any], client_id: str, **kwargs: Any) -> MqttSession:
    """A session with an external broker as its config entry data describes it."""
    credentials = Credentials(
        client_id=client_id,
        username=data.get(CONF_USERNAME) or "",
        password=data.get(CONF_PASSWORD) or "",
        ts=0,
    )
    tls = (
        TlsOptions(
            ca_file=data.get(CONF_TLS_CA) or None, insecure=data.get(CONF_TLS_INSECURE, False)
        )
        if data.get(CONF_TLS)
        else None
    )
    return MqttSession(data[CONF_HOST], data[CONF_PORT], lambda: credentials, tls=tls, **kwargs)


def hub_client_id(entry_id: str) -> str:
    """The hub's client id on an external broker: the same at every start, so the broker
    keeps the hub's session (subscriptions, queued reports) while it is away."""
    return f"rlink_hub_{entry_id[-12:]}"


async def async_forget_broker_session(data: Mapping[str, Any], entry_id: str) -> None:
    """The entry is deleted: log in once with a clean session, so the broker drops the
    hub's kept session instead of queueing reports for it forever. Best effort: a broker
    that cannot be reached now expires the session by its own rules."""
    session = external_session(
        data, hub_client_id(entry_id), connect_timeout=5, name="rlink hub farewell"
    )
    try:
        await session.connect()
    except ConnectError as err:
        _LOGGER.debug("Could not reach the broker to end the hub's session: %s", err)
    finally:
        await session.close()


class LocalHub(Inbox, Presence, Outgoing):
    """The local hub: Home Assistant plays the rlink cloud for its devices."""

    async def async_start(self, cache: Mapping[str, Any]) -> None:
        """Start the broker and the session; raises ConfigEntry* errors for HA to show."""
        self.configs.load(cache.get("local_configs"))
        self.sync_subentries(cache.get("devices", {}))
        await self.answers.async_load_time_zones()
        self._follow_time_zone()
        if self.embedded:
            await self._start_device_server(cache.get("logins", {}))
        elif self.entry.data.get(CONF_BROKER_AUTH):
            self._serve_broker_auth(cache.get("logins", {}))
        session = self._make_session()
        self.session = session
        if isinstance(session, MqttSession):
            self._route(session)  # before connecting: the broker may hand over a backlog
            await self.coordinator.connect(session, "broker_auth_failed")
            with contextlib.suppress(TimeoutError):  # a slow SUBACK is the broker's business
                async with asyncio.timeout(SUBSCRIBE_WAIT):
                    await session.wait_subscribed()
        else:
            self.coordinator.follow_models()
            self._on_session_state(SessionState.CONNECTED, None)
        self.coordinator.on_stop(
            self.hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._on_registry_updated)
        )
        self.coordinator.on_stop(self.hass.data[DATA_DEVICE_LOGS].add_secrets(self.secrets.get))
        if not self.embedded:
            self.coordinator.spawn(self._watch_silence(), "rlink ping")

    def _follow_time_zone(self) -> None:
        """Devices ask the hub for the time: tell them when Home Assistant's zone changes."""
        time_zone = self.hass.config.time_zone

        @callback
        def core_config_updated(_event: Event) -> None:
            nonlocal time_zone
            if self.hass.config.time_zone != time_zone:
                time_zone = self.hass.config.time_zone
                self.push_time_to_all()

        self.coordinator.on_stop(
            self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, core_config_updated)
        )

    async def async_options_changed(self) -> None:
        await self.answers.async_load_time_zones()

    def _make_policy(self, logins: dict[str, int]) -> RlinkPolicy:
        """The device server's rules; an external broker is held to the same ones."""
        self.policy = RlinkPolicy(
            secret_for=self.secrets.get,
            pid_for=self._pid_for,
            product_pids_for=self._sub_pids,
            hears_any_product=self._is_gateway,
            on_unknown=self._on_unknown_device,
            replays=ReplayGuard(logins, on_change=self.coordinator.save_soon),
        )
        return self.policy

    def _serve_broker_auth(self, logins: dict[str, int]) -> None:
        """The external broker asks Home Assistant who may log in and touch what."""
        data = self.entry.data
        gate = BrokerGate(
            self._make_policy(logins),
            data.get(CONF_USERNAME),
            data.get(CONF_PASSWORD),
            on_login=self._on_principal_online,  # leaving is still told by silence and ping
        )
        service = BrokerAuthService(
            gate, parse_networks(data.get(CONF_AUTH_ALLOWED)), self.entry.title
        )
        self.coordinator.on_stop(
            self.hass.data[DATA_BROKER_AUTH].add(data[CONF_AUTH_TOKEN], service)
        )

    async def _start_device_server(self, logins: dict[str, int]) -> None:
        data = self.entry.data
        tls = None
        if data.get(CONF_CERTFILE) and data.get(CONF_KEYFILE):
            tls = TlsListener(
                data[CONF_CERTFILE], data[CONF_KEYFILE], data.get(CONF_TLS_PORT, DEFAULT_TLS_PORT)
            )
        policy = self._make_policy(logins)
        link = ServerLink(
            on_connected=self._on_principal_online, on_disconnected=self._on_principal_offline
        )
        self._route(link)
        server = DeviceServer(
            policy,
            link,
            host=data.get(CONF_BIND_HOST) or DEFAULT_BIND_HOST,
            port=data[CONF_PORT],
            tls=tls,
        )
        try:
            await server.start()
        except ServerStartError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="broker_start_failed",
                translation_placeholders={"reason": str(err)},
            ) from err
        link.attach(server)
        self.broker = server
        self._link = link
        self.coordinator.on_stop(
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._on_stopping)
        )

    async def _on_stopping(self, _event: Event) -> None:
        """Home Assistant stops: devices are let go before the last writes, so everything
        they were told was taken (every PUBACK) is in the cache that is written then."""
        if self.broker is not None:
            await self.broker.stop()

    def _make_session(self) -> MqttSession | ServerLink:
        if self._link is not None:
            return self._link
        return external_session(
            self.entry.data,
            hub_client_id(self.entry.entry_id),
            on_state=self._on_session_state,
            on_connect_error=self._on_connect_error,
            name="rlink hub",
            # The broker keeps the hub's subscriptions and queues what devices report while
            # Home Assistant restarts or the link is down: nothing acknowledged is lost.
            clean_session=False,
        )

    def _on_connect_error(self, err: ConnectError) -> None:
        """The broker's password changed after setup: ask the user, once per refusal run."""
        if not isinstance(err, AuthRefused):
            self._refused = False
            return
        if not self._refused:
            self._refused = True
            _LOGGER.warning(
                "%s: the broker refuses Home Assistant's login: %s", self.entry.title, err
            )
            self.entry.async_start_reauth(self.hass)

    async def async_stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.broker is not None:
            await self.broker.stop()
            self.broker = None
            self._link = None

    @callback
    def sync_subentries(self, cached: Mapping[str, Any] | None = None) -> None:
        """Make the device list match the entry's device subentries."""
        cached = cached or {}
        wanted: dict[str, Any] = {}
        for subentry in self.entry.subentries.values():
            if subentry.subentry_type == SUBENTRY_DEVICE:
                wanted[subentry.data[CONF_UUID]] = subentry
        for uuid in [u for u, d in self.devices.items() if d.gateway is None and u not in wanted]:
            self._drop_device(uuid)
        for uuid, subentry in wanted.items():
            self.secrets[uuid] = subentry.data[CONF_SECRET]
            device = self.devices.get(uuid)
            pid = subentry.data.get(CONF_PID) or (cached.get(uuid) or {}).get("pid") or ""
            if device is None:
                device = RlinkDevice(uuid, pid, subentry.title, subentry_id=subentry.subentry_id)
                if uuid in cached:
                    device.restore(cached[uuid])
                self.devices[uuid] = device
                self._restore_subdevices(device, cached)
                self.coordinator.attach_model(device)
                self.coordinator.register(device)
                self.coordinator.announce(device)
            elif device.name != subentry.title:
                device.name = subentry.title
                self.coordinator.register(device)

    def _restore_subdevices(self, gateway: RlinkDevice, cached: Mapping[str, Any]) -> None:
        for uuid, saved in cached.items():
            if saved.get("gateway") == gateway.uuid and uuid not in self.devices:
                sub = RlinkDevice(
                    uuid,
                    saved.get("pid") or "",
                    saved.get("name") or uuid,
                    gateway=gateway.uuid,
                    subentry_id=gateway.subentry_id,
                    # Saved before names followed the model: the one it had was automatic.
                    automatic_name=saved.get("name") or uuid,
                )
                sub.restore(saved)
                self.devices[uuid] = sub
                self.coordinator.attach_model(sub)
                self.coordinator.register(sub)
                self.coordinator.announce(sub)

    def _drop_device(self, uuid: str) -> None:
        self.devices.pop(uuid, None)
        self.secrets.pop(uuid, None)
        for sub_uuid in [u for u, d in self.devices.items() if d.gateway == uuid]:
            self.devices.pop(sub_uuid, None)
            self.coordinator.forget_extras(sub_uuid)
        self.coordinator.forget_extras(uuid)
        if self.policy is not None:
            self.policy.forget(uuid)
        if self.broker is not None:
            self.broker.disconnect(uuid)  # a device that left the hub is not served any more
        self.coordinator.spawn(
            self.hass.data[DATA_DEVICE_LOGS].async_forget(uuid), f"rlink logs {uuid}"
        )

    def _pid_for(self, uuid: str) -> str | None:
        device = self.devices.get(uuid)
        return device.pid if device is not None and device.pid else None

    def _is_gateway(self, uuid: str) -> bool:
        device = self.devices.get(uuid)
        return device is not None and (
            device.profile.has(Kind.GATEWAY)
            or any(d.gateway == uuid for d in self.devices.values())
        )

    def _sub_pids(self, uuid: str) -> set[str]:
        """The products of a gateway's sub-devices: it may answer their product commands."""
        return {d.pid for d in self.devices.values() if d.gateway == uuid and d.pid}

    async def async_unbind_subdevice(self, sub: RlinkDevice) -> None:
        """Ask the gateway to let a sub-device go; an unreachable gateway is only logged."""
        try:
            await self.async_command(
                self.target(sub), Cmd.SUB_DELETE, {"devices": [{"uuid": sub.uuid}]}, ack=True
            )
        except HomeAssistantError as err:
            _LOGGER.warning(
                "%s is removed from Home Assistant, but its gateway did not confirm: %s",
                sub.name,
                err,
            )

    async def async_remove_device(self, device: RlinkDevice) -> bool:
        """Only a sub-device goes on its own: its gateway is asked to let it go."""
        if device.gateway is None:
            return False
        await self.async_unbind_subdevice(device)
        self.coordinator.forget_subdevice(device.uuid)
        return True

    async def async_subdevice_replaced(self, sub: RlinkDevice, new_uuid: str) -> None:
        """Devices are known by their uuid here: the old one's place moves to the new."""
        await self.coordinator.async_move_identity(sub, new_uuid)

    async def async_device_diagnostics(self, device: RlinkDevice) -> dict[str, Any]:
        """Links to the logs it uploaded, for an administrator to open; not their text,
        which no redaction could vouch for."""
        return {"uploaded_logs": await self.hass.data[DATA_DEVICE_LOGS].async_files(device.uuid)}

    def diagnostics(self) -> dict[str, Any]:
        return {
            "broker": "embedded" if self.embedded else "external",
            "broker_port": self.broker.port if self.broker else None,
            "device_server": asdict(self.broker.stats) if self.broker else None,
            "session": session_diagnostics(self.session),
        }

    @callback
    def _on_registry_updated(self, event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        """A device renamed or moved to another room: tell it (or its gateway)."""
        if event.data["action"] != "update" or not _INFO_FIELDS & event.data["changes"].keys():
            return
        entry = dr.async_get(self.hass).async_get(event.data["device_id"])
        uuid = next((i for d, i in entry.identifiers if d == DOMAIN), None) if entry else None
        device = self.devices.get(uuid or "")
        if device is None:
            return
        info = self.answers.device_info(device)
        data: dict[str, Any] = {"deviceInfo": info}
        if device.gateway:
            data["subUuid"] = device.uuid
        target = self.target(device)
        if not self.coordinator.reachable(target):
            return  # it asks for `sub_list` / `local_data_sync` when it is back
        self.coordinator.spawn(
            self._send_quietly(target, Cmd.DEVICE_INFO_UPDATE, data),
            f"rlink device info {device.uuid}",
        )


SUBSCRIBE_WAIT: Final = 10.0
_INFO_FIELDS: Final = frozenset({"name", "name_by_user", "area_id"})
