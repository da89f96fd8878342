"""Codes: every one of the protocol has a member, aliases resolve, acks default per code."""

from __future__ import annotations

import pytest

from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import (
    ALIASES,
    AppNotification,
    DeviceCommand,
    DeviceEvent,
    ProductCommand,
    Status,
    default_ack,
    lookup,
)
from custom_components.rlink.protocol.errors import UnknownCodeError
from custom_components.rlink.protocol.topics import TopicKind


def test_counts_match_the_protocol() -> None:
    assert len(DeviceEvent) == 37
    assert len(DeviceCommand) == 32  # the summary table's 32, sub_add included
    assert len(ProductCommand) == 1
    assert len(AppNotification) == 20
    assert [s.value for s in Status] == [
        0,
        1001,
        1002,
        1003,
        1004,
        1005,
        1006,
        17032,
        24029,
        24030,
        24034,
    ]


@pytest.mark.parametrize(
    ("enum", "raw", "canonical"),
    [
        (DeviceCommand, "set_pwd_list", "pwd_set"),
        (DeviceCommand, "pwd_set", "pwd_set"),
        (DeviceCommand, "clear_data", "clean_data"),
        (DeviceCommand, "clean_data", "clean_data"),
        (AppNotification, "pwd_list_resp", "pwd_set_result"),
        (AppNotification, "device_properties_update", "device_property_update"),
        (AppNotification, "device_property_update", "device_property_update"),
    ],
)
def test_both_spellings_are_accepted(enum: type, raw: str, canonical: str) -> None:
    assert lookup(enum, raw) == canonical


def test_aliases_do_not_leak_across_directions() -> None:
    assert lookup(DeviceEvent, "set_pwd_list") is None
    assert lookup(AppNotification, "clear_data") is None
    assert lookup(DeviceEvent, "nonsense") is None


CODE_KINDS = [
    *((TopicKind.REPORT, c) for c in DeviceEvent),
    *((TopicKind.ISSUE, c) for c in DeviceCommand),
    *((TopicKind.PRODUCT_ISSUE, c) for c in ProductCommand),
    *((TopicKind.NOTIFY, c) for c in AppNotification),
    *((TopicKind.ISSUE, raw) for raw in ALIASES[DeviceCommand]),
    *((TopicKind.NOTIFY, raw) for raw in ALIASES[AppNotification]),
]


@pytest.mark.parametrize(("kind", "raw"), CODE_KINDS, ids=[f"{k}-{c}" for k, c in CODE_KINDS])
def test_every_code_parses(kind: TopicKind, raw: str) -> None:
    """A minimal envelope of each code and spelling decodes to its canonical member."""
    parsed = messages.decode(kind, f'{{"id":"m1","ts":1,"code":"{raw}"}}')
    assert parsed.code == lookup(type(parsed.code), raw)
    assert str(parsed.code) == str(lookup(type(parsed.code), raw))
    if kind is not TopicKind.NOTIFY:
        assert parsed.ack is default_ack(parsed.code)


def test_canonical_spelling_is_sent() -> None:
    parsed = messages.decode(TopicKind.ISSUE, '{"id":"m1","ts":1,"code":"set_pwd_list","ack":1}')
    assert b'"code":"pwd_set"' in messages.encode(parsed)


def test_unknown_code_is_a_named_error() -> None:
    with pytest.raises(UnknownCodeError) as err:
        messages.decode(TopicKind.REPORT, '{"id":"m9","ts":1,"code":"teleport","ack":1}')
    assert err.value.code == "teleport"
    assert err.value.message_id == "m9"
    assert err.value.field == "code"
    assert "teleport" in str(err.value)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (DeviceEvent.TIME, True),
        (DeviceEvent.PROPERTY_REPORT, False),
        (DeviceEvent.IPC_LIVE_GET, True),
        (DeviceEvent.LOCAL_DATA_SYNC, True),
        (DeviceEvent.LOCAL_CONFIG, True),
        (DeviceCommand.PING, True),
        (DeviceCommand.PROPERTY_SET, False),
        (DeviceCommand.IPC_CLOUD_OPEN, True),
        (DeviceCommand.PWD_SET, True),
        (ProductCommand.SILENCE_OTA, True),
        (AppNotification.STATUS, False),
        # Spelled alike, equal as strings, defaults apart.
        (DeviceEvent.SUB_DELETE, True),
        (DeviceCommand.SUB_DELETE, False),
    ],
)
def test_default_ack(code: DeviceEvent, expected: bool) -> None:
    assert default_ack(code) is expected
