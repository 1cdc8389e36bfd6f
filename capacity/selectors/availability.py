"""Free time = idle windows minus active bookings (derived, never stored)."""

from __future__ import annotations

from datetime import datetime

from capacity.models import Booking, IdleWindow, Resource
from capacity.services.availability import Interval, merge_intervals, subtract_intervals


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
