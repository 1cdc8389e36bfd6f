"""Utilisation: idle vs booked hours per ISO week, computed in one SQL query."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse
from django.utils import translation

from capacity.models import Booking, IdleWindow
from capacity.selectors.availability import resource_timeline, weekly_utilisation
from capacity.services.availability import set_weekly_pattern
from tests.factories import ResourceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 12, 7, tzinfo=SHANGHAI)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def idle(resource, start, end):
    IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(start, end))


def book(resource, start, end, status, **extra):
    Booking.objects.create(resource=resource, span=DateTimeTZRange(start, end), status=status, **extra)


def figures(result):
    return {
        rid: [(w.week_start, w.idle_hours, w.booked_hours, w.percent) for w in weeks] for rid, weeks in result.items()
    }


@pytest.mark.django_db
def test_idle_and_booked_hours_per_week_are_exact(provider_org, django_assert_num_queries):
    mill = ResourceFactory(provider=provider_org)
    chamber = ResourceFactory(provider=provider_org, capacity=2)
    ResourceFactory()  # another provider's resource is never counted
    # Week 1 (7 Dec): Mon 08–18 and Sun 20:00 → Mon 04:00 across the week boundary (4 h + 4 h).
    idle(mill, at(0, 8), at(0, 18))
    idle(mill, at(6, 20), at(7, 4))
    book(mill, at(0, 9), at(0, 11, 30), "completed")
    book(mill, at(0, 12), at(0, 13), "confirmed")
    book(mill, at(0, 13), at(0, 14), "released")  # released and expired time is not booked
    book(mill, at(0, 14), at(0, 15), "expired")
    book(mill, at(6, 22), at(7, 2), "held")  # 2 h in each week
    # The chamber takes two specimens at once: 10 idle hours are 20 hours of capacity.
    idle(chamber, at(1, 0), at(1, 10))
    book(chamber, at(1, 0), at(1, 10), "confirmed", exclusive=False)
    book(chamber, at(1, 0), at(1, 5), "confirmed", exclusive=False)

    with django_assert_num_queries(1):
        result = weekly_utilisation(organisation=provider_org, first_week=date(2026, 12, 7), weeks=3)

    assert figures(result) == {
        mill.pk: [
            (date(2026, 12, 7), Decimal("14.00"), Decimal("5.50"), Decimal("39")),
            (date(2026, 12, 14), Decimal("4.00"), Decimal("2.00"), Decimal("50")),
            (date(2026, 12, 21), Decimal("0.00"), Decimal("0.00"), None),
        ],
        chamber.pk: [
            (date(2026, 12, 7), Decimal("10.00"), Decimal("15.00"), Decimal("75")),
            (date(2026, 12, 14), Decimal("0.00"), Decimal("0.00"), None),
            (date(2026, 12, 21), Decimal("0.00"), Decimal("0.00"), None),
        ],
    }
    assert result[mill.pk][0].iso_week == "2026-W50"
    one = weekly_utilisation(organisation=provider_org, first_week=date(2026, 12, 14), weeks=1, resource=mill)
    assert figures(one) == {mill.pk: [(date(2026, 12, 14), Decimal("4.00"), Decimal("2.00"), Decimal("50"))]}


@pytest.mark.django_db
def test_weeks_follow_the_organisations_time_zone_across_dst(provider_org):
    """Europe/Berlin springs forward on Sunday 28 March 2027: that week has 167 hours."""
    provider_org.time_zone = "Europe/Berlin"
    provider_org.save()
    furnace = ResourceFactory(provider=provider_org)
    lathe = ResourceFactory(provider=provider_org)
    now = datetime(2027, 3, 15, tzinfo=BERLIN)
    set_weekly_pattern(resource=furnace, blocks=[(d, 0, 1440) for d in range(7)], now=now)
    # Sunday 00:00–06:00 local: only 5 hours on the night the clocks go forward.
    set_weekly_pattern(resource=lathe, blocks=[(6, 0, 360)], now=now)
    sunday = datetime(2027, 3, 28, tzinfo=BERLIN)
    book(lathe, sunday.replace(hour=1), sunday.replace(hour=5), "confirmed")  # 01:00+01 → 05:00+02: 3 h

    result = weekly_utilisation(organisation=provider_org, first_week=date(2027, 3, 15), weeks=3)

    assert figures(result) == {
        furnace.pk: [
            (date(2027, 3, 15), Decimal("168.00"), Decimal("0.00"), Decimal("0")),
            (date(2027, 3, 22), Decimal("167.00"), Decimal("0.00"), Decimal("0")),
            (date(2027, 3, 29), Decimal("168.00"), Decimal("0.00"), Decimal("0")),
        ],
        lathe.pk: [
            (date(2027, 3, 15), Decimal("6.00"), Decimal("0.00"), Decimal("0")),
            (date(2027, 3, 22), Decimal("5.00"), Decimal("3.00"), Decimal("60")),
            (date(2027, 3, 29), Decimal("6.00"), Decimal("0.00"), Decimal("0")),
        ],
    }
    window = IdleWindow.objects.get(resource=lathe, span__contains=sunday.replace(hour=1))
    assert (window.span.lower, window.span.upper) == (sunday, datetime(2027, 3, 28, 6, tzinfo=BERLIN))
    assert window.span.upper - window.span.lower == timedelta(hours=5)

    # The timeline draws that Sunday 00:00–06:00 in local wall-clock time.
    timeline = resource_timeline(lathe, first_day=date(2027, 3, 27), days=3)
    assert [(d.day, [b.label for b in d.idle], [b.label for b in d.booked]) for d in timeline] == [
        (date(2027, 3, 27), [], []),
        (date(2027, 3, 28), ["00:00–06:00"], ["01:00–05:00"]),
        (date(2027, 3, 29), [], []),
    ]


@pytest.mark.django_db
def test_autumn_dst_week_has_169_hours(provider_org):
    provider_org.time_zone = "Europe/Berlin"
    provider_org.save()
    furnace = ResourceFactory(provider=provider_org)
    set_weekly_pattern(
        resource=furnace, blocks=[(d, 0, 1440) for d in range(7)], now=datetime(2027, 10, 18, tzinfo=BERLIN)
    )

    result = weekly_utilisation(organisation=provider_org, first_week=date(2027, 10, 25), weeks=1)

    assert result[furnace.pk][0].idle_hours == Decimal("169.00")


@pytest.mark.django_db
def test_the_timeline_cuts_intervals_at_local_midnight(provider_org):
    mill = ResourceFactory(provider=provider_org)
    idle(mill, at(0, 18), at(1, 6))
    book(mill, at(0, 22), at(1, 2, 30), "held")
    book(mill, at(0, 19), at(0, 20), "released")

    timeline = resource_timeline(mill, first_day=date(2026, 12, 7), days=2)

    with translation.override("en"):
        drawn = [(d.day, [b.label for b in d.idle], [(b.label, b.status_label) for b in d.booked]) for d in timeline]
    assert drawn == [
        (date(2026, 12, 7), ["18:00–24:00"], [("22:00–24:00", "Held")]),
        (date(2026, 12, 8), ["00:00–06:00"], [("00:00–02:30", "Held")]),
    ]
    assert [(b.start_minute, b.minutes) for b in timeline[0].idle] == [(1080, 360)]


@pytest.mark.django_db
def test_utilisation_pages(client_for, provider_member, provider_org, buyer_owner, outsider):
    mill = ResourceFactory(provider=provider_org, name="Mazak Variaxis")
    client = client_for(provider_member)
    client.cookies["django_language"] = "en"

    overview = client.get(reverse("capacity:utilisation"))
    single = client.get(reverse("capacity:resource_utilisation", args=[mill.pk]))

    assert overview.status_code == 200
    assert single.status_code == 200
    assert "Mazak Variaxis" in overview.content.decode()
    assert overview.content.decode().count('<svg class="ut-svg"') == 1
    assert single.content.decode().count("<tr") == 14  # header and 13 weeks
    assert 'href="/workspace/utilisation/"' in overview.content.decode()  # the nav entry
    assert client_for(buyer_owner).get(reverse("capacity:utilisation")).status_code == 403
    assert client_for(outsider).get(reverse("capacity:resource_utilisation", args=[mill.pk])).status_code == 404
