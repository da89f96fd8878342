"""The `time` reply, checked against zoneinfo for zones with and without DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from custom_components.rlink.protocol.timeinfo import dst_transitions, time_reply


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_matches_the_protocol_example() -> None:
    """The document's example: New York, 2024-07-13 04:33:39 local.

    One field differs on purpose: the example's ``dst_end_ts`` (1730617200) is 07:00 UTC,
    which is 02:00 *after* the clocks went back. The switch itself happens at 06:00 UTC
    (02:00 EDT becomes 01:00 EST), and that instant is what gets sent.
    """
    reply = time_reply("America/New_York", _utc(2024, 7, 13, 8, 33, 39))
    assert reply == {
        "ts": 1720859619,
        "sys_tz": "America/New_York",
        "zone_offset": -14400,
        "local_date_time": "2024-07-13 04:33:39",
        "is_dst": True,
        "is_zone_dst": True,
        "dst_start_ts": 1710054000,
        "dst_start_local_date_time": "2024-03-10 02:00:00",
        "dst_end_ts": 1730613600,
        "dst_end_local_date_time": "2024-11-03 02:00:00",
    }


@pytest.mark.parametrize(
    ("zone", "start", "start_local", "end", "end_local"),
    [
        (
            "America/New_York",
            _utc(2025, 3, 9, 7),
            "2025-03-09 02:00:00",
            _utc(2025, 11, 2, 6),
            "2025-11-02 02:00:00",
        ),
        (
            "Europe/Berlin",
            _utc(2025, 3, 30, 1),
            "2025-03-30 02:00:00",
            _utc(2025, 10, 26, 1),
            "2025-10-26 03:00:00",
        ),
        # Southern hemisphere: DST ends in April and starts in October of the same year.
        (
            "Australia/Sydney",
            _utc(2025, 10, 4, 16),
            "2025-10-05 02:00:00",
            _utc(2025, 4, 5, 16),
            "2025-04-06 03:00:00",
        ),
    ],
)
def test_dst_transitions(
    zone: str, start: float, start_local: str, end: float, end_local: str
) -> None:
    reply = time_reply(zone, _utc(2025, 6, 1))
    assert reply["is_zone_dst"] is True
    assert (reply["dst_start_ts"], reply["dst_end_ts"]) == (int(start), int(end))
    assert reply["dst_start_local_date_time"] == start_local
    assert reply["dst_end_local_date_time"] == end_local
    tz = ZoneInfo(zone)
    # Each reported instant really is where zoneinfo flips.
    for moment, entering in ((int(start), True), (int(end), False)):
        assert bool(datetime.fromtimestamp(moment, tz).dst()) is entering
        assert bool(datetime.fromtimestamp(moment - 1, tz).dst()) is not entering


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_zone_without_dst(zone: str) -> None:
    reply = time_reply(zone, _utc(2025, 6, 1, 12))
    assert reply["is_zone_dst"] is False
    assert reply["is_dst"] is False
    for key in (
        "dst_start_ts",
        "dst_start_local_date_time",
        "dst_end_ts",
        "dst_end_local_date_time",
    ):
        assert reply[key] == ""
    expected = datetime.fromtimestamp(_utc(2025, 6, 1, 12), ZoneInfo(zone))
    assert reply["zone_offset"] == int(expected.utcoffset().total_seconds())
    assert reply["local_date_time"] == expected.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("zone", "transition"),
    [
        ("America/New_York", _utc(2025, 3, 9, 7)),
        ("America/New_York", _utc(2025, 11, 2, 6)),
        ("Europe/Berlin", _utc(2025, 3, 30, 1)),
        ("Europe/Berlin", _utc(2025, 10, 26, 1)),
        ("Australia/Sydney", _utc(2025, 4, 5, 16)),
        ("Australia/Sydney", _utc(2025, 10, 4, 16)),
    ],
)
def test_both_sides_of_a_transition(zone: str, transition: float) -> None:
    tz = ZoneInfo(zone)
    for ts in (int(transition) - 1, int(transition)):
        reply = time_reply(zone, ts)
        local = datetime.fromtimestamp(ts, tz)
        assert reply["ts"] == ts
        assert reply["zone_offset"] == int(local.utcoffset().total_seconds())
        assert reply["is_dst"] is bool(local.dst())
        assert reply["local_date_time"] == local.strftime("%Y-%m-%d %H:%M:%S")
    before, after = time_reply(zone, int(transition) - 1), time_reply(zone, int(transition))
    assert before["is_dst"] is not after["is_dst"]
    assert abs(before["zone_offset"] - after["zone_offset"]) == 3600


def test_accepts_datetimes_and_defaults_to_now() -> None:
    moment = datetime(2025, 1, 15, 12, tzinfo=UTC)
    assert time_reply("Europe/Berlin", moment)["local_date_time"] == "2025-01-15 13:00:00"
    assert abs(time_reply("UTC")["ts"] - datetime.now(UTC).timestamp()) < 5


def test_transitions_helper_for_a_zone_that_dropped_dst() -> None:
    # Turkey stopped observing DST in 2016.
    assert dst_transitions(ZoneInfo("Europe/Istanbul"), 2020) == (None, None)


def test_unknown_zone() -> None:
    with pytest.raises(ZoneInfoNotFoundError):
        time_reply("Mars/Olympus_Mons", 0)


def test_a_zone_with_negative_dst_is_in_dst_in_summer() -> None:
    """Europe/Dublin's legal standard time is its summer time (zoneinfo gives winter a DST
    of -1 h); a device still hears of DST the way clocks go: ahead in summer."""
    winter, summer = (
        time_reply("Europe/Dublin", _utc(2025, 1, 15)),
        time_reply("Europe/Dublin", _utc(2025, 7, 15)),
    )
    assert winter["is_dst"] is False
    assert summer["is_dst"] is True
    assert summer["zone_offset"] - winter["zone_offset"] == 3600
    # The same transitions as London's, in the same order.
    london = time_reply("Europe/London", _utc(2025, 7, 15))
    assert (summer["dst_start_ts"], summer["dst_end_ts"]) == (
        london["dst_start_ts"],
        london["dst_end_ts"],
    )
    assert summer["dst_start_ts"] < summer["dst_end_ts"]
    assert summer["dst_start_local_date_time"] == "2025-03-30 01:00:00"


def test_a_loaded_zone_is_taken_as_it_is() -> None:
    zone = ZoneInfo("Europe/Paris")
    assert time_reply(zone, _utc(2025, 7, 15)) == time_reply("Europe/Paris", _utc(2025, 7, 15))
