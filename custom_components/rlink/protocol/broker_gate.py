"""The device server's policy, asked by an external broker instead of by our own server.

A broker that delegates its logins and topic checks (RabbitMQ, EMQX, mosquitto-go-auth)
asks three questions: may this client log in, who is this authenticated user, and may it
touch this topic. `BrokerGate` answers them with the same `RlinkPolicy` the embedded
server uses, so a device is held to the same rules on either broker: its rlink signature,
a ``ts`` later than its last accepted login, and its own topics only.

Besides the devices, the gate knows the hub's own account (the user Home Assistant logs in
to the broker with), which may read and write the rlink topics and nothing else. Clients
that are neither are not ours: the answer is `Verdict.IGNORE`, so a broker that also
serves other clients can let its next authenticator decide; but nobody who is not ours
touches an rlink topic.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .auth import (
    APP_CLIENT_PREFIX,
    DEVICE_CLIENT_PREFIX,
    DEVICE_CLIENT_SUFFIX,
    is_device_uuid,
    parse_username,
)
from .errors import ProtocolError
from .policy import MAX_USERNAME, Principal, Refused, RlinkPolicy, Role
from .server.codec import Connect

_LOGGER = logging.getLogger(__name__)

_RLINK_ROOTS: Final = (("rlink", "v2"), ("product", "v2"))
_SHARED_PREFIXES: Final = ("$share/", "$queue/")


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    IGNORE = "ignore"
    """Not an rlink client: another authenticator or authorizer of the broker decides."""


class Action(StrEnum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"
    """Subscribing to a filter, or receiving a message on a topic."""


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


@dataclass(frozen=True, slots=True)
class HubAccount:
    """The broker user Home Assistant itself logs in as."""

    username: str


type Who = Principal | HubAccount | None


def _allow(reason: str) -> Decision:
    return Decision(Verdict.ALLOW, reason)


def _deny(reason: str) -> Decision:
    return Decision(Verdict.DENY, reason)


_NOT_OURS: Final = Decision(Verdict.IGNORE, "not an rlink client")


def device_client_id(uuid: str) -> str:
    return f"{DEVICE_CLIENT_PREFIX}{uuid}{DEVICE_CLIENT_SUFFIX}"


def without_share(topic_filter: str) -> str:
    """``$share/{group}/{filter}`` names the same topics as ``{filter}``."""
    for prefix in _SHARED_PREFIXES:
        if topic_filter.startswith(prefix):
            rest = topic_filter[len(prefix) :]
            return rest.partition("/")[2] if prefix == "$share/" else rest
    return topic_filter


def touches_rlink(topic_filter: str) -> bool:
    """Whether a topic or filter can name something under ``rlink/v2`` or ``product/v2``."""
    levels = without_share(topic_filter).split("/")
    return any(_may_extend(levels, root) for root in _RLINK_ROOTS)


def _may_extend(levels: list[str], root: tuple[str, ...]) -> bool:
    """Whether filter `levels` can match a topic that starts with `root` and goes deeper."""
    for index, wanted in enumerate(root):
        if index >= len(levels):
            return False
        if levels[index] == "#":
            return True
        if levels[index] not in {"+", wanted}:
            return False
    return len(levels) > len(root)


def _in_rlink_space(topic_filter: str) -> bool:
    """A topic or filter inside the rlink trees, named literally (what the hub subscribes)."""
    levels = topic_filter.split("/")
    return len(levels) >= 3 and tuple(levels[:2]) in _RLINK_ROOTS


class BrokerGate:
    """Login and topic decisions for a broker, from the device server's `RlinkPolicy`."""

    def __init__(
        self,
        policy: RlinkPolicy,
        hub_username: str | None,
        hub_password: str | None,
        on_login: Callable[[Principal], None] | None = None,
    ) -> None:
        """`on_login` hears every accepted device or app login: the broker is about to let
        that client in, the one presence signal such a broker gives for free."""
        self.policy = policy
        self._on_login = on_login
        # The hub's account is ours only with a password: an empty one would let anyone in.
        self._hub = (hub_username, hub_password) if hub_username and hub_password else None

    # --- who ------------------------------------------------------------------------------

    def _is_hub(self, username: str) -> bool:
        return self._hub is not None and hmac.compare_digest(
            username.encode(), self._hub[0].encode()
        )

    def is_ours(self, username: str, client_id: str | None = None) -> bool:
        """Whether a client claims an rlink identity (or is the hub), rightly or not."""
        if self._is_hub(username):
            return True
        if client_id and client_id.startswith((DEVICE_CLIENT_PREFIX, APP_CLIENT_PREFIX)):
            return True
        return "|" in username and "signMethod=" in username

    def who(self, username: str, client_id: str | None = None) -> Who:
        """The identity of a user the broker has authenticated, or None when it is not one
        of ours (or no longer: a device removed from the hub loses its topics at once)."""
        if self._is_hub(username):
            return HubAccount(username)
        if len(username) > MAX_USERNAME:
            return None
        try:
            identity = parse_username(username).identity
        except ProtocolError:
            return None
        if not is_device_uuid(identity) or self.policy.secret_for(identity) is None:
            return None
        own = device_client_id(identity)
        if client_id and client_id != own:
            return None
        return Principal(own, identity, Role.DEVICE)

    # --- questions ------------------------------------------------------------------------

    def login(self, username: str, password: str, client_id: str | None = None) -> Decision:
        """May this client connect? A device's ``(uuid, ts)`` is spent by an allowed login."""
        if self._hub is not None and self._is_hub(username):
            if hmac.compare_digest(password.encode(), self._hub[1].encode()):
                return _allow("the hub's account")
            return _deny("wrong password for the hub's account")
        if not self.is_ours(username, client_id):
            return _NOT_OURS
        connect = Connect(
            protocol_level=4,
            clean_session=True,
            keep_alive=0,
            client_id=client_id or self._client_id_from(username),
            will=None,
            username=username,
            password=password.encode(),
        )
        try:
            principal = self.policy.login(connect)
        except Refused as err:
            return _deny(err.reason)
        if self._on_login is not None:
            self._on_login(principal)
        return _allow(f"{principal.role} {principal.identity}")

    @staticmethod
    def _client_id_from(username: str) -> str:
        """Brokers that do not pass the client id: an rlink username names its client."""
        try:
            parsed = parse_username(username[:MAX_USERNAME])
        except ProtocolError:
            return ""
        if is_device_uuid(parsed.identity):
            return device_client_id(parsed.identity)
        return f"{APP_CLIENT_PREFIX}{parsed.identity}|{parsed.ts}"

    def may_connect_as(self, username: str, client_id: str | None = None) -> Decision:
        """For a check made after the login (RabbitMQ's vhost): is this still one of ours?"""
        if self.who(username, client_id) is not None:
            return _allow("known")
        return _deny("unknown user") if self.is_ours(username, client_id) else _NOT_OURS

    def topic(
        self, username: str, topic_filter: str, action: Action, client_id: str | None = None
    ) -> Decision:
        """May an authenticated user publish to, or subscribe to / receive, this topic?"""
        who = self.who(username, client_id)
        if isinstance(who, HubAccount):
            if _in_rlink_space(without_share(topic_filter)):
                return _allow("the hub's topics")
            return _deny(f"the hub's account does not use {topic_filter!r}")
        if who is None:
            if self.is_ours(username, client_id):
                return _deny("unknown device")
            if touches_rlink(topic_filter):
                return _deny(f"{topic_filter!r} belongs to rlink devices")
            return _NOT_OURS
        may = self.policy.may_publish if action is Action.PUBLISH else self.policy.may_subscribe
        if may(who, topic_filter):
            return _allow(f"own topic of {who.identity}")
        return _deny(f"{who.identity} may not {action} {topic_filter!r}")
