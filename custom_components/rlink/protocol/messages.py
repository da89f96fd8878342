"""Message envelopes: parsing what arrives and building what is sent.

One frozen `Message` covers every direction. The topic kind a message travels on decides
which code enum applies and whether it is a request (``ack``) or a reply (``res``/``msg``).
Parsing never raises anything but `ProtocolError` (or its subclass `UnknownCodeError`).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import orjson

from .codes import (
    AppNotification,
    Code,
    DeviceCommand,
    DeviceEvent,
    ProductCommand,
    Status,
    default_ack,
    lookup,
)
from .errors import ProtocolError, UnknownCodeError, error_for_status
from .topics import TopicKind

type JsonObject = dict[str, Any]

_CODES_BY_KIND: Final[Mapping[TopicKind, type[Code]]] = MappingProxyType(
    {
        TopicKind.REPORT: DeviceEvent,
        TopicKind.REPORT_RESPONSE: DeviceEvent,
        TopicKind.ISSUE: DeviceCommand,
        TopicKind.ISSUE_RESPONSE: DeviceCommand,
        TopicKind.PRODUCT_ISSUE: ProductCommand,
        TopicKind.PRODUCT_ISSUE_RESPONSE: ProductCommand,
        TopicKind.NOTIFY: AppNotification,
        TopicKind.USER_NOTIFY: AppNotification,
    }
)
REQUEST_KINDS: Final = frozenset({TopicKind.REPORT, TopicKind.ISSUE, TopicKind.PRODUCT_ISSUE})
REPLY_KIND: Final[Mapping[TopicKind, TopicKind]] = MappingProxyType(
    {
        TopicKind.REPORT: TopicKind.REPORT_RESPONSE,
        TopicKind.ISSUE: TopicKind.ISSUE_RESPONSE,
        TopicKind.PRODUCT_ISSUE: TopicKind.PRODUCT_ISSUE_RESPONSE,
    }
)
REPLY_KINDS: Final = frozenset(REPLY_KIND.values())
_ENVELOPE_KEYS: Final = frozenset({"id", "ts", "code", "data"})
_REQUEST_KEYS: Final = frozenset({"ack", "ack "})
_REPLY_KEYS: Final = frozenset({"res", "msg"})
_CONSUMED: Final[Mapping[TopicKind, frozenset[str]]] = MappingProxyType(
    {
        **dict.fromkeys(REQUEST_KINDS, _ENVELOPE_KEYS | _REQUEST_KEYS),
        **dict.fromkeys(REPLY_KINDS, _ENVELOPE_KEYS | _REPLY_KEYS),
    }
)
"""The top-level keys the protocol defines, by the kind of topic a message came on."""
# Only the cloud's answers to events carry a human-readable `msg`.
_KINDS_WITH_MSG: Final = frozenset({TopicKind.REPORT_RESPONSE})


@dataclass(frozen=True, slots=True)
class Message:
    """One envelope of any direction."""

    kind: TopicKind
    code: Code
    id: str
    ts: int
    data: JsonObject = field(default_factory=dict)
    ack: bool | None = None
    """Requests only: whether the sender asked for a reply (the code's default if absent)."""
    res: int | None = None
    """Replies only: the status code (0 when the sender left it out)."""
    msg: str | None = None
    extra: JsonObject = field(default_factory=dict)
    """Top-level fields the protocol does not define, kept as received."""

    @property
    def is_reply(self) -> bool:
        return self.kind in REPLY_KINDS

    def raise_for_status(self) -> None:
        """Raise the typed `RlinkError` when this reply reports a failure."""
        if self.res:
            raise error_for_status(self.res, self.msg)

    def to_json(self) -> JsonObject:
        """The envelope as sent: extra fields first so they never shadow the protocol's own."""
        body: JsonObject = dict(self.extra)
        if self.res is not None:
            body["res"] = self.res
        if self.msg is not None:
            body["msg"] = self.msg
        body.update(id=self.id, ts=self.ts, code=str(self.code), data=self.data)
        if self.ack is not None:
            body["ack"] = int(self.ack)
        return body


class MessageIds:
    """Unique message ids for one sender: a random prefix and a counter."""

    def __init__(self, prefix: str | None = None) -> None:
        self._prefix = prefix if prefix is not None else secrets.token_hex(4)
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):06d}"


_default_ids = MessageIds()


def _now() -> int:
    return int(time.time())


def request(
    kind: TopicKind,
    code: Code,
    data: Mapping[str, Any] | None = None,
    *,
    ack: bool | None = None,
    msg_id: str | None = None,
    ts: int | None = None,
) -> Message:
    """Build an event, a command or a product command; ``ack`` defaults per code."""
    if kind not in REQUEST_KINDS:
        raise ProtocolError(f"{kind} carries no requests", field="kind")
    _check_code(kind, code)
    return Message(
        kind=kind,
        code=code,
        id=msg_id or _default_ids(),
        ts=_now() if ts is None else ts,
        data=dict(data or {}),
        ack=default_ack(code) if ack is None else ack,
    )


def event(code: DeviceEvent, data: Mapping[str, Any] | None = None, **kw: Any) -> Message:
    """A device event for the ``report`` topic."""
    return request(TopicKind.REPORT, code, data, **kw)


def command(code: DeviceCommand, data: Mapping[str, Any] | None = None, **kw: Any) -> Message:
    """A command for a device's ``issue`` topic."""
    return request(TopicKind.ISSUE, code, data, **kw)


def product_command(
    code: ProductCommand, data: Mapping[str, Any] | None = None, **kw: Any
) -> Message:
    """A command for ``product/v2/{pid}/issue``."""
    return request(TopicKind.PRODUCT_ISSUE, code, data, **kw)


def notification(
    code: AppNotification,
    data: Mapping[str, Any] | None = None,
    *,
    msg_id: str | None = None,
    ts: int | None = None,
) -> Message:
    """An app notification."""
    return Message(
        kind=TopicKind.NOTIFY,
        code=code,
        id=msg_id or _default_ids(),
        ts=_now() if ts is None else ts,
        data=dict(data or {}),
    )


def reply(
    to: Message,
    data: Mapping[str, Any] | None = None,
    *,
    res: int = 0,
    msg: str | None = None,
    ts: int | None = None,
) -> Message:
    """The answer to a request: same id and code, on the matching response topic."""
    kind = REPLY_KIND.get(to.kind)
    if kind is None:
        raise ProtocolError(f"{to.kind} messages are not answered", field="kind")
    return Message(
        kind=kind,
        code=to.code,
        id=to.id,
        ts=_now() if ts is None else ts,
        data=dict(data or {}),
        res=res,
        msg=(msg or ("success" if res == 0 else "failed")) if kind in _KINDS_WITH_MSG else msg,
    )


def encode(message: Message) -> bytes:
    """Compact UTF-8 JSON for the wire."""
    body = message.to_json()
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:  # what only Python's encoder takes (integers past 64 bits)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"{name} is not a JSON number", field="payload")


def loads_object(payload: bytes | str, what: str = "payload") -> JsonObject:
    """Parse strict JSON that must be an object; ProtocolError otherwise."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # Python's parser says what is wrong, or takes what only it does (a lone surrogate
        # escape, a number past a double's range): the fast one refuses nothing on its own.
        # Integers past 64 bits arrive as doubles; no rlink field is that large.
        value = _loads_exactly(payload, what)
    if not isinstance(value, dict):
        raise ProtocolError(f"expected a JSON object, got {_type_name(value)}", field=what)
    return value


def _loads_exactly(payload: bytes | str, what: str) -> Any:
    try:
        text = payload.decode() if isinstance(payload, bytes | bytearray) else payload
        value = json.loads(text, parse_constant=_reject_constant)
    except ProtocolError:
        raise
    except UnicodeDecodeError as err:
        raise ProtocolError(f"not UTF-8 ({err.reason})", field=what) from None
    except json.JSONDecodeError as err:
        raise ProtocolError(f"not JSON ({err.msg} at {err.pos})", field=what) from None
    except (ValueError, RecursionError) as err:
        raise ProtocolError(f"not usable JSON ({type(err).__name__})", field=what) from None
    return value


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _message_id(body: JsonObject) -> str:
    value = body.get("id")
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # some firmwares number their messages
    raise ProtocolError(f"expected a non-empty string, got {_type_name(value)}", field="id")


def _timestamp(body: JsonObject) -> int:
    value = body.get("ts")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"expected seconds as a number, got {_type_name(value)}", field="ts")
    if isinstance(value, float) and not value.is_integer():
        raise ProtocolError("expected whole seconds", field="ts")
    return int(value)


def _flag(value: Any, name: str) -> bool:
    if value in (0, 1) and not isinstance(value, float):
        return bool(value)
    raise ProtocolError(f"expected 0 or 1, got {value!r}", field=name)


def _asks_for_reply(kind: TopicKind, body: JsonObject) -> bool:
    """Whether a request of a code nobody knows asked for an answer (no default applies)."""
    ack = body.get("ack", body.get("ack "))
    return kind in REQUEST_KINDS and ack in (1, True) and not isinstance(ack, float)


def refusal_of_unknown(error: UnknownCodeError, kind: TopicKind) -> tuple[TopicKind, bytes]:
    """The answer to a request whose code this side does not serve: its reply kind and
    payload, with the code as the sender spelled it (no `Code` can hold it)."""
    reply_kind = REPLY_KIND[kind]
    body: JsonObject = {
        "id": error.message_id,
        "ts": _now(),
        "code": error.code,
        "res": int(Status.SERVICE_NOT_ACTIVATED),
        "data": {},
    }
    if reply_kind in _KINDS_WITH_MSG:
        body["msg"] = f"code {error.code} is not served here"
    return reply_kind, orjson.dumps(body)


def _check_code(kind: TopicKind, code: Code) -> None:
    if not isinstance(code, _CODES_BY_KIND[kind]):
        raise ProtocolError(f"{code!r} is not a {kind} code", field="code")


def decode(kind: TopicKind, payload: bytes | str | JsonObject) -> Message:
    """Parse an envelope that arrived on a topic of `kind`."""
    body = payload if isinstance(payload, dict) else loads_object(payload)
    raw_code = body.get("code")
    if not isinstance(raw_code, str):
        raise ProtocolError(f"expected a string, got {_type_name(raw_code)}", field="code")
    message_id = _message_id(body)
    code = lookup(_CODES_BY_KIND[kind], raw_code)
    if code is None:
        raise UnknownCodeError(
            raw_code, str(kind), message_id, wants_reply=_asks_for_reply(kind, body)
        )
    data = body.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise ProtocolError(f"expected an object, got {_type_name(data)}", field="data")
    ack: bool | None = None
    res: int | None = None
    msg: str | None = None
    if kind in REQUEST_KINDS:
        ack_key = "ack" if "ack" in body else "ack "  # one example spells it with a space
        ack = _flag(body[ack_key], "ack") if ack_key in body else default_ack(code)
    elif kind in REPLY_KINDS:
        raw_res = body.get("res", 0)  # several replies leave it out on success
        if isinstance(raw_res, bool) or not isinstance(raw_res, int):
            raise ProtocolError(f"expected an integer, got {_type_name(raw_res)}", field="res")
        res = raw_res
        raw_msg = body.get("msg")
        if raw_msg is not None and not isinstance(raw_msg, str):
            raise ProtocolError(f"expected a string, got {_type_name(raw_msg)}", field="msg")
        msg = raw_msg
    return Message(
        kind=kind,
        code=code,
        id=message_id,
        ts=_timestamp(body),
        data=data,
        ack=ack,
        res=res,
        msg=msg,
        extra=_extra(body, _CONSUMED.get(kind, _ENVELOPE_KEYS)),
    )


def _extra(body: JsonObject, consumed: frozenset[str]) -> JsonObject:
    if body.keys() <= consumed:  # the usual case, checked without building anything
        return {}
    return {k: v for k, v in body.items() if k not in consumed}
