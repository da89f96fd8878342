"""Every code of the protocol, per direction, with accepted aliases and default acks.

A code string means different things on different topics (``reset`` is both an event and
a command; ``ota_progress`` is a device event and an app notification), so each direction
has its own enum and lookups always name the direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final, cast


class DeviceEvent(StrEnum):
    """Codes a device publishes on its ``report`` topic."""

    RESET = "reset"
    TIME = "time"
    MODEL = "model"
    CONFIG = "config"
    BIND = "bind"
    INFO = "info"
    PROPERTY_REPORT = "property_report"
    OTA_PROGRESS = "ota_progress"
    SUB_BIND = "sub_bind"
    SUB_DELETE = "sub_delete"
    SUB_LOGIN = "sub_login"
    SUB_LOGINOUT = "sub_loginout"
    SUB_MODEL = "sub_model"
    SUB_PROPERTY_REPORT = "sub_property_report"
    LOCAL_CONFIG = "local_config"
    SUB_LIST = "sub_list"
    IPC_CLOUD = "ipc_cloud"
    P2P_CONFIG = "p2p_config"
    AGORA_TOKEN = "agora_token"
    EVENT = "event"
    IPC_TOKEN_BIND = "ipc_token_bind"
    FIND_ALERT = "find_alert"
    FIND_REPORT = "find_report"
    IPC_LIVE_GET = "ipc_live_get"
    PWD_SYNC = "pwd_sync"
    LOCAL_DATA_SYNC = "local_data_sync"
    WEBRTC_SIGNAL_EXCHANGE = "webrtc_signal_exchange"
    UPDATE_PROPERTIES_INFO = "update_properties_info"
    AGORA_AI_TOKEN = "agora_ai_token"
    WEATHER = "weather"
    SWEEPER_STS_TOKEN = "sweeper_sts_token"
    SWEEPER_MAP_LIST = "sweeper_map_list"
    SWEEPER_MAP_ADD = "sweeper_map_add"
    SWEEPER_MAP_UPDATE = "sweeper_map_update"
    SWEEPER_MAP_DEL = "sweeper_map_del"
    SWEEPER_RECORD_ADD = "sweeper_record_add"
    WEBRTC_CONFIG = "webrtc_config"


class DeviceCommand(StrEnum):
    """Codes the cloud publishes on a device's ``issue`` topic."""

    RESET = "reset"
    OTA = "ota"
    PING = "ping"
    PROPERTY_SET = "property_set"
    UPDATE_LOCAL_CONFIG = "update_local_config"
    FIND_BIND = "find_bind"
    SUB_ADD = "sub_add"  # listed without a payload definition; sent as given
    SUB_PROPERTY_SET = "sub_property_set"
    SUB_DELETE = "sub_delete"
    LOCAL_GROUP_SET = "local_group_set"
    LOCAL_RULE_EXEC = "local_rule_exec"
    WAKE_UP = "wake_up"
    AGORA_JOIN = "agora_join"
    IPC_CLOUD_OPEN = "ipc_cloud_open"
    AGORA_EVENT = "agora_event"
    COMMON_CMD = "common_cmd"
    LOCAL_GROUP_UPDATE = "local_group_update"
    LOCAL_SCENE_UPDATE = "local_scene_update"
    LOG_SWITCH = "log_switch"
    REBOOT = "reboot"
    SUB_REPLACE = "sub_replace"
    PROPERTY_GET = "property_get"
    CONFIG_SETTINGS = "config_settings"
    PWD_SET = "pwd_set"
    GATEWAY_DATA_INIT = "gateway_data_init"
    DP_BIND = "dp_bind"
    LOCAL_DP_GROUP_UPDATE = "local_dp_group_update"
    DEVICE_INFO_UPDATE = "device_info_update"
    GROUP_INFO_UPDATE = "group_info_update"
    WEBRTC_SIGNAL_EXCHANGE = "webrtc_signal_exchange"
    REMOTE_UNLOCK = "remote_unlock"
    CLEAN_DATA = "clean_data"


class ProductCommand(StrEnum):
    """Codes the cloud publishes on ``product/v2/{pid}/issue``."""

    SILENCE_OTA = "silence_ota"


class AppNotification(StrEnum):
    """Codes the cloud pushes to an app on ``notify`` and ``userNotify``."""

    OTA_PROGRESS = "ota_progress"
    PROPERTY_CHANGE = "property_change"
    STATUS = "status"
    BIND_RESULT = "bind_result"
    IPC_TOKEN_USED = "ipc_token_used"
    WAKE_UP_SUCCESS = "wake_up_success"
    ALERT = "alert"
    COMMON_CMD_RESP = "common_cmd_resp"
    FIND = "find"
    SUB_REPLACE_RESULT = "sub_replace_result"
    MATTER_FIND = "matter_find"
    MATTER_PAIR = "matter_pair"
    LOCAL_GROUP_RESULT = "local_group_result"
    LOCAL_SCENE_RESULT = "local_scene_result"
    CONFIG_SETTINGS_RESP = "config_settings_resp"
    PWD_SET_RESULT = "pwd_set_result"
    SIGNAL_CHECK_RESULT = "signal_check_result"  # obsolete: superseded by device_property_update
    WEBRTC_SIGNAL_EXCHANGE = "webrtc_signal_exchange"
    DEVICE_PROPERTY_UPDATE = "device_property_update"
    SYS_NOTICE = "sys_notice"


class Status(IntEnum):
    """Status codes carried in ``res``."""

    SUCCESS = 0
    SERVICE_EXCEPTION = 1001
    INVALID_PARAMETER = 1002
    MESSAGE_FORMAT_ERROR = 1003
    DEVICE_NOT_FOUND = 1004
    PRODUCT_NOT_FOUND = 1005
    SERVICE_NOT_ACTIVATED = 1006
    DEVICE_ALREADY_BOUND = 17032
    SCENE_NOT_FOUND = 24029
    ONE_CLICK_NOT_SUPPORTED = 24030
    GROUP_NOT_FOUND = 24034


type Code = DeviceEvent | DeviceCommand | ProductCommand | AppNotification

# The summary tables and the detailed sections spell four codes differently. Both are
# accepted; the enum value (the detailed section's spelling) is what gets sent.
ALIASES: Final[Mapping[type[StrEnum], Mapping[str, Code]]] = MappingProxyType(
    {
        DeviceCommand: {
            "set_pwd_list": DeviceCommand.PWD_SET,
            "clear_data": DeviceCommand.CLEAN_DATA,
        },
        AppNotification: {
            "pwd_list_resp": AppNotification.PWD_SET_RESULT,
            "device_properties_update": AppNotification.DEVICE_PROPERTY_UPDATE,
        },
    }
)

_EVENT_ACK_REQUIRED: Final = frozenset(
    {
        DeviceEvent.TIME,
        DeviceEvent.MODEL,
        DeviceEvent.CONFIG,
        DeviceEvent.BIND,
        DeviceEvent.INFO,
        DeviceEvent.SUB_BIND,
        DeviceEvent.SUB_DELETE,
        DeviceEvent.SUB_MODEL,
        DeviceEvent.LOCAL_CONFIG,
        DeviceEvent.SUB_LIST,
        DeviceEvent.IPC_CLOUD,
        DeviceEvent.P2P_CONFIG,
        DeviceEvent.AGORA_TOKEN,
        DeviceEvent.IPC_TOKEN_BIND,
        # The table says 0, but the event exists to obtain a URL, which needs a reply.
        DeviceEvent.IPC_LIVE_GET,
        DeviceEvent.PWD_SYNC,
        # The table says 0 while the detailed example asks for a reply.
        DeviceEvent.LOCAL_DATA_SYNC,
        DeviceEvent.AGORA_AI_TOKEN,
        DeviceEvent.WEATHER,
        DeviceEvent.SWEEPER_STS_TOKEN,
        DeviceEvent.SWEEPER_MAP_LIST,
        DeviceEvent.SWEEPER_MAP_ADD,
        DeviceEvent.SWEEPER_MAP_UPDATE,
        DeviceEvent.SWEEPER_MAP_DEL,
        DeviceEvent.SWEEPER_RECORD_ADD,
        DeviceEvent.WEBRTC_CONFIG,
    }
)

_COMMAND_ACK_REQUIRED: Final = frozenset(
    {
        DeviceCommand.PING,
        DeviceCommand.LOCAL_GROUP_SET,
        DeviceCommand.LOCAL_RULE_EXEC,
        DeviceCommand.WAKE_UP,
        # Blank in the table; the example asks for the `result` the cloud waits for.
        DeviceCommand.IPC_CLOUD_OPEN,
        DeviceCommand.COMMON_CMD,
        DeviceCommand.LOCAL_GROUP_UPDATE,
        DeviceCommand.LOCAL_SCENE_UPDATE,
        DeviceCommand.SUB_REPLACE,
        DeviceCommand.CONFIG_SETTINGS,
        DeviceCommand.PWD_SET,
        DeviceCommand.DP_BIND,
        DeviceCommand.LOCAL_DP_GROUP_UPDATE,
    }
)

# By enum: members of different enums with the same spelling (`sub_delete` is an event and
# a command) compare equal as strings, and their defaults differ.
_ACK_REQUIRED: Final[Mapping[type[StrEnum], frozenset[Code]]] = MappingProxyType(
    {
        DeviceEvent: _EVENT_ACK_REQUIRED,
        DeviceCommand: _COMMAND_ACK_REQUIRED,
        ProductCommand: frozenset({ProductCommand.SILENCE_OTA}),
    }
)


def default_ack(code: Code) -> bool:
    """Whether a message with this code asks for a reply when it carries no ``ack``."""
    return code in _ACK_REQUIRED.get(type(code), frozenset())


def _spellings(enum: type[StrEnum]) -> dict[str, Code]:
    return {**ALIASES.get(enum, {}), **{str(m): cast("Code", m) for m in enum}}


_BY_SPELLING: Final[Mapping[type[StrEnum], Mapping[str, Code]]] = MappingProxyType(
    {
        enum: _spellings(enum)
        for enum in (DeviceEvent, DeviceCommand, ProductCommand, AppNotification)
    }
)


def lookup[C: Code](enum: type[C], raw: str) -> C | None:
    """Return the member of `enum` named by `raw` (either spelling), or None."""
    found = _BY_SPELLING[enum].get(raw)
    return found if isinstance(found, enum) else None
