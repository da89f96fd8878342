"""Lock passwords (user codes): add, update, delete and list them.

Modelled on Z-Wave JS user codes: a slot (`index`), a credential type, who it belongs to
and when it is valid. Codes go to the lock with `pwd_set`; the list the hub keeps comes from
the lock's `pwd_sync` and the replies to `pwd_set`, and never holds a code.

The services act on a lock entity (entity services of the lock platform, as Home
Assistant's own lock integrations offer theirs), so only rlink's locks can be targeted.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

import probatio
from homeassistant.core import ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .entity import RlinkEntity
from .errors import invalid
from .protocol.codes import DeviceCommand as Cmd
from .protocol.messages import JsonObject

PASSWORD_TYPES: Final = {
    "digital": 1,
    "fingerprint": 2,
    "card": 3,
    "face": 4,
    "iris": 5,
    "palm_print": 6,
    "finger_vein": 7,
    "temporary": 8,
    "remote_unlock": 9,
}
TIME_TYPES: Final = {"permanent": 1, "one_time": 2, "limited": 3}
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INDEX_RANGE: Final = (1, 999)
_NEEDS_CODE: Final = frozenset({"digital", "temporary", "remote_unlock"})
_OPERATION_SET: Final = 1
_OPERATION_DELETE: Final = 2
_LOOPS: Final = re.compile(r"[01]{7}")
_CODE: Final = re.compile(r"[0-9A-Za-z]{4,64}")

ATTR_INDEX: Final = "index"
ATTR_TYPE: Final = "type"
ATTR_USER: Final = "user"
ATTR_CODE: Final = "code"
ATTR_TIME_TYPE: Final = "time_type"
ATTR_ACTIVE: Final = "active"
ATTR_EXPIRE: Final = "expire"
ATTR_START: Final = "start_time"
ATTR_END: Final = "end_time"
ATTR_WEEKDAYS: Final = "weekdays"

_INDEX: Final = probatio.All(probatio.Coerce(int), probatio.Range(*INDEX_RANGE))

SET_PASSWORD: Final[dict[Any, Any]] = {
    probatio.Required(ATTR_INDEX): _INDEX,
    probatio.Optional(ATTR_TYPE, default="digital"): probatio.In(PASSWORD_TYPES),
    probatio.Optional(ATTR_USER, default=""): probatio.All(cv.string, probatio.Length(max=32)),
    # Its form is checked in `password_data`, with a sentence instead of a pattern.
    probatio.Optional(ATTR_CODE): cv.string,
    probatio.Optional(ATTR_TIME_TYPE, default="permanent"): probatio.In(TIME_TYPES),
    probatio.Optional(ATTR_ACTIVE): cv.datetime,
    probatio.Optional(ATTR_EXPIRE): cv.datetime,
    probatio.Optional(ATTR_START, default="00:00"): cv.time,
    probatio.Optional(ATTR_END, default="23:59"): cv.time,
    probatio.Optional(ATTR_WEEKDAYS, default=list(WEEKDAYS)): probatio.All(
        cv.ensure_list, [probatio.In(WEEKDAYS)], probatio.Length(min=1)
    ),
}


def loops(weekdays: list[str]) -> str:
    """Weekdays as the lock's 7-digit mask, Monday first."""
    return "".join("1" if day in weekdays else "0" for day in WEEKDAYS)


def _timestamp(value: datetime) -> int:
    """Seconds since the epoch; a time without a zone is in Home Assistant's."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return int(value.timestamp())


def password_data(data: dict[str, Any]) -> JsonObject:
    """The `pwdData` of a `pwd_set` add/update, checked beyond what the schema can."""
    kind = data[ATTR_TYPE]
    if kind in _NEEDS_CODE and not data.get(ATTR_CODE):
        raise invalid("lock_code_required", type=kind)
    if data.get(ATTR_CODE) and not _CODE.fullmatch(data[ATTR_CODE]):
        raise invalid("lock_code_invalid")
    entry: JsonObject = {
        "index": data[ATTR_INDEX],
        "type": PASSWORD_TYPES[kind],
        "deviceUserId": data[ATTR_USER],
        "timeType": TIME_TYPES[data[ATTR_TIME_TYPE]],
    }
    if data.get(ATTR_CODE):
        entry["pwd"] = data[ATTR_CODE]
    if data[ATTR_TIME_TYPE] == "limited":
        active, expire = data.get(ATTR_ACTIVE), data.get(ATTR_EXPIRE)
        if active is None or expire is None:
            raise invalid("lock_times_required")
        if expire <= active:
            raise invalid("lock_times_order")
        start, end = data[ATTR_START], data[ATTR_END]
        if end <= start:
            raise invalid("lock_times_order")
        mask = loops(data[ATTR_WEEKDAYS])
        assert _LOOPS.fullmatch(mask)
        entry |= {
            "activeTime": _timestamp(active),
            "expireTime": _timestamp(expire),
            "startTime": start.strftime("%H:%M"),
            "endTime": end.strftime("%H:%M"),
            "loops": mask,
        }
    return entry


def public(entry: JsonObject) -> JsonObject:
    """A list entry without the code, with names instead of numbers where known."""
    shown = {k: v for k, v in entry.items() if k not in ("pwd", "password")}
    names = {v: k for k, v in PASSWORD_TYPES.items()}
    times = {v: k for k, v in TIME_TYPES.items()}
    if entry.get("type") in names:
        shown["type_name"] = names[entry["type"]]
    if entry.get("timeType") in times:
        shown["time_type_name"] = times[entry["timeType"]]
    return shown


async def _send(
    coordinator: RlinkCoordinator, device: RlinkDevice, operation: int, entry: JsonObject
) -> JsonObject:
    data: JsonObject = {"operatorType": operation, "pwdData": entry}
    if device.gateway:
        data["subUuid"] = device.uuid
    reply = await coordinator.async_command(coordinator.target(device), Cmd.PWD_SET, data, ack=True)
    answered = reply.data.get("pwdData") if reply is not None else None
    return answered if isinstance(answered, dict) else {"index": entry["index"]}


def _remember(
    coordinator: RlinkCoordinator, device: RlinkDevice, index: int, entry: JsonObject | None
) -> None:
    kept = [p for p in device.passwords if p.get("index") != index]
    if entry is not None:
        kept.append({k: v for k, v in entry.items() if k not in ("pwd", "password")})
    device.passwords = sorted(kept, key=lambda p: int(p.get("index") or 0))
    device.notify({"passwords"})
    coordinator.save_soon()


async def _set_password(lock: RlinkEntity, call: ServiceCall) -> ServiceResponse:
    entry = password_data(dict(call.data))
    answered = await _send(lock.coordinator, lock.device, _OPERATION_SET, entry)
    stored = {**{k: v for k, v in entry.items() if k != "pwd"}, **answered}
    _remember(lock.coordinator, lock.device, entry["index"], stored)
    return {"index": entry["index"], "password": public(stored)}


async def _delete_password(lock: RlinkEntity, call: ServiceCall) -> ServiceResponse:
    index = call.data[ATTR_INDEX]
    await _send(lock.coordinator, lock.device, _OPERATION_DELETE, {"index": index})
    _remember(lock.coordinator, lock.device, index, None)
    return {"index": index, "deleted": True}


async def _get_passwords(lock: RlinkEntity, call: ServiceCall) -> ServiceResponse:
    return {"passwords": [public(p) for p in lock.device.passwords]}


type LockService = Callable[[RlinkEntity, ServiceCall], Awaitable[ServiceResponse]]

# Service -> (its fields besides the target, handler, whether it answers with data).
ENTITY_SERVICES: Final[dict[str, tuple[dict[Any, Any], LockService, SupportsResponse]]] = {
    "set_lock_password": (SET_PASSWORD, _set_password, SupportsResponse.OPTIONAL),
    "delete_lock_password": (
        {probatio.Required(ATTR_INDEX): _INDEX},
        _delete_password,
        SupportsResponse.OPTIONAL,
    ),
    "get_lock_passwords": ({}, _get_passwords, SupportsResponse.ONLY),
}
