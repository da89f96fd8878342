"""The responder alone: defaults of a cloud with no services, and malformed event data."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import DeviceEvent as Evt
from custom_components.rlink.protocol.errors import RlinkError
from custom_components.rlink.protocol.responder import (
    DeviceRef,
    Responder,
    ResponderBackend,
    SweeperStore,
)

DEVICE = DeviceRef("rn01aaaaaaaaaaaa", "pid1")


def answer(code: Evt, data: dict[str, Any] | None = None, ack: bool = True) -> Any:
    responder = Responder(ResponderBackend(), clock=lambda: 1_700_000_000)
    return responder.handle(DEVICE, messages.event(code, data, ack=ack))


@pytest.mark.parametrize(
    ("code", "data", "expected"),
    [
        (Evt.CONFIG, None, {"config": {}}),
        (Evt.SUB_LIST, None, {"devices": []}),
        (Evt.INFO, {}, {"bindStatus": 1, "isClearData": 0, "logSwitch": {"enable": 0}}),
        (Evt.BIND, {"cleanData": False}, {}),
        (Evt.SUB_LOGIN, {"devices": [{"uuid": "u1"}]}, {"devices": [{"uuid": "u1", "pid": ""}]}),
    ],
)
def test_defaults_that_succeed(code: Evt, data: Any, expected: Any) -> None:
    reply = answer(code, data)
    assert (reply.res, reply.data) == (0, expected)


@pytest.mark.parametrize(
    ("code", "data", "res"),
    [
        (Evt.MODEL, {"format": "complete"}, 1005),
        (Evt.WEATHER, {}, 1006),
        (Evt.WEBRTC_CONFIG, {}, 1006),
        (Evt.SWEEPER_STS_TOKEN, {"type": "map"}, 1006),
        (Evt.SWEEPER_MAP_LIST, {}, 1006),
        (Evt.P2P_CONFIG, {"type": "agora"}, 1006),
        (Evt.IPC_CLOUD, {}, 1006),
    ],
)
def test_defaults_that_refuse(code: Evt, data: Any, res: int) -> None:
    reply = answer(code, data)
    assert reply.res == res
    assert reply.msg


@pytest.mark.parametrize(
    ("code", "data", "field"),
    [
        (Evt.RESET, {"cleanData": "yes"}, "data.cleanData"),
        (Evt.MODEL, {"format": "huge"}, "data.format"),
        (Evt.SUB_MODEL, {"format": "mini"}, "data.subPid"),
        (Evt.PROPERTY_REPORT, {"properties": "on"}, "data.properties"),
        (Evt.OTA_PROGRESS, {"percent": 3}, "data.type"),
        (Evt.SUB_BIND, {"devices": {}}, "data.devices"),
        (Evt.SUB_BIND, {"devices": ["u1"]}, "data.devices[0]"),
        (Evt.SUB_BIND, {"devices": [{"pid": "p"}]}, "data.devices[0].uuid"),
        (Evt.SUB_BIND, {"devices": [{"uuid": "u", "pid": 3}]}, "data.devices[0].pid"),
        (Evt.SUB_BIND, {"devices": [{"uuid": "u"}]}, "data.devices[0].pid"),
        (
            Evt.SUB_PROPERTY_REPORT,
            {"devices": [{"uuid": "u", "properties": 1}]},
            "data.devices[0].properties",
        ),
        (Evt.EVENT, {"output": {}}, "data.identifier"),
        (Evt.PWD_SYNC, {"pwdList": [1]}, "data.pwdList"),
        (Evt.WEBRTC_SIGNAL_EXCHANGE, {"method": "SDP_ANSWER"}, "data.peerClientId"),
        (Evt.UPDATE_PROPERTIES_INFO, {"propertiesInfo": []}, "data.propertiesInfo"),
        (Evt.SWEEPER_STS_TOKEN, {"type": "video"}, "data.type"),
    ],
)
def test_malformed_data_is_answered_with_1002(code: Evt, data: Any, field: str) -> None:
    reply = answer(code, data)
    assert reply.res == 1002
    assert field in reply.msg


def test_no_reply_without_ack() -> None:
    assert answer(Evt.TIME, ack=False) is None
    assert answer(Evt.PROPERTY_REPORT, {"properties": "bad"}, ack=False) is None


def test_pushed_time_is_an_unsolicited_reply() -> None:
    pushed = Responder(ResponderBackend()).push_time(DEVICE)
    assert pushed.is_reply
    assert pushed.data["sys_tz"] == "UTC"


def test_sweeper_store() -> None:
    store = SweeperStore()
    assert store.current() is None
    first = store.add_map({"mapName": "a", "mapId": "ignored"}, 1)
    second = store.add_map({"mapName": "b", "mapPath": 7}, 2)
    assert store.current() == second
    assert second["mapPath"] == "7"
    with pytest.raises(Exception, match="mapName"):
        store.add_map({"mapName": ["x"]}, 3)
    for n in range(105):
        store.add_record({"mapId": first["mapId"], "recordPath": f"r{n}"}, n)
    assert len(store.records) == 100
    copy = SweeperStore.load(store.dump())
    assert copy.dump() == store.dump()
    assert copy.add_map({}, 9)["mapId"] == str(int(store.records[-1]["recordId"]) + 1)
    assert store.delete_map({"mapId": 1}) is True  # numeric ids are accepted


class _StoreBackend(ResponderBackend):
    """Temporary credentials that take I/O, or fail as a store or a bug would."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail

    async def async_sweeper_sts_token(self, device: DeviceRef, upload_type: str) -> Any:
        if self.fail is not None:
            raise self.fail
        return {"type": upload_type, "accessKeyId": "ASIA1"}


async def test_answers_that_need_io_come_from_the_async_path() -> None:
    assert Responder.needs_io(Evt.SWEEPER_STS_TOKEN)
    assert not Responder.needs_io(Evt.SWEEPER_MAP_LIST)
    message = messages.event(Evt.SWEEPER_STS_TOKEN, {"type": "record"}, ack=True)
    reply, status = await Responder(_StoreBackend()).async_handle_with_status(DEVICE, message)
    assert (status, reply.res, reply.data) == (0, 0, {"type": "record", "accessKeyId": "ASIA1"})
    # The sync path keeps the backend's sync answer (a cloud that has no store refuses).
    assert Responder(_StoreBackend()).handle(DEVICE, message).res == 1006
    # Anything else still answers through the async path.
    other = messages.event(Evt.CONFIG, ack=True)
    reply, status = await Responder(_StoreBackend()).async_handle_with_status(DEVICE, other)
    assert (status, reply.data) == (0, {"config": {}})


@pytest.mark.parametrize(
    ("data", "fail", "res"),
    [
        ({"type": "video"}, None, 1002),
        ({"type": "map"}, RlinkError(1001, "the store gave nothing"), 1001),
        ({"type": "map"}, KeyError("a bug"), 1001),
    ],
)
async def test_the_async_path_refuses_as_the_sync_one(
    data: Any, fail: Exception | None, res: int
) -> None:
    message = messages.event(Evt.SWEEPER_STS_TOKEN, data, ack=True)
    responder = Responder(_StoreBackend(fail))
    reply, status = await responder.async_handle_with_status(DEVICE, message)
    assert (status, reply.res) == (res, res)
    assert reply.msg
