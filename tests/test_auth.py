"""Credentials: the spec's worked examples, round trips and constant-time verification."""

from __future__ import annotations

import hmac
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.rlink.protocol import auth
from custom_components.rlink.protocol.auth import SignMethod
from custom_components.rlink.protocol.errors import ProtocolError

TS = 1662544613
# (uuid, secret, method, password) — the four worked examples of the protocol document
VECTORS = [
    (
        "rn014ebe0C20E122",
        "ef958e891ffa4c72ba6c64e73c5dd422",
        SignMethod.HMAC_SHA1,
        "ca4ff69d9408da837ed361bd5458b9c1f92c8cbb",
    ),
    (
        "rn014ebe0C20E122",
        "ef958e891ffa4c72ba6c64e73c5dd422",
        SignMethod.HMAC_SHA256,
        "833f4da1801f825232b5da71e1a965ac958181bb9b756934b3c3b05c8f600551",
    ),
    (
        "rn010c0B9cB35EA9",
        "adf2866e8ed94a5da5d45ee4e213f2a5",
        SignMethod.HMAC_SHA1,
        "4f3bd5555cebe64ebb72ec846616251c032449b9",
    ),
    (
        "rn010c0B9cB35EA9",
        "adf2866e8ed94a5da5d45ee4e213f2a5",
        SignMethod.HMAC_SHA256,
        "c98f698b9b86357f456daa46eee15d1fed82937eaa5671e24f4f987422ddc80b",
    ),
]


@pytest.mark.parametrize(("uuid", "secret", "method", "password"), VECTORS)
def test_worked_examples(uuid: str, secret: str, method: SignMethod, password: str) -> None:
    creds = auth.device_credentials(uuid, secret, method, ts=TS)
    assert creds.client_id == f"rlink_{uuid}_V2"
    assert creds.username == f"{uuid}|signMethod={method},ts={TS}"
    assert creds.password == password
    assert password not in repr(creds)
    parsed = auth.verify_device(creds.client_id, creds.username, password, secret)
    assert parsed == auth.Username(uuid, method, TS)


def test_app_credentials() -> None:
    creds = auth.app_credentials(
        "C8NaEHry9Gjw0EM0", "app-secret", SignMethod.HMAC_SHA1, ts=1626197189
    )
    assert creds.client_id == "app_C8NaEHry9Gjw0EM0|1626197189"
    assert creds.username == "C8NaEHry9Gjw0EM0|signMethod=hmacSha1,ts=1626197189"
    # The app signs "uuid=<userId>,ts=<ts>" like a device does.
    assert creds.password == auth.sign(
        "app-secret", "C8NaEHry9Gjw0EM0", 1626197189, SignMethod.HMAC_SHA1
    )
    assert auth.verify_password("app-secret", auth.parse_username(creds.username), creds.password)


@mock.patch.dict(auth._last_ts, clear=True)
def test_fresh_ts_by_default() -> None:
    with mock.patch("custom_components.rlink.protocol.auth.time.time", return_value=1000.7):
        first = auth.device_credentials("rn014ebe0C20E122", "s" * 32)
    with mock.patch("custom_components.rlink.protocol.auth.time.time", return_value=1005.2):
        second = auth.device_credentials("rn014ebe0C20E122", "s" * 32)
    assert (first.ts, second.ts) == (1000, 1005)
    assert first.password != second.password


@mock.patch.dict(auth._last_ts, clear=True)
def test_a_login_within_the_same_second_still_gets_a_new_ts() -> None:
    """A server accepts each ts once: reconnecting at once must not reuse it."""
    with mock.patch("custom_components.rlink.protocol.auth.time.time", return_value=1000.2):
        first = auth.device_credentials("rn014ebe0C20E122", "s" * 32)
        again = auth.device_credentials("rn014ebe0C20E122", "s" * 32)
        app = auth.app_credentials("user1", "secret")
    assert (first.ts, again.ts, app.ts) == (1000, 1001, 1000)


def test_verification_uses_compare_digest() -> None:
    with mock.patch.object(hmac, "compare_digest", wraps=hmac.compare_digest) as spy:
        uuid, secret, method, password = VECTORS[1]
        assert auth.verify_password(secret, auth.Username(uuid, method, TS), password)
    spy.assert_called_once()


@pytest.mark.parametrize(
    ("client_id", "username", "password", "field"),
    [
        (
            "rlink_rn014ebe0C20E122_V2",
            f"rn014ebe0C20E122|signMethod=hmacSha256,ts={TS}",
            "0" * 64,
            "password",
        ),
        # signature made with sha1 but announced as sha256
        (
            "rlink_rn014ebe0C20E122_V2",
            f"rn014ebe0C20E122|signMethod=hmacSha256,ts={TS}",
            VECTORS[0][3],
            "password",
        ),
        (
            "rlink_rn014ebe0C20E122_V2",
            f"rn014ebe0C20E122|signMethod=md5,ts={TS}",
            VECTORS[0][3],
            "username",
        ),
        (
            "rlink_rn010c0B9cB35EA9_V2",
            f"rn014ebe0C20E122|signMethod=hmacSha1,ts={TS}",
            VECTORS[0][3],
            "client_id",
        ),
        (
            "rn014ebe0C20E122",
            f"rn014ebe0C20E122|signMethod=hmacSha1,ts={TS}",
            VECTORS[0][3],
            "client_id",
        ),
        ("rlink__V2", f"rn014ebe0C20E122|signMethod=hmacSha1,ts={TS}", VECTORS[0][3], "client_id"),
        ("rlink_rn014ebe0C20E122_V2", "rn014ebe0C20E122", VECTORS[0][3], "username"),
        ("rlink_rn014ebe0C20E122_V2", "rn014ebe0C20E122|ts=1", VECTORS[0][3], "username"),
        (
            "rlink_rn014ebe0C20E122_V2",
            "rn014ebe0C20E122|signMethod=hmacSha1,ts=-1",
            VECTORS[0][3],
            "username",
        ),
        (
            "rlink_rn014ebe0C20E122_V2",
            "rn014ebe0C20E122|signMethod=hmacSha1,ts=1,ts=2",
            VECTORS[0][3],
            "username",
        ),
        (
            "rlink_rn014ebe0C20E122_V2",
            "rn014ebe0C20E122|signMethod=hmacSha1,ts=1,x=2",
            VECTORS[0][3],
            "username",
        ),
        ("rlink_rn014ebe0C20E122_V2", "|signMethod=hmacSha1,ts=1", VECTORS[0][3], "username"),
        ("rlink_rn014ebe0C20E122_V2", "rn01/#|signMethod=hmacSha1,ts=1", VECTORS[0][3], "username"),
    ],
)
def test_refusals_name_the_part(client_id: str, username: str, password: str, field: str) -> None:
    with pytest.raises(ProtocolError) as err:
        auth.verify_device(client_id, username, password, VECTORS[0][1])
    assert err.value.field == field


def test_optional_skew_window() -> None:
    uuid, secret, method, password = VECTORS[0]
    creds = auth.device_credentials(uuid, secret, method, ts=TS)
    with mock.patch("custom_components.rlink.protocol.auth.time.time", return_value=TS + 30):
        auth.verify_device(creds.client_id, creds.username, password, secret, max_skew=60)
        with pytest.raises(ProtocolError, match="away from now"):
            auth.verify_device(creds.client_id, creds.username, password, secret, max_skew=10)


def test_identity_must_be_topic_safe() -> None:
    with pytest.raises(ProtocolError):
        auth.device_credentials("rn01/+", "s" * 32)
    with pytest.raises(ProtocolError):
        auth.app_credentials("a|b", "s")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("rn014ebe0C20E122", True),
        ("rn010c0B9cB35EA9", True),
        ("inv01De86b75d01bb", True),  # the spec's camera
        ("inv01cfbAaeb1E02E", True),  # the spec's vacuum
        ("rn014ebe0C20E12", False),
        ("01014ebe0C20E122", False),  # no product letters
        ("aaaaaxxxx", False),  # a placeholder of the spec
        ("uuid1", False),
        ("rn014ebe0C20E12Z", False),
        ("rn01-ebe0C20E122", False),
        ("", False),
    ],
)
def test_uuid_shape(value: str, ok: bool) -> None:
    assert auth.is_device_uuid(value) is ok


identities = st.text(
    alphabet=st.characters(
        blacklist_characters="|/+#,= \t\n\r\x00", blacklist_categories=("Cs", "Zs", "Cc")
    ),
    min_size=1,
    max_size=24,
)


@given(
    identity=identities,
    secret=st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s),
    ts=st.integers(min_value=0, max_value=2**40),
    method=st.sampled_from(list(SignMethod)),
)
def test_credential_round_trip(identity: str, secret: str, ts: int, method: SignMethod) -> None:
    creds = auth.device_credentials(identity, secret, method, ts=ts)
    assert auth.device_uuid_from_client_id(creds.client_id) == identity
    parsed = auth.verify_device(creds.client_id, creds.username, creds.password, secret)
    assert parsed == auth.Username(identity, method, ts)
    assert not auth.verify_password(secret + "x", parsed, creds.password)
