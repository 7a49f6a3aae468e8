"""The time: now, and any moment in UTC. Every stored time is UTC; a time without an offset is
taken as UTC (switches often write wall-clock time; an endpoint's `timezone` says otherwise)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive one is UTC already. OverflowError when it leaves datetime's range."""
    if moment.tzinfo is UTC:
        return moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
