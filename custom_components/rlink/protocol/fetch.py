"""Ask the rlink platform for an object model, logged in as the device itself."""

from __future__ import annotations

from typing import Any

from . import messages
from .auth import SignMethod, device_credentials
from .codes import DeviceEvent as Evt
from .model import ModelFormat
from .session import MqttSession, TlsOptions
from .topics import TopicKind, device_topic


async def fetch_model(
    host: str,
    port: int,
    uuid: str,
    secret: str,
    pid: str,
    *,
    sub_pid: str | None = None,
    tls: TlsOptions | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109
) -> dict[str, Any]:
    """The platform's model for `pid` (or a gateway's `sub_pid`) in complete format.

    Raises the session's `ConnectError`s, `RequestTimeout`, or the `RlinkError` the platform
    answers with (1005 when it has no model).
    """
    session = MqttSession(
        host,
        port,
        lambda: device_credentials(uuid, secret, SignMethod.HMAC_SHA256),
        tls=tls,
        connect_timeout=timeout,
        name=f"model fetch {uuid}",
    )
    session.subscribe(device_topic(TopicKind.REPORT_RESPONSE, pid, uuid), lambda _t, _m: None)
    data: dict[str, Any] = {"format": ModelFormat.COMPLETE.value}
    code = Evt.MODEL
    if sub_pid is not None:
        code, data["subPid"] = Evt.SUB_MODEL, sub_pid
    try:
        await session.connect()
        reply = await session.request(
            device_topic(TopicKind.REPORT, pid, uuid),
            messages.event(code, data, ack=True),
            timeout=timeout,
        )
    finally:
        await session.close()
    return reply.data
