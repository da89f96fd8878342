"""The app REST client: builders, the auth scheme, errors and retries, against real servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from custom_components.rlink.protocol import rest
from custom_components.rlink.protocol.auth import SignMethod, app_credentials, sign, verify_app
from custom_components.rlink.protocol.errors import DeviceNotFound, ProtocolError
from custom_components.rlink.protocol.rest import Endpoint, RestClient

USER, SECRET = "C8NaEHry9Gjw0EM0", "app-secret"

BUILDERS: dict[Endpoint, Callable[[], rest.RestRequest]] = {
    Endpoint.PROPS_ISSUE: lambda: rest.props_issue("d1", {"switch": True}),
    Endpoint.BATCH_PROPS_ISSUE: lambda: rest.batch_props_issue(["d1", "d2"], {"switch": True}),
    Endpoint.PROPS_REPORT: lambda: rest.props_report("d1", {"temp": 20}),
    Endpoint.OTA_ISSUE: lambda: rest.ota_issue(
        "d1", task_id="t1", url="https://x/f.bin", version="2.0", file_size=10, md5sum="ab"
    ),
    Endpoint.OTA_BATCH_ISSUE: lambda: rest.ota_batch_issue([("t1", "d1"), ("t1", "d2")]),
    Endpoint.SCAN_ISSUE: lambda: rest.scan_issue("g1", seconds=30, pids=["p1"]),
    Endpoint.GROUP_PROPS_ISSUE: lambda: rest.group_props_issue("grp", {"switch": False}),
    Endpoint.ONEKEY_EXECUTE_ISSUE: lambda: rest.onekey_execute_issue("scene1"),
    Endpoint.WAKE_UP_ISSUE: lambda: rest.wake_up_issue("d1"),
    Endpoint.NOTIFY_DEVICE_JOIN: lambda: rest.notify_device_join("d1", "live"),
    Endpoint.COMMON_CMD: lambda: rest.common_cmd("d1", "start_talk", {"a": 1}),
    Endpoint.REBOOT: lambda: rest.reboot("d1"),
    Endpoint.SUB_REPLACE: lambda: rest.sub_replace("d1", "rn01aaaaaaaaaaaa"),
    Endpoint.PROPS_GET: lambda: rest.props_get("d1", ["switch"]),
    Endpoint.CONFIG_SETTINGS: lambda: rest.config_settings(
        "d1", "white_list", {"operatorType": 1, "uuids": ["u"]}
    ),
    Endpoint.CHECK_SIGNAL: lambda: rest.check_signal("d1"),
    Endpoint.WEBRTC_SIGNAL_EXCHANGE: lambda: rest.webrtc_signal_exchange(
        "d1", "peer_1", "SDP_OFFER", '{"type":"offer","sdp":"v=0"}'
    ),
}


def test_a_builder_for_every_endpoint() -> None:
    assert set(BUILDERS) == set(Endpoint)
    assert len(Endpoint) == 17
    for endpoint, build in BUILDERS.items():
        assert build().endpoint is endpoint


def test_builder_bodies_follow_the_spec() -> None:
    assert rest.props_get("d1").body == {"deviceId": "d1", "reportAll": True}
    assert rest.props_get("d1", ["a"]).body == {"deviceId": "d1", "reportAll": False, "dps": ["a"]}
    assert rest.ota_batch_issue([("t", "d")]).body == [{"taskId": "t", "deviceId": "d"}]
    assert rest.scan_issue("g").body == {"deviceId": "g", "second": 60, "bind": True, "find": True}
    assert rest.ota_issue("d", task_id="t", url="u", version="2", file_size=3, md5sum="m").body == {
        "deviceId": "d",
        "taskId": "t",
        "firmwareType": 2,
        "fileSize": 3,
        "md5sum": "m",
        "url": "u",
        "version": "2",
    }
    for bad in (
        lambda: rest.reboot(""),
        lambda: rest.batch_props_issue([], {}),
        lambda: rest.group_props_issue("", {}),
        lambda: rest.onekey_execute_issue(""),
        lambda: rest.sub_replace("d", ""),
        lambda: rest.ota_batch_issue([]),
    ):
        with pytest.raises(ProtocolError):
            bad()


def test_auth_headers_sign_like_the_app_login() -> None:
    headers = rest.auth_headers(USER, SECRET, SignMethod.HMAC_SHA1, ts=1626197189, token="tok")
    assert headers[rest.HEADER_SIGNATURE] == sign(SECRET, USER, 1626197189, SignMethod.HMAC_SHA1)
    assert headers["Authorization"] == "Bearer tok"
    assert "Authorization" not in rest.auth_headers(USER, SECRET, SignMethod.HMAC_SHA256)
    # The same secret signs the MQTT login, which the broker checks with verify_app.
    login = app_credentials(USER, SECRET, SignMethod.HMAC_SHA1, ts=1626197189)
    assert login.password == headers[rest.HEADER_SIGNATURE]
    assert login.client_id == f"app_{USER}|1626197189"
    verify_app(login.client_id, login.username, login.password, SECRET)


def test_auth_headers_are_verified() -> None:
    secrets = {USER: SECRET}.get
    headers = rest.auth_headers(USER, SECRET, SignMethod.HMAC_SHA256)
    assert rest.verify_auth_headers(headers, secrets) == USER
    for tampered in (
        {**headers, rest.HEADER_SIGNATURE: "0" * 64},
        {**headers, rest.HEADER_USER: "someone"},
        {**headers, rest.HEADER_TS: "12"},
        {**headers, rest.HEADER_SIGN_METHOD: "md5"},
        {k: v for k, v in headers.items() if k != rest.HEADER_TS},
    ):
        with pytest.raises(ProtocolError):
            rest.verify_auth_headers(tampered, secrets)
    old = rest.auth_headers(USER, SECRET, SignMethod.HMAC_SHA256, ts=1_000_000)
    assert rest.verify_auth_headers(old, secrets, max_skew=None) == USER
    with pytest.raises(ProtocolError, match="away from now"):
        rest.verify_auth_headers(old, secrets)


class Server:
    """A REST server whose answers a test scripts: a list of (status, body) per call."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = []
        self.seen: list[tuple[str, Any, dict[str, str]]] = []
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            (request.match_info["endpoint"], await request.json(), dict(request.headers))
        )
        await asyncio.sleep(self.delay)
        status, body = self.answers.pop(0) if self.answers else (200, {"code": 0, "data": {}})
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)


@pytest.fixture(name="server")
async def fixture_server(sockets: None) -> AsyncIterator[tuple[Server, RestClient]]:
    server = Server()
    app = web.Application()
    app.router.add_post(rest.BASE_PATH + "{endpoint}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        client = RestClient(
            http, f"http://127.0.0.1:{port}/", USER, SECRET, token="tok", timeout=1, retry_delay=0
        )
        yield server, client
    await runner.cleanup()


async def test_call_posts_the_body_with_signed_headers(server: tuple[Server, RestClient]) -> None:
    srv, client = server
    srv.answers = [(200, {"code": 0, "msg": "ok", "data": {"x": 1}})]
    assert await client.call(rest.props_issue("d1", {"switch": True})) == {"x": 1}
    endpoint, body, headers = srv.seen[0]
    assert endpoint == "propsIssue"
    assert body == {"deviceId": "d1", "data": {"switch": True}}
    assert rest.verify_auth_headers(headers, {USER: SECRET}.get) == USER
    assert headers["Authorization"] == "Bearer tok"


async def test_errors_are_told_apart(server: tuple[Server, RestClient]) -> None:
    srv, client = server
    srv.answers = [
        (200, {"code": 1004, "msg": "no such device"}),
        (401, {"msg": "who are you"}),
        (500, {"msg": "boom"}),
        (200, "<html>"),
        (200, ""),
        (200, {"res": 0, "data": [1]}),
        (200, {"code": "x"}),
    ]
    with pytest.raises(DeviceNotFound, match="no such device"):
        await client.call(rest.reboot("d1"))
    with pytest.raises(rest.RestAuthError):
        await client.call(rest.reboot("d1"))
    with pytest.raises(rest.RestHttpError) as err:
        await client.call(rest.reboot("d1"))
    assert err.value.status == 500
    with pytest.raises(rest.RestBadResponse):
        await client.call(rest.reboot("d1"))
    assert await client.call(rest.reboot("d1")) is None
    assert await client.call(rest.reboot("d1")) == [1]
    with pytest.raises(rest.RestBadResponse):
        await client.call(rest.reboot("d1"))
    assert len(srv.seen) == 7  # nothing was retried: reboot is not idempotent
    assert client.failures == 5


async def test_only_idempotent_calls_are_retried(server: tuple[Server, RestClient]) -> None:
    srv, client = server
    srv.answers = [(503, {}), (502, {}), (200, {"code": 0, "data": {"ok": True}})]
    assert await client.call(rest.props_get("d1")) == {"ok": True}
    assert [s[0] for s in srv.seen] == ["propsGet"] * 3
    srv.seen.clear()
    srv.answers = [(503, {}), (200, {"code": 0})]
    with pytest.raises(rest.RestHttpError):
        await client.call(rest.props_issue("d1", {"a": 1}))
    assert len(srv.seen) == 1
    srv.seen.clear()
    srv.answers = [(503, {})] * 3
    with pytest.raises(rest.RestHttpError):
        await client.call(rest.check_signal("d1"))
    assert len(srv.seen) == 3
    # A refusal is an answer, not a failure to answer: no retry.
    srv.seen.clear()
    srv.answers = [(200, {"code": 1004})]
    with pytest.raises(DeviceNotFound):
        await client.call(rest.check_signal("d1"))
    assert len(srv.seen) == 1


async def test_timeouts_and_unreachable_hosts(server: tuple[Server, RestClient]) -> None:
    srv, client = server
    srv.delay = 2.0
    with pytest.raises(rest.RestUnreachable, match="no answer in time"):
        await client.call(rest.reboot("d1"))
    async with aiohttp.ClientSession() as http:
        nowhere = RestClient(http, "http://127.0.0.1:9", USER, SECRET, timeout=1, retry_delay=0)
        with pytest.raises(rest.RestUnreachable):
            await nowhere.call(rest.check_signal("d1"))
