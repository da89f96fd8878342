"""Who may log in to the rlink device server, and which topics each login may touch.

The policy knows rlink logins only: a device signs with its secret (`rlink_{uuid}_V2`), an
app with its app secret (`app_{userId}|{ts}`, for the simulated cloud). A device publishes
to its own ``report`` and ``issue_response`` and to ``product/v2/{pid}/issue_response`` of
the products it is entitled to (its own, and for a gateway its sub-devices'); it subscribes
to its own ``report_response`` and ``issue`` and to those products' ``issue``. Filters are
exact topics: no wildcards, so no login can read what was meant for another.

Each signed login's ``(identity, ts)`` is accepted once: a login must carry a ``ts`` later
than the last one accepted for that identity. This refuses a captured login forever, and
still admits a device whose clock is wrong, as long as it moves forward.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from .auth import (
    APP_CLIENT_PREFIX,
    app_user_from_client_id,
    device_uuid_from_client_id,
    is_device_uuid,
    verify_app,
    verify_device,
)
from .errors import ProtocolError
from .server.codec import ConnackCode, Connect
from .topics import AppTopic, DeviceTopic, ProductTopic, TopicKind, parse_topic

_LOGGER = logging.getLogger(__name__)

_DEVICE_PUBLISH: Final = frozenset({TopicKind.REPORT, TopicKind.ISSUE_RESPONSE})
_DEVICE_SUBSCRIBE: Final = frozenset({TopicKind.REPORT_RESPONSE, TopicKind.ISSUE})
DISCOVERY_REPEAT: Final = 600.0  # seconds before the same unknown uuid is announced again
DISCOVERY_BURST: Final = 10  # unknown devices announced per minute at most
MAX_USERNAME: Final = 256  # "{id}|signMethod=hmacSha256,ts={ts}" is about 60 characters


def _is_product_topic(topic: str, kind: TopicKind) -> bool:
    try:
        parsed = parse_topic(topic)
    except ProtocolError:
        return False
    return isinstance(parsed, ProductTopic) and parsed.kind is kind


class Role(StrEnum):
    DEVICE = "device"
    APP = "app"


@dataclass(frozen=True, slots=True)
class Principal:
    """A login the policy accepted."""

    client_id: str
    identity: str
    """The device uuid or the app's user id."""
    role: Role


class Refused(Exception):
    """A login the policy turns down, with the CONNACK code to answer."""

    def __init__(self, code: ConnackCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ReplayGuard:
    """The latest accepted ``ts`` per identity; a login must be newer to be accepted."""

    def __init__(
        self, latest: dict[str, int] | None = None, on_change: Callable[[], None] | None = None
    ) -> None:
        self._latest: dict[str, int] = dict(latest or {})
        self._on_change = on_change

    def check(self, identity: str, ts: int) -> None:
        """Raise `Refused` for a ``ts`` not newer than the last accepted one."""
        last = self._latest.get(identity)
        if last is not None and ts <= last:
            raise Refused(
                ConnackCode.BAD_CREDENTIALS,
                f"ts {ts} is not later than its last login ({last}): a replay, or a clock "
                "that went back",
            )

    def commit(self, identity: str, ts: int) -> None:
        self._latest[identity] = ts
        if self._on_change is not None:
            self._on_change()

    def snapshot(self) -> dict[str, int]:
        return dict(self._latest)


class _DiscoveryThrottle:
    """Announce unknown uuids rarely: once per uuid per window, a few per minute overall."""

    def __init__(self) -> None:
        self._announced: dict[str, float] = {}
        self._recent: list[float] = []

    def allow(self, uuid: str) -> bool:
        now = time.monotonic()
        self._announced = {u: t for u, t in self._announced.items() if now - t < DISCOVERY_REPEAT}
        self._recent = [t for t in self._recent if now - t < 60.0]
        if uuid in self._announced or len(self._recent) >= DISCOVERY_BURST:
            return False
        self._announced[uuid] = now
        self._recent.append(now)
        return True


@dataclass(slots=True)
class RlinkPolicy:
    """rlink logins and per-device topics, from what the owner of the server knows."""

    secret_for: Callable[[str], str | None]
    """The secret of a uuid, or None when the uuid is unknown."""
    pid_for: Callable[[str], str | None] = lambda _uuid: None
    """The product id a uuid must use, when known; otherwise learned from its first topic."""
    product_pids_for: Callable[[str], Collection[str]] = lambda _uuid: ()
    """Further products a device may serve (a gateway's sub-devices)."""
    hears_any_product: Callable[[str], bool] = lambda _uuid: False
    """Whether a device may subscribe to any product's commands: a gateway subscribes for
    sub-devices the hub may not know yet (they are learned from what it says later)."""
    on_unknown: Callable[[str], None] = lambda _uuid: None
    """Called (throttled) with the uuid of an unknown device that tried to log in."""
    app_secret_for: Callable[[str], str | None] = lambda _user: None
    """The app secret of a user id; None refuses the user (the default: no apps)."""
    homes_for: Callable[[str], Collection[str]] = lambda _user: ()
    """The assetIds whose notifications a user may read."""
    replays: ReplayGuard = field(default_factory=ReplayGuard)
    learned_pids: dict[str, str] = field(default_factory=dict)
    _discovery: _DiscoveryThrottle = field(default_factory=_DiscoveryThrottle)

    # --- logins ---------------------------------------------------------------------------

    def login(self, connect: Connect) -> Principal:
        """The principal of a CONNECT, or `Refused`."""
        username = connect.username or ""
        if len(username) > MAX_USERNAME:
            # Refused before parsing: a ts of thousands of digits makes int() raise.
            raise Refused(ConnackCode.BAD_CREDENTIALS, f"user name of {len(username)} characters")
        try:
            password = (connect.password or b"").decode()
        except UnicodeDecodeError:
            raise Refused(ConnackCode.BAD_CREDENTIALS, "password is not text") from None
        if connect.client_id.startswith(APP_CLIENT_PREFIX):
            principal = self._login_app(connect.client_id, username, password)
        else:
            principal = self._login_device(connect.client_id, username, password)
        if connect.will is not None and not self.may_publish(principal, connect.will.topic):
            raise Refused(ConnackCode.NOT_AUTHORIZED, f"will on {connect.will.topic!r}")
        return principal

    def _login_device(self, client_id: str, username: str, password: str) -> Principal:
        try:
            uuid = device_uuid_from_client_id(client_id)
        except ProtocolError as err:
            raise Refused(ConnackCode.IDENTIFIER_REJECTED, str(err)) from None
        secret = self.secret_for(uuid)
        if secret is None:
            if is_device_uuid(uuid) and self._discovery.allow(uuid):
                self.on_unknown(uuid)
            raise Refused(ConnackCode.NOT_AUTHORIZED, f"unknown device {uuid}")
        try:
            parsed = verify_device(client_id, username, password, secret)
        except ProtocolError as err:
            raise Refused(ConnackCode.BAD_CREDENTIALS, str(err)) from None
        self.replays.check(uuid, parsed.ts)
        self.replays.commit(uuid, parsed.ts)
        return Principal(client_id, uuid, Role.DEVICE)

    def _login_app(self, client_id: str, username: str, password: str) -> Principal:
        try:
            user_id = app_user_from_client_id(client_id)
        except ProtocolError as err:
            raise Refused(ConnackCode.IDENTIFIER_REJECTED, str(err)) from None
        secret = self.app_secret_for(user_id)
        if secret is None:
            raise Refused(ConnackCode.NOT_AUTHORIZED, f"unknown app user {user_id}")
        try:
            parsed = verify_app(client_id, username, password, secret)
        except ProtocolError as err:
            raise Refused(ConnackCode.BAD_CREDENTIALS, str(err)) from None
        key = f"app:{user_id}"
        self.replays.check(key, parsed.ts)
        self.replays.commit(key, parsed.ts)
        return Principal(client_id, user_id, Role.APP)

    # --- topics ---------------------------------------------------------------------------

    def may_publish(self, principal: Principal, topic: str) -> bool:
        if principal.role is not Role.DEVICE:
            return False
        return self._device_may(
            principal.identity, topic, _DEVICE_PUBLISH, TopicKind.PRODUCT_ISSUE_RESPONSE
        )

    def may_subscribe(self, principal: Principal, topic_filter: str) -> bool:
        if principal.role is Role.APP:
            return self._app_may_read(principal.identity, topic_filter)
        uuid = principal.identity
        if self.hears_any_product(uuid) and _is_product_topic(
            topic_filter, TopicKind.PRODUCT_ISSUE
        ):
            return True
        return self._device_may(uuid, topic_filter, _DEVICE_SUBSCRIBE, TopicKind.PRODUCT_ISSUE)

    def _device_may(
        self, uuid: str, topic: str, own: frozenset[TopicKind], product_kind: TopicKind
    ) -> bool:
        try:
            parsed = parse_topic(topic)
        except ProtocolError:
            return False  # wildcards and foreign topics
        match parsed:
            case DeviceTopic(kind, pid, topic_uuid):
                return topic_uuid == uuid and kind in own and self._own_pid(uuid, pid)
            case ProductTopic(kind, pid):
                return kind is product_kind and (
                    self._own_pid(uuid, pid) or pid in self.product_pids_for(uuid)
                )
        return False

    def _own_pid(self, uuid: str, pid: str) -> bool:
        expected = self.pid_for(uuid) or self.learned_pids.setdefault(uuid, pid)
        return pid == expected

    def _app_may_read(self, user_id: str, topic_filter: str) -> bool:
        try:
            parsed = parse_topic(topic_filter)
        except ProtocolError:
            return False
        match parsed:
            case AppTopic(TopicKind.USER_NOTIFY, owner):
                return owner == user_id
            case AppTopic(TopicKind.NOTIFY, owner):
                return owner in self.homes_for(user_id)
        return False

    def forget(self, uuid: str) -> None:
        """A device left the hub: its learned product goes; its last login stays known, so
        a login captured before it left cannot be replayed if it comes back."""
        self.learned_pids.pop(uuid, None)
