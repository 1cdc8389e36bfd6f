"""Idle windows materialised from the weekly pattern and exceptions; free time derived."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from capacity.models import AvailabilityException, Booking, IdleWindow
from capacity.selectors.availability import free_hours, free_windows
from capacity.services.availability import (
    materialise_idle_windows,
    merge_intervals,
    set_weekly_pattern,
    subtract_intervals,
)
from tests.factories import ResourceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 7 December 2026, 00:00 in Shanghai.
MONDAY = datetime(2026, 12, 7, tzinfo=SHANGHAI)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def test_merge_and_subtract_half_open_intervals():
    assert merge_intervals([(at(0, 10), at(0, 12)), (at(0, 8), at(0, 10)), (at(0, 13), at(0, 14))]) == [
        (at(0, 8), at(0, 12)),
        (at(0, 13), at(0, 14)),
    ]
    assert subtract_intervals([(at(0, 8), at(0, 18))], [(at(0, 10), at(0, 11)), (at(0, 17), at(0, 19))]) == [
        (at(0, 8), at(0, 10)),
        (at(0, 11), at(0, 17)),
    ]


@pytest.mark.django_db
def test_weekly_pattern_becomes_local_time_windows_with_exceptions():
    resource = ResourceFactory()
    AvailabilityException.objects.create(resource=resource, kind="blackout", span=DateTimeTZRange(at(2, 0), at(3, 0)))
    AvailabilityException.objects.create(resource=resource, kind="extra", span=DateTimeTZRange(at(5, 9), at(5, 13)))
    # Weeknights 18:00–24:00 and Tuesday 00:00–06:00 (joins Monday night into one window).
    blocks = [(d, 18 * 60, 1440) for d in range(5)] + [(1, 0, 6 * 60)]
    set_weekly_pattern(resource=resource, blocks=blocks)
    materialise_idle_windows(resource=resource, now=at(-1, 0))  # independent of today's date

    windows = [
        (w.span.lower.astimezone(SHANGHAI), w.span.upper.astimezone(SHANGHAI))
        for w in IdleWindow.objects.filter(resource=resource, span__overlap=(at(0, 0), at(7, 0)))
    ]
    assert windows == [
        (at(0, 18), at(1, 6)),
        (at(1, 18), at(2, 0)),  # Wednesday is blacked out
        (at(3, 18), at(4, 0)),
        (at(4, 18), at(5, 0)),
        (at(5, 9), at(5, 13)),  # Saturday extra
    ]
    assert windows[0][0].utcoffset() == timedelta(hours=8)


@pytest.mark.django_db
def test_idle_windows_of_a_resource_never_overlap():
    resource = ResourceFactory()
    IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(at(0, 8), at(0, 12)))
    with pytest.raises(IntegrityError), transaction.atomic():
        IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(at(0, 11), at(0, 13)))
    IdleWindow.objects.create(resource=ResourceFactory(), span=DateTimeTZRange(at(0, 11), at(0, 13)))


@pytest.mark.django_db
def test_rematerialising_keeps_history_and_is_idempotent():
    resource = ResourceFactory()
    set_weekly_pattern(resource=resource, blocks=[(d, 0, 1440) for d in range(7)])
    now = at(0, 10)
    first = materialise_idle_windows(resource=resource, now=now)
    spans = list(IdleWindow.objects.filter(resource=resource).values_list("span", flat=True))
    assert materialise_idle_windows(resource=resource, now=now) == first
    assert list(IdleWindow.objects.filter(resource=resource).values_list("span", flat=True)) == spans


@pytest.mark.django_db
def test_free_time_is_idle_minus_active_bookings():
    resource = ResourceFactory()
    IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(at(0, 8), at(0, 18)))
    Booking.objects.create(resource=resource, span=DateTimeTZRange(at(0, 10), at(0, 12)), status="confirmed")
    Booking.objects.create(resource=resource, span=DateTimeTZRange(at(0, 14), at(0, 15)), status="released")
    assert free_windows(resource, at(0, 0), at(1, 0)) == [(at(0, 8), at(0, 10)), (at(0, 12), at(0, 18))]
    assert free_hours(resource, at(0, 0), at(1, 0)) == 8


@pytest.mark.django_db
def test_capacity_above_one_is_free_until_saturated():
    chamber = ResourceFactory(capacity=2)
    IdleWindow.objects.create(resource=chamber, span=DateTimeTZRange(at(0, 8), at(0, 18)))
    for span in [(at(0, 8), at(0, 12)), (at(0, 10), at(0, 14))]:
        Booking.objects.create(resource=chamber, span=DateTimeTZRange(*span), status="confirmed", exclusive=False)
    assert free_windows(chamber, at(0, 0), at(1, 0)) == [(at(0, 8), at(0, 10)), (at(0, 12), at(0, 18))]


@pytest.mark.django_db
def test_double_booking_is_impossible_in_the_database():
    resource = ResourceFactory()
    Booking.objects.create(resource=resource, span=DateTimeTZRange(at(0, 10), at(0, 12)), status="held")
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(resource=resource, span=DateTimeTZRange(at(0, 11), at(0, 13)), status="confirmed")
    # Adjacent half-open slots do not conflict; released ones never count.
    Booking.objects.create(resource=resource, span=DateTimeTZRange(at(0, 12), at(0, 13)), status="confirmed")
    Booking.objects.create(resource=resource, span=DateTimeTZRange(at(0, 10), at(0, 12)), status="released")
