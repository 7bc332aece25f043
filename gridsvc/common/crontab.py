"""Crontab lines read as cron reads them, as APScheduler triggers (for the settings too)."""

from __future__ import annotations

from datetime import tzinfo

from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_days(field: str) -> str:
    """Return crontab's day-of-week field (0 or 7 Sunday, 1 Monday) in day names.

    APScheduler counts the days of the week from Monday = 0, so ``0 8 * * 1`` would run on
    Tuesdays: numbers, ranges and steps become the names both read alike.
    """
    if field == "*" or not any(char.isdigit() for char in field):
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first, last = (int(bound) for bound in span.split("-", 1))
        else:
            first = last = int(span)
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last) or step == "0":
            raise ValueError(f"'{part}' is not a day of the week (0-7, Sunday 0 or 7)")
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def crontab_trigger(line: str, timezone: tzinfo | str) -> CronTrigger:
    """Return the trigger of a five-field crontab line, read as cron does, in ``timezone``."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab line has 5 fields, not {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_days(weekday),
        timezone=timezone,
    )  # fmt: skip
