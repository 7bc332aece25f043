"""Fixed-window request counters in PostgreSQL, shared by every worker and every server.

A counter is one row per bucket (who is counted) and window (the period it falls in, on
the database's clock, so that servers with skewed clocks agree). A hit is one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` in its own short transaction, which
commits whatever the request then does; rows of finished windows are pruned whenever a
new window opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    TIMESTAMP,
    Connection,
    Engine,
    Index,
    Integer,
    Row,
    String,
    delete,
    func,
    text,
)
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


#: One hit on each bucket: ``buckets`` and ``seconds`` (each bucket's window) are arrays,
#: so one statement, compiled and prepared once, serves one bucket or two.
HIT = text(
    "INSERT INTO rate_limits AS counted (bucket, window_start, hits) "
    "SELECT bucket, to_timestamp(floor(extract(epoch FROM now()) / seconds) * seconds), 1 "
    "FROM unnest(CAST(:buckets AS text[]), CAST(:seconds AS integer[])) AS hit(bucket, seconds) "
    "ON CONFLICT (bucket, window_start) DO UPDATE SET hits = counted.hits + 1 "
    "RETURNING bucket, hits, extract(epoch FROM now() - window_start)"
)


def hit(session: Session, buckets: dict[str, Rate]) -> list[Count]:
    """Count one request against each bucket, committed on its own whatever the request does.

    On a server (``session`` bound to an engine) the counting is one statement on a
    connection in autocommit: it commits in the same round trip, so the bucket's row is
    locked for that statement only, however busy the worker's threads are (every report
    from one address updates the same row). Bound to a connection (a test's outer
    transaction), it runs in a savepoint of a session of its own instead.
    """
    parameters = {"buckets": list(buckets), "seconds": [r.seconds for r in buckets.values()]}
    longest = max(rate.seconds for rate in buckets.values())
    bind = session.get_bind()
    if isinstance(bind, Engine):
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            counts = counted(connection.execute(HIT, parameters).all(), buckets)
            if any(count.hits == 1 for count in counts):  # a new window opened
                prune(connection, longest)
        return counts
    with Session(bind=bind, join_transaction_mode="create_savepoint") as counter:
        with counter.begin():
            counts = counted(counter.execute(HIT, parameters).all(), buckets)
            if any(count.hits == 1 for count in counts):
                prune(counter, longest)
    return counts


def counted(rows: Sequence[Row], buckets: dict[str, Rate]) -> list[Count]:
    """Return the counts of the rows HIT returned."""
    counts = []
    for bucket, hits, elapsed in rows:
        rate = buckets[bucket]
        counts.append(Count(bucket, hits, rate, max(1, int(rate.seconds - float(elapsed) + 0.999))))
    return counts


def prune(session: Session | Connection, longest_window_s: int) -> int:
    """Delete the rows of windows that ended; return how many."""
    ended_before = func.now() - timedelta(seconds=longest_window_s)
    result = session.execute(delete(RateLimitHit).where(RateLimitHit.window_start < ended_before))
    return result.rowcount
