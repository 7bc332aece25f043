"""Settings, read from ``GRIDSVC_*`` environment variables, each with a working default.

The settings parse their own values (crontab lines as cron reads them, as APScheduler
triggers), so that a typo fails at start.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

#: A rate setting: "10/hour" (at least one; units second, minute, hour, day).
RATE_FORMAT = re.compile(r"[1-9][0-9]*/(second|minute|hour|day)")
#: A box in degrees: west, south, east, north (GRIDSVC_CITY_BBOX=west,south,east,north).
Box = tuple[float, float, float, float]


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
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_days(weekday),
        timezone=timezone,
    )


# The metric CRS: a city measured in another city's UTM zone gets its distances a little
# wrong (0.4-0.8 % of residents' coverage two zones away), so ``auto`` picks the zone from
# where the city is, as geopandas' ``estimate_utm_crs`` and osmnx do: the WGS-84 UTM zone
# holding the centre of the city's box, as pyproj's database answers it.
def utm_crs(west: float, south: float, east: float, north: float) -> str:
    """Return ``EPSG:326xx`` / ``EPSG:327xx``: the UTM zone holding the box's centre."""
    return _zone_at(round((west + east) / 2, 4), round((south + north) / 2, 4))


@lru_cache(maxsize=256)
def _zone_at(lon: float, lat: float) -> str:
    # pyproj searches its database (about 0.1 s): once per place and process.
    found = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    if not found:
        raise ValueError(f"no UTM zone holds ({lon:.3f}, {lat:.3f})")
    return f"{found[0].auth_name}:{found[0].code}"


def check_metric(text: str) -> str:
    """Return ``text`` if it names a projected CRS measured in metres, else raise ValueError."""
    try:
        crs = CRS.from_user_input(text)
    except Exception as error:
        raise ValueError(f"{text!r} is not a coordinate reference system: {error}") from None
    units = {axis.unit_name for axis in crs.axis_info}
    if not crs.is_projected or units != {"metre"}:
        raise ValueError(f"{text!r} is not a projected CRS in metres")
    if crs.to_epsg() is None:
        raise ValueError(f"{text!r} has no EPSG code (PostGIS stores geometries by SRID)")
    return f"EPSG:{crs.to_epsg()}"


def project_root() -> Path:
    """Return the checkout this package runs from, or the working directory if installed."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


class Settings(BaseSettings):
    """All settings of gridsvc; ``GRIDSVC_<NAME>`` overrides each one."""

    model_config = SettingsConfigDict(env_prefix="GRIDSVC_", extra="ignore")

    # An external PostGIS server; when set, gridsvc never starts its own cluster.
    database_url: str | None = None
    # Database name inside the embedded cluster (the demo's); tests use their own.
    database_name: str = "gridsvc"
    # Where the embedded cluster lives (data, socket, log, remembered port).
    home: Path = project_root() / ".gridsvc"
    # PostgreSQL server binaries used for the embedded cluster.
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    # First port tried for the embedded cluster; a free one is picked and remembered.
    pg_port: int = 54329

    # The API server.
    host: str = "127.0.0.1"
    port: int = 8000
    # Seconds an idle keep-alive connection stays open: longer than the 60 s idle timeout of
    # common proxies and load balancers, so the server never closes one they are reusing.
    keepalive_timeout_s: int = 65
    # Worker processes of `gridsvc serve` (0: one per core the process may run on), each with
    # its own pool of database connections: DB_POOL_SIZE kept open once opened,
    # DB_MAX_OVERFLOW more opened under load and closed as soon as they are given back.
    # `gridsvc serve` shrinks the pools when workers x (size + overflow) would not fit the
    # server's max_connections, less its superuser slots and DB_RESERVED_CONNECTIONS kept for
    # the CLI, migrations and other clients. No overflow by default: a connection opened for
    # one request costs PostgreSQL a new backend and its first plans, which under intake load
    # more than doubled PostgreSQL's CPU per report (bench/bench_intake.py).
    workers: int = 0
    db_pool_size: int = 20
    db_max_overflow: int = 0
    db_reserved_connections: int = 10
    # uvicorn's access log, one line per request (credentials redacted); off when a proxy
    # in front logs the requests already.
    access_log: bool = True

    # Where the demo city's GeoPackage copy is written.
    geodata_dir: Path = project_root() / "geodata"
    # Where rendered HTML maps go.
    maps_dir: Path = project_root() / "maps"
    # Base map under the maps: none (works offline), osm, amap (GCJ-02, data shifted to
    # match), or an XYZ tile URL such as http://127.0.0.1:8080/{z}/{x}/{y}.png.
    map_tiles: str = "none"
    # Coordinate system of a tile URL's tiles: wgs84 or gcj02 (presets know their own).
    map_tiles_crs: str = "wgs84"
    # Attribution shown for a tile URL's tiles.
    map_tiles_attribution: str = ""
    # Where `npm ci` installs the JavaScript and CSS the service serves (Leaflet, Swagger UI).
    assets_dir: Path = project_root() / "node_modules"

    # Projected CRS in metres for distances and areas; auto: the UTM zone stored with the
    # loaded city (of its districts' extent), else the zone holding the centre of city_bbox
    # (UTM 49N, EPSG:32649, for Ordos).
    metric_crs: str = "auto"
    _metric_crs_named: bool = PrivateAttr(default=False)

    # Region scale (`gridsvc region`): a Dask scheduler to run on (tcp://HOST:PORT; empty: a
    # local cluster), the local cluster's workers (0: one per core) and each one's memory
    # limit ("4GiB"; auto: the machine's memory shared out), and about how many grids one
    # coverage task takes (a district larger than that is cut into runs of whole communities).
    region_scheduler: str = ""
    region_workers: int = 0
    region_worker_memory: str = "auto"
    region_part_grids: int = Field(default=1700, gt=0)

    # Largest page the listing endpoints return.
    max_page_size: int = 10000
    # Most issues one CSV or GeoJSON export of the staff's issue list holds.
    issue_export_max_rows: int = 50000

    # Coverage: the living circles file (default: the packaged gridsvc/coverage/data/circles.json)
    # and the width in metres of the strip along reached walking edges that a network
    # service area covers.
    circles_file: Path | None = None
    # Supervision: the 红黑榜's scoring sheet (default: the packaged
    # gridsvc/issues/data/league.json): points per indicator, least reports to be ranked.
    league_file: Path | None = None
    # Notifications of dispatches and escalations: a webhook (POSTed a JSON array) and/or
    # e-mail through an SMTP server to comma-separated recipients; each try is bounded.
    notify_webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    notify_email_from: str = "gridsvc@localhost"
    notify_email_to: str = ""
    notify_timeout_s: float = 5.0
    service_area_buffer_m: float = 50.0
    # Processes a coverage refresh computes in (0: one per core; 1: in its own process).
    refresh_workers: int = 0
    # Processes `gridsvc maps render` draws a large city's maps in (0: one per core).
    render_workers: int = 0
    # Read the city into memory in a background thread when the server starts, so that the
    # first what-if, siting or live coverage finds it ready (readiness and /health never wait).
    warm_city: bool = True

    # The scheduler inside the service (each worker runs it; an advisory lock lets one run
    # each job at a time): on or off, and crontab lines in the city's time zone for
    # escalation (督办) of overdue cases and for issuing the due bulletins (定期通报) of
    # these periods, for the city and these districts: all, city, or comma-separated codes.
    scheduler: bool = True
    escalate_schedule: str = "*/15 * * * *"
    bulletin_schedule: str = "0 8 * * *"
    bulletin_periods: str = "week,month,quarter"
    bulletin_districts: str = "all"
    # Bulletins as PDF (printed by headless Chromium): how many at once, and for how long.
    pdf_concurrency: int = 1
    pdf_timeout_s: float = 60.0

    # Imports: the city's box (minlon,minlat,maxlon,maxlat, WGS-84; Ordos), inside which
    # every district must lie (other layers are checked against the current districts, or
    # this box while there are none), and how far outside a feature may lie before it is
    # reported as misplaced.
    city_bbox: Annotated[Box, NoDecode] = (106.7, 37.6, 111.5, 40.8)
    import_extent_margin_km: float = 50.0
    # Grids may overlap each other, leave gaps in their community or stick out of it by
    # this many square metres before an import reports it (floating point leaves slivers).
    grid_tolerance_m2: float = 10.0
    # Rebalancing: the load a grid should hold (households by default), LOW-HIGH.
    rebalance_band: str = "300-500"
    # Rebalancing: grid workers a new grid needs per household (rounded up, at least one).
    rebalance_workers_per_household: float = 0.01
    # The OSM tag -> facility type mapping [default: gridsvc/geodata/osm_tags.json].
    osm_tags_file: Path | None = None

    # Issues: a point outside every grid but this close to one goes to the nearest grid;
    # open issues of the same category this close come back as duplicate suggestions.
    issue_snap_distance_m: float = 50.0
    issue_duplicate_radius_m: float = 250.0
    # Where issue photos are stored, and the largest photo accepted.
    photos_dir: Path = project_root() / ".gridsvc" / "photos"
    max_photo_bytes: int = 10 * 1024 * 1024
    # Photos: the most pixels a photo may have (decided from its header, before decoding),
    # and the longest side of what is stored (larger photos are scaled down).
    max_photo_pixels: int = 40_000_000
    photo_max_side_px: int = 4096
    # Signing key of bearer tokens (HS256); unset: a random key kept in home/token-secret.
    # And how long `gridsvc token` tokens last.
    token_secret: str | None = None
    token_ttl_hours: float = 24.0 * 30
    # How long an Idempotency-Key is remembered.
    idempotency_ttl_hours: float = 24.0
    # How long after closing a reporter may ask to reopen a case (supervisors always may).
    reopen_window_days: float = 7.0
    # Open311 GeoReport v2: the one jurisdiction served (a request naming another gets the
    # spec's 404), and the api_key values third-party apps may POST with (comma-separated;
    # a gridsvc bearer token is accepted as api_key too).
    open311_jurisdiction_id: str = "ordos.gov.cn"
    open311_api_keys: str = ""

    # Bounded resources. Request bodies: JSON bodies and other bodies (form-encoded...) at
    # most this many bytes (a photo upload: max_photo_bytes plus its multipart framing),
    # and at most this many seconds to arrive.
    max_json_bytes: int = 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    body_timeout_s: float = 60.0
    # Anonymous reports per client address and per device (X-Device-Id): "COUNT/UNIT",
    # UNIT one of second, minute, hour, day. Staff and registered reporters are not limited.
    rate_limit_per_address: str = "60/hour"
    rate_limit_per_device: str = "10/hour"
    # Heavy endpoints (siting, what-if, full-city maps, exports): how many run at once, how
    # long one waits for its turn before a 503, and how long one SQL statement may run.
    heavy_concurrency: int = 2
    heavy_queue_wait_s: float = 10.0
    heavy_timeout_s: float = 60.0

    # OGC API vector tiles: the in-process cache's size, how long a data version is trusted
    # before it is read again (a change shows in tiles after at most this), and the
    # max-age clients and proxies may keep a tile without revalidating (ETag), and that of a
    # tile asked with its current data version (``?v=``, as the maps ask): kept as immutable.
    tile_cache_mb: float = 64.0
    tile_version_ttl_s: float = 1.0
    tile_max_age_s: int = 60
    tile_versioned_max_age_s: int = 31_536_000

    @field_validator(
        "workers", "refresh_workers", "render_workers", "db_max_overflow", "db_reserved_connections"
    )
    @classmethod
    def check_not_negative(cls, value: int) -> int:
        """Accept 0 or more (workers: 0 means one per core)."""
        if value < 0:
            raise ValueError(f"must be 0 or more, not {value}")
        return value

    @model_validator(mode="after")
    def choose_metric_crs(self) -> Settings:
        """Resolve ``auto`` to the city's own UTM zone; refuse a CRS not in metres."""
        if self.metric_crs.strip().lower() == "auto":
            self.metric_crs = utm_crs(*self.city_bbox)
        else:
            self.metric_crs = check_metric(self.metric_crs.strip())
            self._metric_crs_named = True
        return self

    @property
    def metric_crs_named(self) -> bool:
        """Whether GRIDSVC_METRIC_CRS names the CRS (it then wins over the city's own)."""
        return self._metric_crs_named

    @field_validator("db_pool_size")
    @classmethod
    def check_pool_size(cls, value: int) -> int:
        """Accept a pool of at least one connection."""
        if value < 1:
            raise ValueError(f"must be at least 1, not {value}")
        return value

    @field_validator("city_bbox", mode="before")
    @classmethod
    def read_box(cls, value: object) -> object:
        """Read ``west,south,east,north`` once, so that callers get four numbers."""
        if not isinstance(value, str):
            return value
        parts = value.split(",")
        if len(parts) != 4:
            raise ValueError(f"west,south,east,north in degrees, not '{value}'")
        return tuple(float(part) for part in parts)

    @field_validator("city_bbox")
    @classmethod
    def check_box(cls, value: Box) -> Box:
        """Accept a box whose west and south edges are not past its east and north ones."""
        west, south, east, north = value
        if west > east or south > north:
            raise ValueError(f"west <= east and south <= north, not {value}")
        return value

    @field_validator("escalate_schedule", "bulletin_schedule")
    @classmethod
    def check_schedule(cls, value: str) -> str:
        """Accept a five-field crontab line only, so that a typo fails at start."""
        try:
            crontab_trigger(value.strip(), "Asia/Shanghai")
        except ValueError as error:
            message = f"a crontab line such as '0 8 * * *', not '{value}': {error}"
            raise ValueError(message) from None
        return value.strip()

    @field_validator("bulletin_periods")
    @classmethod
    def check_periods(cls, value: str) -> str:
        """Accept comma-separated bulletin periods: week, month, quarter."""
        periods = [period.strip() for period in value.split(",") if period.strip()]
        unknown = sorted(set(periods) - {"week", "month", "quarter"})
        if unknown:
            raise ValueError(f"periods are week, month or quarter, not {', '.join(unknown)}")
        return ",".join(periods)

    @field_validator("bulletin_districts")
    @classmethod
    def check_districts(cls, value: str) -> str:
        """Accept all, city, or comma-separated 6-digit district codes."""
        value = value.strip()
        codes = [code.strip() for code in value.split(",") if code.strip()]
        if value in ("all", "city") or all(re.fullmatch(r"[0-9]{6}", c) for c in codes):
            return value
        raise ValueError(f"all, city or 6-digit district codes, not '{value}'")

    @property
    def bulletin_period_list(self) -> list[str]:
        """The bulletin periods the scheduler issues."""
        return [period for period in self.bulletin_periods.split(",") if period]

    @field_validator("rate_limit_per_address", "rate_limit_per_device")
    @classmethod
    def check_rate(cls, value: str) -> str:
        """Accept "COUNT/UNIT" only, so that a typo fails at start and not on a report."""
        if not RATE_FORMAT.fullmatch(value.strip()):
            raise ValueError(f"a rate is COUNT/UNIT such as 10/hour, not '{value}'")
        return value.strip()


def box_text(box: Box) -> str:
    """Write ``box`` as the setting is written: ``west,south,east,north``."""
    return ",".join(f"{value:g}" for value in box)


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; clear the cache after changing the env)."""
    return Settings()
