"""The responder alone: defaults of a cloud with no services, and malformed event data."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import DeviceEvent as Evt
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
