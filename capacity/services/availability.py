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
from django.utils.translation import gettext as _

from capacity.models import AvailabilityException, AvailabilityRule, IdleWindow, Resource
from marketplace.errors import DomainError

HORIZON = timedelta(weeks=13)
# The calendar editor paints the weekly pattern in half-hour cells: (weekday, slot).
SLOT_MINUTES = 30
SLOTS_PER_DAY = 1440 // SLOT_MINUTES
# Limits on one dated exception: long closures are a paused listing, not an exception.
MAX_EXCEPTION_LENGTH = timedelta(days=31)
MAX_EXCEPTION_AHEAD = timedelta(days=365)

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
def set_weekly_pattern(*, resource: Resource, blocks: list[tuple[int, int, int]], now: datetime | None = None) -> int:
    """Replace the weekly idle pattern with ``blocks`` (weekday, start_minute, end_minute) and
    re-materialise. Overlapping blocks are merged per weekday."""
    for weekday, start_minute, end_minute in blocks:
        if not (0 <= weekday <= 6 and 0 <= start_minute < end_minute <= 1440):
            raise DomainError(_("A block of idle time must lie within one day, from 00:00 to 24:00."))
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
    return materialise_idle_windows(resource=resource, now=now)


Cell = tuple[int, int]


def blocks_from_cells(cells: set[Cell]) -> list[tuple[int, int, int]]:
    """Half-hour cells (weekday, slot) → weekly blocks, consecutive slots of a day joined."""
    blocks: list[tuple[int, int, int]] = []
    for weekday, slot in sorted(cells):
        start, end = slot * SLOT_MINUTES, (slot + 1) * SLOT_MINUTES
        if blocks and blocks[-1][0] == weekday and blocks[-1][2] == start:
            blocks[-1] = (weekday, blocks[-1][1], end)
        else:
            blocks.append((weekday, start, end))
    return blocks


def cells_from_rules(rules: list[tuple[int, int, int]]) -> set[Cell]:
    """The half-hour cells that ``rules`` cover completely (what the grid shows as idle)."""
    cells: set[Cell] = set()
    for weekday, start_minute, end_minute in rules:
        first = -(-start_minute // SLOT_MINUTES)  # ceil: a partly covered cell is not idle
        for slot in range(first, end_minute // SLOT_MINUTES):
            cells.add((weekday, slot))
    return cells


def _cells(weekdays, start_minute: int, end_minute: int) -> set[Cell]:
    return {
        (weekday, slot)
        for weekday in weekdays
        for slot in range(start_minute // SLOT_MINUTES, end_minute // SLOT_MINUTES)
    }


# Quick presets of the calendar editor, added to what is painted ("clear" empties it).
PATTERN_PRESETS: dict[str, set[Cell]] = {
    # Monday to Friday evenings 18:00 until 08:00 the next morning.
    "weeknights": _cells(range(5), 18 * 60, 1440) | _cells(range(1, 6), 0, 8 * 60),
    "weekends": _cells((5, 6), 0, 1440),
    "always": _cells(range(7), 0, 1440),
    "clear": set(),
}


@transaction.atomic
def add_availability_exception(
    *,
    resource: Resource,
    kind: str,
    start: datetime,
    end: datetime,
    note: str = "",
    now: datetime | None = None,
) -> AvailabilityException:
    """Add extra idle time or a blackout ``[start, end)`` and re-materialise the idle windows."""
    now = now or timezone.now()
    if kind not in AvailabilityException.Kind.values:
        raise DomainError(_("Choose extra idle time or a blackout."))
    if start.tzinfo is None or end.tzinfo is None:
        raise DomainError(_("Start and end need a time zone."))
    if end <= start:
        raise DomainError(_("The end must be after the start."))
    if end <= now:
        raise DomainError(_("That period is already over."))
    if end > now + MAX_EXCEPTION_AHEAD:
        raise DomainError(_("Exceptions can be planned at most one year ahead."))
    if end - start > MAX_EXCEPTION_LENGTH:
        raise DomainError(_("An exception may last at most 31 days."))
    exception = AvailabilityException.objects.create(
        resource=resource, kind=kind, span=DateTimeTZRange(start, end, "[)"), note=note.strip()
    )
    materialise_idle_windows(resource=resource, now=now)
    return exception


@transaction.atomic
def delete_availability_exception(*, exception: AvailabilityException, now: datetime | None = None) -> None:
    """Remove an exception that is not yet over and re-materialise (the past stays as it was)."""
    now = now or timezone.now()
    if exception.span.upper <= now:
        raise DomainError(_("That exception is already over; it stays in the history."))
    resource = exception.resource
    exception.delete()
    materialise_idle_windows(resource=resource, now=now)
