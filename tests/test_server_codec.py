"""Topic filters of the device server: which are valid, and what they match (MQTT-4.7)."""

from __future__ import annotations

import pytest

from custom_components.rlink.protocol.server.codec import filter_matches, valid_filter


@pytest.mark.parametrize(
    ("topic_filter", "ok"),
    [
        ("a/b", True),
        ("a/+/c", True),
        ("a/#", True),
        ("#", True),
        ("+", True),
        ("", False),
        ("a/#/c", False),  # MQTT-4.7.1-2: # only last
        ("a#", False),
        ("a/b+", False),  # MQTT-4.7.1-3: + a whole level
    ],
)
def test_valid_filters(topic_filter: str, ok: bool) -> None:
    assert valid_filter(topic_filter) is ok


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("a/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/#", "a/b/c", True),
        ("a/#", "a", True),  # MQTT-4.7.1-2: # also matches the parent level
        ("+/+", "a/b", True),
        ("a/+/c", "a/x/d", False),
        ("#", "$SYS/x", False),  # MQTT-4.7.2-1: no leading wildcard for $ topics
        ("+/x", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True),
        ("a/b/c", "a/b", False),
    ],
)
def test_filter_matching(topic_filter: str, topic: str, matches: bool) -> None:
    assert filter_matches(topic_filter, topic) is matches
