"""Time-of-day periods: which period of a plan's week a moment falls in, by wall-clock time
in the plan's timezone.

A schedule is a set of windows (period name, weekdays, start and end minute of the day) that
must cover every minute of the week exactly once. A whole call is priced by the period at its
start. Wall-clock time decides: across a DST change a window keeps its local hours, the hour
skipped in spring belongs to no call, and the hour repeated in autumn is read twice.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440
WEEK_MINUTES = 7 * MINUTES_PER_DAY
ALL_PERIODS = ""  # the period of a plan without a schedule, and of a rate given for every period
_HOUR_US = 3_600_000_000
_DAY_US = 86_400_000_000
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


@dataclass(frozen=True, slots=True)
class Window:
    """`period` is in force on `days` (0 = Monday) from minute `start` to minute `end` (exclusive)."""

    period: str
    days: frozenset[int]
    start: int
    end: int


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Schedule:
    """A plan's periods; without windows every moment is in `ALL_PERIODS`."""

    __slots__ = ("_hours", "_slots", "names", "windows", "zone")

    def __init__(self, timezone: str, windows: Iterable[Window] = ()) -> None:
        self.zone = ZoneInfo(timezone)
        self.windows = tuple(windows)
        self.names: tuple[str, ...] = tuple(dict.fromkeys(window.period for window in self.windows)) or (ALL_PERIODS,)
        slots = np.full(WEEK_MINUTES, -1, np.int16)
        if self.windows:
            for window in self.windows:
                if not 0 <= window.start < window.end <= MINUTES_PER_DAY or not window.days:
                    raise ValueError(f"{window.period}: a window needs days and start < end within the day")
                for day in sorted(window.days):
                    span = slots[day * MINUTES_PER_DAY + window.start : day * MINUTES_PER_DAY + window.end]
                    taken = np.flatnonzero(span >= 0)
                    if taken.size:
                        minute = window.start + int(taken[0])
                        other = self.names[span[taken[0]]]
                        raise ValueError(f"{window.period} overlaps {other} on {DAYS[day]} at {clock(minute)}")
                    span[:] = self.names.index(window.period)
            gaps = np.flatnonzero(slots < 0)
            if gaps.size:
                day, minute = divmod(int(gaps[0]), MINUTES_PER_DAY)
                raise ValueError(f"no period covers {DAYS[day]} {clock(minute)}: the periods must cover the whole week")
        else:
            slots[:] = 0
        self._slots = slots
        self._hours: dict[int, tuple[int, int]] = {}  # hour -> offsets at its start and end, as looked up

    def period_at(self, moment: datetime) -> str:
        """The period in force at `moment` (an aware datetime)."""
        if not self.windows:
            return ALL_PERIODS
        local = moment.astimezone(self.zone)
        return self.names[self._slots[local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute]]

    def periods_at(self, moments_us: np.ndarray) -> np.ndarray:
        """Positions in `names` of the periods in force at each moment (int64 microseconds since
        the epoch, UTC), vectorised: the zone's offset is looked up once per distinct hour."""
        moments_us = np.asarray(moments_us, np.int64)
        if not self.windows:
            return np.zeros(len(moments_us), np.int64)
        local = moments_us + self._offsets_us(moments_us)
        minute = (local % _DAY_US) // 60_000_000
        weekday = (local // _DAY_US + _EPOCH_WEEKDAY) % 7
        return self._slots[weekday * MINUTES_PER_DAY + minute].astype(np.int64)

    def _offsets_us(self, moments_us: np.ndarray) -> np.ndarray:
        """The zone's UTC offset at each moment. Offsets change at most once an hour, so an hour
        whose start and end share an offset has it throughout; the rare hour with a change in it
        is looked up call by call."""
        hours, inverse = np.unique(moments_us // _HOUR_US, return_inverse=True)
        at_start, at_end = np.array([self._hour(hour) for hour in hours.tolist()], np.int64).reshape(-1, 2).T
        offsets = at_start[inverse]
        for row in np.flatnonzero((at_start != at_end)[inverse]):
            offsets[row] = self._offset_us(int(moments_us[row]))
        return offsets

    def _hour(self, hour: int) -> tuple[int, int]:
        """The offsets at the start and the end of an hour since the epoch (kept: batches of
        calls share their hours, and zones change rules only with a new tzdata)."""
        found = self._hours.get(hour)
        if found is None:
            if len(self._hours) > 1_000_000:
                self._hours.clear()
            found = self._hours[hour] = (self._offset_us(hour * _HOUR_US), self._offset_us((hour + 1) * _HOUR_US - 1))
        return found

    def _offset_us(self, moment_us: int) -> int:
        moment = datetime.fromtimestamp(moment_us // 1_000_000, UTC).replace(microsecond=moment_us % 1_000_000)
        return moment.astimezone(self.zone).utcoffset() // _MICROSECOND


def epoch_us(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (exact: no float)."""
    return (moment - _EPOCH) // _MICROSECOND


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
