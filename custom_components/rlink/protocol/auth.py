"""Credentials for devices and apps: building, parsing and verifying them.

The password is the lower-case hex HMAC of ``uuid=<id>,ts=<ts>`` keyed with the secret,
where ``<id>`` is a device uuid or an app user id. A signature is only as fresh as its
``ts``: callers build new credentials for every connection attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from .errors import ProtocolError

DEVICE_CLIENT_PREFIX: Final = "rlink_"
DEVICE_CLIENT_SUFFIX: Final = "_V2"
APP_CLIENT_PREFIX: Final = "app_"

# A product line (letters, then two digits) and twelve hex digits: rn014ebe0C20E122 and
# inv01De86b75d01bb are both in the spec.
DEVICE_UUID: Final = re.compile(r"[A-Za-z]{1,8}[0-9]{2}[0-9A-Fa-f]{12}")
SECRET_LENGTH: Final = 32
# An identity ends up inside topics and the username, so it must not contain their separators.
_IDENTITY: Final = re.compile(r"[^|/+#,=\s\x00]+")


class SignMethod(StrEnum):
    """Signature algorithms a client may announce in its username."""

    HMAC_SHA1 = "hmacSha1"
    HMAC_SHA256 = "hmacSha256"


_DIGESTS: Final = {SignMethod.HMAC_SHA1: hashlib.sha1, SignMethod.HMAC_SHA256: hashlib.sha256}


@dataclass(frozen=True, slots=True)
class Credentials:
    """What an MQTT client presents when it connects."""

    client_id: str
    username: str
    password: str = field(repr=False)
    ts: int


@dataclass(frozen=True, slots=True)
class Username:
    """The parts of a ``{id}|signMethod=..,ts=..`` username."""

    identity: str
    sign_method: SignMethod
    ts: int


def is_device_uuid(value: str) -> bool:
    """Whether `value` has the shape of a device uuid."""
    return DEVICE_UUID.fullmatch(value) is not None


def sign(secret: str, identity: str, ts: int, method: SignMethod) -> str:
    """Return the password for `identity` at `ts`."""
    content = f"uuid={identity},ts={ts}".encode()
    return hmac.new(secret.encode(), content, _DIGESTS[method]).hexdigest()


def _check_identity(identity: str, what: str) -> None:
    if not _IDENTITY.fullmatch(identity):
        raise ProtocolError(f"{identity!r} is not a usable {what}", field=what)


def _username(identity: str, method: SignMethod, ts: int) -> str:
    return f"{identity}|signMethod={method},ts={ts}"


_last_ts: dict[str, int] = {}


def _fresh_ts(identity: str) -> int:
    """Now, but later than any ts this process signed for `identity` before.

    A server accepts each login's ts once; a client reconnecting within the same second
    must not present the same one again.
    """
    ts = max(int(time.time()), _last_ts.get(identity, 0) + 1)
    _last_ts[identity] = ts
    return ts


def device_credentials(
    uuid: str, secret: str, method: SignMethod = SignMethod.HMAC_SHA256, ts: int | None = None
) -> Credentials:
    """Credentials a device uses to connect, signed now unless `ts` is given."""
    _check_identity(uuid, "uuid")
    ts = _fresh_ts(uuid) if ts is None else ts
    return Credentials(
        client_id=f"{DEVICE_CLIENT_PREFIX}{uuid}{DEVICE_CLIENT_SUFFIX}",
        username=_username(uuid, method, ts),
        password=sign(secret, uuid, ts, method),
        ts=ts,
    )


def app_credentials(
    user_id: str, secret: str, method: SignMethod = SignMethod.HMAC_SHA256, ts: int | None = None
) -> Credentials:
    """Credentials an app uses to connect, signed now unless `ts` is given."""
    _check_identity(user_id, "userId")
    ts = _fresh_ts(f"app:{user_id}") if ts is None else ts
    return Credentials(
        client_id=f"{APP_CLIENT_PREFIX}{user_id}|{ts}",
        username=_username(user_id, method, ts),
        password=sign(secret, user_id, ts, method),
        ts=ts,
    )


def parse_username(username: str) -> Username:
    """Split a username into identity, sign method and ts; raise ProtocolError if malformed."""
    identity, bar, params = username.partition("|")
    if not bar or not identity:
        raise ProtocolError("expected '<id>|signMethod=<method>,ts=<ts>'", field="username")
    _check_identity(identity, "username")
    pairs: dict[str, str] = {}
    for part in params.split(","):
        key, eq, value = part.partition("=")
        if not eq or key in pairs:
            raise ProtocolError(f"malformed parameter {part!r}", field="username")
        pairs[key] = value
    if set(pairs) != {"signMethod", "ts"}:
        raise ProtocolError("needs exactly signMethod and ts", field="username")
    try:
        method = SignMethod(pairs["signMethod"])
    except ValueError:
        raise ProtocolError(
            f"unsupported signMethod {pairs['signMethod']!r}", field="username"
        ) from None
    if not pairs["ts"].isdigit() or not pairs["ts"].isascii():
        raise ProtocolError(f"ts {pairs['ts']!r} is not a whole number", field="username")
    return Username(identity=identity, sign_method=method, ts=int(pairs["ts"]))


def device_uuid_from_client_id(client_id: str) -> str:
    """Return the uuid named by a device client id ``rlink_{uuid}_V2``."""
    if not (
        client_id.startswith(DEVICE_CLIENT_PREFIX)
        and client_id.endswith(DEVICE_CLIENT_SUFFIX)
        and len(client_id) > len(DEVICE_CLIENT_PREFIX) + len(DEVICE_CLIENT_SUFFIX)
    ):
        raise ProtocolError("expected 'rlink_<uuid>_V2'", field="client_id")
    uuid = client_id[len(DEVICE_CLIENT_PREFIX) : -len(DEVICE_CLIENT_SUFFIX)]
    _check_identity(uuid, "client_id")
    return uuid


def verify_password(secret: str, username: Username, password: str) -> bool:
    """Whether `password` is the signature of `username`, compared in constant time."""
    expected = sign(secret, username.identity, username.ts, username.sign_method)
    return hmac.compare_digest(expected.encode(), password.encode())


def verify_device(
    client_id: str, username: str, password: str, secret: str, *, max_skew: int | None = None
) -> Username:
    """Check a device's connect credentials against its secret.

    Returns the parsed username; raises ProtocolError naming the part that failed. With
    `max_skew`, a ``ts`` further than that many seconds from now is refused as well.
    """
    parsed = parse_username(username)
    if device_uuid_from_client_id(client_id) != parsed.identity:
        raise ProtocolError("client id and username name different devices", field="client_id")
    return verify_signature(parsed, password, secret, max_skew)


def app_user_from_client_id(client_id: str) -> str:
    """Return the user id named by an app client id ``app_{userId}|{ts}``."""
    if not client_id.startswith(APP_CLIENT_PREFIX):
        raise ProtocolError("expected 'app_<userId>|<ts>'", field="client_id")
    user_id, bar, ts = client_id[len(APP_CLIENT_PREFIX) :].partition("|")
    if not bar or not ts.isdigit():
        raise ProtocolError("expected 'app_<userId>|<ts>'", field="client_id")
    _check_identity(user_id, "client_id")
    return user_id


def verify_app(
    client_id: str, username: str, password: str, secret: str, *, max_skew: int | None = None
) -> Username:
    """Check an app's connect credentials against its secret, like `verify_device`."""
    parsed = parse_username(username)
    if app_user_from_client_id(client_id) != parsed.identity:
        raise ProtocolError("client id and username name different users", field="client_id")
    return verify_signature(parsed, password, secret, max_skew)


def verify_signature(
    parsed: Username, password: str, secret: str, max_skew: int | None
) -> Username:
    """Check a parsed username's signature, and its age when `max_skew` is given."""
    if max_skew is not None and abs(time.time() - parsed.ts) > max_skew:
        raise ProtocolError(f"ts is more than {max_skew} s away from now", field="username")
    if not verify_password(secret, parsed, password):
        raise ProtocolError("signature does not match", field="password")
    return parsed
