"""Billing periods: a calendar month in the account's time zone, as the UTC instants calls are
stored in (so a call at 2026-03-31T23:30Z belongs to April in Europe/Paris)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Month:
    first: date  # first day
    last: date  # last day, inclusive
    starts_at: datetime  # UTC: the first day's midnight in the zone
    ends_at: datetime  # UTC: the next month's midnight in the zone (exclusive)


def month(period: str, zone: str) -> Month:
    """The month `period` ("YYYY-MM") in the IANA zone `zone`. A midnight that a clock change
    skips begins the day when the clock does."""
    year, number = map(int, period.split("-"))
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    tz = ZoneInfo(zone)
    return Month(first, following - timedelta(days=1), _midnight(first, tz), _midnight(following, tz))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()
