"""Build and parse the eight topics of the protocol."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .errors import ProtocolError


class TopicKind(StrEnum):
    """Every topic of the protocol, named by its last segment."""

    REPORT = "report"
    REPORT_RESPONSE = "report_response"
    ISSUE = "issue"
    ISSUE_RESPONSE = "issue_response"
    PRODUCT_ISSUE = "product_issue"
    PRODUCT_ISSUE_RESPONSE = "product_issue_response"
    NOTIFY = "notify"
    USER_NOTIFY = "userNotify"


DEVICE_KINDS: Final = frozenset(
    {TopicKind.REPORT, TopicKind.REPORT_RESPONSE, TopicKind.ISSUE, TopicKind.ISSUE_RESPONSE}
)
PRODUCT_KINDS: Final = frozenset({TopicKind.PRODUCT_ISSUE, TopicKind.PRODUCT_ISSUE_RESPONSE})
APP_KINDS: Final = frozenset({TopicKind.NOTIFY, TopicKind.USER_NOTIFY})

_DEVICE_SUFFIX: Final = {kind.value: kind for kind in DEVICE_KINDS}
_PRODUCT_SUFFIX: Final = {
    "issue": TopicKind.PRODUCT_ISSUE,
    "issue_response": TopicKind.PRODUCT_ISSUE_RESPONSE,
}
_PRODUCT_SEGMENT: Final = {kind: suffix for suffix, kind in _PRODUCT_SUFFIX.items()}
_APP_SUFFIX: Final = {kind.value: kind for kind in APP_KINDS}
_FORBIDDEN: Final = frozenset("/+#\x00")


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """``rlink/v2/{pid}/{uuid}/{kind}``."""

    kind: TopicKind
    pid: str
    uuid: str

    def __str__(self) -> str:
        return f"rlink/v2/{self.pid}/{self.uuid}/{self.kind}"


@dataclass(frozen=True, slots=True)
class ProductTopic:
    """``product/v2/{pid}/issue`` and ``product/v2/{pid}/issue_response``."""

    kind: TopicKind
    pid: str

    def __str__(self) -> str:
        return f"product/v2/{self.pid}/{_PRODUCT_SEGMENT[self.kind]}"


@dataclass(frozen=True, slots=True)
class AppTopic:
    """``app/v2/{assetId}/notify`` and ``app/v2/{userId}/userNotify``."""

    kind: TopicKind
    owner: str

    def __str__(self) -> str:
        return f"app/v2/{self.owner}/{self.kind}"


type Topic = DeviceTopic | ProductTopic | AppTopic

PARSED_TOPICS: Final = 8192
"""Parsed topics kept: a few per device of a large hub."""


def _segment(value: str, name: str) -> str:
    if not value or not value.strip() or any(ch in _FORBIDDEN for ch in value):
        raise ProtocolError(f"{value!r} cannot be a topic segment", field=name)
    return value


def device_topic(kind: TopicKind, pid: str, uuid: str) -> str:
    """The device-level topic of `kind` for one device."""
    if kind not in DEVICE_KINDS:
        raise ProtocolError(f"{kind} is not a device topic", field="topic")
    return str(DeviceTopic(kind, _segment(pid, "pid"), _segment(uuid, "uuid")))


def product_topic(kind: TopicKind, pid: str) -> str:
    """The product-level topic of `kind` for one product."""
    if kind not in PRODUCT_KINDS:
        raise ProtocolError(f"{kind} is not a product topic", field="topic")
    return str(ProductTopic(kind, _segment(pid, "pid")))


def app_topic(kind: TopicKind, owner: str) -> str:
    """The app-level topic of `kind` for a home (notify) or a user (userNotify)."""
    if kind not in APP_KINDS:
        raise ProtocolError(f"{kind} is not an app topic", field="topic")
    return str(AppTopic(kind, _segment(owner, "owner")))


def device_filter(kind: TopicKind, pid: str = "+", uuid: str = "+") -> str:
    """A subscription filter for device topics; ``+`` stands for any pid or uuid."""
    if kind not in DEVICE_KINDS:
        raise ProtocolError(f"{kind} is not a device topic", field="topic")
    return f"rlink/v2/{pid}/{uuid}/{kind}"


@functools.lru_cache(maxsize=PARSED_TOPICS)
def parse_topic(topic: str) -> Topic:
    """Parse a concrete topic (no wildcards); raise ProtocolError when it is none of ours.

    Each device uses the same few topics over and over, so results are kept, the least
    recently used dropped past `PARSED_TOPICS`; refusals are raised anew each time."""
    parts = topic.split("/")
    match parts:
        case ["rlink", "v2", pid, uuid, suffix] if suffix in _DEVICE_SUFFIX:
            return DeviceTopic(_DEVICE_SUFFIX[suffix], _segment(pid, "pid"), _segment(uuid, "uuid"))
        case ["product", "v2", pid, suffix] if suffix in _PRODUCT_SUFFIX:
            return ProductTopic(_PRODUCT_SUFFIX[suffix], _segment(pid, "pid"))
        case ["app", "v2", owner, suffix] if suffix in _APP_SUFFIX:
            return AppTopic(_APP_SUFFIX[suffix], _segment(owner, "owner"))
    raise ProtocolError(f"{topic!r} is not an rlink topic", field="topic")
