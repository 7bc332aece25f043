"""Fixed-window request counters in PostgreSQL, shared by every worker and every server.

A counter is one row per bucket (who is counted) and window (the period it falls in, on
the database's clock, so that servers with skewed clocks agree). A hit is one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` in its own short transaction, which
commits whatever the request then does; rows of finished windows are pruned whenever a
new window opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import TIMESTAMP, Index, Integer, String, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from gridsvc.config import RATE_FORMAT
from gridsvc.db import Base

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class RateLimitHit(Base):
    """How many requests a bucket made in one window."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (Index("rate_limits_window_start", "window_start"),)


@dataclass(frozen=True)
class Rate:
    """At most ``count`` requests per ``unit`` (a window of ``seconds``)."""

    count: int
    unit: str

    @property
    def seconds(self) -> int:
        """Length of the window."""
        return UNITS[self.unit]

    def __str__(self) -> str:
        return f"{self.count} per {self.unit}"


def parse_rate(text: str) -> Rate:
    """Return the rate of a setting such as ``10/hour``."""
    if RATE_FORMAT.fullmatch(text.strip()) is None:
        raise ValueError(f"a rate is COUNT/UNIT such as 10/hour, not '{text}'")
    count, unit = text.strip().split("/")
    return Rate(int(count), unit)


@dataclass(frozen=True)
class Count:
    """A bucket's hits in the current window, and the seconds until the window ends."""

    bucket: str
    hits: int
    rate: Rate
    retry_after_s: int

    @property
    def exceeded(self) -> bool:
        """Whether this hit was one too many."""
        return self.hits > self.rate.count


def window_start(seconds: int):  # noqa: ANN201 - a SQL expression
    """Return the start of the current window of ``seconds``, on the database's clock."""
    epoch = func.extract("epoch", func.now())
    return func.to_timestamp(func.floor(epoch / seconds) * seconds)


def hit(session: Session, buckets: dict[str, Rate]) -> list[Count]:
    """Count one request against each bucket, committed in a transaction of its own.

    The transaction runs on a session of its own, bound like ``session`` (in a test's outer
    transaction it becomes a savepoint), so the request's own transaction is not started,
    and the counter stays committed even if the request fails afterwards.
    """
    rows = [
        {"bucket": bucket, "window_start": window_start(rate.seconds), "hits": 1}
        for bucket, rate in buckets.items()
    ]
    statement = (
        insert(RateLimitHit)
        .values(rows)
        .on_conflict_do_update(
            index_elements=["bucket", "window_start"], set_={"hits": RateLimitHit.hits + 1}
        )
        .returning(
            RateLimitHit.bucket,
            RateLimitHit.hits,
            func.extract("epoch", func.now() - RateLimitHit.window_start),
        )
    )
    with Session(bind=session.get_bind(), join_transaction_mode="create_savepoint") as counter:
        with counter.begin():
            counts = []
            for bucket, hits, elapsed in counter.execute(statement):
                rate = buckets[bucket]
                retry = max(1, int(rate.seconds - float(elapsed) + 0.999))
                counts.append(Count(bucket, hits, rate, retry))
            if any(count.hits == 1 for count in counts):  # a new window opened
                prune(counter, max(rate.seconds for rate in buckets.values()))
    return counts


def prune(session: Session, longest_window_s: int) -> int:
    """Delete the rows of windows that ended; return how many."""
    ended_before = func.now() - timedelta(seconds=longest_window_s)
    result = session.execute(delete(RateLimitHit).where(RateLimitHit.window_start < ended_before))
    return result.rowcount
