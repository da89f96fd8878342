"""Envelopes: building, encoding, tolerant parsing and typed failures."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.rlink.protocol import errors, messages
from custom_components.rlink.protocol.codes import AppNotification as Notify
from custom_components.rlink.protocol.codes import DeviceCommand, DeviceEvent, ProductCommand
from custom_components.rlink.protocol.errors import ProtocolError
from custom_components.rlink.protocol.topics import TopicKind


def test_event_reply_round_trip() -> None:
    sent = messages.event(DeviceEvent.TIME, msg_id="abc", ts=5)
    assert sent.ack is True  # time asks for a reply by default
    wire = json.loads(messages.encode(sent))
    assert wire == {"id": "abc", "ts": 5, "code": "time", "data": {}, "ack": 1}
    answer = messages.reply(sent, {"ts": 6}, ts=6)
    assert answer.kind is TopicKind.REPORT_RESPONSE
    assert json.loads(messages.encode(answer)) == {
        "res": 0,
        "msg": "success",
        "id": "abc",
        "ts": 6,
        "code": "time",
        "data": {"ts": 6},
    }
    assert messages.decode(TopicKind.REPORT_RESPONSE, messages.encode(answer)) == answer


def test_command_reply_has_no_msg() -> None:
    sent = messages.command(DeviceCommand.PING, msg_id="p1", ts=1)
    answer = messages.reply(sent, {"signal": 1}, res=0)
    wire = json.loads(messages.encode(answer))
    assert "msg" not in wire
    assert wire["res"] == 0
    assert wire["code"] == "ping"


def test_product_command_and_notification() -> None:
    ota = messages.product_command(ProductCommand.SILENCE_OTA, {"taskId": "t"})
    assert ota.kind is TopicKind.PRODUCT_ISSUE
    assert ota.ack is True
    assert messages.reply(ota).kind is TopicKind.PRODUCT_ISSUE_RESPONSE
    note = messages.notification(Notify.STATUS, {"deviceId": "d", "online": 1})
    assert json.loads(messages.encode(note))["code"] == "status"
    with pytest.raises(ProtocolError):
        messages.reply(note)


def test_request_rejects_a_code_of_another_direction() -> None:
    with pytest.raises(ProtocolError, match="not a issue code"):
        messages.request(TopicKind.ISSUE, DeviceEvent.TIME)
    with pytest.raises(ProtocolError):
        messages.request(TopicKind.NOTIFY, Notify.STATUS)


def test_error_reply_raises_typed_error() -> None:
    answer = messages.decode(
        TopicKind.REPORT_RESPONSE,
        '{"res":1005,"msg":"no such product","id":"1","ts":1,"code":"model"}',
    )
    with pytest.raises(errors.ProductNotFound) as err:
        answer.raise_for_status()
    assert err.value.code == 1005
    assert err.value.msg == "no such product"
    messages.reply(messages.event(DeviceEvent.TIME)).raise_for_status()  # res 0: nothing


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (1001, errors.ServiceException),
        (1002, errors.InvalidParameter),
        (1003, errors.MessageFormatError),
        (1004, errors.DeviceNotFound),
        (1005, errors.ProductNotFound),
        (1006, errors.ServiceNotActivated),
        (17032, errors.DeviceAlreadyBound),
        (24029, errors.SceneNotFound),
        (24030, errors.OneClickNotSupported),
        (24034, errors.GroupNotFound),
    ],
)
def test_status_codes_map_to_exceptions(status: int, cls: type[errors.RlinkError]) -> None:
    err = errors.error_for_status(status)
    assert type(err) is cls
    assert err.code == status
    assert err.msg == cls.default_message


def test_unknown_status_is_still_an_rlink_error() -> None:
    err = errors.error_for_status(4242)
    assert type(err) is errors.RlinkError
    assert err.code == 4242
    assert "4242" in str(err)


def test_tolerant_parsing_keeps_unknown_fields_and_fills_defaults() -> None:
    parsed = messages.decode(
        TopicKind.REPORT,
        '{"id": 17, "ts": 1.0, "code": "model", "vendor": {"x": 1}, "data": null}',
    )
    assert parsed.id == "17"
    assert parsed.ts == 1
    assert parsed.data == {}
    assert parsed.ack is True  # model's default
    assert parsed.extra == {"vendor": {"x": 1}}
    assert json.loads(messages.encode(parsed))["vendor"] == {"x": 1}


def test_reply_without_res_counts_as_success() -> None:
    parsed = messages.decode(
        TopicKind.ISSUE_RESPONSE, '{"id":"1","ts":1,"code":"pwd_set","data":{}}'
    )
    assert parsed.res == 0
    assert parsed.is_reply


def test_ack_spelled_with_a_trailing_space() -> None:
    parsed = messages.decode(TopicKind.ISSUE, '{"id":"1","ts":1,"code":"agora_join","ack ":1}')
    assert parsed.ack is True


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"\xff\xfe", "payload"),
        ("{", "payload"),
        ("[]", "payload"),
        ('"text"', "payload"),
        ('{"id":"1","ts":NaN,"code":"time"}', "payload"),
        ('{"id":"1","ts":1}', "code"),
        ('{"id":"1","ts":1,"code":7}', "code"),
        ('{"ts":1,"code":"time"}', "id"),
        ('{"id":"","ts":1,"code":"time"}', "id"),
        ('{"id":true,"ts":1,"code":"time"}', "id"),
        ('{"id":"1","code":"time"}', "ts"),
        ('{"id":"1","ts":"1","code":"time"}', "ts"),
        ('{"id":"1","ts":1.5,"code":"time"}', "ts"),
        ('{"id":"1","ts":1,"code":"time","data":[]}', "data"),
        ('{"id":"1","ts":1,"code":"time","ack":2}', "ack"),
        ('{"id":"1","ts":1,"code":"time","ack":"1"}', "ack"),
        ("[" * 100_000, "payload"),
    ],
)
def test_wrong_types_name_the_field(payload: bytes | str, field: str) -> None:
    with pytest.raises(ProtocolError) as err:
        messages.decode(TopicKind.REPORT, payload)
    assert err.value.field == field


def test_what_only_pythons_parser_takes_is_still_taken() -> None:
    assert messages.loads_object(b'{"v":"\\ud800"}') == {"v": "\ud800"}  # a lone surrogate


def test_numbers_past_64_bits_are_sent_exactly() -> None:
    big = 2**70 + 1
    sent = messages.encode(messages.command(DeviceCommand.PROPERTY_SET, {"v": big}))
    assert json.loads(sent)["data"] == {"v": big}
    assert (
        messages.encode(messages.command(DeviceCommand.PROPERTY_SET, {"v": "é"})).count(
            "é".encode()
        )
        == 1
    )  # UTF-8, not escaped


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ('{"id":"1","ts":1,"code":"time","res":"0"}', "res"),
        ('{"id":"1","ts":1,"code":"time","res":true}', "res"),
        ('{"id":"1","ts":1,"code":"time","msg":5}', "msg"),
    ],
)
def test_wrong_reply_fields_name_the_field(payload: str, field: str) -> None:
    with pytest.raises(ProtocolError) as err:
        messages.decode(TopicKind.REPORT_RESPONSE, payload)
    assert err.value.field == field


def test_message_ids_are_unique_strings() -> None:
    ids = messages.MessageIds()
    other = messages.MessageIds()
    seen = {ids() for _ in range(10_000)} | {other() for _ in range(10_000)}
    assert len(seen) == 20_000
    assert all(isinstance(i, str) for i in seen)
    assert messages.MessageIds("ha")() == "ha000001"


# --- fuzzing: nothing but ProtocolError may come out of the parser ---------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "ts": json_values,
        "code": st.sampled_from(["time", "ping", "status", "silence_ota", "x"]) | json_values,
        "data": json_values,
        "ack": json_values,
        "res": json_values,
        "msg": json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=200), kind=st.sampled_from(list(TopicKind)))
def test_random_bytes_raise_only_protocol_errors(payload: bytes, kind: TopicKind) -> None:
    with contextlib.suppress(ProtocolError):
        messages.decode(kind, payload)


@settings(max_examples=400, deadline=None)
@given(body=json_values | envelope_like, kind=st.sampled_from(list(TopicKind)))
def test_random_json_raises_only_protocol_errors(body: object, kind: TopicKind) -> None:
    try:
        parsed = messages.decode(kind, json.dumps(body))
    except ProtocolError:
        return
    # Whatever parses re-encodes to the same envelope.
    assert messages.decode(kind, messages.encode(parsed)) == parsed
