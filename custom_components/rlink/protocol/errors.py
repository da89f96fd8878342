"""Exceptions raised by the protocol library."""

from __future__ import annotations

from typing import ClassVar, Final

MAX_TEXT: Final = 200
"""Characters of a device's words an error keeps: a device can send a megabyte where a
number or a code belongs, and errors end up in log lines and in the UI."""


def bounded(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, cut to its first `limit` characters with a note of how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


class ProtocolError(ValueError):
    """Something received or about to be sent does not follow the protocol.

    `field` names the offending part (a JSON path such as ``data.properties``, a topic
    segment or a credential part) so that a log line can say exactly what was wrong.
    """

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.reason = bounded(reason)
        self.field = bounded(field, 80) if field is not None else None
        super().__init__(f"{self.field}: {self.reason}" if self.field else self.reason)


class UnknownCodeError(ProtocolError):
    """A well-formed envelope carried a code this direction does not define."""

    def __init__(
        self, code: str, direction: str, message_id: str | None, *, wants_reply: bool = False
    ) -> None:
        self.code = code
        self.direction = direction
        self.message_id = message_id
        self.wants_reply = wants_reply
        """A request that asked for an answer: the sender waits for one, a refusal included."""
        super().__init__(f"unknown {direction} code {code!r}", field="code")


class RlinkError(Exception):
    """The other side answered with a non-zero status code."""

    status: ClassVar[int] = -1
    default_message: ClassVar[str] = "Request failed"

    def __init__(self, code: int | None = None, msg: str | None = None) -> None:
        self.code = self.status if code is None else code
        self.msg = bounded(msg) if msg else self.default_message
        super().__init__(f"rlink status {self.code}: {self.msg}")


class ServiceException(RlinkError):
    status = 1001
    default_message = "Service exception"


class InvalidParameter(RlinkError):
    status = 1002
    default_message = "Invalid parameter"


class MessageFormatError(RlinkError):
    status = 1003
    default_message = "Message format error"


class DeviceNotFound(RlinkError):
    status = 1004
    default_message = "Device does not exist"


class ProductNotFound(RlinkError):
    status = 1005
    default_message = "Product does not exist"


class ServiceNotActivated(RlinkError):
    status = 1006
    default_message = "Service not activated"


class DeviceAlreadyBound(RlinkError):
    status = 17032
    default_message = "Device is already bound"


class SceneNotFound(RlinkError):
    status = 24029
    default_message = "Scene does not exist"


class OneClickNotSupported(RlinkError):
    status = 24030
    default_message = "One-click execution is not supported"


class GroupNotFound(RlinkError):
    status = 24034
    default_message = "Device group does not exist"


_BY_STATUS: dict[int, type[RlinkError]] = {
    cls.status: cls
    for cls in (
        ServiceException,
        InvalidParameter,
        MessageFormatError,
        DeviceNotFound,
        ProductNotFound,
        ServiceNotActivated,
        DeviceAlreadyBound,
        SceneNotFound,
        OneClickNotSupported,
        GroupNotFound,
    )
}


def error_for_status(res: int, msg: str | None = None) -> RlinkError:
    """Return the typed exception for a non-zero status code (generic for unknown codes)."""
    cls = _BY_STATUS.get(res)
    if cls is None:
        return RlinkError(res, msg or f"Unknown status {res}")
    return cls(res, msg)


class ModelError(ProtocolError):
    """An object model that cannot be understood; `field` is the JSON path of the problem."""


class ValueRejected(ValueError):
    """A value that breaks a rule of its property's definition.

    `identifier` names the property (``color.r`` or ``levels[2]`` for members and items),
    `rule` is one of: access, type, min, max, step, enum, length, size, member.
    """

    def __init__(self, identifier: str, rule: str, detail: str) -> None:
        self.identifier = bounded(identifier, 80)
        self.rule = rule
        self.detail = bounded(detail)
        super().__init__(f"{self.identifier}: {self.detail}")
