"""What a vacuum gets to upload its maps and records (`sweeper_sts_token`).

With a role or an STS address in the vacuum's storage settings, Home Assistant signs an
``AssumeRole`` call with the store's long-lived keys and hands the vacuum the temporary
credentials it gets back, with their real expiry; a session policy lets them write only
under the vacuum's own directory. They are kept until shortly before they expire, and
asked for again when the vacuum next asks; the long-lived keys never leave Home
Assistant. Without either setting, the vacuum gets the long-lived keys themselves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..const import (
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_BUCKET,
    CONF_STORE_REGION,
    CONF_STORE_ROLE_ARN,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_SESSION_TOKEN,
    CONF_STORE_STS_URL,
    CONF_STORE_TYPE,
    DOMAIN,
)
from ..protocol import sts
from ..protocol.codes import Status
from ..protocol.errors import RlinkError
from ..protocol.messages import JsonObject
from ..protocol.sigv4 import Credentials

_LOGGER = logging.getLogger(__name__)

REQUIRED: Final = (CONF_STORE_BUCKET, CONF_STORE_ACCESS_KEY, CONF_STORE_SECRET_KEY)
LONG_LIVED_LIFETIME: Final = 3600
"""Seconds after which a vacuum holding the long-lived keys is told to ask again."""
TEMPORARY_LIFETIME: Final = 3600
"""Seconds temporary credentials are asked for (AWS's default for a role)."""
REFRESH_MARGIN: Final = 300
"""Credentials with less left than this are not handed out: a map upload takes a while."""
_ISSUE: Final = "store_credentials_{}"


def configured(options: Mapping[str, Any]) -> bool:
    return all(options.get(key) for key in REQUIRED)


def issues_temporary(options: Mapping[str, Any]) -> bool:
    """Whether the store is to be asked for temporary credentials (S3 stores only: COS's
    STS is another API)."""
    s3 = str(options.get(CONF_STORE_TYPE) or "S3").upper() == "S3"
    return s3 and bool(options.get(CONF_STORE_ROLE_ARN) or options.get(CONF_STORE_STS_URL))


def _grant(
    options: Mapping[str, Any], uuid: str, upload_type: str, credentials: Credentials, expires: int
) -> JsonObject:
    return {
        "type": upload_type,
        "ossType": options.get(CONF_STORE_TYPE) or "S3",
        "bucketName": options[CONF_STORE_BUCKET],
        "region": options.get(CONF_STORE_REGION) or "",
        "accessKeyId": credentials.access_key,
        "secretAccessKey": credentials.secret_key,
        "sessionToken": credentials.session_token,
        "expiredTime": expires,
        "authDir": auth_dir(uuid, upload_type),
    }


def auth_dir(uuid: str, upload_type: str) -> str:
    return f"{upload_type}/{uuid}/"


def long_lived_grant(
    options: Mapping[str, Any], uuid: str, upload_type: str, now: float
) -> JsonObject:
    """The configured keys themselves; `expiredTime` only says when to ask again."""
    credentials = Credentials(
        options[CONF_STORE_ACCESS_KEY],
        options[CONF_STORE_SECRET_KEY],
        options.get(CONF_STORE_SESSION_TOKEN) or "",
    )
    return _grant(options, uuid, upload_type, credentials, int(now) + LONG_LIVED_LIFETIME)


def session_policy(bucket: str, directory: str, region: str) -> str:
    """A policy that lets the temporary credentials write under `directory` only."""
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    statement = {
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
        "Resource": [f"arn:{partition}:s3:::{bucket}/{directory}*"],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


type _Key = tuple[str, ...]


class StoreCredentials:
    """The temporary credentials of one hub's vacuums, one set per vacuum and upload type."""

    def __init__(
        self,
        hass: HomeAssistant,
        name_of: Callable[[str], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hass = hass
        self._name_of = name_of
        self._clock = clock
        self._kept: dict[_Key, sts.TemporaryCredentials] = {}
        self._asking: dict[_Key, asyncio.Future[sts.TemporaryCredentials]] = {}
        self._failing: set[str] = set()
        """Vacuums whose last attempt failed (logged once, until one succeeds)."""

    async def grant(self, options: Mapping[str, Any], uuid: str, upload_type: str) -> JsonObject:
        """Temporary credentials for `uuid`, kept ones while they last; `RlinkError`
        (status 1001) when the store gives none: the long-lived keys are never the fallback."""
        region = str(options.get(CONF_STORE_REGION) or "")
        endpoint = str(options.get(CONF_STORE_STS_URL) or sts.default_endpoint(region))
        key: _Key = (
            uuid,
            upload_type,
            endpoint,
            region,
            str(options.get(CONF_STORE_ROLE_ARN) or ""),
            str(options[CONF_STORE_BUCKET]),
            str(options[CONF_STORE_ACCESS_KEY]),
            str(options[CONF_STORE_SECRET_KEY]),
        )
        now = self._clock()
        self._forget_expired(now)
        kept = self._kept.get(key)
        if kept is None or kept.expires - now < REFRESH_MARGIN:
            asking = self._asking.get(key)
            if asking is None:
                # One call per vacuum and type, however many requests wait for it.
                asking = self._asking[key] = self.hass.async_create_background_task(
                    self._assume_role(options, key, endpoint, region),
                    f"rlink store credentials {uuid}",
                )
                asking.add_done_callback(lambda done: self._asked(key, done))
            try:
                kept = await asyncio.shield(asking)
            except sts.StsError as err:
                self._failed(uuid, endpoint, err)
                raise RlinkError(
                    Status.SERVICE_EXCEPTION, "the object store gave no upload credentials"
                ) from None
            self._kept[key] = kept
            self._succeeded(uuid)
        return _grant(options, uuid, upload_type, kept.credentials, kept.expires)

    async def _assume_role(
        self, options: Mapping[str, Any], key: _Key, endpoint: str, region: str
    ) -> sts.TemporaryCredentials:
        uuid, upload_type = key[0], key[1]
        long_lived = Credentials(
            options[CONF_STORE_ACCESS_KEY],
            options[CONF_STORE_SECRET_KEY],
            options.get(CONF_STORE_SESSION_TOKEN) or "",
        )
        return await sts.assume_role(
            async_get_clientsession(self.hass),
            endpoint,
            long_lived,
            region=region,
            role_arn=str(options.get(CONF_STORE_ROLE_ARN) or ""),
            role_session_name=sts.session_name(f"rlink-{uuid}"),
            duration=TEMPORARY_LIFETIME,
            policy=session_policy(
                str(options[CONF_STORE_BUCKET]), auth_dir(uuid, upload_type), region
            ),
            now=datetime.now(UTC),  # the signature's time is the wall clock's, always
        )

    def _asked(self, key: _Key, done: asyncio.Future[sts.TemporaryCredentials]) -> None:
        self._asking.pop(key, None)
        if not done.cancelled():
            done.exception()  # seen, even when every waiter has gone

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, kept in self._kept.items() if kept.expires <= now]:
            del self._kept[key]

    def _failed(self, uuid: str, endpoint: str, err: sts.StsError) -> None:
        if uuid not in self._failing:
            self._failing.add(uuid)
            _LOGGER.warning(
                "The object store at %s gave %s no temporary upload credentials (%s); the "
                "vacuum cannot upload maps until it does. Not logged again until it works",
                endpoint,
                self._name_of(uuid),
                err.detail,
            )
        else:
            _LOGGER.debug("Still no temporary upload credentials for %s: %s", uuid, err.detail)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            _ISSUE.format(uuid),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=f"store_credentials_{err.failure}",
            translation_placeholders={
                "device": self._name_of(uuid),
                "endpoint": endpoint,
                "detail": err.detail[:200],
            },
        )

    def _succeeded(self, uuid: str) -> None:
        if uuid in self._failing:
            self._failing.discard(uuid)
            _LOGGER.info("The object store gives %s upload credentials again", uuid)
        ir.async_delete_issue(self.hass, DOMAIN, _ISSUE.format(uuid))
