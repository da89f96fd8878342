"""Temporary upload credentials: Home Assistant asks the store's STS (AssumeRole, signed
with the long-lived keys) and the vacuum uploads with what it got, which the store checks
with botocore and refuses after expiry."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import aiohttp
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component

from custom_components.rlink.const import DOMAIN
from custom_components.rlink.diagnostics import async_get_config_entry_diagnostics
from custom_components.rlink.local.store_credentials import REFRESH_MARGIN, session_policy
from custom_components.rlink.protocol import sts
from custom_components.rlink.protocol.codes import DeviceEvent as Evt
from custom_components.rlink.protocol.sigv4 import Credentials
from tools.rlink_sim import Simulator
from tools.rlink_sim.files import ObjectStore

from .brokers import free_port, until
from .hub import device, entity_id, hub_with, set_device_settings

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")

ROLE = "arn:aws:iam::123456789012:role/vacuum-maps"


def _storage(store: ObjectStore, **extra: Any) -> dict[str, Any]:
    return {
        "store_bucket": store.bucket,
        "store_region": store.region,
        "store_access_key": store.access_key,
        "store_secret_key": store.secret_key,
        "store_public_url": store.public_url,
        "store_role_arn": ROLE,
        "store_sts_url": store.url,
        **extra,
    }


async def _put_with_botocore(url: str, body: bytes, grant: dict[str, Any]) -> tuple[int, str]:
    """A PUT signed by botocore (not by the integration's signer) with a grant's keys."""
    request = AWSRequest(method="PUT", url=url, data=body, headers={"Content-Type": "text/plain"})
    credentials = BotoCredentials(
        grant["accessKeyId"], grant["secretAccessKey"], grant["sessionToken"] or None
    )
    S3SigV4Auth(credentials, "s3", grant["region"]).add_auth(request)
    async with (
        aiohttp.ClientSession() as http,
        http.put(url, data=body, headers=dict(request.headers.items())) as response,
    ):
        return response.status, await response.text()


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """What Home Assistant logged (botocore, signing for the test, logs its own steps)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("botocore"))


# --- the AssumeRole client on its own ------------------------------------------------------------


async def test_assume_role_against_the_store() -> None:
    async with ObjectStore("maps", role_arn=ROLE) as store, aiohttp.ClientSession() as http:
        long_lived = Credentials(store.access_key, store.secret_key)

        async def ask(credentials: Credentials, role: str = ROLE, url: str = store.url) -> Any:
            return await sts.assume_role(
                http,
                url,
                credentials,
                region=store.region,
                role_arn=role,
                role_session_name=sts.session_name("rlink-vac"),
                duration=3600,
                policy=session_policy("maps", "map/vac/", store.region),
                now=datetime.now(UTC),
            )

        granted = await ask(long_lived)
        assert granted.credentials.access_key in store.issued
        assert granted.credentials.access_key != store.access_key
        assert abs(granted.expires - (time.time() + 3600)) < 5
        assert store.assumed[0]["RoleArn"] == ROLE
        assert json.loads(store.assumed[0]["Policy"])["Statement"][0]["Resource"] == [
            "arn:aws:s3:::maps/map/vac/*"
        ]

        for credentials, role, code in (
            (Credentials(store.access_key, "wrong"), ROLE, "SignatureDoesNotMatch"),
            (Credentials("AKIANOBODY", store.secret_key), ROLE, "InvalidAccessKeyId"),
            (long_lived, "arn:aws:iam::123456789012:role/other", "AccessDenied"),
            (granted.credentials, ROLE, "AccessDenied"),  # temporary keys assume nothing
        ):
            with pytest.raises(sts.StsError) as refused:
                await ask(credentials, role)
            assert refused.value.failure is sts.StsFailure.REFUSED
            assert refused.value.code == code

        with pytest.raises(sts.StsError) as unreachable:
            await ask(long_lived, url=f"http://127.0.0.1:{free_port()}")
        assert unreachable.value.failure is sts.StsFailure.UNREACHABLE


_ANSWER = (
    b'<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn>"
    b"<AssumedRoleId>ARO:s</AssumedRoleId></AssumedRoleUser><Credentials>"
    b"<AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>"
    b"<SessionToken>token</SessionToken><Expiration>2026-12-01T20:00:00Z</Expiration>"
    b"</Credentials><PackedPolicySize>6</PackedPolicySize></AssumeRoleResult>"
    b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"
)


def test_an_answer_is_read_whatever_its_namespace() -> None:
    for body in (
        _ANSWER,
        _ANSWER.replace(b' xmlns="https://sts.amazonaws.com/doc/2011-06-15/"', b""),
    ):
        granted = sts.parse_response(200, body)
        assert granted.credentials == Credentials("ASIAEXAMPLE", "secret", "token")
        assert granted.expires == int(datetime(2026, 12, 1, 20, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("status", "body", "failure"),
    [
        (
            403,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            b"<Message>not authorized</Message></Error></ErrorResponse>",
            sts.StsFailure.REFUSED,
        ),
        (503, b"", sts.StsFailure.UNREACHABLE),
        (404, b"<html><body>Not found</body></html>", sts.StsFailure.INVALID_RESPONSE),
        (302, b"", sts.StsFailure.INVALID_RESPONSE),
        (200, b"<html>a captive portal", sts.StsFailure.INVALID_RESPONSE),
        (
            200,
            _ANSWER.replace(b"<SessionToken>token</SessionToken>", b""),
            sts.StsFailure.INVALID_RESPONSE,
        ),
        (200, _ANSWER.replace(b"2026-12-01T20:00:00Z", b"soon"), sts.StsFailure.INVALID_RESPONSE),
        (200, _ANSWER.replace(b"T20:00:00Z", b"T20:00:00"), sts.StsFailure.INVALID_RESPONSE),
        (200, _ANSWER + b" " * sts.MAX_RESPONSE, sts.StsFailure.INVALID_RESPONSE),
        (
            200,
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>',
            sts.StsFailure.INVALID_RESPONSE,
        ),
        (
            200,
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r><r/>'.encode("utf-16"),
            sts.StsFailure.INVALID_RESPONSE,
        ),
    ],
)
def test_a_bad_answer_is_a_clear_error(status: int, body: bytes, failure: sts.StsFailure) -> None:
    with pytest.raises(sts.StsError) as err:
        sts.parse_response(status, body)
    assert err.value.failure is failure


def test_session_names_and_endpoints() -> None:
    assert sts.session_name("rlink-ab:c/d") == "rlink-ab-c-d"
    assert len(sts.session_name("x" * 100)) == 64
    assert sts.session_name("") == "--"
    assert sts.default_endpoint("eu-west-3") == "https://sts.eu-west-3.amazonaws.com"
    assert sts.default_endpoint("cn-north-1") == "https://sts.cn-north-1.amazonaws.com.cn"
    assert sts.default_endpoint("") == "https://sts.amazonaws.com"
    assert '"arn:aws-cn:s3:::b/map/u/*"' in session_policy("b", "map/u/", "cn-north-1")


# --- end to end: Home Assistant, the store and the simulated vacuum ------------------------------


async def test_the_vacuum_uploads_with_temporary_credentials(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.rlink")
    assert await async_setup_component(hass, "http", {})
    async with ObjectStore("maps", role_arn=ROLE) as store:
        vac, other = device("vacuum", clean_seconds=2.0, store_url=store.url), device("vacuum", "b")
        entry = await hub_with(hass, vac, other)
        await set_device_settings(hass, entry, vac.uuid, storage=_storage(store))
        async with Simulator(
            "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [vac]
        ) as sim:
            robot = sim.device(vac.uuid)
            # The simulated vacuum cleans, asks for credentials and uploads its map with them.
            vacuum = entity_id(hass, "vacuum", vac.uuid, "vacuum")
            await until(lambda: hass.states.get(vacuum).state == "docked")
            await hass.services.async_call("vacuum", "start", {"entity_id": vacuum}, blocking=True)
            await until(lambda: bool(robot.cleaning.maps), seconds=30)
            [(key, _)] = [(k, v) for k, v in store.objects.items() if k.startswith("map/")]
            assert key.startswith(f"map/{vac.uuid}/")
            assert len(store.assumed) == 1
            assert store.assumed[0]["RoleSessionName"] == f"rlink-{vac.uuid}"

            # What the vacuum was given: temporary keys with their real expiry, never the
            # long-lived ones.
            reply = await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
            assert reply is not None
            assert reply.res == 0, reply.msg
            grant = reply.data
            issued = store.issued[grant["accessKeyId"]]
            assert grant["secretAccessKey"] == issued.secret_key
            assert grant["sessionToken"] == issued.session_token
            assert grant["expiredTime"] == issued.expires
            assert store.access_key not in json.dumps(grant)
            assert store.secret_key not in json.dumps(grant)
            assert len(store.assumed) == 1  # kept, not asked for again

            # They write only under the vacuum's own directory.
            status, text = await _put_with_botocore(
                f"{store.public_url}/map/{other.uuid}/x.json", b"{}", grant
            )
            assert (status, "AccessDenied") == (403, store.refusals[-1]), text
            status, _ = await _put_with_botocore(
                f"{store.public_url}/map/{vac.uuid}/by-botocore.json", b"{}", grant
            )
            assert status == 200

            # A record upload has its own directory, so its own credentials.
            record = await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "record"})
            assert record is not None
            assert record.data["authDir"] == f"record/{vac.uuid}/"
            assert record.data["accessKeyId"] != grant["accessKeyId"]
            assert len(store.assumed) == 2

            # Shortly before they expire, the next request gets fresh ones.
            credentials = entry.runtime_data.coordinator.transport.answers.store_credentials
            credentials._clock = lambda: grant["expiredTime"] - REFRESH_MARGIN + 1
            fresh = await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
            assert fresh is not None
            assert fresh.res == 0
            assert fresh.data["accessKeyId"] != grant["accessKeyId"]
            assert len(store.assumed) == 3

        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    shown = json.dumps(diagnostics)
    for secret in (ROLE, store.url, store.access_key, store.secret_key, grant["secretAccessKey"]):
        assert secret not in shown
    for secret in (store.secret_key, grant["secretAccessKey"], grant["sessionToken"]):
        assert secret not in _logged(caplog)


async def test_expired_credentials_are_refused_by_the_store(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "http", {})
    # A role whose sessions last two seconds: the store grants no more, whatever is asked.
    async with ObjectStore("maps", role_arn=ROLE, max_lifetime=2) as store:
        vac = device("vacuum")
        entry = await hub_with(hass, vac)
        await set_device_settings(hass, entry, vac.uuid, storage=_storage(store))
        async with Simulator(
            "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [vac]
        ) as sim:
            robot = sim.device(vac.uuid)
            reply = await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
            assert reply is not None
            grant = reply.data
            assert grant["expiredTime"] <= time.time() + 2
            url = f"{store.public_url}/map/{vac.uuid}/early.json"
            assert (await _put_with_botocore(url, b"{}", grant))[0] == 200
            await until(lambda: time.time() >= grant["expiredTime"], seconds=10)
            status, _ = await _put_with_botocore(url, b"{}", grant)
            assert (status, store.refusals[-1]) == (400, "ExpiredToken")
            # Expired credentials are not handed out again.
            again = await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
            assert again is not None
            assert again.data["accessKeyId"] != grant["accessKeyId"]


async def test_a_store_that_refuses_gets_a_repair_and_one_log_line(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    assert await async_setup_component(hass, "http", {})
    async with ObjectStore("maps", role_arn=ROLE) as store:
        vac = device("vacuum")
        entry = await hub_with(hass, vac)
        await set_device_settings(
            hass, entry, vac.uuid, storage=_storage(store, store_secret_key="not-the-key")
        )
        issue_id = f"store_credentials_{vac.uuid}"
        async with Simulator(
            "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [vac]
        ) as sim:
            robot = sim.device(vac.uuid)
            for _ in range(3):
                assert await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"}) is None
                assert "1001" in robot.errors[-1]
            assert store.refusals == ["SignatureDoesNotMatch"] * 3
            warnings = [
                r
                for r in caplog.records
                if r.levelno >= logging.WARNING and "temporary" in r.message
            ]
            assert len(warnings) == 1
            assert "SignatureDoesNotMatch" in warnings[0].message
            issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
            assert issue is not None
            assert issue.translation_key == "store_credentials_refused"
            assert issue.translation_placeholders is not None
            assert issue.translation_placeholders["endpoint"] == store.url

            # Put right, the next request succeeds and the repair goes.
            await set_device_settings(hass, entry, vac.uuid, storage=_storage(store))
            reply = await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
            assert reply is not None
            assert reply.res == 0
            assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert "not-the-key" not in _logged(caplog)
    assert store.secret_key not in _logged(caplog)


async def test_without_a_role_the_long_lived_keys_are_handed_out(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "http", {})
    async with ObjectStore("maps") as store:
        vac = device("vacuum")
        entry = await hub_with(hass, vac)
        await set_device_settings(
            hass, entry, vac.uuid, storage=_storage(store, store_role_arn="", store_sts_url="")
        )
        async with Simulator(
            "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [vac]
        ) as sim:
            reply = await sim.device(vac.uuid).send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
            assert reply is not None
            assert reply.data["accessKeyId"] == store.access_key
            assert reply.data["sessionToken"] == ""
            assert store.assumed == []
            # The store takes them as they are: long-lived, no token.
            status, _ = await _put_with_botocore(
                f"{store.public_url}/map/{vac.uuid}/k.json", b"{}", reply.data
            )
            assert status == 200


async def test_the_session_is_home_assistant_s(hass: HomeAssistant) -> None:
    """inject-websession: the AssumeRole call goes through Home Assistant's shared session."""
    assert await async_setup_component(hass, "http", {})
    async with ObjectStore("maps", role_arn=ROLE) as store:
        vac = device("vacuum")
        entry = await hub_with(hass, vac)
        await set_device_settings(hass, entry, vac.uuid, storage=_storage(store))
        with mock.patch(
            "custom_components.rlink.local.store_credentials.async_get_clientsession",
            wraps=async_get_clientsession,
        ) as sessions:
            async with Simulator(
                "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [vac]
            ) as sim:
                reply = await sim.device(vac.uuid).send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
        assert reply is not None
        assert reply.res == 0
        sessions.assert_called_once_with(hass)


async def test_a_vacuum_that_asks_again_while_waiting_is_told_busy(hass: HomeAssistant) -> None:
    """One AssumeRole at a time per vacuum: a repeated request does not pile up work."""
    assert await async_setup_component(hass, "http", {})
    release = asyncio.Event()
    real = sts.assume_role

    async def slow(*args: Any, **kwargs: Any) -> sts.TemporaryCredentials:
        await release.wait()
        return await real(*args, **kwargs)

    async with ObjectStore("maps", role_arn=ROLE) as store:
        vac = device("vacuum")
        entry = await hub_with(hass, vac)
        await set_device_settings(hass, entry, vac.uuid, storage=_storage(store))
        with mock.patch("custom_components.rlink.local.store_credentials.sts.assume_role", slow):
            async with Simulator(
                "127.0.0.1", entry.runtime_data.coordinator.transport.broker.port, [vac]
            ) as sim:
                robot = sim.device(vac.uuid)
                first = asyncio.ensure_future(robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"}))
                await until(lambda: bool(entry.runtime_data.coordinator.transport._answering))
                assert await robot.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"}) is None
                assert "busy" in robot.errors[-1]
                release.set()
                reply = await first
                assert reply is not None
                assert reply.res == 0
    assert len(store.assumed) == 1
