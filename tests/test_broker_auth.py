"""Home Assistant as an external broker's auth service: each broker's calls, shaped as its
plugin sends them, answered over real HTTP with the device server's policy."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.local.broker_auth import (
    DATA_BROKER_AUTH,
    MAX_BODY,
    URL_BASE,
    BrokerAuthService,
    RateLimiter,
    parse_networks,
)
from custom_components.rlink.protocol import auth
from custom_components.rlink.protocol.broker_contracts import routing_key_to_topic
from custom_components.rlink.protocol.broker_gate import BrokerGate, touches_rlink
from custom_components.rlink.protocol.policy import Principal, RlinkPolicy

from .brokers import Mosquitto
from .hub import add_device, device

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

PLUG, LAMP = device("plug"), device("light")
TOKEN = "t0ken-for-tests-only-0123456789abcdefghijkl"
HUB_USER, HUB_PASSWORD = "homeassistant", "hub-password"
LOGINS: list[Principal] = []


def _topic(kind: str, config: Any = PLUG) -> str:
    return f"rlink/v2/{config.product_id}/{config.uuid}/{kind}"


def _key(topic: str) -> str:
    """The routing key RabbitMQ's MQTT plugin makes of a topic."""
    return topic.translate(str.maketrans({"/": ".", ".": "/", "+": "*"}))


@pytest.fixture(name="service")
async def fixture_service(hass: HomeAssistant) -> BrokerAuthService:
    assert await async_setup_component(hass, "http", {})
    assert await async_setup_component(hass, DOMAIN, {})
    policy = RlinkPolicy(
        secret_for={PLUG.uuid: PLUG.secret, LAMP.uuid: LAMP.secret}.get,
        pid_for={PLUG.uuid: PLUG.product_id, LAMP.uuid: LAMP.product_id}.get,
    )
    gate = BrokerGate(policy, HUB_USER, HUB_PASSWORD, on_login=LOGINS.append)
    service = BrokerAuthService(gate, name="test hub")
    hass.data[DATA_BROKER_AUTH].add(TOKEN, service)
    return service


@pytest.fixture(name="client")
async def fixture_client(service: BrokerAuthService, hass_client_no_auth: Any) -> Any:
    return await hass_client_no_auth()


def _url(broker: str, check: str, token: str = TOKEN) -> str:
    return f"{URL_BASE}/{token}/{broker}/{check}"


async def _text(response: Any) -> tuple[int, str]:
    return response.status, await response.text()


# --- RabbitMQ ---------------------------------------------------------------------------------


async def _rabbit(client: Any, check: str, method: str = "post", **params: str) -> str:
    """A call as rabbitmq_auth_backend_http makes it: a form body (post) or a query (get)."""
    if method == "post":
        response = await client.post(_url("rabbitmq", check), data=params)
    else:
        response = await client.get(_url("rabbitmq", check), params=params)
    status, body = await _text(response)
    assert status == 200
    assert body in {"allow", "deny"}
    return body


async def test_rabbitmq_logins_are_signed_and_single_use(client: Any) -> None:
    LOGINS.clear()
    creds = auth.device_credentials(PLUG.uuid, PLUG.secret)
    # 3.10's MQTT plugin sends no client id: the username says which device it is.
    login = {"username": creds.username, "password": creds.password}
    assert await _rabbit(client, "user", **login) == "allow"
    assert await _rabbit(client, "user", **login) == "deny"  # the same (uuid, ts) again
    later = auth.device_credentials(PLUG.uuid, PLUG.secret)
    assert await _rabbit(client, "user", "get", **_with_client_id(later)) == "allow"

    forged = auth.device_credentials(PLUG.uuid, "0" * 32)
    assert await _rabbit(client, "user", username=forged.username, password=forged.password) == (
        "deny"
    )
    # A valid login of the plug presented under the lamp's client id.
    other = auth.device_credentials(PLUG.uuid, PLUG.secret)
    mixed = {"username": other.username, "password": other.password, "client_id": _cid(LAMP)}
    assert await _rabbit(client, "user", **mixed) == "deny"
    unknown = auth.device_credentials("rn01ffffffffffff", "f" * 32)
    assert await _rabbit(client, "user", **_with_client_id(unknown)) == "deny"

    assert await _rabbit(client, "user", username=HUB_USER, password=HUB_PASSWORD) == "allow"
    assert await _rabbit(client, "user", username=HUB_USER, password="guess") == "deny"
    assert await _rabbit(client, "user", username="guest", password="guest") == "deny"
    # The hub hears the two accepted device logins (a presence signal), nothing else.
    assert [p.identity for p in LOGINS] == [PLUG.uuid, PLUG.uuid]


def _cid(config: Any) -> str:
    return f"rlink_{config.uuid}_V2"


def _with_client_id(creds: auth.Credentials) -> dict[str, str]:
    return {"username": creds.username, "password": creds.password, "client_id": creds.client_id}


def _username(config: Any) -> str:
    return auth.device_credentials(config.uuid, config.secret, ts=1).username


async def test_rabbitmq_vhost_and_resources_are_the_clients_own(client: Any) -> None:
    plug = _username(PLUG)
    assert await _rabbit(client, "vhost", username=plug, vhost="/", ip="127.0.0.1") == "allow"
    stranger = _username(device("plug", "stranger"))
    assert await _rabbit(client, "vhost", username=stranger, vhost="/", ip="10.0.0.9") == "deny"

    async def resource(username: str, kind: str, name: str, permission: str) -> str:
        return await _rabbit(
            client,
            "resource",
            username=username,
            vhost="/",
            resource=kind,
            name=name,
            permission=permission,
        )

    own_queue = f"mqtt-subscription-{_cid(PLUG)}qos1"
    assert await resource(plug, "exchange", "amq.topic", "write") == "allow"
    assert await resource(plug, "exchange", "amq.topic", "read") == "allow"
    assert await resource(plug, "exchange", "amq.topic", "configure") == "deny"
    assert await resource(plug, "exchange", "amq.direct", "write") == "deny"
    for permission in ("configure", "write", "read"):
        assert await resource(plug, "queue", own_queue, permission) == "allow"
    lamp_queue = f"mqtt-subscription-{_cid(LAMP)}qos1"
    assert await resource(plug, "queue", lamp_queue, "read") == "deny"
    assert await resource(plug, "queue", "orders", "read") == "deny"
    assert await resource(HUB_USER, "queue", "mqtt-subscription-rlink_hub_1qos1", "read") == (
        "allow"
    )
    assert await resource(stranger, "exchange", "amq.topic", "write") == "deny"


async def test_rabbitmq_topics_are_per_device(client: Any) -> None:
    plug = _username(PLUG)

    async def topic(username: str, permission: str, topic: str, **extra: str) -> str:
        return await _rabbit(
            client,
            "topic",
            username=username,
            vhost="/",
            resource="topic",
            name="amq.topic",
            permission=permission,
            routing_key=_key(topic),
            **extra,
        )

    assert await topic(plug, "write", _topic("report")) == "allow"
    assert await topic(plug, "write", _topic("issue_response")) == "allow"
    assert await topic(plug, "read", _topic("issue")) == "allow"
    assert await topic(plug, "write", _topic("issue")) == "deny"  # commands come from the hub
    assert await topic(plug, "write", _topic("report", LAMP)) == "deny"
    assert await topic(plug, "read", _topic("issue", LAMP)) == "deny"
    assert await topic(plug, "read", "rlink/v2/+/+/issue") == "deny"
    assert await topic(plug, "read", "#") == "deny"
    # 4.x adds the client id: it must be the device's own.
    own = {"variable_map.client_id": _cid(PLUG)}
    assert await topic(plug, "write", _topic("report"), **own) == "allow"
    assert await topic(plug, "write", _topic("report"), **{"variable_map.client_id": "x"}) == (
        "deny"
    )

    assert await topic(HUB_USER, "read", "rlink/v2/+/+/report") == "allow"
    assert await topic(HUB_USER, "read", "product/v2/+/issue_response") == "allow"
    assert await topic(HUB_USER, "write", _topic("issue")) == "allow"
    assert await topic(HUB_USER, "read", "#") == "deny"
    assert await topic(HUB_USER, "write", "home/lights") == "deny"


def test_routing_keys_become_topics() -> None:
    assert routing_key_to_topic("rlink.v2.p1.rn01aa.report") == "rlink/v2/p1/rn01aa/report"
    assert routing_key_to_topic("rlink.v2.*.*.report") == "rlink/v2/+/+/report"
    assert routing_key_to_topic("a/b.c") == "a.b/c"  # a "." of an MQTT topic arrives as "/"


# --- EMQX -------------------------------------------------------------------------------------


async def _emqx(client: Any, check: str, body: dict[str, str]) -> str:
    """A call as EMQX's HTTP authenticator / authorizer makes it with a JSON body template."""
    response = await client.post(_url("emqx", check), json=body)
    assert response.status == 200
    assert response.content_type == "application/json"
    answer = await response.json()
    assert answer["result"] in {"allow", "deny", "ignore"}
    if answer["result"] == "allow":
        assert answer["is_superuser"] is False or check == "authz"
    return str(answer["result"])


async def test_emqx_authenticator(client: Any) -> None:
    creds = auth.device_credentials(PLUG.uuid, PLUG.secret)
    body = {
        "clientid": creds.client_id,
        "username": creds.username,
        "password": creds.password,
        "peerhost": "192.0.2.7",
    }
    assert await _emqx(client, "authn", body) == "allow"
    assert await _emqx(client, "authn", body) == "deny"
    wrong = auth.device_credentials(PLUG.uuid, LAMP.secret)
    assert (
        await _emqx(
            client, "authn", {**body, "username": wrong.username, "password": wrong.password}
        )
        == "deny"
    )
    hub = {"clientid": "rlink_hub_x", "username": HUB_USER, "password": HUB_PASSWORD}
    assert await _emqx(client, "authn", hub) == "allow"
    # Other clients of the broker are not ours: its next authenticator decides.
    other = {"clientid": "zigbee2mqtt", "username": "z2m", "password": "secret"}
    assert await _emqx(client, "authn", other) == "ignore"
    # method = get: the placeholders travel in the URL's query.
    fresh = auth.device_credentials(PLUG.uuid, PLUG.secret)
    query = {"clientid": fresh.client_id, "username": fresh.username, "password": fresh.password}
    response = await client.get(_url("emqx", "authn"), params=query)
    assert (await response.json()) == {"result": "allow", "is_superuser": False}


async def test_emqx_authorizer(client: Any) -> None:
    plug = {"clientid": _cid(PLUG), "username": _username(PLUG)}

    async def may(who: dict[str, str], action: str, topic: str) -> str:
        return await _emqx(client, "authz", {**who, "action": action, "topic": topic})

    assert await may(plug, "publish", _topic("report")) == "allow"
    assert await may(plug, "subscribe", _topic("issue")) == "allow"
    assert await may(plug, "publish", _topic("report", LAMP)) == "deny"
    assert await may(plug, "subscribe", "rlink/v2/#") == "deny"
    assert await may(plug, "all", _topic("report")) == "deny"  # it may not read its reports
    hub = {"clientid": "rlink_hub_x", "username": HUB_USER}
    assert await may(hub, "subscribe", "rlink/v2/+/+/report") == "allow"
    assert await may(hub, "subscribe", "$share/ha/rlink/v2/+/+/report") == "allow"
    other = {"clientid": "zigbee2mqtt", "username": "z2m"}
    assert await may(other, "subscribe", "zigbee2mqtt/#") == "ignore"
    assert await may(other, "subscribe", "#") == "deny"  # would read every device
    assert await may(other, "publish", _topic("issue")) == "deny"
    assert await may(other, "subscribe", "$share/g/+/v2/#") == "deny"


# --- mosquitto-go-auth ------------------------------------------------------------------------


async def _go_auth(client: Any, check: str, body: dict[str, Any], form: bool = False) -> int:
    """A call as mosquitto-go-auth's HTTP backend makes it (params mode json or form)."""
    url = _url("mosquitto", check)
    if form:
        response = await client.post(url, data={k: str(v) for k, v in body.items()})
    else:
        response = await client.post(url, json=body)
    status, text = await _text(response)
    assert (status, text) in {(200, "ok"), (403, "denied")}
    return int(status)


async def test_mosquitto_go_auth(client: Any) -> None:
    creds = auth.device_credentials(PLUG.uuid, PLUG.secret)
    login = {"username": creds.username, "password": creds.password, "clientid": creds.client_id}
    assert await _go_auth(client, "user", login) == 200
    assert await _go_auth(client, "user", login, form=True) == 403  # replayed
    fresh = auth.device_credentials(PLUG.uuid, PLUG.secret)
    form = {"username": fresh.username, "password": fresh.password, "clientid": fresh.client_id}
    assert await _go_auth(client, "user", form, form=True) == 200
    assert await _go_auth(client, "superuser", {"username": HUB_USER}) == 403
    # http_method GET still sends its JSON body.
    again = auth.device_credentials(PLUG.uuid, PLUG.secret)
    body = {"username": again.username, "password": again.password, "clientid": again.client_id}
    response = await client.get(_url("mosquitto", "user"), json=body)
    assert await _text(response) == (200, "ok")
    assert await _go_auth(client, "superuser", {"username": creds.username}) == 403

    plug = {"username": creds.username, "clientid": creds.client_id}
    assert await _go_auth(client, "acl", {**plug, "topic": _topic("report"), "acc": 2}) == 200
    assert await _go_auth(client, "acl", {**plug, "topic": _topic("issue"), "acc": 4}) == 200
    assert await _go_auth(client, "acl", {**plug, "topic": _topic("issue"), "acc": 1}) == 200
    assert await _go_auth(client, "acl", {**plug, "topic": _topic("issue"), "acc": 3}) == 403
    lamp_issue = _topic("issue", LAMP)
    assert await _go_auth(client, "acl", {**plug, "topic": lamp_issue, "acc": 1}, form=True) == 403
    hub = {"username": HUB_USER, "clientid": "rlink_hub_x"}
    assert await _go_auth(client, "acl", {**hub, "topic": "rlink/v2/+/+/report", "acc": 4}) == 200
    assert await _go_auth(client, "acl", {**hub, "topic": "#", "acc": 4}) == 403


# --- what every call goes through -------------------------------------------------------------


async def test_a_wrong_token_or_address_finds_nothing(
    hass: HomeAssistant, client: Any, service: BrokerAuthService
) -> None:
    creds = auth.device_credentials(PLUG.uuid, PLUG.secret)
    login = {"username": creds.username, "password": creds.password}
    assert (await client.post(_url("rabbitmq", "user", TOKEN[:-1] + "x"), data=login)).status == 404
    assert (await client.post(_url("rabbitmq", "user", "short"), data=login)).status == 404
    assert (await client.post(_url("rabbitmq", "nothing"), data=login)).status == 404
    assert (await client.post(_url("kafka", "user"), data=login)).status == 404
    service.allowed = parse_networks("192.0.2.0/24, 2001:db8::1")
    assert (await client.post(_url("rabbitmq", "user"), data=login)).status == 404
    service.allowed = parse_networks("127.0.0.1")
    assert await _text(await client.post(_url("rabbitmq", "user"), data=login)) == (200, "allow")


async def test_calls_are_rate_limited_per_address(
    hass: HomeAssistant, client: Any, service: BrokerAuthService
) -> None:
    registry = hass.data[DATA_BROKER_AUTH]
    registry.calls = RateLimiter(rate=0.0, burst=3)
    body = {"username": "z2m", "clientid": "z", "topic": "a/b", "action": "publish"}
    for _ in range(3):
        assert (await client.post(_url("emqx", "authz"), json=body)).status == 200
    assert (await client.post(_url("emqx", "authz"), json=body)).status == 429

    # Guessing tokens runs out sooner, and then the right token is refused too.
    registry.failures = RateLimiter(rate=0.0, burst=2)
    registry.calls = RateLimiter(rate=0.0, burst=100)
    for _ in range(2):
        assert (await client.post(_url("emqx", "authz", "guess"), json=body)).status == 404
    assert (await client.post(_url("emqx", "authz"), json=body)).status == 429

    table = RateLimiter(rate=1.0, burst=1.0, size=8)
    for n in range(100):
        table.take(f"192.0.2.{n}")
    assert len(table) == 8


async def test_bad_calls_are_refused_without_a_traceback(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emqx = _url("emqx", "authn")
    not_json = await client.post(
        emqx, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (not_json.status, await not_json.json()) == (200, {"result": "deny"})
    listed = await client.post(emqx, json=["username"])
    assert (await listed.json())["result"] == "deny"
    missing = await client.post(_url("rabbitmq", "topic"), data={"permission": "write"})
    assert await _text(missing) == (200, "deny")
    binary = await client.post(_url("mosquitto", "user"), data=b"\xff\xfe=\x00")
    assert binary.status == 403
    huge = await client.post(_url("rabbitmq", "user"), data={"username": "x" * (MAX_BODY + 1)})
    assert huge.status == 413
    long_name = {"username": "a|" + "signMethod=hmacSha256,ts=" + "9" * 5000, "password": "p"}
    assert await _text(await client.post(_url("rabbitmq", "user"), data=long_name)) == (
        200,
        "deny",
    )
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_what_counts_as_an_rlink_topic() -> None:
    for filter_ in ("#", "+/#", "rlink/#", "+/v2/+/+/report", "product/v2/p/issue", "$share/g/#"):
        assert touches_rlink(filter_), filter_
    for filter_ in ("home/#", "rlink", "rlink/v1/#", "+/v3/#", "zigbee2mqtt/+/set", "+/+"):
        assert not touches_rlink(filter_), filter_


async def test_the_flow_refuses_what_it_cannot_use(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    for step in ("local_hub", "external"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": step}
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"host": "127.0.0.1", "port": 1883, "broker_auth": True, "auth_allowed": "10.0.0.0/33"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"auth_allowed": "invalid_addresses"}
    # Home Assistant answers for its own login: it needs one.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": 1883, "broker_auth": True}
    )
    assert result["errors"] == {"base": "hub_account_required"}


async def test_reconfigure_lets_the_broker_ask_and_stop_asking(
    hass: HomeAssistant, hass_client_no_auth: Any, strict_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """An external-broker hub set up without Home Assistant checking the devices turns it on
    in reconfigure (addresses and snippets shown as at setup), keeps its token while it
    stays on, and gives the token up when turned off."""
    assert await async_setup_component(hass, "http", {})
    # The test server freezes its routes when it starts: whatever registers views first.
    for domain in (DOMAIN, "camera", "image"):
        assert await async_setup_component(hass, domain, {})
    client = await hass_client_no_auth()
    await hass.config.async_update(internal_url=str(client.make_url("")).rstrip("/"))
    broker = {"host": "127.0.0.1", "port": strict_mosquitto.port}

    async def login(token: str, username: str, password: str) -> int:
        """mosquitto-go-auth asking whether a client may log in."""
        response = await client.post(
            _url("mosquitto", "user", token), json={"username": username, "password": password}
        )
        return int(response.status)

    async def reconfigure(**fields: Any) -> Any:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
        )
        assert result["step_id"] == "reconfigure"
        assert {"broker_auth", "auth_allowed"} <= {str(k) for k in result["data_schema"].schema}
        return await hass.config_entries.flow.async_configure(
            result["flow_id"], {**broker, **fields}
        )

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    for step in ("local_hub", "external"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": step}
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**broker, "username": "hub", "password": "right"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    await hass.async_block_till_done()
    assert not entry.data.get("broker_auth")

    # Another hub takes the new address while the snippets are shown: nothing is saved.
    (tmp_path / "other").mkdir()
    other = Mosquitto(tmp_path / "other", users={"hub": "right"})
    await other.start()
    try:
        result = await reconfigure(port=other.port, broker_auth=True)
        assert result["step_id"] == "broker_auth"
        MockConfigEntry(domain=DOMAIN, unique_id=f"127.0.0.1:{other.port}").add_to_hass(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["reason"] == "already_configured"
    finally:
        await other.stop()
    assert entry.data["port"] == strict_mosquitto.port
    assert not entry.data.get("broker_auth")

    # On: a bad address list is refused, then the snippets, with a token of the hub's own.
    result = await reconfigure(broker_auth=True, auth_allowed="10.0.0.0/33")
    assert result["errors"] == {"auth_allowed": "invalid_addresses"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**broker, "broker_auth": True, "auth_allowed": "127.0.0.1"}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "broker_auth")
    placeholders = result["description_placeholders"]
    base = placeholders["url"]
    token = base.rsplit("/", 1)[1]
    assert base == f"{hass.config.internal_url}{URL_BASE}/{token}"
    assert f"auth_http.user_path = {base}/rabbitmq/user" in placeholders["rabbitmq"]
    assert f"{base}/emqx/authn" in placeholders["emqx"]
    assert (
        f"auth_opt_http_getuser_uri {URL_BASE}/{token}/mosquitto/user"
        in (placeholders["mosquitto"])
    )
    assert await login(token, "hub", "right") == 404  # nothing answers for it yet
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["reason"] == "reconfigure_successful", result
    await hass.async_block_till_done()
    assert entry.data["broker_auth"] is True
    assert (entry.data["auth_token"], entry.data["auth_allowed"]) == (token, "127.0.0.1")
    # The hub, restarted with it, answers the broker with its policy.
    assert entry.runtime_data.coordinator.transport.session.connected
    assert await login(token, "hub", "right") == 200
    assert await login(token, "hub", "wrong") == 403
    plug = device("plug", "reconfigured")
    await add_device(hass, entry, plug)
    creds = auth.device_credentials(plug.uuid, plug.secret)
    assert await login(token, creds.username, creds.password) == 200

    # Still on: the same token, so the broker's configuration stays good.
    result = await reconfigure(broker_auth=True, auth_allowed="127.0.0.1")
    assert result["step_id"] == "broker_auth"
    assert result["description_placeholders"]["url"] == base
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["auth_token"] == token

    # Off, the address list cleared: saved at once, and the token is gone with it.
    result = await reconfigure(broker_auth=False)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["broker_auth"] is False
    assert "auth_token" not in entry.data
    assert "auth_allowed" not in entry.data
    assert entry.runtime_data.coordinator.transport.session.connected
    assert await login(token, "hub", "right") == 404
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_device_reaching_for_others_topics_is_warned_about_once(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = {
        "clientid": _cid(PLUG),
        "username": _username(PLUG),
        "action": "publish",
        "topic": _topic("report", LAMP),
    }
    for _ in range(3):
        assert await _emqx(client, "authz", body) == "deny"
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name.endswith("broker_auth")
    ]
    assert len(warnings) == 1
    assert f"may not publish {_topic('report', LAMP)!r}" in warnings[0].getMessage()
