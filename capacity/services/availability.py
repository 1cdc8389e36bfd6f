"""Idle windows: materialised from a resource's weekly pattern and dated exceptions.

The weekly pattern is painted in the provider's local time (its organisation's time zone);
windows are stored as UTC-aware half-open ``tstzrange`` values, merged so that adjacent or
overlapping blocks become one window. Windows are materialised HORIZON ahead and kept rolling
by a beat task; the past is never rewritten (it is the history utilisation is measured on).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from capacity.models import AvailabilityException, AvailabilityRule, IdleWindow, Resource

HORIZON = timedelta(weeks=13)

Interval = tuple[datetime, datetime]


def merge_intervals(intervals: list[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching half-open intervals."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract_intervals(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``intervals`` minus ``holes`` (both lists of half-open intervals)."""
    result: list[Interval] = []
    holes = merge_intervals(holes)
    for start, end in merge_intervals(intervals):
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                result.append((cursor, h_start))
            cursor = max(cursor, h_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def pattern_intervals(
    rules: list[tuple[int, int, int]], tz: ZoneInfo, first_day: date, last_day: date
) -> list[Interval]:
    """Expand (weekday, start_minute, end_minute) rules into aware intervals, day by day.

    Local wall-clock times are converted per day, so a DST change shifts UTC correctly.
    """
    by_weekday: dict[int, list[tuple[int, int]]] = {}
    for weekday, start_minute, end_minute in rules:
        by_weekday.setdefault(weekday, []).append((start_minute, end_minute))
    intervals: list[Interval] = []
    day = first_day
    while day <= last_day:
        midnight = datetime.combine(day, time.min)
        for start_minute, end_minute in by_weekday.get(day.weekday(), []):
            start = (midnight + timedelta(minutes=start_minute)).replace(tzinfo=tz)
            end = (midnight + timedelta(minutes=end_minute)).replace(tzinfo=tz)
            intervals.append((start, end))
        day += timedelta(days=1)
    return intervals


def compute_idle_windows(resource: Resource, start: datetime, end: datetime) -> list[Interval]:
    """The idle windows of ``resource`` within ``[start, end)`` (not yet stored)."""
    tz = ZoneInfo(resource.provider.time_zone)
    rules = list(resource.availability_rules.values_list("weekday", "start_minute", "end_minute"))
    local_first = start.astimezone(tz).date() - timedelta(days=1)
    local_last = end.astimezone(tz).date() + timedelta(days=1)
    intervals = pattern_intervals(rules, tz, local_first, local_last)
    exceptions = resource.availability_exceptions.filter(span__overlap=(start, end))
    extra = [(e.span.lower, e.span.upper) for e in exceptions if e.kind == AvailabilityException.Kind.EXTRA]
    blackout = [(e.span.lower, e.span.upper) for e in exceptions if e.kind == AvailabilityException.Kind.BLACKOUT]
    windows = subtract_intervals(merge_intervals(intervals + extra), blackout)
    # Clip to the requested range.
    return [(max(s, start), min(e, end)) for s, e in windows if e > start and s < end]


@transaction.atomic
def materialise_idle_windows(*, resource: Resource, now: datetime | None = None) -> int:
    """Rebuild the resource's idle windows from ``now`` to ``now + HORIZON``.

    The resource row is locked so two rebuilds (an edit and the beat task) cannot interleave.
    A window that straddles ``now`` is cut at ``now``: its past part is kept as history.
    Returns the number of windows now stored in the horizon.
    """
    now = now or timezone.now()
    end = now + HORIZON
    Resource.objects.select_for_update().filter(pk=resource.pk).first()
    future = IdleWindow.objects.filter(resource=resource, span__overlap=(now, end))
    straddling = [w for w in future if w.span.lower < now]
    for window in straddling:
        # Keep the past part of a window that has already begun.
        IdleWindow.objects.filter(pk=window.pk).update(span=DateTimeTZRange(window.span.lower, now, "[)"))
    IdleWindow.objects.filter(resource=resource, span__overlap=(now, end)).exclude(
        pk__in=[w.pk for w in straddling]
    ).delete()
    IdleWindow.objects.filter(resource=resource, span__startswith__gte=end).delete()
    windows = compute_idle_windows(resource, now, end)
    # Merge with a kept past part that ends exactly at now (adjacent windows must be one).
    if windows and straddling and windows[0][0] == now:
        kept = straddling[0]
        IdleWindow.objects.filter(pk=kept.pk).update(span=DateTimeTZRange(kept.span.lower, windows[0][1], "[)"))
        windows = windows[1:]
    IdleWindow.objects.bulk_create(
        [IdleWindow(resource=resource, span=DateTimeTZRange(s, e, "[)")) for s, e in windows]
    )
    return IdleWindow.objects.filter(resource=resource, span__overlap=(now, end)).count()


@transaction.atomic
def set_weekly_pattern(*, resource: Resource, blocks: list[tuple[int, int, int]]) -> int:
    """Replace the weekly idle pattern with ``blocks`` (weekday, start_minute, end_minute) and
    re-materialise. Overlapping blocks are merged per weekday."""
    merged: list[tuple[int, int, int]] = []
    for weekday in range(7):
        day_blocks = sorted((s, e) for d, s, e in blocks if d == weekday)
        for start_minute, end_minute in day_blocks:
            if merged and merged[-1][0] == weekday and start_minute <= merged[-1][2]:
                merged[-1] = (weekday, merged[-1][1], max(merged[-1][2], end_minute))
            else:
                merged.append((weekday, start_minute, end_minute))
    AvailabilityRule.objects.filter(resource=resource).delete()
    AvailabilityRule.objects.bulk_create(
        [AvailabilityRule(resource=resource, weekday=d, start_minute=s, end_minute=e) for d, s, e in merged]
    )
    return materialise_idle_windows(resource=resource)
