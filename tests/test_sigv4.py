"""The SigV4 signer: AWS's published test suite, and botocore's signer on random requests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.rlink.protocol import sigv4
from custom_components.rlink.protocol.sigv4 import Credentials

# AWS's Signature Version 4 test suite (Apache 2.0; see its NOTICE and LICENSE there).
SUITE = Path(__file__).parent / "data" / "aws-sig-v4-test-suite"
SUITE_CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
# Two cases' string to sign and signature are of an earlier form of their request (without
# Content-Length, and `charset=utf8`), not of the request and canonical request beside them:
# only the canonical request is checked there.
_CANONICAL_ONLY = {"post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters"}
CASES = sorted(path.parent for path in SUITE.rglob("*.req"))


def _parse(request: str) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """(method, path and query, headers in order, body) of one suite `.req` file.

    A line that starts with white space continues the header above it: another value."""
    head, _, body = request.partition("\n\n")
    request_line, *lines = head.split("\n")
    method, rest = request_line.split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    headers: list[tuple[str, str]] = []
    for line in lines:
        if line[:1].isspace():
            headers.append((headers[-1][0], line.strip()))
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, target, headers, body.encode()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_aws_test_suite(case: Path) -> None:
    def expected(suffix: str) -> str:
        return (case / f"{case.name}{suffix}").read_text()

    method, target, headers, body = _parse(expected(".req"))
    token = next((v for n, v in headers if n == "X-Amz-Security-Token"), "")
    after = case.name == "post-sts-header-after"
    if after:
        token = next(
            line.split(":", 1)[1]
            for line in (SUITE / "post-sts-token/post-sts-header-before")
            .joinpath("post-sts-header-before.req")
            .read_text()
            .splitlines()
            if line.startswith("X-Amz-Security-Token:")
        )
    # The signer adds the date and the token itself.
    given_headers = [
        (n, v) for n, v in headers if n.lower() not in ("x-amz-date", "x-amz-security-token")
    ]
    result = sigv4.sign(
        method,
        f"https://example.amazonaws.com{target}",
        given_headers,
        body,
        Credentials(SUITE_CREDENTIALS.access_key, SUITE_CREDENTIALS.secret_key, token),
        region="us-east-1",
        service="service",
        now=SUITE_TIME,
        sign_token=not after,
    )
    assert result.canonical_request == expected(".creq")
    if case.name in _CANONICAL_ONLY:
        return
    assert result.string_to_sign == expected(".sts")
    assert result.headers["Authorization"] == expected(".authz")
    assert result.headers["X-Amz-Date"] == "20150830T123600Z"
    if token:
        assert result.headers["X-Amz-Security-Token"] == token


def test_the_suite_is_all_there() -> None:
    """A suite that lost its files would pass by testing nothing."""
    assert len(CASES) >= 30
    assert all((c / f"{c.name}.authz").is_file() for c in CASES)


def test_credentials_do_not_show_their_secrets() -> None:
    shown = repr(Credentials("AKIAEXAMPLE", "the-secret-key", "the-session-token"))
    assert "AKIAEXAMPLE" in shown
    assert "the-secret" not in shown
    assert "the-session" not in shown


def test_s3_keeps_its_path_and_signs_the_payload() -> None:
    credentials = Credentials("AKIAEXAMPLE", "secret", "token")
    signed = sigv4.sign(
        "PUT",
        "http://127.0.0.1:9000/maps/map//a/../b.json",
        {"Content-Type": "application/json"},
        b"{}",
        credentials,
        region="us-east-1",
        service="s3",
        now=SUITE_TIME,
    )
    lines = signed.canonical_request.split("\n")
    assert lines[1] == "/maps/map//a/../b.json"  # S3 paths are keys, never normalised
    assert "host:127.0.0.1:9000" in lines
    assert signed.headers["X-Amz-Content-SHA256"] == lines[-1] != sigv4.EMPTY_SHA256
    assert "x-amz-security-token" in lines[-2].split(";")


# --- botocore, on requests it has never seen ----------------------------------------------------

_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=0, max_size=12
)
_SEGMENT = st.one_of(
    _TEXT.map(lambda text: text.replace("?", "").replace("#", "")),
    st.sampled_from([".", "..", ""]),
)
_HEADER_NAME = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,15}\Z").filter(
    lambda n: (
        n.lower()
        not in {
            "host",
            "authorization",
            "expect",
            "user-agent",
            "x-amzn-trace-id",
            "transfer-encoding",
            "x-amz-date",
            "x-amz-security-token",
            "x-amz-content-sha256",
            "content-md5",
        }
    )
)
_HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]),
    segments=st.lists(_SEGMENT, max_size=5),
    trailing=st.booleans(),
    query=st.lists(st.tuples(_TEXT, _TEXT), max_size=4),
    headers=st.dictionaries(_HEADER_NAME, _HEADER_VALUE, max_size=4),
    body=st.binary(max_size=64),
    token=st.sampled_from(["", "FwoGZXIvYXdzEJr//////////token"]),
    service=st.sampled_from(["sts", "s3", "execute-api"]),
    region=st.sampled_from(["us-east-1", "eu-west-3", "cn-north-1"]),
    port=st.sampled_from([None, 443, 9000]),
)
def test_same_signature_as_botocore(
    *,
    method: str,
    segments: list[str],
    trailing: bool,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
    token: str,
    service: str,
    region: str,
    port: int | None,
) -> None:
    path = "/" + "/".join(segments) + ("/" if trailing else "")
    # botocore signs an S3 path as the request line carries it: encoded already.
    wire_path = quote(path, safe="/~") if service == "s3" else path
    host = "example.amazonaws.com" + (f":{port}" if port else "")
    now = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    ours = sigv4.sign(
        method,
        f"https://{host}{path}"
        + ("?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)),
        headers,
        body,
        Credentials("AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token),
        region=region,
        service=service,
        now=now,
    )
    request = AWSRequest(
        method=method, url=f"https://{host}{wire_path}", headers=headers, data=body, params=query
    )
    auth = (S3SigV4Auth if service == "s3" else SigV4Auth)(
        BotoCredentials("AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token or None), service, region
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        auth.add_auth(request)
    assert ours.headers["Authorization"] == request.headers["Authorization"]
    assert ours.headers["X-Amz-Date"] == request.headers["X-Amz-Date"]
    if token:
        assert ours.headers["X-Amz-Security-Token"] == request.headers["X-Amz-Security-Token"]
