"""Device kinds: which composite entities a device gets, and which properties they use.

A kind (light, lock, camera, vacuum, gateway) is detected from two sources: the model's
property identifiers (looked up in tables of known names) and what the device does on the
wire (a lock sends ``pwd_sync``, a camera asks for ``webrtc_config`` …). The device's options
can name the kinds outright, map a role to another property, and say whether it sleeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from .protocol.codes import DeviceEvent as Evt
from .protocol.model import NUMERIC_TYPES, DataType, ObjectModel, Property


class Kind(StrEnum):
    LIGHT = "light"
    LOCK = "lock"
    CAMERA = "camera"
    VACUUM = "vacuum"
    GATEWAY = "gateway"


# Role -> identifiers that usually play it, best first. Role names are unique across kinds,
# so one options mapping ("roles") can override any of them.
ROLE_IDENTIFIERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        # light
        "on": ("switch_led", "led_switch", "light", "switch"),
        "brightness": ("brightness", "bright_value", "bright_value_v2", "brightness_value"),
        "color_temp": ("color_temp", "colour_temp", "temp_value", "temp_value_v2"),
        "color": ("colour_data", "color_data", "colour", "color", "hsv"),
        # lock
        "lock_state": ("lock_state", "lock_status", "locked", "lock_motor_state", "lock"),
        # vacuum
        "start": ("power_go", "clean_switch", "switch_go", "start"),
        "pause": ("pause", "switch_pause"),
        "status": ("status", "work_status", "sweep_status", "state"),
        "fan_speed": ("suction", "fan_speed", "suction_level", "fan_level"),
        "locate": ("seek", "locate", "find_robot"),
        "return_home": ("return_home", "go_home", "recharge", "charge"),
        # any battery device
        "battery": ("battery", "battery_percentage", "residual_electricity", "battery_level"),
    }
)

# The data types a role accepts: a text "status" is not a vacuum's status enum.
_ROLE_TYPES: Final[Mapping[str, frozenset[DataType]]] = MappingProxyType(
    {
        "on": frozenset({DataType.BOOL}),
        "brightness": frozenset(NUMERIC_TYPES),
        "color_temp": frozenset(NUMERIC_TYPES),
        "color": frozenset({DataType.STRUCT, DataType.TEXT}),
        "lock_state": frozenset({DataType.BOOL, DataType.ENUM}),
        "start": frozenset({DataType.BOOL}),
        "pause": frozenset({DataType.BOOL}),
        "status": frozenset({DataType.ENUM}),
        "fan_speed": frozenset({DataType.ENUM}),
        "locate": frozenset({DataType.BOOL}),
        "return_home": frozenset({DataType.BOOL}),
        "battery": frozenset(NUMERIC_TYPES),
    }
)

KIND_ROLES: Final[Mapping[Kind, tuple[str, ...]]] = MappingProxyType(
    {
        Kind.LIGHT: ("on", "brightness", "color_temp", "color"),
        Kind.LOCK: ("lock_state",),
        Kind.VACUUM: ("start", "pause", "status", "fan_speed", "locate", "return_home"),
        Kind.CAMERA: (),
        Kind.GATEWAY: (),
    }
)

# What the model must have for a kind to be detected from it alone.
_REQUIRED_ROLES: Final[Mapping[Kind, tuple[str, ...]]] = MappingProxyType(
    {
        Kind.LIGHT: ("on", "brightness"),
        Kind.LOCK: ("lock_state",),
        Kind.VACUUM: ("start", "status"),
    }
)

# Identifiers that betray a kind with no role of its own.
_HINTS: Final[Mapping[Kind, frozenset[str]]] = MappingProxyType(
    {
        Kind.CAMERA: frozenset(
            {"motion_detect", "night_vision", "basic_flip", "record_switch", "sd_status"}
        ),
        Kind.GATEWAY: frozenset({"permit_join", "zigbee_channel"}),
    }
)

# Roles whose property the composite entity shows, so no generic entity repeats it.
_CLAIMED: Final[Mapping[Kind, tuple[str, ...]]] = MappingProxyType(
    {
        Kind.LIGHT: ("on", "brightness", "color_temp", "color"),
        Kind.LOCK: ("lock_state",),
        Kind.VACUUM: ("start", "pause", "fan_speed", "locate", "return_home"),
    }
)

# Device events only one kind sends.
BEHAVIOUR: Final[Mapping[str, Kind]] = MappingProxyType(
    {
        Evt.PWD_SYNC: Kind.LOCK,
        Evt.WEBRTC_CONFIG: Kind.CAMERA,
        Evt.P2P_CONFIG: Kind.CAMERA,
        Evt.IPC_TOKEN_BIND: Kind.CAMERA,
        Evt.IPC_CLOUD: Kind.CAMERA,
        Evt.IPC_LIVE_GET: Kind.CAMERA,
        Evt.WEBRTC_SIGNAL_EXCHANGE: Kind.CAMERA,
        Evt.SWEEPER_MAP_LIST: Kind.VACUUM,
        Evt.SWEEPER_MAP_ADD: Kind.VACUUM,
        Evt.SWEEPER_RECORD_ADD: Kind.VACUUM,
        Evt.SWEEPER_STS_TOKEN: Kind.VACUUM,
        Evt.SUB_BIND: Kind.GATEWAY,
        Evt.SUB_LIST: Kind.GATEWAY,
        Evt.LOCAL_CONFIG: Kind.GATEWAY,
        Evt.LOCAL_DATA_SYNC: Kind.GATEWAY,
    }
)

# Kinds that usually run on a battery and sleep between events.
_SLEEPY: Final = frozenset({Kind.LOCK, Kind.CAMERA})

_KIND_VALUES: Final = frozenset(k.value for k in Kind)
AUTO: Final = "auto"
SLEEPING_CHOICES: Final = (AUTO, "yes", "no")


@dataclass(frozen=True)
class DeviceProfile:
    """What a device is: its kinds, the properties playing each role, whether it sleeps."""

    kinds: frozenset[Kind] = frozenset()
    roles: Mapping[str, Property] = field(default_factory=lambda: MappingProxyType({}))
    sleeping: bool = False

    def has(self, kind: Kind) -> bool:
        return kind in self.kinds

    def role(self, name: str) -> Property | None:
        return self.roles.get(name)

    @property
    def claimed(self) -> frozenset[str]:
        """Identifiers a composite entity already shows."""
        return frozenset(
            self.roles[role].identifier
            for kind in self.kinds
            for role in _CLAIMED.get(kind, ())
            if role in self.roles
        )


EMPTY_PROFILE: Final = DeviceProfile()


# Text carries a colour only where the identifier says it is the encoded HSV; a bare
# "color" text is a colour's name ("red"), which no light can be driven with.
_HSV_TEXT: Final = frozenset({"colour_data", "color_data", "hsv"})


def _fits(role: str, prop: Property | None) -> bool:
    if prop is None or prop.type not in _ROLE_TYPES[role]:
        return False
    return not (role == "color" and prop.type is DataType.TEXT and prop.identifier not in _HSV_TEXT)


def find_roles(model: ObjectModel | None, overrides: Mapping[str, Any]) -> dict[str, Property]:
    """Each role's property: the options' choice when it exists, else the table's first."""
    if model is None:
        return {}
    roles: dict[str, Property] = {}
    for role, candidates in ROLE_IDENTIFIERS.items():
        chosen = overrides.get(role)
        if isinstance(chosen, str) and _fits(role, model.property(chosen)):
            roles[role] = model.property(chosen)  # type: ignore[assignment]
            continue
        for identifier in candidates:
            prop = model.property(identifier)
            if _fits(role, prop):
                roles[role] = prop  # type: ignore[assignment]
                break
    return roles


def detect_kinds(
    model: ObjectModel | None, roles: Mapping[str, Property], behaviours: Iterable[str]
) -> frozenset[Kind]:
    kinds = {BEHAVIOUR[code] for code in behaviours if code in BEHAVIOUR}
    kinds |= {k for k, needed in _REQUIRED_ROLES.items() if all(r in roles for r in needed)}
    identifiers = {p.identifier for p in model.properties} if model is not None else set()
    kinds |= {k for k, hints in _HINTS.items() if hints & identifiers}
    if Kind.VACUUM in kinds:
        kinds.discard(Kind.LIGHT)  # a vacuum's "switch" and level are not a lamp
    return frozenset(kinds)


def resolve_profile(
    model: ObjectModel | None, behaviours: Iterable[str], options: Mapping[str, Any]
) -> DeviceProfile:
    """The profile from the model, the device's behaviour and its options.

    Options: ``kinds`` (a list, empty or absent for automatic), ``roles`` (role ->
    identifier) and ``sleeping`` (auto / yes / no).
    """
    overrides = options.get("roles") or {}
    roles = find_roles(model, overrides if isinstance(overrides, Mapping) else {})
    chosen = [Kind(k) for k in options.get("kinds") or () if k in _KIND_VALUES]
    kinds = frozenset(chosen) if chosen else detect_kinds(model, roles, behaviours)
    sleeping_choice = options.get("sleeping", AUTO)
    if sleeping_choice == AUTO:
        sleeping = bool(kinds & _SLEEPY) and "battery" in roles
    else:
        sleeping = sleeping_choice == "yes"
    return DeviceProfile(kinds, MappingProxyType(roles), sleeping)
