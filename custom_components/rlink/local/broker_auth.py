"""Home Assistant as the authentication and ACL service of an external broker.

An external broker (RabbitMQ, EMQX, Mosquitto with mosquitto-go-auth) calls these views to
ask whether a client may log in and touch a topic; `protocol.broker_contracts` answers in
each broker's terms with the hub's `RlinkPolicy`. A broker cannot log in to Home
Assistant, so each hub has a secret token in its URLs (any other token gets 404) and an
optional list of the addresses its brokers call from. Answers come from memory; every
caller address is rate limited, in a table of bounded size.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import orjson
from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from ..protocol.broker_contracts import CONTRACTS, MALFORMED, answer
from ..protocol.broker_gate import BrokerGate, Decision, Verdict
from ..protocol.server.limits import LogThrottle

_LOGGER = logging.getLogger(__name__)

URL_BASE: Final = "/api/rlink/broker_auth"
MAX_BODY: Final = 16 * 1024
"""Bytes a call may carry; a broker's call is a few hundred."""
CALL_RATE: Final = 1000.0
"""Calls per second one address may sustain: a broker logging in a thousand devices."""
CALL_BURST: Final = 2000.0
FAILURE_RATE: Final = 0.2
"""Calls with a wrong token (or from an address not allowed) per second, after a burst."""
FAILURE_BURST: Final = 20.0
MAX_ADDRESSES: Final = 4096
"""Caller addresses whose rate is remembered; the least recently seen are forgotten."""
WARN_INTERVAL: Final = 600.0
"""Seconds before the same refusal of a topic is logged as a warning again."""
_TOPIC_CHECKS: Final = frozenset({"topic", "authz", "acl"})

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DATA_BROKER_AUTH: HassKey[BrokerAuthRegistry] = HassKey(f"{DOMAIN}_broker_auth")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def parse_networks(text: str | Iterable[str] | None) -> tuple[Network, ...]:
    """Addresses and networks from ``"192.168.1.10, 10.0.0.0/8"``; ValueError if one is bad."""
    if text is None:
        return ()
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item)


class RateLimiter:
    """Token buckets per key, at most `size` keys (least recently used forgotten first)."""

    def __init__(self, rate: float, burst: float, size: int = MAX_ADDRESSES) -> None:
        self.rate, self.burst, self.size = rate, burst, size
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> bool:
        """Spend one call for `key`; False when it has none left."""
        now = time.monotonic()
        tokens, since = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.size:
            self._buckets.popitem(last=False)
        return allowed

    def exhausted(self, key: str) -> bool:
        tokens, since = self._buckets.get(key, (self.burst, time.monotonic()))
        return min(self.burst, tokens + (time.monotonic() - since) * self.rate) < 1.0


@dataclass(slots=True)
class BrokerAuthService:
    """What one hub answers brokers with."""

    gate: BrokerGate
    allowed: tuple[Network, ...] = ()
    """Addresses brokers may call from; empty: any address that knows the token."""
    name: str = ""

    def admits(self, remote: str | None) -> bool:
        if not self.allowed:
            return True
        try:
            address = ipaddress.ip_address(remote or "")
        except ValueError:
            return False
        return any(address in network for network in self.allowed)


@dataclass(slots=True)
class BrokerAuthRegistry:
    """The tokens of every hub whose broker Home Assistant checks devices for."""

    services: dict[str, BrokerAuthService] = field(default_factory=dict)
    calls: RateLimiter = field(default_factory=lambda: RateLimiter(CALL_RATE, CALL_BURST))
    failures: RateLimiter = field(default_factory=lambda: RateLimiter(FAILURE_RATE, FAILURE_BURST))
    warn_due: LogThrottle = field(default_factory=lambda: LogThrottle(WARN_INTERVAL))

    def add(self, token: str, service: BrokerAuthService) -> Callable[[], None]:
        """Serve `token`; the returned call stops, giving back whatever served it before
        (a flow checks the broker with the token of a hub that is running)."""
        previous = self.services.get(token)
        self.services[token] = service

        def remove() -> None:
            if self.services.get(token) is not service:
                return
            if previous is None:
                del self.services[token]
            else:
                self.services[token] = previous

        return remove

    def find(self, token: str) -> BrokerAuthService | None:
        """The service of `token`, compared in constant time against every known one."""
        found = None
        for known, service in self.services.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = service
        return found


def _flatten(data: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """JSON bodies to the flat parameters forms and queries give (``variable_map.x``)."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= _flatten(value, f"{name}.")
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            flat[name] = str(value)
    return flat


class _TooLarge(Exception):
    pass


async def _params(request: web.Request) -> dict[str, str] | None:
    """The call's parameters from its query and its form or JSON body; None if unreadable."""
    params = dict(request.query)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _TooLarge
    body = await request.content.read(MAX_BODY + 1) if request.can_read_body else b""
    if len(body) > MAX_BODY:
        raise _TooLarge
    if not body.strip():
        return params
    try:
        if request.content_type == "application/json" or body.lstrip()[:1] == b"{":
            data = orjson.loads(body)
            if not isinstance(data, dict):
                return None
            return params | _flatten(data)
        return params | dict(parse_qsl(body.decode(), keep_blank_values=True))
    except ValueError:  # orjson.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


class BrokerAuthView(HomeAssistantView):
    """Every broker's calls: ``{URL_BASE}/{token}/{broker}/{check}``."""

    url = URL_BASE + "/{token}/{broker}/{check}"
    name = "api:rlink:broker_auth"
    requires_auth = False

    def __init__(self, registry: BrokerAuthRegistry) -> None:
        self.registry = registry

    async def get(self, request: web.Request, token: str, broker: str, check: str) -> web.Response:
        registry = self.registry
        remote = request.remote or ""
        if registry.failures.exhausted(remote):
            return web.Response(status=HTTPStatus.TOO_MANY_REQUESTS)
        service = registry.find(token)
        if service is None or (broker, check) not in CONTRACTS or not service.admits(remote):
            registry.failures.take(remote)
            return web.Response(status=HTTPStatus.NOT_FOUND)
        if not registry.calls.take(remote):
            return web.Response(status=HTTPStatus.TOO_MANY_REQUESTS)
        try:
            params = await _params(request)
        except _TooLarge:
            return web.Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        reply = MALFORMED[broker] if params is None else answer(service.gate, broker, check, params)
        assert reply is not None  # the pair is in CONTRACTS
        if reply.decision is not None and not reply.decision.allowed:
            self._log_refusal(service, broker, check, reply.decision)
        return web.Response(status=reply.status, text=reply.body, content_type=reply.content_type)

    post = get
    put = get

    def _log_refusal(
        self, service: BrokerAuthService, broker: str, check: str, decision: Decision
    ) -> None:
        """A device reaching for topics not its own is worth a warning (once in a while,
        as the device server gives); refused logins and other clients only a debug line."""
        args = (service.name, broker, check, decision.verdict, decision.reason[:200])
        if (
            check in _TOPIC_CHECKS
            and decision.verdict is Verdict.DENY
            and self.registry.warn_due((service.name, decision.reason))
        ):
            _LOGGER.warning("%s: %s %s refused (%s): %s", *args)
        else:
            _LOGGER.debug("%s: %s %s refused (%s): %s", *args)


# --- what the user configures on the broker -------------------------------------------------


def base_url(hass: HomeAssistant, token: str) -> str:
    """Where brokers call: Home Assistant's local address and the hub's token."""
    try:
        root = get_url(hass, allow_external=False, allow_cloud=False)
    except NoURLAvailableError:
        root = "http://homeassistant.local:8123"
    return f"{root}{URL_BASE}/{token}"


def rabbitmq_snippet(base: str) -> str:
    return "\n".join(
        [
            "auth_backends.1 = http",
            "auth_http.http_method = post",
            f"auth_http.user_path = {base}/rabbitmq/user",
            f"auth_http.vhost_path = {base}/rabbitmq/vhost",
            f"auth_http.resource_path = {base}/rabbitmq/resource",
            f"auth_http.topic_path = {base}/rabbitmq/topic",
            "mqtt.allow_anonymous = false",
        ]
    )


def emqx_snippet(base: str) -> str:
    headers = 'headers { "content-type" = "application/json" }'
    return "\n".join(
        [
            "authentication = [{",
            "  mechanism = password_based, backend = http, method = post",
            f'  url = "{base}/emqx/authn"',
            '  body { clientid = "${clientid}", username = "${username}",'
            ' password = "${password}" }',
            f"  {headers}",
            "}]",
            "authorization {",
            "  no_match = deny",
            "  sources = [{",
            "    type = http, method = post",
            f'    url = "{base}/emqx/authz"',
            '    body { clientid = "${clientid}", username = "${username}",'
            ' topic = "${topic}", action = "${action}" }',
            f"    {headers}",
            "  }]",
            "}",
        ]
    )


def mosquitto_snippet(base: str) -> str:
    parts = urlsplit(base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return "\n".join(
        [
            "auth_plugin /usr/lib/mosquitto-go-auth/go-auth.so",
            "auth_opt_backends http",
            f"auth_opt_http_host {parts.hostname}",
            f"auth_opt_http_port {port}",
            f"auth_opt_http_with_tls {'true' if parts.scheme == 'https' else 'false'}",
            f"auth_opt_http_getuser_uri {parts.path}/mosquitto/user",
            f"auth_opt_http_superuser_uri {parts.path}/mosquitto/superuser",
            f"auth_opt_http_aclcheck_uri {parts.path}/mosquitto/acl",
            "auth_opt_http_params_mode json",
            "auth_opt_http_response_mode status",
            "auth_opt_cache false",
            "allow_anonymous false",
        ]
    )
