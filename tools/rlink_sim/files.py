"""Small HTTP servers of the simulated house: an object store for vacuum maps (what a
vacuum's S3 bucket, and its STS, are to a real one) and a camera's picture server for alarm
photos."""

from __future__ import annotations

import calendar
import fnmatch
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import web

MAX_OBJECT: int = 2 * 1024 * 1024


class _Server:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.app = web.Application(client_max_size=MAX_OBJECT)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()


class ObjectStore(_Server):
    """A bucket that checks uploads as S3 does, and its security token service.

    A PUT must be signed with SigV4 (service ``s3``) by the bucket's long-lived key or by
    temporary credentials this store issued, which also need their session token, stop
    working at their expiry, and may write only where their session policy lets them. GET
    is open to anyone (a public bucket, as the hub's `store_public_url` expects).

    ``POST /`` is STS ``AssumeRole``, as AWS and MinIO answer it: signed with the long-lived
    key (service ``sts``), for `role_arn` when one is set. `max_lifetime` caps the lifetime
    granted, as a role's longest session does.

    Signatures are checked with botocore, not with the signer the integration uses.
    """

    def __init__(
        self,
        bucket: str,
        host: str = "127.0.0.1",
        port: int = 0,
        root: Path | None = None,
        *,
        region: str = "us-east-1",
        role_arn: str | None = None,
        max_lifetime: int = 12 * 3600,
    ) -> None:
        super().__init__(host, port)
        self.bucket = bucket
        self.region = region
        self.role_arn = role_arn
        self.max_lifetime = max_lifetime
        self.access_key = f"SIM{secrets.token_hex(8).upper()}"
        self.secret_key = secrets.token_urlsafe(30)
        self.issued: dict[str, _Issued] = {}
        """Temporary access key -> what was issued with it."""
        self.assumed: list[dict[str, str]] = []
        """Every AssumeRole call granted: its form fields."""
        self.refusals: list[str] = []
        """The error code of every request refused, in order."""
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.root = root
        """Where objects are kept between runs (None: in memory only)."""
        if root is not None and root.is_dir():
            for path in root.rglob("*"):
                if path.is_file():
                    key = path.relative_to(root).as_posix()
                    self.objects[key] = (path.read_bytes(), "application/octet-stream")
        self.app.router.add_post("/", self._assume_role)
        self.app.router.add_put("/{bucket}/{key:.+}", self._put)
        self.app.router.add_get("/{bucket}/{key:.+}", self._get)

    @property
    def public_url(self) -> str:
        return f"{self.url}/{self.bucket}"

    def _refuse(self, status: int, code: str, message: str) -> web.Response:
        self.refusals.append(code)
        return _error(status, code, message)

    async def _assume_role(self, request: web.Request) -> web.Response:
        body = await request.read()
        refused = self._check_signature(request, body, "sts")
        if refused is not None:
            return refused
        key_id = _credential(request)[0]
        if key_id != self.access_key:
            return self._refuse(403, "AccessDenied", "temporary credentials cannot assume roles")
        form = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
        if form.get("Action") != "AssumeRole" or form.get("Version") != "2011-06-15":
            return self._refuse(400, "InvalidAction", "only AssumeRole is served here")
        if self.role_arn is not None and form.get("RoleArn") != self.role_arn:
            return self._refuse(403, "AccessDenied", "not authorized to assume that role")
        if not re.fullmatch(r"[\w+=,.@-]{2,64}", form.get("RoleSessionName", "")):
            return self._refuse(400, "ValidationError", "a RoleSessionName is required")
        try:
            duration = int(form.get("DurationSeconds", "3600"))
        except ValueError:
            duration = 0
        if not 900 <= duration <= 43200:
            return self._refuse(400, "ValidationError", "DurationSeconds out of range")
        try:
            resources = _allowed_resources(form.get("Policy"))
        except ValueError:
            return self._refuse(400, "MalformedPolicyDocument", "the session policy is not valid")
        self.assumed.append(form)
        expires = int(time.time()) + min(duration, self.max_lifetime)
        issued = _Issued(
            access_key=f"ASIA{secrets.token_hex(8).upper()}",
            secret_key=secrets.token_urlsafe(30),
            session_token=secrets.token_urlsafe(48),
            expires=expires,
            resources=resources,
        )
        self.issued[issued.access_key] = issued
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        return web.Response(
            content_type="text/xml",
            text=(
                '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                "<AssumeRoleResult><Credentials>"
                f"<AccessKeyId>{issued.access_key}</AccessKeyId>"
                f"<SecretAccessKey>{issued.secret_key}</SecretAccessKey>"
                f"<SessionToken>{issued.session_token}</SessionToken>"
                f"<Expiration>{expiration}</Expiration>"
                "</Credentials></AssumeRoleResult>"
                f"<ResponseMetadata><RequestId>{secrets.token_hex(8)}</RequestId>"
                "</ResponseMetadata></AssumeRoleResponse>"
            ),
        )

    async def _put(self, request: web.Request) -> web.Response:
        if request.match_info["bucket"] != self.bucket:
            return self._refuse(404, "NoSuchBucket", "no such bucket")
        body = await request.read()
        refused = self._check_signature(request, body, "s3")
        if refused is not None:
            return refused
        key = request.match_info["key"]
        issued = self.issued.get(_credential(request)[0])
        if issued is not None and not issued.allows(f"arn:aws:s3:::{self.bucket}/{key}"):
            return self._refuse(403, "AccessDenied", "the session policy does not allow this")
        if ".." in key.split("/"):
            return self._refuse(400, "InvalidObjectName", "no such key")
        self.objects[key] = (body, request.content_type)
        if self.root is not None:
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        return web.Response(status=200)

    async def _get(self, request: web.Request) -> web.Response:
        found = self.objects.get(request.match_info["key"])
        if request.match_info["bucket"] != self.bucket or found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    def _check_signature(
        self, request: web.Request, body: bytes, service: str
    ) -> web.Response | None:
        """None when `request` is signed by a key of this store; else the refusal."""
        try:
            key_id, scope, signed_names, signature = _credential(request)
        except ValueError:
            return self._refuse(403, "AccessDenied", "no SigV4 authorization")
        stamp = request.headers.get("X-Amz-Date", "")
        if scope != f"{stamp[:8]}/{self.region}/{service}/aws4_request":
            return self._refuse(403, "SignatureDoesNotMatch", "wrong credential scope")
        token = request.headers.get("X-Amz-Security-Token")
        issued = self.issued.get(key_id)
        if key_id == self.access_key:
            secret = self.secret_key
            if token is not None:
                return self._refuse(400, "InvalidToken", "a long-lived key has no token")
        elif issued is not None:
            secret = issued.secret_key
            if token is None or not hmac.compare_digest(token, issued.session_token):
                return self._refuse(400, "InvalidToken", "the session token is wrong")
            if time.time() >= issued.expires:
                return self._refuse(400, "ExpiredToken", "the credentials have expired")
        else:
            return self._refuse(403, "InvalidAccessKeyId", "no such access key")
        if "x-amz-security-token" not in signed_names and token is not None:
            return self._refuse(403, "AccessDenied", "the session token must be signed")
        try:
            sent = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return self._refuse(403, "AccessDenied", "no X-Amz-Date")
        if abs(time.time() - sent) > 900:
            return self._refuse(403, "RequestTimeTooSkewed", "the request time is too far off")
        if service == "s3" and request.headers.get("X-Amz-Content-SHA256") != _sha256(body):
            return self._refuse(400, "XAmzContentSHA256Mismatch", "the body is not what was signed")
        expected = _botocore_signature(
            request,
            body,
            signed_names=signed_names,
            key_id=key_id,
            secret=secret,
            region=self.region,
            service=service,
            stamp=stamp,
        )
        if not hmac.compare_digest(expected, signature):
            return self._refuse(403, "SignatureDoesNotMatch", "the signature does not match")
        return None


@dataclass(frozen=True, slots=True)
class _Issued:
    access_key: str
    secret_key: str
    session_token: str
    expires: int
    resources: tuple[str, ...] | None
    """ARN patterns the session policy lets these credentials write; None: anything."""

    def allows(self, arn: str) -> bool:
        return self.resources is None or any(fnmatch.fnmatchcase(arn, r) for r in self.resources)


def _allowed_resources(policy: str | None) -> tuple[str, ...] | None:
    """The resources a session policy allows ``s3:PutObject`` on (ValueError if malformed)."""
    if policy is None:
        return None
    document = json.loads(policy)
    statements = document["Statement"]
    allowed: list[str] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and {"s3:PutObject", "s3:*"} & set(actions):
            resources = statement.get("Resource", [])
            allowed += [resources] if isinstance(resources, str) else resources
    return tuple(allowed)


def _credential(request: web.Request) -> tuple[str, str, list[str], str]:
    """(access key, scope, signed header names, signature) of the Authorization header."""
    header = request.headers.get("Authorization", "")
    algorithm, _, rest = header.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise ValueError("not SigV4")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    key_id, _, scope = fields["Credential"].partition("/")
    return key_id, scope, fields["SignedHeaders"].split(";"), fields["Signature"]


def _botocore_signature(
    request: web.Request,
    body: bytes,
    *,
    signed_names: list[str],
    key_id: str,
    secret: str,
    region: str,
    service: str,
    stamp: str,
) -> str:
    """The signature botocore computes for the request as it arrived."""
    from botocore.auth import S3SigV4Auth, SigV4Auth  # noqa: PLC0415 - a test tool's need
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.credentials import Credentials  # noqa: PLC0415

    url = f"http://{request.host}{request.rel_url.raw_path}"
    if request.rel_url.raw_query_string:
        url += f"?{request.rel_url.raw_query_string}"
    signed = AWSRequest(method=request.method, url=url, data=body)
    for name in signed_names:
        for value in request.headers.getall(name, []):
            signed.headers[name] = value
    signed.context["timestamp"] = stamp
    auth = (S3SigV4Auth if service == "s3" else SigV4Auth)(
        Credentials(key_id, secret), service, region
    )
    string_to_sign = auth.string_to_sign(signed, auth.canonical_request(signed))
    return str(auth.signature(string_to_sign, signed))


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        content_type="text/xml",
        text=(
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></ErrorResponse>"
        ),
    )


class PictureServer(_Server):
    """A camera's own web server: each alarm's photo under /alarm/<n>.jpg."""

    def __init__(self, take: Callable[[], bytes], host: str = "127.0.0.1") -> None:
        super().__init__(host, 0)
        self.take = take
        self.pictures: dict[str, bytes] = {}
        self.app.router.add_get("/alarm/{name}", self._get)

    def keep(self) -> str:
        """Take a photo now; its address."""
        name = f"{len(self.pictures) + 1}.jpg"
        self.pictures[name] = self.take()
        while len(self.pictures) > 20:  # a camera keeps its last few
            del self.pictures[next(iter(self.pictures))]
        return f"{self.url}/alarm/{name}"

    async def _get(self, request: web.Request) -> web.Response:
        found = self.pictures.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found, content_type="image/jpeg")
