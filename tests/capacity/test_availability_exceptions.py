"""Dated exceptions: validated in the provider's time zone, re-materialising the idle windows."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse
from django.utils import timezone, translation

from capacity.models import AvailabilityException, IdleWindow
from capacity.services.availability import (
    add_availability_exception,
    delete_availability_exception,
    set_weekly_pattern,
)
from marketplace.errors import DomainError
from tests.factories import ResourceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)  # a Monday morning


@pytest.fixture
def mill(provider_org):
    resource = ResourceFactory(provider=provider_org, name="Haas VF-2")
    set_weekly_pattern(resource=resource, blocks=[(d, 0, 1440) for d in range(7)], now=NOW)
    return resource


def spans(resource):
    return list(IdleWindow.objects.filter(resource=resource).order_by("span").values_list("span", flat=True))


@pytest.mark.django_db
def test_a_blackout_cuts_the_idle_windows(mill):
    start, end = NOW + timedelta(days=1), NOW + timedelta(days=1, hours=4)

    exception = add_availability_exception(
        resource=mill, kind="blackout", start=start, end=end, note=" Spindle service ", now=NOW
    )

    assert (exception.span.lower, exception.span.upper, exception.note) == (start, end, "Spindle service")
    assert [(s.lower, s.upper) for s in spans(mill)] == [(NOW, start), (end, NOW + timedelta(weeks=13))]

    delete_availability_exception(exception=exception, now=NOW)

    assert AvailabilityException.objects.count() == 0
    assert [(s.lower, s.upper) for s in spans(mill)] == [(NOW, NOW + timedelta(weeks=13))]


@pytest.mark.django_db
def test_extra_idle_time_adds_a_window(provider_org):
    press = ResourceFactory(provider=provider_org)
    saturday = datetime(2026, 12, 12, 8, 0, tzinfo=SHANGHAI)
    add_availability_exception(resource=press, kind="extra", start=saturday, end=saturday + timedelta(hours=6), now=NOW)
    assert [(s.lower, s.upper) for s in spans(press)] == [(saturday, saturday + timedelta(hours=6))]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "start", "end", "message"),
    [
        ("blackout", NOW + timedelta(hours=5), NOW + timedelta(hours=5), "The end must be after the start."),
        ("blackout", NOW + timedelta(hours=5), NOW + timedelta(hours=2), "The end must be after the start."),
        ("blackout", NOW - timedelta(days=2), NOW - timedelta(days=1), "That period is already over."),
        ("blackout", NOW - timedelta(hours=2), NOW, "That period is already over."),
        (
            "extra",
            NOW + timedelta(days=365),
            NOW + timedelta(days=366),
            "Exceptions can be planned at most one year ahead.",
        ),
        ("blackout", NOW, NOW + timedelta(days=31, minutes=1), "An exception may last at most 31 days."),
        ("holiday", NOW, NOW + timedelta(hours=1), "Choose extra idle time or a blackout."),
    ],
)
def test_invalid_exceptions_are_refused_and_change_nothing(mill, kind, start, end, message):
    before = spans(mill)
    with translation.override("en"), pytest.raises(DomainError) as refused:
        add_availability_exception(resource=mill, kind=kind, start=start, end=end, now=NOW)
    assert refused.value.message == message
    assert AvailabilityException.objects.count() == 0
    assert spans(mill) == before


@pytest.mark.django_db
def test_limits_are_inclusive(mill):
    """31 days exactly, an exception already under way, and one ending a year from now are fine."""
    add_availability_exception(resource=mill, kind="blackout", start=NOW, end=NOW + timedelta(days=31), now=NOW)
    add_availability_exception(
        resource=mill, kind="blackout", start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1), now=NOW
    )
    add_availability_exception(
        resource=mill, kind="extra", start=NOW + timedelta(days=364), end=NOW + timedelta(days=365), now=NOW
    )
    assert AvailabilityException.objects.count() == 3


@pytest.mark.django_db
def test_an_exception_that_is_over_cannot_be_deleted(mill):
    past = AvailabilityException.objects.create(
        resource=mill, kind="blackout", span=DateTimeTZRange(NOW - timedelta(days=2), NOW - timedelta(days=1))
    )
    with pytest.raises(DomainError):
        delete_availability_exception(exception=past, now=NOW)
    assert AvailabilityException.objects.filter(pk=past.pk).exists()


def local_input(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


@pytest.mark.django_db
def test_the_form_takes_local_times_in_the_providers_zone(client_for, provider_member, provider_org):
    provider_org.time_zone = "Europe/Berlin"
    provider_org.save()
    lathe = ResourceFactory(provider=provider_org, name="Index C100")
    tomorrow = timezone.now().astimezone(BERLIN).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(8, 0), tzinfo=BERLIN)
    end = datetime.combine(tomorrow, time(12, 30), tzinfo=BERLIN)
    client = client_for(provider_member)

    response = client.post(
        reverse("capacity:resource_exception_add", args=[lathe.pk]),
        {"kind": "extra", "start": local_input(start), "end": local_input(end), "note": "Extra Saturday shift"},
    )

    assert response.status_code == 302
    exception = AvailabilityException.objects.get(resource=lathe)
    assert (exception.kind, exception.span.lower, exception.span.upper) == ("extra", start, end)
    assert [(s.lower, s.upper) for s in spans(lathe)] == [(start, end)]
    page = client.get(reverse("capacity:resource_calendar", args=[lathe.pk])).content.decode()
    assert "Europe/Berlin" in page
    assert f"{start:%Y-%m-%d} 08:00 – {end:%Y-%m-%d} 12:30" in page
    assert "Extra Saturday shift" in page

    response = client.post(reverse("capacity:resource_exception_delete", args=[lathe.pk, exception.pk]))

    assert response.status_code == 302
    assert AvailabilityException.objects.count() == 0
    assert spans(lathe) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"kind": "blackout", "start": "2026-12-10T10:00", "end": "2026-12-10T09:00"},
            "The end must be after the start.",
        ),
        ({"kind": "blackout", "start": "2020-01-01T10:00", "end": "2020-01-02T10:00"}, "That period is already over."),
        ({"kind": "blackout", "start": "tomorrow", "end": "2026-12-10T09:00"}, "Enter a valid date/time."),
        ({"kind": "sabbatical", "start": "2026-12-10T08:00", "end": "2026-12-10T09:00"}, "Select a valid choice."),
    ],
)
def test_refused_form_input_shows_the_reason_and_changes_nothing(client_for, provider_member, mill, data, message):
    before = spans(mill)
    client = client_for(provider_member)
    client.cookies["django_language"] = "en"

    response = client.post(reverse("capacity:resource_exception_add", args=[mill.pk]), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert AvailabilityException.objects.count() == 0
    assert spans(mill) == before


@pytest.mark.django_db
def test_another_organisation_cannot_touch_exceptions(client_for, outsider, mill):
    exception = AvailabilityException.objects.create(
        resource=mill,
        kind="blackout",
        span=DateTimeTZRange(timezone.now() + timedelta(days=1), timezone.now() + timedelta(days=2)),
    )
    client = client_for(outsider)
    assert client.post(reverse("capacity:resource_exception_delete", args=[mill.pk, exception.pk])).status_code == 404
    add = client.post(
        reverse("capacity:resource_exception_add", args=[mill.pk]),
        {"kind": "blackout", "start": "2030-01-01T08:00", "end": "2030-01-01T09:00"},
    )
    assert add.status_code == 404
    assert list(AvailabilityException.objects.values_list("pk", flat=True)) == [exception.pk]
