"""The reply to a device's ``time`` event, computed from an IANA time zone.

Besides the current offset, a device gets this year's daylight-saving transitions so it
can ask again when one passes. zoneinfo exposes no transition list, so the transitions
are found by scanning the year day by day and bisecting to the second.

"Daylight saving" here is what a device means by it: the clocks are ahead of the zone's
lowest offset of the year. A zone whose legal standard time is its summer time (Europe/
Dublin keeps a negative DST in winter) is thus in DST in summer, as everywhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

_FORMAT = "%Y-%m-%d %H:%M:%S"
_DAY = 86400


def _offset(zone: tzinfo, ts: int) -> timedelta:
    return datetime.fromtimestamp(ts, zone).utcoffset() or timedelta(0)


def _year_probes(zone: tzinfo, year: int) -> list[int]:
    start_of_year = int(datetime(year, 1, 1, tzinfo=zone).timestamp())
    end_of_year = int(datetime(year + 1, 1, 1, tzinfo=zone).timestamp())
    return [*range(start_of_year, end_of_year, _DAY), end_of_year]


def _standard_offset(zone: tzinfo, year: int) -> timedelta:
    """The zone's lowest offset of the year: the clocks are "ahead" of it in DST."""
    return min(_offset(zone, ts) for ts in _year_probes(zone, year))


def _bisect(zone: tzinfo, standard: timedelta, low: int, high: int) -> int:
    """The first second in (low, high] whose DST state differs from low's."""
    before = _offset(zone, low) > standard
    while high - low > 1:
        middle = (low + high) // 2
        if (_offset(zone, middle) > standard) == before:
            low = middle
        else:
            high = middle
    return high


def dst_transitions(zone: tzinfo, year: int) -> tuple[int | None, int | None]:
    """UTC seconds of the year's switch into DST and out of it (None where there is none)."""
    probes = _year_probes(zone, year)
    standard = min(_offset(zone, ts) for ts in probes)
    start: int | None = None
    end: int | None = None
    previous_ts, previous = probes[0], _offset(zone, probes[0]) > standard
    for ts in probes[1:]:
        current = _offset(zone, ts) > standard
        if current != previous:
            moment = _bisect(zone, standard, previous_ts, ts)
            if current and start is None:
                start = moment
            elif not current and end is None:
                end = moment
        previous_ts, previous = ts, current
    return start, end


def _local_wall_clock(zone: tzinfo, ts: int) -> str:
    """Wall-clock time just before `ts`: a transition is named by the clock that reaches it."""
    before = datetime.fromtimestamp(ts - 1, zone)
    return (before + timedelta(seconds=1)).strftime(_FORMAT)


def time_reply(zone: tzinfo | str, now: datetime | float | None = None) -> dict[str, Any]:
    """The ``data`` of a ``time`` reply for `zone` at `now` (default: the current time).

    DST fields are empty strings for a zone that does not observe DST this year. A zone
    given by name is loaded here, which reads a file: in an event loop, pass a loaded one.
    Raises `zoneinfo.ZoneInfoNotFoundError` (a KeyError) for an unknown zone name.
    """
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    if now is None:
        now = datetime.now(UTC)
    ts = int(now.timestamp()) if isinstance(now, datetime) else int(now)
    local = datetime.fromtimestamp(ts, zone)
    offset = local.utcoffset() or timedelta(0)
    start, end = dst_transitions(zone, local.year)
    observes_dst = start is not None or end is not None
    return {
        "ts": ts,
        "sys_tz": getattr(zone, "key", None) or str(zone),
        "zone_offset": int(offset.total_seconds()),
        "local_date_time": local.strftime(_FORMAT),
        "is_dst": offset > _standard_offset(zone, local.year),
        "is_zone_dst": observes_dst,
        "dst_start_ts": start if start is not None else "",
        "dst_start_local_date_time": _local_wall_clock(zone, start) if start is not None else "",
        "dst_end_ts": end if end is not None else "",
        "dst_end_local_date_time": _local_wall_clock(zone, end) if end is not None else "",
    }
