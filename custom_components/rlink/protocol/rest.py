"""The app REST API: every command endpoint, typed request builders, and a client.

The spec gives paths and bodies only. Two things are assumptions, each kept in one place:
how a request is authenticated (`auth_headers`) and what a response looks like
(`_unwrap`: a JSON object with a numeric ``code`` or ``res``, a ``msg`` and ``data``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

import aiohttp

from .auth import SignMethod, Username, sign, verify_signature
from .errors import ProtocolError, RlinkError, error_for_status

BASE_PATH: Final = "/business-app/v1/device/command/"
DEFAULT_TIMEOUT: Final = 10.0

HEADER_USER: Final = "X-Rlink-User-Id"
HEADER_TS: Final = "X-Rlink-Timestamp"
HEADER_SIGN_METHOD: Final = "X-Rlink-Sign-Method"
HEADER_SIGNATURE: Final = "X-Rlink-Signature"


class Endpoint(StrEnum):
    """The seventeen command endpoints, named by their path segment."""

    PROPS_ISSUE = "propsIssue"
    BATCH_PROPS_ISSUE = "batchPropsIssue"
    PROPS_REPORT = "propsReport"
    OTA_ISSUE = "otaIssue"
    OTA_BATCH_ISSUE = "otaBatchIssue"
    SCAN_ISSUE = "scanIssue"
    GROUP_PROPS_ISSUE = "groupPropsIssue"
    ONEKEY_EXECUTE_ISSUE = "onekeyExecuteIssue"
    WAKE_UP_ISSUE = "wakeUpIssue"
    NOTIFY_DEVICE_JOIN = "notifyDeviceJoin"
    COMMON_CMD = "commonCmd"
    REBOOT = "reboot"
    SUB_REPLACE = "subReplace"
    PROPS_GET = "propsGet"
    CONFIG_SETTINGS = "configSettings"
    CHECK_SIGNAL = "checkSignal"
    WEBRTC_SIGNAL_EXCHANGE = "webrtcSignalExchange"


IDEMPOTENT: Final = frozenset({Endpoint.PROPS_GET, Endpoint.CHECK_SIGNAL})
"""Asking twice does no harm here, so these alone are retried."""

type Body = dict[str, Any] | list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One call: the endpoint and its JSON body."""

    endpoint: Endpoint
    body: Body

    @property
    def device_id(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("deviceId"), str):
            return str(self.body["deviceId"])
        return None


# --- request builders -----------------------------------------------------------------


def _device(endpoint: Endpoint, device_id: str, **fields: Any) -> RestRequest:
    if not device_id:
        raise ProtocolError("a device id is required", field="deviceId")
    return RestRequest(endpoint, {"deviceId": device_id, **fields})


def props_issue(device_id: str, data: Mapping[str, Any]) -> RestRequest:
    return _device(Endpoint.PROPS_ISSUE, device_id, data=dict(data))


def batch_props_issue(device_ids: Sequence[str], data: Mapping[str, Any]) -> RestRequest:
    if not device_ids:
        raise ProtocolError("at least one device id is required", field="deviceIds")
    return RestRequest(
        Endpoint.BATCH_PROPS_ISSUE, {"deviceIds": list(device_ids), "data": dict(data)}
    )


def props_report(device_id: str, data: Mapping[str, Any]) -> RestRequest:
    return _device(Endpoint.PROPS_REPORT, device_id, data=dict(data))


def ota_issue(
    device_id: str,
    *,
    task_id: str,
    url: str,
    version: str,
    file_size: int,
    md5sum: str,
    firmware_type: int = 2,
) -> RestRequest:
    return _device(
        Endpoint.OTA_ISSUE,
        device_id,
        taskId=task_id,
        firmwareType=firmware_type,
        fileSize=file_size,
        md5sum=md5sum,
        url=url,
        version=version,
    )


def ota_batch_issue(tasks: Sequence[tuple[str, str]]) -> RestRequest:
    """Upgrade tasks the cloud already knows, as (task id, device id) pairs."""
    if not tasks:
        raise ProtocolError("at least one task is required", field="body")
    return RestRequest(
        Endpoint.OTA_BATCH_ISSUE, [{"taskId": task, "deviceId": device} for task, device in tasks]
    )


def scan_issue(
    gateway_id: str,
    *,
    seconds: int = 60,
    bind: bool = True,
    find: bool = True,
    uuids: Sequence[str] = (),
    pids: Sequence[str] = (),
) -> RestRequest:
    fields: dict[str, Any] = {"second": seconds, "bind": bind, "find": find}
    if uuids:
        fields["uuids"] = list(uuids)
    if pids:
        fields["pids"] = list(pids)
    return _device(Endpoint.SCAN_ISSUE, gateway_id, **fields)


def group_props_issue(group_id: str, data: Mapping[str, Any]) -> RestRequest:
    if not group_id:
        raise ProtocolError("a group id is required", field="groupId")
    return RestRequest(Endpoint.GROUP_PROPS_ISSUE, {"groupId": group_id, "data": dict(data)})


def onekey_execute_issue(scene_id: str) -> RestRequest:
    if not scene_id:
        raise ProtocolError("a scene id is required", field="sceneId")
    return RestRequest(Endpoint.ONEKEY_EXECUTE_ISSUE, {"sceneId": scene_id})


def wake_up_issue(device_id: str) -> RestRequest:
    return _device(Endpoint.WAKE_UP_ISSUE, device_id)


def notify_device_join(device_id: str, mode: Literal["live", "playback"]) -> RestRequest:
    return _device(Endpoint.NOTIFY_DEVICE_JOIN, device_id, agoraModel=mode)


def common_cmd(device_id: str, cmd_type: str, cmd_data: Mapping[str, Any]) -> RestRequest:
    return _device(Endpoint.COMMON_CMD, device_id, cmdType=cmd_type, cmdData=dict(cmd_data))


def reboot(device_id: str) -> RestRequest:
    return _device(Endpoint.REBOOT, device_id)


def sub_replace(device_id: str, new_uuid: str) -> RestRequest:
    if not new_uuid:
        raise ProtocolError("the new uuid is required", field="newUuid")
    return _device(Endpoint.SUB_REPLACE, device_id, newUuid=new_uuid)


def props_get(device_id: str, dps: Sequence[str] = ()) -> RestRequest:
    """Ask for the named properties, or for all of them when none are named."""
    if dps:
        return _device(Endpoint.PROPS_GET, device_id, reportAll=False, dps=list(dps))
    return _device(Endpoint.PROPS_GET, device_id, reportAll=True)


def config_settings(device_id: str, setting_type: str, settings: Mapping[str, Any]) -> RestRequest:
    return _device(Endpoint.CONFIG_SETTINGS, device_id, type=setting_type, settings=dict(settings))


def check_signal(device_id: str) -> RestRequest:
    return _device(Endpoint.CHECK_SIGNAL, device_id)


def webrtc_signal_exchange(
    device_id: str, peer_client_id: str, method: str, params: str, raw_data: str = "{}"
) -> RestRequest:
    return _device(
        Endpoint.WEBRTC_SIGNAL_EXCHANGE,
        device_id,
        peerClientId=peer_client_id,
        method=method,
        params=params,
        rawData=raw_data,
    )


# --- authentication (an assumption: the spec documents none) --------------------------


def auth_headers(
    user_id: str,
    secret: str,
    method: SignMethod,
    *,
    token: str | None = None,
    ts: int | None = None,
) -> dict[str, str]:
    """Sign a request the way the app signs its MQTT login, plus the bearer token if any."""
    ts = int(time.time()) if ts is None else ts
    headers = {
        HEADER_USER: user_id,
        HEADER_TS: str(ts),
        HEADER_SIGN_METHOD: str(method),
        HEADER_SIGNATURE: sign(secret, user_id, ts, method),
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def verify_auth_headers(
    headers: Mapping[str, str],
    secret_for: Callable[[str], str | None],
    *,
    max_skew: int | None = 300,
) -> str:
    """The user id a request was signed by; raises ProtocolError naming what is wrong."""
    user_id = headers.get(HEADER_USER) or ""
    ts = headers.get(HEADER_TS) or ""
    if not user_id or not ts.isdigit():
        raise ProtocolError("user id and timestamp headers are required", field=HEADER_USER)
    try:
        method = SignMethod(headers.get(HEADER_SIGN_METHOD) or "")
    except ValueError:
        raise ProtocolError("unsupported sign method", field=HEADER_SIGN_METHOD) from None
    secret = secret_for(user_id)
    if secret is None:
        raise ProtocolError(f"unknown user {user_id!r}", field=HEADER_USER)
    verify_signature(
        Username(user_id, method, int(ts)), headers.get(HEADER_SIGNATURE) or "", secret, max_skew
    )
    return user_id


# --- errors ---------------------------------------------------------------------------


class RestError(Exception):
    """A REST call failed before the platform could answer it."""


class RestUnreachable(RestError):
    """No answer: the host cannot be reached, or it took too long."""


class RestHttpError(RestError):
    """The server answered with an HTTP error status."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        super().__init__(f"HTTP {status}: {reason}")


class RestAuthError(RestHttpError):
    """HTTP 401 or 403: the platform does not accept the credentials."""


class RestBadResponse(RestError):
    """The server answered 2xx with something that is not the expected JSON."""


# --- the client -----------------------------------------------------------------------


class RestClient:
    """Calls the command endpoints of one account."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        user_id: str,
        secret: str,
        method: SignMethod = SignMethod.HMAC_SHA256,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 2,
        retry_delay: float = 0.5,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._user_id = user_id
        self._secret = secret
        self._method = method
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._retry_delay = retry_delay
        self.calls = 0
        self.failures = 0

    def url(self, endpoint: Endpoint) -> str:
        return f"{self.base_url}{BASE_PATH}{endpoint}"

    async def call(self, request: RestRequest) -> Any:
        """Send one request; returns the response's ``data`` (None when it has none).

        Raises `RestUnreachable`, `RestHttpError` (`RestAuthError` for 401/403),
        `RestBadResponse`, or the `RlinkError` of a non-zero result code.
        """
        attempts = 1 + (self._retries if request.endpoint in IDEMPOTENT else 0)
        delay = self._retry_delay
        for attempt in range(attempts):
            try:
                return await self._once(request)
            except (RestUnreachable, RestHttpError) as err:
                retryable = not isinstance(err, RestHttpError) or err.status >= 500
                if attempt + 1 >= attempts or not retryable:
                    self.failures += 1
                    raise
            except RestError, RlinkError:
                self.failures += 1
                raise
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, request: RestRequest) -> Any:
        self.calls += 1
        headers = auth_headers(self._user_id, self._secret, self._method, token=self._token)
        try:
            async with self._http.post(
                self.url(request.endpoint),
                json=request.body,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                text = await response.text()
                if response.status in (401, 403):
                    raise RestAuthError(response.status, response.reason or "refused")
                if response.status >= 400:
                    raise RestHttpError(response.status, response.reason or text[:200])
        except TimeoutError as err:
            raise RestUnreachable(f"{request.endpoint}: no answer in time") from err
        except aiohttp.ClientError as err:
            raise RestUnreachable(f"{request.endpoint}: {err}") from err
        return _unwrap(request.endpoint, text)


def _unwrap(endpoint: Endpoint, text: str) -> Any:
    """The response envelope: ``{"code": 0, "msg": "...", "data": ...}`` (``res`` accepted)."""
    if not text.strip():
        return None
    try:
        body = json.loads(text)
    except ValueError as err:
        raise RestBadResponse(f"{endpoint}: the answer is not JSON") from err
    if not isinstance(body, dict):
        raise RestBadResponse(f"{endpoint}: the answer is not a JSON object")
    code = body.get("code", body.get("res", 0))
    if (
        isinstance(code, bool)
        or not isinstance(code, int | str)
        or not str(code).lstrip("-").isdigit()
    ):
        raise RestBadResponse(f"{endpoint}: result code {code!r} is not a number")
    if int(code) != 0:
        msg = body.get("msg")
        raise error_for_status(int(code), msg if isinstance(msg, str) else None)
    return body.get("data")
