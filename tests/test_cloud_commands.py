"""A device command as a local hub sends it becomes the app REST call the spec describes."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.rlink.cloud.commands import COMMANDS, reply_data
from custom_components.rlink.device import RlinkDevice
from custom_components.rlink.protocol.codes import AppNotification as Note
from custom_components.rlink.protocol.codes import DeviceCommand as Cmd
from custom_components.rlink.protocol.rest import Endpoint

DEVICE = RlinkDevice("dev-1", "pid1", "Hall light")


@pytest.mark.parametrize(
    ("code", "data", "endpoint", "body"),
    [
        (
            Cmd.PROPERTY_SET,
            {"properties": {"switch": 1}},
            Endpoint.PROPS_ISSUE,
            {"data": {"switch": 1}},
        ),
        # A gateway's sub-device write carries devices[{uuid, properties}]: the cloud
        # addresses the sub-device itself and takes only its properties.
        (
            Cmd.SUB_PROPERTY_SET,
            {"devices": [{"uuid": "sub-1", "properties": {"brightness": 40}}]},
            Endpoint.PROPS_ISSUE,
            {"data": {"brightness": 40}},
        ),
        (Cmd.SUB_PROPERTY_SET, {"devices": []}, Endpoint.PROPS_ISSUE, {"data": {}}),
        (
            Cmd.PROPERTY_GET,
            {"dps": ["switch", "brightness"]},
            Endpoint.PROPS_GET,
            {"reportAll": False, "dps": ["switch", "brightness"]},
        ),
        (Cmd.PROPERTY_GET, {}, Endpoint.PROPS_GET, {"reportAll": True}),
        (
            Cmd.FIND_BIND,
            {"time": 30, "bind": False, "pids": ["p2"]},
            Endpoint.SCAN_ISSUE,
            {"second": 30, "bind": False, "find": True, "pids": ["p2"]},
        ),
        (Cmd.AGORA_JOIN, {}, Endpoint.NOTIFY_DEVICE_JOIN, {"agoraModel": "live"}),
        (Cmd.AGORA_JOIN, {"playback": 1}, Endpoint.NOTIFY_DEVICE_JOIN, {"agoraModel": "playback"}),
        # Only the two modes the endpoint knows; anything else is a live view.
        (Cmd.AGORA_JOIN, {"agoraModel": "x"}, Endpoint.NOTIFY_DEVICE_JOIN, {"agoraModel": "live"}),
        (
            Cmd.SUB_REPLACE,
            {"uuid": "old", "newUuid": "rn01a1b2c3d4e5f6"},
            Endpoint.SUB_REPLACE,
            {"newUuid": "rn01a1b2c3d4e5f6"},
        ),
        (
            Cmd.COMMON_CMD,
            {"cmdType": "beep"},
            Endpoint.COMMON_CMD,
            {"cmdType": "beep", "cmdData": {}},
        ),
        (
            Cmd.CONFIG_SETTINGS,
            {"type": "white_list", "settings": {"enable": 1}},
            Endpoint.CONFIG_SETTINGS,
            {"type": "white_list", "settings": {"enable": 1}},
        ),
        (Cmd.REBOOT, {}, Endpoint.REBOOT, {}),
        (Cmd.WAKE_UP, {}, Endpoint.WAKE_UP_ISSUE, {}),
        (Cmd.PING, {}, Endpoint.CHECK_SIGNAL, {}),
    ],
)
def test_command_to_rest_call(
    code: Cmd, data: dict[str, Any], endpoint: Endpoint, body: dict[str, Any]
) -> None:
    request = COMMANDS[code].build(DEVICE, data)
    assert request.endpoint is endpoint
    assert request.body == {"deviceId": "dev-1", **body}


def test_commands_answered_by_a_notification() -> None:
    replies = {code: route.reply for code, route in COMMANDS.items() if route.reply}
    assert replies == {
        Cmd.WAKE_UP: Note.WAKE_UP_SUCCESS,
        Cmd.COMMON_CMD: Note.COMMON_CMD_RESP,
        Cmd.SUB_REPLACE: Note.SUB_REPLACE_RESULT,
        Cmd.CONFIG_SETTINGS: Note.CONFIG_SETTINGS_RESP,
        Cmd.PING: Note.DEVICE_PROPERTY_UPDATE,
    }


def test_a_reply_notification_reads_like_the_device_reply() -> None:
    assert reply_data(
        Note.SUB_REPLACE_RESULT,
        {"deviceId": "dev-1", "newUuid": "n", "result": "success", "extra": 1},
    ) == {"newUuid": "n", "result": "success"}
    assert reply_data(Note.COMMON_CMD_RESP, {"deviceId": "dev-1", "cmdType": "beep"}) == {
        "cmdType": "beep"
    }
