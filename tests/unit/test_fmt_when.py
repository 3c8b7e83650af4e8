"""Event times as the trader's wall clock reads them: zone, abbreviation, date when not today, DST."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.dashboard import fmt

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def ts(zone: ZoneInfo, *parts: int) -> float:
    return datetime(*parts, tzinfo=zone).timestamp()


def test_a_time_of_today_is_the_zones_wall_clock_with_its_abbreviation() -> None:
    at = ts(UTC, 2026, 1, 15, 13, 3, 7)
    now = at + 600
    assert fmt.when(at, UTC, now) == "13:03:07 UTC"
    assert fmt.when(at, BERLIN, now) == "14:03:07 CET"
    assert fmt.when(at, NEW_YORK, now) == "08:03:07 EST"


def test_a_time_of_another_day_in_the_zone_carries_its_date() -> None:
    at = ts(BERLIN, 2026, 11, 24, 14, 3, 7)
    assert fmt.when(at, BERLIN, ts(BERLIN, 2026, 11, 25, 9, 0, 0)) == "24 Nov 14:03:07 CET"
    assert fmt.when(at, BERLIN, ts(BERLIN, 2026, 11, 24, 23, 59, 59)) == "14:03:07 CET"
    # another year: the year too
    assert fmt.when(at, BERLIN, ts(BERLIN, 2027, 1, 2, 9, 0, 0)) == "24 Nov 2026 14:03:07 CET"


def test_today_is_the_zones_today_not_utcs() -> None:
    """23:30 in New York is already tomorrow in UTC: only the zone's calendar decides."""
    at = ts(NEW_YORK, 2026, 3, 2, 23, 30, 0)
    now = ts(NEW_YORK, 2026, 3, 2, 23, 45, 0)
    assert fmt.when(at, NEW_YORK, now) == "23:30:00 EST"
    assert fmt.when(at, UTC, now) == "04:30:00 UTC"  # same day in UTC as well (both on the 3rd)
    yesterday_ny = ts(NEW_YORK, 2026, 3, 2, 18, 0, 0)  # 23:00 UTC on the 2nd
    now_next_day_utc = ts(UTC, 2026, 3, 3, 1, 0, 0)  # still the 2nd in New York
    assert fmt.when(yesterday_ny, NEW_YORK, now_next_day_utc) == "18:00:00 EST"
    assert fmt.when(yesterday_ny, UTC, now_next_day_utc) == "2 Mar 23:00:00 UTC"


def test_daylight_saving_time_changes_the_offset_and_the_abbreviation() -> None:
    # New York leaves DST on 2026-11-01 at 02:00 EDT (06:00 UTC): 01:30 happens twice
    first = ts(UTC, 2026, 11, 1, 5, 30, 0)
    second = ts(UTC, 2026, 11, 1, 6, 30, 0)
    now = ts(UTC, 2026, 11, 1, 12, 0, 0)
    assert fmt.when(first, NEW_YORK, now) == "01:30:00 EDT"
    assert fmt.when(second, NEW_YORK, now) == "01:30:00 EST"
    # Berlin enters summer time on 2026-03-29: CET before, CEST after
    assert fmt.when(ts(UTC, 2026, 3, 29, 0, 30, 0), BERLIN, ts(UTC, 2026, 3, 29, 12, 0, 0)) == "01:30:00 CET"
    assert fmt.when(ts(UTC, 2026, 3, 29, 1, 30, 0), BERLIN, ts(UTC, 2026, 3, 29, 12, 0, 0)) == "03:30:00 CEST"


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -1.0, 1e12, "12", True])
def test_what_is_not_a_plausible_time_is_n_a(value: object) -> None:
    assert fmt.when(value, UTC, 1_800_000_000.0) == fmt.NA


def test_a_broken_now_still_shows_the_time_with_its_full_date() -> None:
    at = ts(UTC, 2026, 1, 15, 13, 3, 7)
    assert fmt.when(at, UTC, math.nan) == "15 Jan 2026 13:03:07 UTC"
