"""Topics: building and parsing all eight, and refusing everything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.rlink.protocol import topics
from custom_components.rlink.protocol.errors import ProtocolError
from custom_components.rlink.protocol.topics import (
    AppTopic,
    DeviceTopic,
    ProductTopic,
)
from custom_components.rlink.protocol.topics import (
    TopicKind as K,
)


@pytest.mark.parametrize(
    ("topic", "parsed"),
    [
        ("rlink/v2/p1/rn014ebe0C20E122/report", DeviceTopic(K.REPORT, "p1", "rn014ebe0C20E122")),
        ("rlink/v2/p1/u1/report_response", DeviceTopic(K.REPORT_RESPONSE, "p1", "u1")),
        ("rlink/v2/p1/u1/issue", DeviceTopic(K.ISSUE, "p1", "u1")),
        ("rlink/v2/p1/u1/issue_response", DeviceTopic(K.ISSUE_RESPONSE, "p1", "u1")),
        ("product/v2/p1/issue", ProductTopic(K.PRODUCT_ISSUE, "p1")),
        ("product/v2/p1/issue_response", ProductTopic(K.PRODUCT_ISSUE_RESPONSE, "p1")),
        ("app/v2/home7/notify", AppTopic(K.NOTIFY, "home7")),
        ("app/v2/C8NaEHry9Gjw0EM0/userNotify", AppTopic(K.USER_NOTIFY, "C8NaEHry9Gjw0EM0")),
    ],
)
def test_parse_and_build(topic: str, parsed: object) -> None:
    assert topics.parse_topic(topic) == parsed
    assert str(parsed) == topic


def test_builders() -> None:
    assert topics.device_topic(K.ISSUE, "p", "u") == "rlink/v2/p/u/issue"
    assert topics.product_topic(K.PRODUCT_ISSUE_RESPONSE, "p") == "product/v2/p/issue_response"
    assert topics.app_topic(K.USER_NOTIFY, "me") == "app/v2/me/userNotify"
    assert topics.device_filter(K.REPORT) == "rlink/v2/+/+/report"
    assert topics.device_filter(K.ISSUE_RESPONSE, pid="p") == "rlink/v2/p/+/issue_response"


@pytest.mark.parametrize(
    ("builder", "args"),
    [
        (topics.device_topic, (K.NOTIFY, "p", "u")),
        (topics.product_topic, (K.ISSUE, "p")),
        (topics.app_topic, (K.REPORT, "x")),
        (topics.device_filter, (K.PRODUCT_ISSUE,)),
        (topics.device_topic, (K.ISSUE, "", "u")),
        (topics.device_topic, (K.ISSUE, "p", "a/b")),
        (topics.device_topic, (K.ISSUE, "p", "+")),
        (topics.device_topic, (K.ISSUE, "#", "u")),
        (topics.app_topic, (K.NOTIFY, " ")),
    ],
)
def test_builders_refuse_bad_input(builder: object, args: tuple[object, ...]) -> None:
    with pytest.raises(ProtocolError):
        builder(*args)  # type: ignore[operator]


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "rlink",
        "rlink/v2/p/u",
        "rlink/v2/p/u/report/extra",
        "rlink/v1/p/u/report",
        "rlink/v2//u/report",
        "rlink/v2/p/+/report",
        "rlink/v2/p/u/notify",
        "product/v2/p/report",
        "app/v2/a/issue",
        "app/v2//notify",
        "/rlink/v2/p/u/report",
        "rlink/v2/p/u/Report",
        "product/v2/#/issue",
    ],
)
def test_malformed_topics_are_refused(topic: str) -> None:
    with pytest.raises(ProtocolError) as err:
        topics.parse_topic(topic)
    assert err.value.field in {"topic", "pid", "uuid", "owner"}


segments = st.text(
    alphabet=st.characters(blacklist_characters="/+#\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() != "")


@given(kind=st.sampled_from(sorted(topics.DEVICE_KINDS)), pid=segments, uuid=segments)
def test_device_round_trip(kind: K, pid: str, uuid: str) -> None:
    assert topics.parse_topic(topics.device_topic(kind, pid, uuid)) == DeviceTopic(kind, pid, uuid)


@given(kind=st.sampled_from(sorted(topics.PRODUCT_KINDS)), pid=segments)
def test_product_round_trip(kind: K, pid: str) -> None:
    assert topics.parse_topic(topics.product_topic(kind, pid)) == ProductTopic(kind, pid)


@given(kind=st.sampled_from(sorted(topics.APP_KINDS)), owner=segments)
def test_app_round_trip(kind: K, owner: str) -> None:
    assert topics.parse_topic(topics.app_topic(kind, owner)) == AppTopic(kind, owner)


@given(st.text(max_size=60))
def test_random_text_parses_or_raises_protocol_error(text: str) -> None:
    try:
        parsed = topics.parse_topic(text)
    except ProtocolError:
        return
    assert str(parsed) == text
