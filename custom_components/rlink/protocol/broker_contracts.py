"""What each broker's HTTP auth plugin asks, and the answer it understands.

Each contract turns the parameters of one call (already read from the query, form or JSON
body) into a `BrokerGate` question and its decision into the reply the plugin expects:

- RabbitMQ ``rabbitmq_auth_backend_http``: ``user``, ``vhost``, ``resource`` and ``topic``
  calls; the body is ``allow`` or ``deny`` (always with status 200). MQTT topics arrive
  as routing keys of ``amq.topic``: ``/`` becomes ``.`` (and ``.`` becomes ``/``), ``+``
  becomes ``*``.
- EMQX's HTTP authenticator (``authn``) and authorizer (``authz``): JSON
  ``{"result": "allow" | "deny" | "ignore"}`` with status 200.
- mosquitto-go-auth's HTTP backend: ``user``, ``superuser`` and ``acl``; status 200 with
  ``ok`` allows (its ``status`` and ``text`` response modes), 403 refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import orjson

from .broker_gate import Action, BrokerGate, Decision, HubAccount, Verdict

_LOGGER = logging.getLogger(__name__)

type Params = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain"
    decision: Decision | None = None
    """What was decided, for the caller's log; None for a malformed call."""


class BadCall(ValueError):
    """A call without what its contract requires."""


def _need(params: Params, key: str) -> str:
    value = params.get(key)
    if value is None:
        raise BadCall(f"missing {key!r}")
    return value


# --- RabbitMQ ---------------------------------------------------------------------------------

RABBITMQ_MQTT_EXCHANGE: Final = "amq.topic"
_QUEUE_PREFIXES: Final = ("mqtt-subscription-", "mqtt-will-")
_RABBIT_TOPIC_ACTIONS: Final = {"write": Action.PUBLISH, "read": Action.SUBSCRIBE}
_RABBIT_EXCHANGE_PERMISSIONS: Final = frozenset({"read", "write"})
_RABBIT_QUEUE_PERMISSIONS: Final = frozenset({"configure", "read", "write"})
_ROUTING_KEY_TO_TOPIC: Final = str.maketrans({".": "/", "/": ".", "*": "+"})


def routing_key_to_topic(routing_key: str) -> str:
    """The MQTT topic (or filter) an ``amq.topic`` routing (or binding) key stands for."""
    return routing_key.translate(_ROUTING_KEY_TO_TOPIC)


def _rabbit(decision: Decision) -> Answer:
    # RabbitMQ has no "ignore": a refusal lets its next auth backend try.
    return Answer(200, "allow" if decision.allowed else "deny", decision=decision)


def _rabbit_client_id(params: Params) -> str | None:
    return params.get("client_id") or params.get("variable_map.client_id") or None


def rabbitmq_user(gate: BrokerGate, params: Params) -> Answer:
    decision = gate.login(
        _need(params, "username"), params.get("password", ""), _rabbit_client_id(params)
    )
    return _rabbit(decision)


def rabbitmq_vhost(gate: BrokerGate, params: Params) -> Answer:
    return _rabbit(gate.may_connect_as(_need(params, "username"), _rabbit_client_id(params)))


def rabbitmq_resource(gate: BrokerGate, params: Params) -> Answer:
    """Exchanges and queues the MQTT plugin uses for a client: ``amq.topic`` to publish
    and bind, and the client's own session queues ``mqtt-subscription-{client id}…``."""
    username = _need(params, "username")
    kind, name, permission = (_need(params, k) for k in ("resource", "name", "permission"))
    who = gate.who(username, _rabbit_client_id(params))
    if who is None:
        return _rabbit(Decision(Verdict.DENY, "not a known rlink client"))
    if kind == "exchange":
        ok = name == RABBITMQ_MQTT_EXCHANGE and permission in _RABBIT_EXCHANGE_PERMISSIONS
    elif kind == "queue":
        own = "" if isinstance(who, HubAccount) else who.client_id
        ok = permission in _RABBIT_QUEUE_PERMISSIONS and any(
            name.startswith(prefix + own) for prefix in _QUEUE_PREFIXES
        )
    else:
        ok = False
    verdict = Verdict.ALLOW if ok else Verdict.DENY
    return _rabbit(Decision(verdict, f"{permission} on {kind} {name!r}"))


def rabbitmq_topic(gate: BrokerGate, params: Params) -> Answer:
    username = _need(params, "username")
    permission = _need(params, "permission")
    action = _RABBIT_TOPIC_ACTIONS.get(permission)
    if action is None or params.get("name", RABBITMQ_MQTT_EXCHANGE) != RABBITMQ_MQTT_EXCHANGE:
        return _rabbit(Decision(Verdict.DENY, f"{permission} on exchange {params.get('name')}"))
    topic = routing_key_to_topic(_need(params, "routing_key"))
    return _rabbit(gate.topic(username, topic, action, _rabbit_client_id(params)))


def _every(
    gate: BrokerGate,
    username: str,
    topic: str,
    actions: tuple[Action, ...],
    client_id: str | None,
) -> Decision:
    """The first refusal among `actions` on `topic`, or the last permission."""
    decisions = [gate.topic(username, topic, action, client_id) for action in actions]
    return next((d for d in decisions if not d.allowed), decisions[-1])


# --- EMQX -------------------------------------------------------------------------------------

_EMQX_ACTIONS: Final = {"publish": Action.PUBLISH, "subscribe": Action.SUBSCRIBE}


def _emqx(decision: Decision) -> Answer:
    body: dict[str, object] = {"result": str(decision.verdict)}
    if decision.verdict is Verdict.ALLOW:
        body["is_superuser"] = False
    return Answer(200, orjson.dumps(body).decode(), "application/json", decision)


def emqx_authn(gate: BrokerGate, params: Params) -> Answer:
    return _emqx(
        gate.login(
            _need(params, "username"), params.get("password", ""), params.get("clientid") or None
        )
    )


def emqx_authz(gate: BrokerGate, params: Params) -> Answer:
    username, topic = _need(params, "username"), _need(params, "topic")
    action = _EMQX_ACTIONS.get(_need(params, "action"))
    client_id = params.get("clientid") or None
    # "all" (or an action newer than this code): allowed only where every action is.
    actions = (action,) if action is not None else tuple(Action)
    return _emqx(_every(gate, username, topic, actions, client_id))


# --- mosquitto-go-auth ------------------------------------------------------------------------

# acc: 1 read (a message delivered to the client), 2 write, 3 both, 4 subscribe.
_GO_AUTH_ACC: Final[Mapping[str, tuple[Action, ...]]] = {
    "1": (Action.SUBSCRIBE,),
    "2": (Action.PUBLISH,),
    "3": (Action.SUBSCRIBE, Action.PUBLISH),
    "4": (Action.SUBSCRIBE,),
}


def _go_auth(decision: Decision) -> Answer:
    if decision.allowed:
        return Answer(200, "ok", decision=decision)
    return Answer(403, "denied", decision=decision)


def mosquitto_user(gate: BrokerGate, params: Params) -> Answer:
    return _go_auth(
        gate.login(
            _need(params, "username"), params.get("password", ""), params.get("clientid") or None
        )
    )


def mosquitto_superuser(gate: BrokerGate, params: Params) -> Answer:
    """Nobody is a superuser here: the hub's account is checked like everyone else."""
    _need(params, "username")
    return _go_auth(Decision(Verdict.DENY, "no superusers"))


def mosquitto_acl(gate: BrokerGate, params: Params) -> Answer:
    username, topic = _need(params, "username"), _need(params, "topic")
    actions = _GO_AUTH_ACC.get(str(_need(params, "acc")))
    if actions is None:
        return _go_auth(Decision(Verdict.DENY, f"unknown acc {params.get('acc')!r}"))
    return _go_auth(_every(gate, username, topic, actions, params.get("clientid") or None))


# --- the table --------------------------------------------------------------------------------

type Contract = Callable[[BrokerGate, Params], Answer]

CONTRACTS: Final[Mapping[tuple[str, str], Contract]] = {
    ("rabbitmq", "user"): rabbitmq_user,
    ("rabbitmq", "vhost"): rabbitmq_vhost,
    ("rabbitmq", "resource"): rabbitmq_resource,
    ("rabbitmq", "topic"): rabbitmq_topic,
    ("emqx", "authn"): emqx_authn,
    ("emqx", "authz"): emqx_authz,
    ("mosquitto", "user"): mosquitto_user,
    ("mosquitto", "superuser"): mosquitto_superuser,
    ("mosquitto", "acl"): mosquitto_acl,
}

# A malformed call is refused in each broker's own terms (for EMQX a 4xx would mean
# "ignore", which could let another authorizer allow it).
MALFORMED: Final[Mapping[str, Answer]] = {
    "rabbitmq": Answer(200, "deny"),
    "emqx": Answer(200, '{"result":"deny"}', "application/json"),
    "mosquitto": Answer(403, "denied"),
}


def answer(gate: BrokerGate, broker: str, check: str, params: Params) -> Answer | None:
    """The reply to one call; None when no such call exists."""
    contract = CONTRACTS.get((broker, check))
    if contract is None:
        return None
    try:
        return contract(gate, params)
    except BadCall as err:
        _LOGGER.debug("Malformed %s %s call: %s", broker, check, err)
        return MALFORMED[broker]
