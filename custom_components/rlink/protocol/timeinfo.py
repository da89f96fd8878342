"""The reply to a device's ``time`` event, computed from an IANA time zone.

Besides the current offset, a device gets this year's daylight-saving transitions so it
can ask again when one passes. zoneinfo exposes no transition list, so the transitions
are found by scanning the year day by day and bisecting to the second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_FORMAT = "%Y-%m-%d %H:%M:%S"
_DAY = 86400


def _in_dst(zone: ZoneInfo, ts: int) -> bool:
    return bool(datetime.fromtimestamp(ts, zone).dst())


def _bisect(zone: ZoneInfo, low: int, high: int) -> int:
    """The first second in (low, high] whose DST state differs from low's."""
    before = _in_dst(zone, low)
    while high - low > 1:
        middle = (low + high) // 2
        if _in_dst(zone, middle) == before:
            low = middle
        else:
            high = middle
    return high


def dst_transitions(zone: ZoneInfo, year: int) -> tuple[int | None, int | None]:
    """UTC seconds of the year's switch into DST and out of it (None where there is none)."""
    start_of_year = int(datetime(year, 1, 1, tzinfo=zone).timestamp())
    end_of_year = int(datetime(year + 1, 1, 1, tzinfo=zone).timestamp())
    start: int | None = None
    end: int | None = None
    previous_ts, previous = start_of_year, _in_dst(zone, start_of_year)
    probes = [*range(start_of_year + _DAY, end_of_year, _DAY), end_of_year]
    for ts in probes:
        current = _in_dst(zone, ts)
        if current != previous:
            moment = _bisect(zone, previous_ts, ts)
            if current and start is None:
                start = moment
            elif not current and end is None:
                end = moment
        previous_ts, previous = ts, current
    return start, end


def _local_wall_clock(zone: ZoneInfo, ts: int) -> str:
    """Wall-clock time just before `ts`: a transition is named by the clock that reaches it."""
    before = datetime.fromtimestamp(ts - 1, zone)
    return (before + timedelta(seconds=1)).strftime(_FORMAT)


def time_reply(zone_name: str, now: datetime | float | None = None) -> dict[str, Any]:
    """The ``data`` of a ``time`` reply for `zone_name` at `now` (default: the current time).

    DST fields are empty strings for a zone that does not observe DST this year.
    Raises `zoneinfo.ZoneInfoNotFoundError` (a KeyError) for an unknown zone.
    """
    zone = ZoneInfo(zone_name)
    if now is None:
        now = datetime.now(UTC)
    ts = int(now.timestamp()) if isinstance(now, datetime) else int(now)
    local = datetime.fromtimestamp(ts, zone)
    offset = local.utcoffset() or timedelta(0)
    start, end = dst_transitions(zone, local.year)
    observes_dst = start is not None or end is not None
    return {
        "ts": ts,
        "sys_tz": zone_name,
        "zone_offset": int(offset.total_seconds()),
        "local_date_time": local.strftime(_FORMAT),
        "is_dst": bool(local.dst()),
        "is_zone_dst": observes_dst,
        "dst_start_ts": start if start is not None else "",
        "dst_start_local_date_time": _local_wall_clock(zone, start) if start is not None else "",
        "dst_end_ts": end if end is not None else "",
        "dst_end_local_date_time": _local_wall_clock(zone, end) if end is not None else "",
    }
