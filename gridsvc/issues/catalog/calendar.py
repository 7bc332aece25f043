"""Work calendar for deadlines (限期): office hours, weekends, public holidays, make-up workdays.

Deadlines of cases run in working hours or working days. A working day is a weekday that is
not a public holiday, or a weekend day the State Council turned into a working day (调休上班).
Office hours default to those of a Chinese government office, 8:30-12:00 and 14:30-18:00.

All times are timezone-aware; they are read and returned in the calendar's zone
(Asia/Shanghai unless told otherwise). Naive datetimes are refused: a deadline that is off by
eight hours is worse than an error.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(moment: datetime | None) -> datetime | None:
    """Return ``moment`` in the city's time zone (Asia/Shanghai), as every answer gives it."""
    return moment.astimezone(SHANGHAI) if moment else None


DEFAULT_WORK_HOURS: tuple[tuple[time, time], ...] = (
    (time(8, 30), time(12, 0)),
    (time(14, 30), time(18, 0)),
)
WEEKEND = frozenset({5, 6})  # Saturday, Sunday (date.weekday numbering)
CN_CALENDAR_FILE = "holidays_cn.csv"
# A calendar whose every day is off would loop forever; no real one has a year without work.
_MAX_DAYS_OFF_IN_A_ROW = 366


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days, and the office hours within them.

    Parameters
    ----------
    holidays
        Days off that would otherwise be working days (public holidays and the weekdays
        moved into a holiday block).
    make_up_workdays
        Days that are working days though they fall on a weekday in ``weekdays_off``
        (调休: the weekend days worked to make up for a longer holiday).
    weekdays_off
        Days of the week that are off, as ``date.weekday()`` numbers (Monday is 0).
    work_hours
        Office hours of a working day: ordered, non-overlapping (start, end) pairs.
    timezone
        The zone the office hours are in.
    years
        The years ``holidays`` and ``make_up_workdays`` are known for; ``None`` if the
        calendar makes no such claim. See ``covers``.
    """

    holidays: frozenset[date] = frozenset()
    make_up_workdays: frozenset[date] = frozenset()
    weekdays_off: frozenset[int] = WEEKEND
    work_hours: tuple[tuple[time, time], ...] = DEFAULT_WORK_HOURS
    timezone: ZoneInfo = field(default=SHANGHAI)
    years: frozenset[int] | None = None

    def __post_init__(self) -> None:
        for name in ("holidays", "make_up_workdays", "weekdays_off"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        object.__setattr__(self, "work_hours", tuple(tuple(pair) for pair in self.work_hours))
        if self.years is not None:
            object.__setattr__(self, "years", frozenset(self.years))
        both = self.holidays & self.make_up_workdays
        if both:
            raise ValueError(f"days both holiday and make-up workday: {sorted(both)}")
        if not self.weekdays_off <= set(range(7)) or len(self.weekdays_off) == 7:
            raise ValueError(f"weekdays_off must be some of 0-6, not all: {self.weekdays_off}")
        _check_work_hours(self.work_hours)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day."""
        if day in self.make_up_workdays:
            return True
        return day not in self.holidays and day.weekday() not in self.weekdays_off

    def covers(self, day: date) -> bool:
        """Whether the calendar knows the holidays of ``day``'s year."""
        return self.years is None or day.year in self.years

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Return the earliest moment by which ``hours`` of office time have passed.

        Parameters
        ----------
        start
            When the clock starts; outside office hours the clock starts at the next opening.
        hours
            Office hours to add, zero or more; zero returns ``start`` itself.

        Returns
        -------
        datetime
            The deadline, in the calendar's zone. Where the time runs out exactly at a
            closing time (noon, evening) the deadline is that closing time.
        """
        start = self._local(start)
        if hours < 0:
            raise ValueError(f"hours must be zero or more, not {hours}")
        remaining = timedelta(hours=hours)
        if not remaining:
            return start
        for opens, closes in self._intervals_from(start.date()):
            if closes <= start:
                continue
            available = closes - max(opens, start)
            if remaining <= available:
                return max(opens, start) + remaining
            remaining -= available
        raise AssertionError("unreachable: _intervals_from never ends")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Return the close of office on the ``days``-th working day after ``start``.

        As in Chinese law (民法典 art. 201), the day the period starts is not counted: a
        case registered on Monday with 3 working days is due on Thursday at closing time.
        ``days=0`` means the same day: closing time of ``start``'s day if it is a working
        day and office has not yet closed, else of the next working day.
        """
        start = self._local(start)
        if days < 0:
            raise ValueError(f"days must be zero or more, not {days}")
        day = start.date()
        if days == 0 and self.is_working_day(day) and start <= self._closing(day):
            return self._closing(day)
        counted = 0
        for working_day in self._working_days_after(day):
            counted += 1
            if counted >= max(days, 1):
                return self._closing(working_day)
        raise AssertionError("unreachable: _working_days_after never ends")

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Office hours from ``a`` to ``b``; negative when ``b`` is before ``a``.

        ``working_hours_between(deadline, now)`` is how far a case is overdue.
        """
        a, b = self._local(a), self._local(b)
        if b < a:
            return -self.working_hours_between(b, a)
        total = timedelta()
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                for opens, closes in self._intervals(day):
                    overlap = min(closes, b) - max(opens, a)
                    if overlap > timedelta():
                        total += overlap
            day += timedelta(days=1)
        return total / timedelta(hours=1)

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(
                f"naive datetime {moment.isoformat()}: give a timezone (e.g. Asia/Shanghai)"
            )
        return moment.astimezone(self.timezone)

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        return [
            (
                datetime.combine(day, opens, tzinfo=self.timezone),
                datetime.combine(day, closes, tzinfo=self.timezone),
            )
            for opens, closes in self.work_hours
        ]

    def _closing(self, day: date) -> datetime:
        return datetime.combine(day, self.work_hours[-1][1], tzinfo=self.timezone)

    def _working_days_after(self, day: date) -> Iterator[date]:
        """Working days after ``day``, for ever; refuses a calendar that has stopped working."""
        days_off = 0
        while True:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days_off = 0
                yield day
            else:
                days_off += 1
                if days_off > _MAX_DAYS_OFF_IN_A_ROW:
                    raise ValueError(f"no working day in the year before {day}")

    def _intervals_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Office hours of ``day`` (if a working day) and of every working day after it."""
        if self.is_working_day(day):
            yield from self._intervals(day)
        for working_day in self._working_days_after(day):
            yield from self._intervals(working_day)


def _check_work_hours(work_hours: Sequence[tuple[time, time]]) -> None:
    if not work_hours:
        raise ValueError("work_hours must hold at least one (start, end) pair")
    previous_end: time | None = None
    for opens, closes in work_hours:
        if not opens < closes:
            raise ValueError(f"office hours must start before they end: {opens}-{closes}")
        if previous_end is not None and opens < previous_end:
            raise ValueError(f"office hours must be ordered and not overlap: {work_hours}")
        previous_end = closes


def read_holiday_file(path: Path | str) -> tuple[set[date], set[date]]:
    """Read a holiday CSV (columns ``date``, ``kind``, ``name``) into holidays and workdays.

    Parameters
    ----------
    path
        The CSV file; ``kind`` is ``holiday`` (a day off) or ``workday`` (a make-up workday).

    Returns
    -------
    tuple of set of date
        The holidays and the make-up workdays.

    Raises
    ------
    ValueError
        Naming every bad row (line number and what is wrong); nothing is returned then.
    """
    holidays: set[date] = set()
    workdays: set[date] = set()
    errors: list[str] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"date", "kind", "name"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: the header must name the columns date, kind, name")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            try:
                day = date.fromisoformat(row["date"].strip())
            except (ValueError, AttributeError):
                errors.append(f"{where}: date {row['date']!r} is not YYYY-MM-DD")
                continue
            kind = (row["kind"] or "").strip()
            target = {"holiday": holidays, "workday": workdays}.get(kind)
            if target is None:
                errors.append(f"{where}: kind {kind!r} is neither 'holiday' nor 'workday'")
            elif day in holidays | workdays:
                errors.append(f"{where}: {day} is listed twice")
            else:
                target.add(day)
    if errors:
        raise ValueError("bad holiday file:\n" + "\n".join(errors))
    return holidays, workdays


@lru_cache(maxsize=1)
def load_cn_calendar() -> WorkCalendar:
    """Return the mainland China work calendar shipped with gridsvc.

    Holidays and make-up workdays are those of the State Council General Office's yearly
    notices (国务院办公厅关于…部分节假日安排的通知; 2025: 国办发明电〔2024〕12号 of
    2024-11-12; 2026: notice of 2025-11-04). Every day of a holiday block is listed, weekend
    days inside it included. ``years`` says which years the file holds, so a caller can tell
    when a deadline falls in a year the file does not know yet.
    """
    resource = resources.files("gridsvc.issues") / "data" / CN_CALENDAR_FILE
    with resources.as_file(resource) as path:
        holidays, workdays = read_holiday_file(path)
    years = frozenset(day.year for day in holidays | workdays)
    return WorkCalendar(
        holidays=frozenset(holidays), make_up_workdays=frozenset(workdays), years=years
    )
