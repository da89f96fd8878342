"""What carries the devices' traffic: the local hub or the cloud account.

The coordinator (`coordinator.RlinkCoordinator`) keeps the devices, their models and state;
a transport connects, hears from the devices and reaches them. The local hub
(`local.hub.LocalHub`) plays the rlink cloud for devices on its device server or an
external broker; the cloud account (`cloud.account.CloudAccount`) plays an rlink app.
Shared code only uses this interface: what one transport cannot do is a property of it
(`gateway_configs`, `supports`), so the caller can say so in a translated error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol

from homeassistant.exceptions import HomeAssistantError

from .const import COMMAND_TIMEOUT, DOMAIN
from .device import RlinkDevice
from .protocol.codes import DeviceCommand as Cmd
from .protocol.messages import JsonObject, Message
from .protocol.server.link import ServerLink
from .protocol.session import MqttSession
from .ratelimit import RateLimitedLog

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

WAKE_TIMEOUT: Final = 10.0


class Owner(Protocol):
    """What this module needs of the coordinator that owns a transport (the transports
    themselves use all of `coordinator.RlinkCoordinator`)."""

    hass: HomeAssistant
    entry: ConfigEntry
    devices: dict[str, RlinkDevice]
    log: RateLimitedLog

    async def async_set_properties(
        self, device: RlinkDevice, values: Mapping[str, Any]
    ) -> None: ...


class GatewayConfigStore(Protocol):
    """The gateways' local groups, scenes and executions, as a transport keeps them."""

    def knows(self, gateway_uuid: str) -> bool: ...

    def store(self, gateway_uuid: str) -> dict[str, Any]: ...

    def payload(self, gateway_uuid: str) -> JsonObject | None: ...

    def rename_device(self, old_uuid: str, new_uuid: str) -> None: ...


def session_diagnostics(session: MqttSession | ServerLink | None) -> dict[str, Any] | None:
    """A session (or the device server's link) as diagnostics show it."""
    if session is None:
        return None
    if isinstance(session, ServerLink):
        return {
            "state": "running" if session.connected else "stopped",
            "stats": asdict(session.stats),
        }
    return {
        "state": session.state,
        "host": session.host,
        "port": session.port,
        "stats": asdict(session.stats),
    }


class Transport(ABC):
    """How one config entry hears from its devices and reaches them."""

    mode: ClassVar[str]
    """What diagnostics call this transport."""

    def __init__(self, coordinator: Owner) -> None:
        self.coordinator: Owner = coordinator

    # Shorthands for what every transport asks of its coordinator.

    @property
    def hass(self) -> HomeAssistant:
        return self.coordinator.hass

    @property
    def entry(self) -> ConfigEntry:
        return self.coordinator.entry

    @property
    def devices(self) -> dict[str, RlinkDevice]:
        return self.coordinator.devices

    @property
    def log(self) -> RateLimitedLog:
        return self.coordinator.log

    # --- lifecycle ----------------------------------------------------------------------

    @abstractmethod
    async def async_start(self, cache: Mapping[str, Any]) -> None:
        """Connect; raise ConfigEntry* errors for Home Assistant to show."""

    @abstractmethod
    async def async_stop(self) -> None:
        """Disconnect and let go of everything started."""

    @abstractmethod
    def sync_subentries(self, cached: Mapping[str, Any] | None = None) -> None:
        """Make the devices match the entry's device subentries."""

    async def async_options_changed(self) -> None:  # noqa: B027 - a hook, often unused
        """The entry's options or a device's settings changed."""

    def cache_data(self) -> dict[str, Any]:
        """What this transport keeps in the entry's cache next to the devices."""
        return {}

    @abstractmethod
    def diagnostics(self) -> dict[str, Any]:
        """The connection as diagnostics show it (redacted by the caller)."""

    async def async_device_diagnostics(self, device: RlinkDevice) -> dict[str, Any]:
        """What this transport keeps of one device, for its diagnostics."""
        return {}

    # --- reaching devices ---------------------------------------------------------------

    @abstractmethod
    def carrier_up(self, device: RlinkDevice) -> bool:
        """Whether the connection that carries this device's traffic is up."""

    keeps_vacuum_maps: ClassVar[bool] = False
    """Whether vacuums tell this transport of their maps and cleaning records."""

    def supports(self, code: Cmd) -> bool:
        """Whether this transport can carry the command at all."""
        return True

    @property
    def gateway_configs(self) -> GatewayConfigStore | None:
        """The gateways' local groups, scenes and executions, where this transport keeps
        them (the local hub answers gateways with them); None elsewhere."""
        return None

    def target(self, device: RlinkDevice) -> RlinkDevice:
        """The device whose topics carry commands for `device` (its gateway, if any)."""
        if device.gateway is None:
            return device
        gateway = self.devices.get(device.gateway)
        if gateway is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="gateway_missing",
                translation_placeholders={"device": device.name},
            )
        return gateway

    @abstractmethod
    async def async_command(
        self,
        device: RlinkDevice,
        code: Cmd,
        data: Mapping[str, Any] | None = None,
        *,
        ack: bool | None = None,
        timeout: float = COMMAND_TIMEOUT,  # noqa: ASYNC109
        require_online: bool = True,
    ) -> Message | None:
        """Send a device command; with ack, wait for and return the reply."""

    @abstractmethod
    async def async_write(self, device: RlinkDevice, prepared: Mapping[str, Any]) -> None:
        """Send values already checked and encoded by the coordinator."""

    async def async_write_many(self, devices: list[RlinkDevice], values: Mapping[str, Any]) -> None:
        """The same values for several devices, one at a time unless the transport can do
        better."""
        for device in devices:
            await self.coordinator.async_set_properties(device, values)

    @abstractmethod
    async def async_refresh(self, device: RlinkDevice) -> None:
        """Ask the device for all its values."""

    @abstractmethod
    async def async_ping(self, device: RlinkDevice) -> dict[str, Any]:
        """Check the device's connection; returns what it told."""

    @abstractmethod
    async def async_wake(self, device: RlinkDevice, timeout: float = WAKE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wake a sleeping device and wait (bounded) until it speaks."""

    @abstractmethod
    async def async_offer_firmware(
        self, pid: str, order: dict[str, Any], window: float
    ) -> dict[str, Any]:
        """Offer a firmware to every device of a product: device key -> {"result": ...}."""

    # --- devices leaving or changing ----------------------------------------------------

    @abstractmethod
    async def async_remove_device(self, device: RlinkDevice) -> bool:
        """The user removes a device from Home Assistant: let it go, or False to refuse."""

    @abstractmethod
    async def async_subdevice_replaced(self, sub: RlinkDevice, new_uuid: str) -> None:
        """A gateway confirmed that `new_uuid` replaces the sub-device's hardware."""
