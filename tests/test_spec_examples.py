"""Every message example of the protocol document parses into the right envelope and code.

The table names, for each example (by the line of its opening fence), the topic it
travels on and the canonical code it must come out as. Examples that are REST request
bodies rather than messages are counted separately.
"""

from __future__ import annotations

import contextlib
import json
import random

import pytest

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import ALIASES, lookup
from custom_components.rlink.protocol.errors import ProtocolError
from custom_components.rlink.protocol.messages import REPLY_KINDS, REQUEST_KINDS
from custom_components.rlink.protocol.topics import TopicKind

from .spec_examples import SPEC_FIXES, SPEC_PATH, Example, spec_examples

pytestmark = pytest.mark.skipif(
    not SPEC_PATH.exists(), reason=f"protocol document not at {SPEC_PATH}"
)

EXPECTED: list[tuple[int, str, str]] = [
    (62, "report", "reset"),
    (74, "report_response", "reset"),
    (89, "issue", "property_set"),
    (100, "issue_response", "property_set"),
    (154, "report", "reset"),
    (167, "report_response", "reset"),
    (180, "report", "time"),
    (190, "report_response", "time"),
    (230, "report", "model"),
    (244, "report_response", "model"),
    (288, "report_response", "model"),
    (326, "report_response", "model"),
    (351, "report", "config"),
    (361, "report_response", "config"),
    (377, "report", "bind"),
    (395, "report_response", "bind"),
    (412, "report", "info"),
    (432, "report_response", "info"),
    (456, "report", "property_report"),
    (472, "report_response", "property_report"),
    (485, "report", "ota_progress"),
    (509, "report", "ota_progress"),
    (526, "report", "ota_progress"),
    (542, "report", "ota_progress"),
    (560, "report_response", "ota_progress"),
    (573, "report", "sub_bind"),
    (595, "report_response", "sub_bind"),
    (616, "report", "sub_delete"),
    (634, "report_response", "sub_delete"),
    (655, "report", "sub_login"),
    (673, "report_response", "sub_login"),
    (694, "report", "sub_loginout"),
    (712, "report_response", "sub_loginout"),
    (733, "report", "sub_model"),
    (748, "report_response", "sub_model"),
    (793, "report_response", "sub_model"),
    (832, "report_response", "sub_model"),
    (858, "report", "sub_property_report"),
    (880, "report_response", "sub_property_report"),
    (893, "report", "local_config"),
    (903, "report_response", "local_config"),
    (916, "report", "sub_list"),
    (926, "report_response", "sub_list"),
    (950, "report", "ipc_cloud"),
    (1000, "report_response", "ipc_cloud"),
    (1025, "report_response", "ipc_cloud"),
    (1050, "report", "p2p_config"),
    (1063, "report_response", "p2p_config"),
    (1086, "report_response", "p2p_config"),
    (1109, "report_response", "p2p_config"),
    (1140, "report", "agora_token"),
    (1154, "report_response", "agora_token"),
    (1187, "report", "event"),
    (1201, "report", "event"),
    (1225, "report_response", "event"),
    (1238, "report", "ipc_token_bind"),
    (1252, "report_response", "ipc_token_bind"),
    (1265, "report", "find_alert"),
    (1279, "report_response", "find_alert"),
    (1292, "report", "find_report"),
    (1311, "report_response", "find_report"),
    (1324, "report", "ipc_live_get"),
    (1337, "report_response", "ipc_live_get"),
    (1354, "report", "pwd_sync"),
    (1406, "report_response", "pwd_sync"),
    (1419, "report", "local_data_sync"),
    (1444, "report", "webrtc_signal_exchange"),
    (1462, "report", "webrtc_signal_exchange"),
    (1481, "report", "update_properties_info"),
    (1499, "report_response", "update_properties_info"),
    (1512, "report", "agora_ai_token"),
    (1523, "report_response", "agora_ai_token"),
    (1542, "report", "weather"),
    (1553, "report_response", "weather"),
    (1571, "report", "sweeper_sts_token"),
    (1584, "report_response", "sweeper_sts_token"),
    (1608, "report", "sweeper_map_list"),
    (1620, "report_response", "sweeper_map_list"),
    (1643, "report", "sweeper_map_add"),
    (1659, "report_response", "sweeper_map_add"),
    (1679, "report", "sweeper_map_update"),
    (1696, "report_response", "sweeper_map_update"),
    (1716, "report", "sweeper_map_del"),
    (1729, "report_response", "sweeper_map_del"),
    (1745, "report", "sweeper_record_add"),
    (1760, "report_response", "sweeper_record_add"),
    (1779, "report", "webrtc_config"),
    (1791, "report_response", "webrtc_config"),
    (1853, "issue", "reset"),
    (1866, "issue_response", "reset"),
    (1878, "issue", "ota"),
    (1900, "issue_response", "ota"),
    (1912, "issue", "ping"),
    (1922, "issue_response", "ping"),
    (1949, "issue", "property_set"),
    (1965, "issue_response", "property_set"),
    (1983, "issue", "update_local_config"),
    (2055, "issue_response", "update_local_config"),
    (2067, "issue", "find_bind"),
    (2084, "issue_response", "find_bind"),
    (2096, "issue", "sub_property_set"),
    (2117, "issue_response", "sub_property_set"),
    (2140, "issue", "sub_delete"),
    (2157, "issue_response", "sub_delete"),
    (2169, "issue", "local_group_set"),
    (2186, "issue_response", "local_group_set"),
    (2205, "issue", "local_rule_exec"),
    (2218, "issue_response", "local_rule_exec"),
    (2233, "issue", "wake_up"),
    (2246, "issue_response", "wake_up"),
    (2262, "issue", "agora_join"),
    (2299, "issue", "ipc_cloud_open"),
    (2321, "issue_response", "ipc_cloud_open"),
    (2338, "issue", "agora_event"),
    (2357, "issue", "common_cmd"),
    (2378, "issue_response", "common_cmd"),
    (2401, "issue", "local_group_update"),
    (2422, "issue_response", "local_group_update"),
    (2446, "issue", "local_scene_update"),
    (2509, "issue_response", "local_scene_update"),
    (2532, "issue", "log_switch"),
    (2548, "issue_response", "log_switch"),
    (2560, "issue", "reboot"),
    (2573, "issue_response", "reboot"),
    (2585, "issue", "sub_replace"),
    (2599, "issue_response", "sub_replace"),
    (2617, "issue", "property_get"),
    (2632, "issue_response", "property_get"),
    (2646, "issue", "config_settings"),
    (2663, "issue_response", "config_settings"),
    (2681, "issue", "config_settings"),
    (2701, "issue_response", "config_settings"),
    (2722, "issue", "config_settings"),
    (2739, "issue_response", "config_settings"),
    (2757, "issue", "config_settings"),
    (2811, "issue_response", "config_settings"),
    (2868, "issue", "pwd_set"),
    (2897, "issue_response", "pwd_set"),
    (2927, "issue", "gateway_data_init"),
    (3019, "issue_response", "gateway_data_init"),
    (3030, "issue", "dp_bind"),
    (3092, "issue_response", "dp_bind"),
    (3156, "issue", "local_dp_group_update"),
    (3176, "issue_response", "local_dp_group_update"),
    (3193, "issue", "device_info_update"),
    (3211, "issue_response", "device_info_update"),
    (3223, "issue", "group_info_update"),
    (3241, "issue_response", "group_info_update"),
    (3253, "issue", "webrtc_signal_exchange"),
    (3276, "issue", "webrtc_signal_exchange"),
    (3292, "issue_response", "webrtc_signal_exchange"),
    (3304, "issue", "remote_unlock"),
    (3320, "issue_response", "remote_unlock"),
    (3332, "issue", "clean_data"),
    (3346, "issue_response", "clean_data"),
    (3360, "product_issue", "silence_ota"),
    (3372, "product_issue_response", "silence_ota"),
    (3391, "product_issue", "silence_ota"),
    (3416, "product_issue_response", "silence_ota"),
    (3440, "notify", "ota_progress"),
    (3478, "notify", "ota_progress"),
    (3498, "notify", "property_change"),
    (3530, "notify", "status"),
    (3546, "notify", "bind_result"),
    (3571, "notify", "ipc_token_used"),
    (3586, "notify", "wake_up_success"),
    (3600, "notify", "alert"),
    (3614, "notify", "common_cmd_resp"),
    (3631, "notify", "find"),
    (3655, "notify", "sub_replace_result"),
    (3671, "notify", "matter_find"),
    (3686, "notify", "matter_pair"),
    (3706, "notify", "local_group_result"),
    (3726, "notify", "local_scene_result"),
    (3746, "notify", "config_settings_resp"),
    (3764, "notify", "config_settings_resp"),
    (3785, "notify", "config_settings_resp"),
    (3805, "notify", "pwd_set_result"),
    (3837, "notify", "webrtc_signal_exchange"),
    (3855, "notify", "device_property_update"),
    (3887, "notify", "sys_notice"),
]
REST_BODIES = 19


def _examples() -> dict[int, Example]:
    return {e.line: e for e in spec_examples()} if SPEC_PATH.exists() else {}


EXAMPLES = _examples()


def test_every_example_is_listed() -> None:
    """The table covers exactly the message examples; the rest are REST bodies."""
    messages_in_spec = {
        line for line, e in EXAMPLES.items() if isinstance(d := e.load(), dict) and "code" in d
    }
    assert messages_in_spec == {line for line, _, _ in EXPECTED}
    assert len(EXAMPLES) - len(messages_in_spec) == REST_BODIES
    assert len(EXAMPLES) == 200


@pytest.mark.parametrize(
    ("line", "kind", "code"), EXPECTED, ids=[f"L{x[0]}-{x[2]}" for x in EXPECTED]
)
def test_example_parses(line: int, kind: str, code: str) -> None:
    example = EXAMPLES[line]
    topic_kind = TopicKind(kind)
    message = messages.decode(topic_kind, example.cleaned())
    assert message.kind is topic_kind
    enum = type(message.code)
    assert message.code == lookup(enum, code)
    assert message.id == "45lkj3551234001"
    assert message.ts == 1626197189
    assert isinstance(message.data, dict)
    if topic_kind in REQUEST_KINDS:
        assert isinstance(message.ack, bool)
        assert message.res is None
    elif topic_kind in REPLY_KINDS:
        assert message.ack is None
        assert message.res == 0
    else:
        assert message.ack is None
        assert message.res is None


@pytest.mark.parametrize("line", sorted(SPEC_FIXES))
def test_broken_examples_need_their_repair(line: int) -> None:
    """Without the hand repair the document is rejected with a ProtocolError, with it it parses."""
    example = EXAMPLES[line]
    kind = next(TopicKind(k) for x, k, _ in EXPECTED if x == line)
    broken = Example(line + 100_000, example.text, example.section).cleaned()
    with pytest.raises(ProtocolError) as err:
        messages.decode(kind, broken)
    assert err.value.field == "payload"
    assert messages.decode(kind, example.cleaned()).id == "45lkj3551234001"


def test_aliases_in_the_spec_come_out_canonical() -> None:
    aliased = {raw for table in ALIASES.values() for raw in table}
    assert aliased == {"set_pwd_list", "clear_data", "pwd_list_resp", "device_properties_update"}


def _mutations(text: str, rng: random.Random) -> list[str]:
    out = []
    for _ in range(25):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(chars))
            match rng.randint(0, 2):
                case 0:
                    del chars[position]
                case 1:
                    chars.insert(position, rng.choice('{}[]",:0123456789aZ\\\x00\u00e9'))
                case _:
                    chars[position] = rng.choice('{}[]",:0-9tfn ')
        out.append("".join(chars))
    return out


@pytest.mark.parametrize(
    ("line", "kind", "code"), EXPECTED[::3], ids=[f"L{x[0]}" for x in EXPECTED[::3]]
)
def test_mutated_examples_raise_only_protocol_errors(line: int, kind: str, code: str) -> None:
    rng = random.Random(line)
    cleaned = EXAMPLES[line].cleaned()
    body = json.loads(cleaned)
    for text in _mutations(cleaned, rng):
        with contextlib.suppress(ProtocolError):
            messages.decode(TopicKind(kind), text)
    # Field-level damage: every envelope field replaced by a value of the wrong type.
    for key in ("id", "ts", "code", "data", "ack", "res", "msg"):
        for wrong in (None, True, 1.5, "x", [], {}, -1):
            damaged = {**body, key: wrong}
            try:
                messages.decode(TopicKind(kind), json.dumps(damaged))
            except ProtocolError as err:
                assert err.field in {key, "code"}
