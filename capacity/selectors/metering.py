"""Metering reads: usage per booking window from readings, device health, and chart data.

Usage semantics (the billing rule):
- readings of one device for one resource are ordered by device time (then seq), not arrival;
- consecutive readings make a segment whose increment is the counter difference; a lower value or
  a new boot id starts a new series, and the increment across it is the new value counted from
  zero (Prometheus ``increase``) — a reset is never negative usage;
- an increment is spread linearly over its segment's device time, so a segment straddling a window
  edge is split there; a segment of zero length counts at its instant (``start <= t < end``);
- overrun is run time within 24 h around the booking that falls outside every booked window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from capacity.models import Booking, Device, MeterReading, Resource
from capacity.services.availability import subtract_intervals

OVERRUN_MARGIN = timedelta(hours=24)
# Readings are fetched this far beyond the overrun margin so segments crossing it can be split.
FETCH_MARGIN = timedelta(hours=24)
GAP = timedelta(minutes=30)
INACTIVE = (Booking.Status.RELEASED, Booking.Status.EXPIRED)


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    run_seconds: int
    parts: int


def counter_segments(rows) -> list[Segment]:
    """Segments from readings ``(device_id, boot_id, seq, device_time, run_seconds, part_count)``
    of ONE resource, in any order."""
    by_device: dict[int, list] = defaultdict(list)
    for row in rows:
        by_device[row[0]].append(row)
    segments = []
    for readings in by_device.values():
        readings.sort(key=lambda r: (r[3], r[2]))
        previous = None
        for reading in readings:
            if previous is not None:
                new_boot = reading[1] != previous[1]
                run = reading[4] if new_boot or reading[4] < previous[4] else reading[4] - previous[4]
                parts = reading[5] if new_boot or reading[5] < previous[5] else reading[5] - previous[5]
                segments.append(Segment(previous[3], reading[3], run, parts))
            previous = reading
    return segments


def _share(segment: Segment, start: datetime, end: datetime) -> Fraction:
    """The fraction of ``segment`` that lies in ``[start, end)``."""
    if segment.end == segment.start:
        return Fraction(1) if start <= segment.end < end else Fraction(0)
    overlap = min(segment.end, end) - max(segment.start, start)
    if overlap <= timedelta(0):
        return Fraction(0)
    whole = segment.end - segment.start
    return Fraction(overlap // timedelta(microseconds=1), whole // timedelta(microseconds=1))


def usage_in(segments: list[Segment], intervals: list[tuple[datetime, datetime]]) -> tuple[Fraction, Fraction]:
    """(run seconds, parts) inside the union of disjoint half-open ``intervals``."""
    run = parts = Fraction(0)
    for segment in segments:
        for start, end in intervals:
            share = _share(segment, start, end)
            if share:
                run += segment.run_seconds * share
                parts += segment.parts * share
    return run, parts


@dataclass(frozen=True)
class WindowUsage:
    run_seconds: Fraction
    parts: Fraction
    overrun_run_seconds: Fraction
    overrun_parts: Fraction
    readings_count: int
    has_readings: bool
    # In-window (run seconds, parts) per local calendar day, when asked for with a time zone.
    days: dict = field(default_factory=dict)


def local_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The local calendar days ``[start, end)`` touches, each with its part of the interval."""
    days = []
    day = timezone.localtime(start, zone).date()
    while True:
        lo = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        hi = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        if lo >= end:
            return days
        days.append((day, max(lo, start), min(hi, end)))
        day += timedelta(days=1)


def _readings(resource_id: int, start: datetime, end: datetime):
    return MeterReading.objects.filter(
        resource_id=resource_id, device_time__gte=start, device_time__lt=end
    ).values_list("device_id", "boot_id", "seq", "device_time", "run_seconds", "part_count")


def overrun_intervals(booking: Booking) -> list[tuple[datetime, datetime]]:
    """24 h before and after the booking, minus every other live booking of the resource."""
    start, end = booking.span.lower, booking.span.upper
    margin = (start - OVERRUN_MARGIN, end + OVERRUN_MARGIN)
    others = (
        Booking.objects.filter(resource_id=booking.resource_id, span__overlap=margin)
        .exclude(pk=booking.pk)
        .exclude(status__in=INACTIVE)
    )
    holes = [(b.span.lower, b.span.upper) for b in others] + [(start, end)]
    return subtract_intervals([margin], holes)


def window_usage(booking: Booking, *, zone: ZoneInfo | None = None) -> WindowUsage:
    """Usage inside the booking's window and its overrun; with ``zone``, the in-window usage is
    also split by local calendar day (the rollup month-end invoicing sums)."""
    start, end = booking.span.lower, booking.span.upper
    rows = list(
        _readings(booking.resource_id, start - OVERRUN_MARGIN - FETCH_MARGIN, end + OVERRUN_MARGIN + FETCH_MARGIN)
    )
    segments = counter_segments(rows)
    run, parts = usage_in(segments, [(start, end)])
    over_run, over_parts = usage_in(segments, overrun_intervals(booking))
    return WindowUsage(
        run_seconds=run,
        parts=parts,
        overrun_run_seconds=over_run,
        overrun_parts=over_parts,
        readings_count=sum(1 for r in rows if start <= r[3] < end),
        has_readings=any(start - OVERRUN_MARGIN <= r[3] < end + OVERRUN_MARGIN for r in rows),
        days={day: usage_in(segments, [(lo, hi)]) for day, lo, hi in local_days(start, end, zone)} if zone else {},
    )


# --- device health ----------------------------------------------------------------------------

_GAPS_SQL = """
    SELECT device_id, previous, device_time FROM (
        SELECT device_id, device_time,
               lag(device_time) OVER (PARTITION BY device_id ORDER BY device_time) AS previous
        FROM {table} WHERE device_id = ANY(%s) AND device_time >= %s AND device_time < %s
    ) s WHERE device_time - previous > %s ORDER BY device_id, previous
"""


def device_gaps(devices: list[Device], *, since: datetime, now: datetime) -> dict[int, list[tuple[datetime, datetime]]]:
    """Stretches longer than 30 minutes without readings, per device, within ``[since, now)``.

    Silence since the last reading counts as an open gap ending ``now``.
    """
    gaps: dict[int, list[tuple[datetime, datetime]]] = {d.pk: [] for d in devices}
    if not devices:
        return gaps
    with connection.cursor() as cursor:
        cursor.execute(_GAPS_SQL.format(table=MeterReading._meta.db_table), [[d.pk for d in devices], since, now, GAP])
        for device_id, previous, current in cursor.fetchall():
            gaps[device_id].append((previous, current))
    last = dict(
        MeterReading.objects.filter(device__in=devices, device_time__gte=since, device_time__lt=now)
        .values("device_id")
        .annotate(last=Max("device_time"))
        .values_list("device_id", "last")
    )
    for device in devices:
        latest = last.get(device.pk)
        if latest is None:
            gaps[device.pk].append((since, now))
        elif now - latest > GAP:
            gaps[device.pk].append((latest, now))
    return gaps


def recent_readings(device: Device, limit: int = 20):
    return device.readings.select_related("resource").order_by("-device_time", "-seq")[:limit]


# --- charts -----------------------------------------------------------------------------------

CHART_W, CHART_H = 600, 180


def _x(moment: datetime, start: datetime, end: datetime) -> float:
    return round((moment - start) / (end - start) * CHART_W, 2)


def booking_usage_chart(booking: Booking) -> dict:
    """The cumulative run-time curve around a booking, with its window shaded, for an inline SVG."""
    from capacity.models import BookingUsage

    start, end = booking.span.lower, booking.span.upper
    pad = min(OVERRUN_MARGIN, max(timedelta(hours=1), (end - start) / 4))
    lo, hi = start - pad, end + pad
    segments = sorted(
        counter_segments(_readings(booking.resource_id, lo - FETCH_MARGIN, hi + FETCH_MARGIN)),
        key=lambda s: s.end,
    )
    points = [(lo, 0.0)]
    total = 0.0
    for segment in segments:
        if segment.end < lo or segment.start >= hi:
            continue
        total += float(segment.run_seconds * _share(segment, lo, hi))
        points.append((min(max(segment.end, lo), hi), total))
    points.append((hi, total))
    step = max(1, len(points) // 400)
    points = points[::step] + ([points[-1]] if (len(points) - 1) % step else [])
    top = max(total, 1.0)
    usage = BookingUsage.objects.filter(booking=booking).first()
    booked_hours = (end - start).total_seconds() / 3600
    measured_hours = float(usage.run_seconds) / 3600 if usage else 0.0
    return {
        "booking": booking,
        "usage": usage,
        "width": CHART_W,
        "height": CHART_H,
        "polyline": " ".join(f"{_x(t, lo, hi)},{round(CHART_H - v / top * (CHART_H - 10), 2)}" for t, v in points),
        "window_x": _x(start, lo, hi),
        "window_w": round(_x(end, lo, hi) - _x(start, lo, hi), 2),
        "range_start": lo,
        "range_end": hi,
        "booked_hours": round(booked_hours, 2),
        "measured_hours": round(measured_hours, 2),
        "overrun_hours": round(float(usage.overrun_run_seconds) / 3600, 2) if usage else 0.0,
        "measured_pct": round(measured_hours / booked_hours * 100) if booked_hours else 0,
        "adjustments": list(booking.usage_adjustments.all()),
    }


def resource_daily_utilisation(resource: Resource, *, days: int = 7, now: datetime | None = None) -> dict:
    """Run hours per local day for the last ``days`` days, from readings (a small bar chart)."""
    now = now or timezone.now()
    tz = ZoneInfo(resource.provider.time_zone or settings.TIME_ZONE)
    today = now.astimezone(tz).date()
    first: date = today - timedelta(days=days - 1)
    bounds = [
        (datetime.combine(first + timedelta(days=i), datetime.min.time(), tz),
         datetime.combine(first + timedelta(days=i + 1), datetime.min.time(), tz))
        for i in range(days)
    ]  # fmt: skip
    segments = counter_segments(_readings(resource.pk, bounds[0][0] - FETCH_MARGIN, bounds[-1][1]))
    bar_w = CHART_W / days
    bars = []
    for i, (day_start, day_end) in enumerate(bounds):
        run = sum(float(s.run_seconds * _share(s, day_start, day_end)) for s in segments)
        hours = min(run / 3600, 24.0)
        height = round(hours / 24 * (CHART_H - 20), 2)
        bars.append(
            {
                "day": day_start.date(),
                "hours": round(hours, 1),
                "pct": round(hours / 24 * 100),
                "x": round(i * bar_w + 4, 2),
                "w": round(bar_w - 8, 2),
                "y": round(CHART_H - 20 - height, 2),
                "h": height,
                "label_x": round(i * bar_w + bar_w / 2, 2),
            }
        )
    return {"resource": resource, "bars": bars, "width": CHART_W, "height": CHART_H}
