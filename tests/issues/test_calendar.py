"""Deadline arithmetic on the work calendar: office hours, weekends, holidays, make-up days."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from gridsvc.issues.catalog.calendar import (
    SHANGHAI,
    WorkCalendar,
    load_cn_calendar,
    read_holiday_file,
)

CN = load_cn_calendar()
TOLERANCE = 1e-6  # hours; datetimes carry microseconds


def at(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=SHANGHAI)


# ---- the shipped calendar ----------------------------------------------------------------


def test_cn_calendar_knows_2025_and_2026() -> None:
    assert CN.years == {2025, 2026}
    assert CN.covers(date(2026, 12, 31)) and not CN.covers(date(2027, 1, 4))
    by_year = {year: sorted(d for d in CN.holidays if d.year == year) for year in CN.years}
    assert len(by_year[2025]) == 1 + 8 + 3 + 5 + 3 + 8
    assert len(by_year[2026]) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert sorted(CN.make_up_workdays) == [
        date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
        date(2025, 10, 11), date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
        date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10),
    ]  # fmt: skip
    assert all(d.weekday() >= 5 for d in CN.make_up_workdays)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-01-01", False),  # New Year's Day, a Wednesday
        ("2025-01-02", True),
        ("2025-01-28", False),  # Spring Festival eve, now a public holiday
        ("2025-02-04", False),
        ("2025-02-05", True),
        ("2025-02-08", True),  # Saturday worked for the Spring Festival
        ("2025-05-05", False),
        ("2025-09-28", True),  # Sunday worked for National Day
        ("2025-10-08", False),  # National Day and Mid-Autumn merged: 8 days
        ("2025-10-09", True),
        ("2025-10-11", True),  # Saturday worked
        ("2025-10-12", False),  # an ordinary Sunday
        ("2026-01-04", True),  # Sunday worked for New Year
        ("2026-02-23", False),  # last day of the 9-day Spring Festival
        ("2026-02-24", True),
        ("2026-04-06", False),  # Qingming Monday
        ("2026-09-25", False),  # Mid-Autumn Friday
        ("2026-10-07", False),
        ("2026-10-08", True),
    ],
)
def test_cn_working_days(day: str, working: bool) -> None:
    assert CN.is_working_day(date.fromisoformat(day)) is working


# ---- add_working_hours -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "deadline"),
    [
        (at("2025-03-17", "08:30"), 7, at("2025-03-17", "18:00")),  # one full day
        (at("2025-03-17", "08:30"), 3.5, at("2025-03-17", "12:00")),  # ends at noon, not 14:30
        (at("2025-03-17", "11:30"), 1, at("2025-03-17", "15:00")),  # across lunch
        (at("2025-03-17", "12:45"), 1, at("2025-03-17", "15:30")),  # starts in lunch
        (at("2025-03-17", "07:00"), 1, at("2025-03-17", "09:30")),  # before office hours
        (at("2025-03-17", "20:00"), 1, at("2025-03-18", "09:30")),  # after office hours
        (at("2025-03-14", "17:30"), 1, at("2025-03-17", "09:00")),  # Friday to Monday
        (at("2025-03-15", "10:00"), 0.25, at("2025-03-17", "08:45")),  # from a Saturday
        (at("2025-03-17", "08:30"), 14, at("2025-03-18", "18:00")),
        (at("2025-09-30", "17:00"), 2, at("2025-10-09", "09:30")),  # over National Day
        (at("2025-09-27", "10:00"), 1, at("2025-09-28", "09:30")),  # make-up Sunday
        (at("2025-10-10", "17:00"), 1.5, at("2025-10-11", "09:00")),  # make-up Saturday
        (at("2026-02-13", "16:00"), 9, at("2026-02-14", "18:00")),  # make-up Saturday, full
        (at("2026-02-13", "16:00"), 10, at("2026-02-24", "09:30")),  # then the Spring Festival
    ],
)
def test_add_working_hours(start: datetime, hours: float, deadline: datetime) -> None:
    assert CN.add_working_hours(start, hours) == deadline


def test_zero_hours_is_the_start_itself_even_outside_office_hours() -> None:
    for start in (at("2025-03-17", "10:00"), at("2025-03-15", "23:00"), at("2025-10-03", "12:00")):
        assert CN.add_working_hours(start, 0) == start


def test_result_is_in_the_calendar_zone() -> None:
    start = datetime(2025, 3, 17, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    deadline = CN.add_working_hours(start, 1)
    assert deadline == at("2025-03-17", "09:30")
    assert deadline.tzinfo == SHANGHAI


def test_naive_datetimes_and_negative_amounts_are_refused() -> None:
    naive = datetime(2025, 3, 17, 9, 0)
    with pytest.raises(ValueError, match="naive"):
        CN.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        CN.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        CN.working_hours_between(naive, at("2025-03-17", "10:00"))
    with pytest.raises(ValueError, match="zero or more"):
        CN.add_working_hours(at("2025-03-17", "10:00"), -1)
    with pytest.raises(ValueError, match="zero or more"):
        CN.add_working_days(at("2025-03-17", "10:00"), -1)


# ---- add_working_days --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (at("2025-03-17", "10:00"), 3, at("2025-03-20", "18:00")),  # Monday: start not counted
        (at("2025-03-14", "20:00"), 1, at("2025-03-17", "18:00")),  # Friday evening
        (at("2025-03-17", "10:00"), 0, at("2025-03-17", "18:00")),  # same day
        (at("2025-03-17", "19:00"), 0, at("2025-03-18", "18:00")),  # same day, but closed
        (at("2025-03-15", "10:00"), 0, at("2025-03-17", "18:00")),  # same day on a Saturday
        (at("2025-09-30", "10:00"), 3, at("2025-10-11", "18:00")),  # Oct 9, 10, make-up 11
        (at("2025-09-26", "10:00"), 1, at("2025-09-28", "18:00")),  # make-up Sunday counts
        (at("2026-02-13", "10:00"), 2, at("2026-02-24", "18:00")),  # Feb 14, then after 春节
        (at("2025-03-17", "10:00"), 10, at("2025-03-31", "18:00")),
    ],
)
def test_add_working_days(start: datetime, days: int, deadline: datetime) -> None:
    assert CN.add_working_days(start, days) == deadline


# ---- working_hours_between ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "hours"),
    [
        (at("2025-03-17", "08:30"), at("2025-03-17", "18:00"), 7),
        (at("2025-03-17", "12:10"), at("2025-03-17", "14:20"), 0),  # lunch only
        (at("2025-03-14", "17:00"), at("2025-03-17", "09:30"), 2),  # over a weekend
        (at("2025-09-30", "00:00"), at("2025-10-09", "23:59"), 14),  # National Day week
        (at("2025-03-17", "09:00"), at("2025-03-17", "09:00"), 0),
        (at("2025-03-17", "18:00"), at("2025-03-14", "17:00"), -8),  # b before a
    ],
)
def test_working_hours_between(a: datetime, b: datetime, hours: float) -> None:
    assert CN.working_hours_between(a, b) == pytest.approx(hours, abs=TOLERANCE)


def test_overdue_by_how_much() -> None:
    deadline = CN.add_working_days(at("2025-09-29", "09:00"), 1)  # Tuesday 30 Sept, 18:00
    now = at("2025-10-09", "10:30")
    assert CN.working_hours_between(deadline, now) == pytest.approx(2)


def in_office_hours(calendar: WorkCalendar, moment: datetime) -> bool:
    if not calendar.is_working_day(moment.date()):
        return False
    clock = moment.timetz().replace(tzinfo=None)
    return any(opens <= clock <= closes for opens, closes in calendar.work_hours)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_between_is_the_inverse_of_add(seed: int) -> None:
    rng = random.Random(seed)
    origin = at("2025-01-01", "00:00")
    for _ in range(400):
        start = origin + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60 - 30 * 24 * 60))
        start += timedelta(seconds=rng.randrange(60))
        hours = rng.choice([rng.uniform(0, 8), rng.uniform(0, 120), float(rng.randrange(0, 50))])
        deadline = CN.add_working_hours(start, hours)
        assert deadline >= start
        assert CN.working_hours_between(start, deadline) == pytest.approx(hours, abs=TOLERANCE)
        if hours > 0:
            assert in_office_hours(CN, deadline), (start, hours, deadline)
            # Nothing earlier would do: a minute less of office time is not enough.
            earlier = deadline - timedelta(minutes=1)
            assert CN.working_hours_between(start, earlier) < hours


@pytest.mark.parametrize("seed", [4, 5])
def test_add_of_between_lands_at_or_before_b(seed: int) -> None:
    rng = random.Random(seed)
    origin = at("2025-01-01", "00:00")
    for _ in range(300):
        a = origin + timedelta(minutes=rng.randrange(0, 700 * 24 * 60))
        b = a + timedelta(minutes=rng.randrange(0, 20 * 24 * 60))
        reached = CN.add_working_hours(a, CN.working_hours_between(a, b))
        assert reached <= b + timedelta(microseconds=1)
        assert CN.working_hours_between(reached, b) == pytest.approx(0, abs=TOLERANCE)


# ---- other calendars, validation, the file reader ---------------------------------------


def test_parameters_make_another_calendar() -> None:
    calendar = WorkCalendar(
        holidays={date(2025, 3, 19)},
        make_up_workdays={date(2025, 3, 22)},
        work_hours=[(time(9), time(17))],
        weekdays_off={6},  # a six-day week
    )
    assert calendar.is_working_day(date(2025, 3, 15))  # Saturday
    assert not calendar.is_working_day(date(2025, 3, 19))
    start = at("2025-03-18", "16:00")
    assert calendar.add_working_hours(start, 2) == at("2025-03-20", "10:00")
    assert calendar.add_working_days(start, 1) == at("2025-03-20", "17:00")


@pytest.mark.parametrize(
    "arguments",
    [
        {"work_hours": [(time(14), time(18)), (time(8), time(12))]},  # not ordered
        {"work_hours": [(time(8), time(12)), (time(11), time(18))]},  # overlapping
        {"work_hours": [(time(12), time(8))]},
        {"work_hours": []},
        {"holidays": {date(2025, 3, 15)}, "make_up_workdays": {date(2025, 3, 15)}},
        {"weekdays_off": set(range(7))},
        {"weekdays_off": {7}},
    ],
)
def test_invalid_calendars_are_refused(arguments: dict) -> None:
    with pytest.raises(ValueError):
        WorkCalendar(**arguments)


def test_holiday_file_reader_names_every_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text(
        "date,kind,name\n"
        "2025-10-01,holiday,国庆节\n"
        "2025-13-01,holiday,bad month\n"
        "2025-10-11,workingday,bad kind\n"
        "2025-10-01,workday,twice\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as caught:
        read_holiday_file(path)
    message = str(caught.value)
    assert f"{path}:3" in message and f"{path}:4" in message and f"{path}:5" in message
    assert f"{path}:2" not in message


def test_holiday_file_needs_its_header(tmp_path: Path) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text("2025-10-01,holiday,国庆节\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        read_holiday_file(path)
