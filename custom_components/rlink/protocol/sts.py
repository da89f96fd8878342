"""Temporary credentials from an object store's security token service: ``AssumeRole``.

AWS STS and the STS of S3-compatible stores such as MinIO answer the same query API: a
form-encoded POST signed with the caller's long-lived key (SigV4, service ``sts``), an XML
answer with an access key, a secret key, a session token and when they stop working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlencode, urlsplit
from xml.parsers import expat

import aiohttp

from . import sigv4
from .sigv4 import Credentials

API_VERSION: Final = "2011-06-15"
DEFAULT_REGION: Final = "us-east-1"
MIN_DURATION: Final = 900
"""The shortest lifetime AWS and MinIO grant, in seconds."""
MAX_RESPONSE: Final = 64 * 1024
"""Bytes of answer read at most; a real one is under 2 KiB."""
_SESSION_NAME_UNSAFE: Final = re.compile(r"[^\w+=,.@-]")


class StsFailure(StrEnum):
    """Why no credentials came: each has its own message for the user."""

    REFUSED = "refused"
    """The service answered with an error: a wrong key, a role it may not assume…"""
    UNREACHABLE = "unreachable"
    """No answer: the address is wrong, the network is down, or it took too long."""
    INVALID_RESPONSE = "invalid_response"
    """An answer that is not an STS answer."""


class StsError(Exception):
    """AssumeRole gave no credentials."""

    def __init__(self, failure: StsFailure, detail: str, code: str = "") -> None:
        super().__init__(f"{failure}: {detail}")
        self.failure, self.detail, self.code = failure, detail, code


@dataclass(frozen=True, slots=True)
class TemporaryCredentials:
    credentials: Credentials
    expires: int
    """When the service says they stop working, in seconds since the epoch."""


def default_endpoint(region: str) -> str:
    """AWS's regional STS endpoint for `region` (the global one without a region)."""
    if not region:
        return "https://sts.amazonaws.com"
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"https://sts.{region}{suffix}"


def session_name(name: str) -> str:
    """A RoleSessionName from `name`: 2 to 64 of the characters AWS allows."""
    return _SESSION_NAME_UNSAFE.sub("-", name)[:64].ljust(2, "-")


def request_body(role_arn: str, role_session_name: str, duration: int, policy: str | None) -> bytes:
    params = {
        "Action": "AssumeRole",
        "Version": API_VERSION,
        "RoleSessionName": role_session_name,
        "DurationSeconds": str(duration),
    }
    if role_arn:  # MinIO's STS needs none: the key's own policy is what it grants
        params["RoleArn"] = role_arn
    if policy:
        params["Policy"] = policy
    return urlencode(params).encode()


async def assume_role(
    http: aiohttp.ClientSession,
    endpoint: str,
    credentials: Credentials,
    *,
    region: str,
    role_arn: str,
    role_session_name: str,
    duration: int,
    policy: str | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109
    now: datetime,
) -> TemporaryCredentials:
    """Ask `endpoint` for temporary credentials; `StsError` when it gives none."""
    body = request_body(role_arn, role_session_name, duration, policy)
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    url = endpoint if urlsplit(endpoint).path else endpoint.rstrip("/") + "/"
    signed = sigv4.sign(
        "POST",
        url,
        headers,
        body,
        credentials,
        region=region or DEFAULT_REGION,
        service="sts",
        now=now,
    )
    try:
        async with http.post(
            url,
            data=body,
            headers={**headers, **signed.headers},
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as response:
            answer = await response.content.read(MAX_RESPONSE + 1)
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as err:
        raise StsError(StsFailure.UNREACHABLE, str(err) or type(err).__name__) from err
    return parse_response(status, answer)


def parse_response(status: int, body: bytes) -> TemporaryCredentials:
    """The credentials of an AssumeRole answer; `StsError` for an error or a strange answer."""
    if len(body) > MAX_RESPONSE:
        raise StsError(StsFailure.INVALID_RESPONSE, f"an answer over {MAX_RESPONSE} bytes")
    try:
        texts = _texts(body)
    except _NotXml as err:
        texts = {}
        if 200 <= status < 300:
            raise StsError(StsFailure.INVALID_RESPONSE, f"not an STS answer ({err})") from None
    if not 200 <= status < 300:
        code, message = texts.get(("Error", "Code"), ""), texts.get(("Error", "Message"), "")
        if status >= 500:
            failure = StsFailure.UNREACHABLE  # the service's trouble: another try may do
        elif code and status >= 400:
            failure = StsFailure.REFUSED
        else:
            failure = StsFailure.INVALID_RESPONSE  # a redirect, a web page: not an STS
        raise StsError(failure, f"HTTP {status} {code}: {message}".strip(" :"), code)
    fields = {
        name: texts.get(("Credentials", name), "")
        for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
    }
    if missing := [name for name, value in fields.items() if not value]:
        raise StsError(StsFailure.INVALID_RESPONSE, f"no {', '.join(missing)} in the answer")
    try:
        expires = datetime.fromisoformat(fields["Expiration"])
    except ValueError:
        raise StsError(StsFailure.INVALID_RESPONSE, "an expiry that is not a time") from None
    if expires.tzinfo is None:
        raise StsError(StsFailure.INVALID_RESPONSE, "an expiry without a time zone")
    credentials = Credentials(
        fields["AccessKeyId"], fields["SecretAccessKey"], fields["SessionToken"]
    )
    return TemporaryCredentials(credentials, int(expires.timestamp()))


class _NotXml(Exception):
    pass


def _texts(body: bytes) -> dict[tuple[str, str], str]:
    """(parent, element) local names -> text, for every element that holds text; the first
    of each pair wins. Namespaces are ignored (AWS and MinIO name theirs, others may not);
    a document type declaration is refused, so no entity is ever expanded."""
    parser = expat.ParserCreate(namespace_separator="}")
    stack: list[str] = []
    texts: dict[tuple[str, str], str] = {}
    chunks: list[str] = []

    def start(name: str, _attributes: dict[str, str]) -> None:
        stack.append(name.rpartition("}")[2])
        chunks.clear()

    def end(_name: str) -> None:
        text = "".join(chunks).strip()
        chunks.clear()
        name = stack.pop()
        if text:
            texts.setdefault((stack[-1] if stack else "", name), text)

    def refuse(*_args: object) -> None:
        raise _NotXml("it declares a document type")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chunks.append
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(body, True)
    except expat.ExpatError as err:
        raise _NotXml(str(err)) from None
    return texts
