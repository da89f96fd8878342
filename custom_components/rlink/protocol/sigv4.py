"""AWS Signature Version 4: how S3 and STS (AWS's, MinIO's and other S3-compatible stores')
know a request comes from the holder of an access key.

`sign` computes the headers to add to a request: ``X-Amz-Date``, ``Authorization`` and, with
temporary credentials, ``X-Amz-Security-Token`` (S3 also wants ``X-Amz-Content-SHA256``).
Paths are given decoded and encoded here, once; services other than S3 also have their paths
normalised (dot segments and repeated slashes removed) before signing, S3 never does.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote, unquote, urlsplit

ALGORITHM: Final = "AWS4-HMAC-SHA256"
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_UNRESERVED: Final = "-_.~"  # with letters and digits: what is never percent-encoded
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

type Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair, and the session token that comes with temporary ones."""

    access_key: str
    secret_key: str = field(repr=False)
    session_token: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Signed:
    """What signing produced: the headers to add, and the steps, for tests and debugging."""

    headers: dict[str, str]
    canonical_request: str
    string_to_sign: str
    signature: str


def amz_date(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def sign(
    method: str,
    url: str,
    headers: Headers,
    body: bytes,
    credentials: Credentials,
    *,
    region: str,
    service: str,
    now: datetime,
    sign_token: bool = True,
) -> Signed:
    """Sign a request to `url` (its path and query given decoded) sent with `headers`.

    ``Host`` is taken from the URL unless `headers` has it. With `sign_token` False, the
    session token is added after signing, for the few services that want it so.
    """
    parts = urlsplit(url)
    stamp = amz_date(now)
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
    added: dict[str, str] = {"X-Amz-Date": stamp}
    payload_hash = hashlib.sha256(body).hexdigest()
    if service == "s3":
        added["X-Amz-Content-SHA256"] = payload_hash
    if credentials.session_token and sign_token:
        added["X-Amz-Security-Token"] = credentials.session_token
    if not any(name.lower() == "host" for name, _ in pairs):
        pairs.append(("Host", _host(parts.scheme, parts.hostname or "", parts.port)))
    pairs += added.items()
    canonical_headers, signed_headers = _canonical_headers(pairs)
    canonical_request = "\n".join(
        (
            method.upper(),
            _canonical_path(parts.path or "/", normalise=service != "s3"),
            _canonical_query(parts.query),
            canonical_headers,
            signed_headers,
            payload_hash,
        )
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        (ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest())
    )
    key = signing_key(credentials.secret_key, stamp[:8], region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    added["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    if credentials.session_token and not sign_token:
        added["X-Amz-Security-Token"] = credentials.session_token
    return Signed(added, canonical_request, string_to_sign, signature)


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The key of one day, region and service, derived from the secret key."""
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _host(scheme: str, hostname: str, port: int | None) -> str:
    host = f"[{hostname}]" if ":" in hostname else hostname
    return host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"


def _canonical_headers(pairs: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """(``name:value`` lines, each ending in a newline; ``name;name`` of the signed ones).

    Names are lower-cased and sorted; a header given twice keeps both values, in order,
    joined by a comma; runs of white space in a value count as one space."""
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name.strip().lower(), []).append(" ".join(value.split()))
    names = sorted(values)
    lines = "".join(f"{name}:{','.join(values[name])}\n" for name in names)
    return lines, ";".join(names)


def _encode(text: str) -> str:
    return quote(text, safe=_UNRESERVED)


def _canonical_path(path: str, *, normalise: bool) -> str:
    segments = path.split("/")
    if normalise:
        kept: list[str] = []
        for segment in segments:
            if segment == "..":
                if kept:
                    kept.pop()
            elif segment not in ("", "."):
                kept.append(segment)
        trailing = path.endswith("/") and bool(kept)
        return "/" + "/".join(map(_encode, kept)) + ("/" if trailing else "")
    return "/".join(map(_encode, segments)) or "/"


def _canonical_query(query: str) -> str:
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))
