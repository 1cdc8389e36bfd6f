"""Free time = idle windows minus active bookings (derived, never stored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import connection

from capacity.models import Booking, IdleWindow, Resource
from capacity.services.availability import Interval, merge_intervals, subtract_intervals
from marketplace.models import Organisation


def free_windows(resource: Resource, start: datetime, end: datetime) -> list[Interval]:
    """Free half-open intervals of ``resource`` within ``[start, end)``.

    For a resource with capacity > 1 a moment is free while fewer than ``capacity`` active
    bookings cover it.
    """
    idle = [
        (max(w.span.lower, start), min(w.span.upper, end))
        for w in IdleWindow.objects.filter(resource=resource, span__overlap=(start, end))
    ]
    bookings = [
        (b.span.lower, b.span.upper)
        for b in Booking.objects.filter(resource=resource, status__in=Booking.ACTIVE, span__overlap=(start, end))
    ]
    if resource.capacity > 1:
        bookings = _saturated(bookings, resource.capacity)
    return subtract_intervals(merge_intervals(idle), bookings)


def _saturated(bookings: list[Interval], capacity: int) -> list[Interval]:
    """The sub-intervals during which at least ``capacity`` bookings overlap."""
    events = sorted([(s, 1) for s, _ in bookings] + [(e, -1) for _, e in bookings])
    full: list[Interval] = []
    depth, opened = 0, None
    for moment, delta in events:
        depth += delta
        if depth >= capacity and opened is None:
            opened = moment
        elif depth < capacity and opened is not None:
            if moment > opened:
                full.append((opened, moment))
            opened = None
    return full


def free_hours(resource: Resource, start: datetime, end: datetime) -> float:
    return sum((e - s).total_seconds() for s, e in free_windows(resource, start, end)) / 3600


# --- Calendar and utilisation pictures -------------------------------------------------------

# Bookings that consumed (or will consume) machine time: active ones and completed ones.
UTILISED_STATUSES = (Booking.Status.HELD, Booking.Status.CONFIRMED, Booking.Status.COMPLETED)


@dataclass(frozen=True)
class Bar:
    """A piece of an interval within one local day, in local wall-clock minutes [start, end)."""

    start_minute: int
    end_minute: int
    start: datetime
    end: datetime
    status: str = ""

    @property
    def minutes(self) -> int:
        return self.end_minute - self.start_minute

    @property
    def label(self) -> str:
        """``18:00–24:00`` (local wall clock; a bar ending at midnight ends at 24:00)."""
        return f"{_clock(self.start_minute)}–{_clock(self.end_minute)}"

    @property
    def status_label(self) -> str:
        return str(Booking.Status(self.status).label) if self.status else ""


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass
class TimelineDay:
    day: date
    idle: list[Bar] = field(default_factory=list)
    booked: list[Bar] = field(default_factory=list)


def _bars(intervals: list[tuple[datetime, datetime, str]], tz: ZoneInfo, lo: datetime, hi: datetime) -> list[Bar]:
    bars = []
    for start, end, status in intervals:
        start, end = max(start, lo), min(end, hi)
        if end <= start:
            continue
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        start_minute = local_start.hour * 60 + local_start.minute
        end_minute = 1440 if end == hi else local_end.hour * 60 + local_end.minute
        bars.append(Bar(start_minute, end_minute, local_start, local_end, status))
    return bars


def resource_timeline(resource: Resource, *, first_day: date, days: int = 14) -> list[TimelineDay]:
    """Idle windows and bookings of ``resource`` per local day from ``first_day`` (provider's zone).

    Two queries; each interval is cut at local midnights, so a DST day still runs 00:00–24:00.
    """
    tz = ZoneInfo(resource.provider.time_zone)
    bounds = [datetime.combine(first_day + timedelta(days=i), time.min, tzinfo=tz) for i in range(days + 1)]
    start, end = bounds[0], bounds[-1]
    idle = [
        (w.span.lower, w.span.upper, "")
        for w in IdleWindow.objects.filter(resource=resource, span__overlap=(start, end))
    ]
    booked = [
        (b.span.lower, b.span.upper, b.status)
        for b in Booking.objects.filter(resource=resource, status__in=UTILISED_STATUSES, span__overlap=(start, end))
    ]
    timeline = []
    for i in range(days):
        lo, hi = bounds[i], bounds[i + 1]
        timeline.append(TimelineDay(day=lo.date(), idle=_bars(idle, tz, lo, hi), booked=_bars(booked, tz, lo, hi)))
    return timeline


@dataclass(frozen=True)
class WeekUtilisation:
    resource_id: int
    week_start: date  # Monday, in the provider's time zone
    idle_hours: Decimal
    booked_hours: Decimal
    capacity: int

    @property
    def iso_week(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def percent(self) -> Decimal | None:
        """Booked share of the idle capacity (idle hours × parallel capacity), or None if no idle time."""
        available = self.idle_hours * self.capacity
        if not available:
            return None
        return (self.booked_hours * 100 / available).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


_UTILISATION_SQL = """
WITH weeks AS (
    SELECT week::date AS week_start,
           tstzrange(week AT TIME ZONE %(tz)s, (week + interval '1 week') AT TIME ZONE %(tz)s, '[)') AS span
    FROM generate_series(%(first)s::timestamp, %(last)s::timestamp, interval '1 week') AS week
)
SELECT r.id, w.week_start, r.capacity,
    COALESCE((
        SELECT SUM(EXTRACT(EPOCH FROM upper(i.span * w.span) - lower(i.span * w.span)))
        FROM capacity_idlewindow i
        WHERE i.resource_id = r.id AND i.span && w.span
    ), 0) AS idle_seconds,
    COALESCE((
        SELECT SUM(EXTRACT(EPOCH FROM upper(b.span * w.span) - lower(b.span * w.span)))
        FROM capacity_booking b
        WHERE b.resource_id = r.id AND b.status = ANY(%(statuses)s) AND b.span && w.span
    ), 0) AS booked_seconds
FROM capacity_resource r CROSS JOIN weeks w
WHERE r.provider_id = %(provider)s AND (%(resource)s::bigint IS NULL OR r.id = %(resource)s::bigint)
ORDER BY r.id, w.week_start
"""


def week_start(moment: datetime, tz: ZoneInfo) -> date:
    """The Monday of ``moment``'s ISO week in ``tz``."""
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def weekly_utilisation(
    *, organisation: Organisation, first_week: date, weeks: int, resource: Resource | None = None
) -> dict[int, list[WeekUtilisation]]:
    """Idle and booked hours per resource and ISO week (weeks in the organisation's time zone).

    One SQL query for all resources of the organisation: each idle window and each held,
    confirmed or completed booking is intersected (``*``) with the week's range and measured.
    Returns {resource id: [week, …]} in week order, every week present.
    """
    hour = Decimal(3600)
    params = {
        "tz": organisation.time_zone,
        "first": first_week,
        "last": first_week + timedelta(weeks=weeks - 1),
        "statuses": list(UTILISED_STATUSES),
        "provider": organisation.pk,
        "resource": resource.pk if resource else None,
    }
    result: dict[int, list[WeekUtilisation]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_UTILISATION_SQL, params)
        for resource_id, monday, capacity, idle_seconds, booked_seconds in cursor.fetchall():
            result.setdefault(resource_id, []).append(
                WeekUtilisation(
                    resource_id=resource_id,
                    week_start=monday,
                    idle_hours=(Decimal(idle_seconds) / hour).quantize(Decimal("0.01")),
                    booked_hours=(Decimal(booked_seconds) / hour).quantize(Decimal("0.01")),
                    capacity=capacity,
                )
            )
    return result
