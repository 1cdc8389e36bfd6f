"""The calendar editor: painting the weekly grid, presets, refused input and scoping."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from capacity.models import AvailabilityRule, IdleWindow
from capacity.services.availability import set_weekly_pattern
from tests.factories import ResourceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def mill(provider_org):
    return ResourceFactory(provider=provider_org, name="DMG Mori DMU 50")


def calendar_url(resource):
    return reverse("capacity:resource_calendar", args=[resource.pk])


def rules(resource):
    return list(AvailabilityRule.objects.filter(resource=resource).values_list("weekday", "start_minute", "end_minute"))


def windows(resource):
    return list(IdleWindow.objects.filter(resource=resource).order_by("span").values_list("span", flat=True))


def next_monday() -> datetime:
    """Local midnight of the first Monday after today (windows of that week are all in the future)."""
    today = timezone.now().astimezone(SHANGHAI).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time.min, tzinfo=SHANGHAI)


def local_windows(resource, start, end):
    return [
        (w.lower.astimezone(SHANGHAI), w.upper.astimezone(SHANGHAI))
        for w in IdleWindow.objects.filter(resource=resource, span__overlap=(start, end))
        .order_by("span")
        .values_list("span", flat=True)
    ]


@pytest.mark.django_db
def test_painted_cells_become_rules_and_idle_windows(client_for, provider_member, mill):
    client = client_for(provider_member)
    # Monday 18:00–24:00 and Tuesday 00:00–06:00 (one night), Saturday 09:00–10:30.
    cells = [f"0-{s}" for s in range(36, 48)] + [f"1-{s}" for s in range(12)] + ["5-18", "5-19", "5-20"]

    response = client.post(calendar_url(mill), {"cell": cells})

    assert response.status_code == 302
    assert response.url == calendar_url(mill)
    assert rules(mill) == [(0, 1080, 1440), (1, 0, 360), (5, 540, 630)]
    monday = next_monday()
    assert local_windows(mill, monday, monday + timedelta(days=7)) == [
        (monday + timedelta(hours=18), monday + timedelta(days=1, hours=6)),
        (monday + timedelta(days=5, hours=9), monday + timedelta(days=5, hours=10, minutes=30)),
    ]

    page = client.get(calendar_url(mill))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="cell-0-36" checked' in html
    assert 'id="cell-5-20" checked' in html
    assert 'id="cell-5-21">' in html  # 10:30 on Saturday is not idle
    assert html.count(" checked>") == 27
    assert "<strong>13.5</strong>" in html  # idle hours per week


@pytest.mark.django_db
def test_htmx_save_returns_the_grid_fragment_and_the_timeline(client_for, provider_member, mill):
    client = client_for(provider_member)

    response = client.post(calendar_url(mill), {"cell": ["2-16", "2-17"]}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<form id="calendar-pattern"')
    assert 'id="calendar-timeline"' in html
    assert 'hx-swap-oob="true"' in html
    assert 'id="cell-2-16" checked' in html
    assert rules(mill) == [(2, 480, 540)]


@pytest.mark.django_db
def test_presets_are_added_to_the_painted_cells(client_for, provider_owner, mill):
    client = client_for(provider_owner)

    client.post(calendar_url(mill), {"cell": ["6-20"], "preset": "weeknights"})

    night_and_evening = [(d, 0, 480) for d in range(1, 6)] + [(d, 1080, 1440) for d in range(5)]
    assert rules(mill) == sorted([*night_and_evening, (6, 600, 630)])

    client.post(calendar_url(mill), {"cell": ["6-20"], "preset": "weekends"})
    assert rules(mill) == [(5, 0, 1440), (6, 0, 1440)]

    client.post(calendar_url(mill), {"cell": ["0-1", "5-3"], "preset": "clear"})
    assert rules(mill) == []
    now = timezone.now()
    assert IdleWindow.objects.filter(resource=mill, span__overlap=(now, now + timedelta(weeks=13))).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"cell": ["0-36", "7-0"]},  # weekday out of range
        {"cell": ["0-48"]},  # slot out of range
        {"cell": ["-1-3"]},
        {"cell": ["monday-18"]},
        {"cell": ["0-1-2"]},
        {"cell": ["0-36"], "preset": "everything"},
    ],
)
def test_garbage_is_refused_and_changes_nothing(client_for, provider_member, mill, data):
    set_weekly_pattern(resource=mill, blocks=[(0, 1080, 1440)])
    before = (rules(mill), windows(mill))
    client = client_for(provider_member)

    response = client.post(calendar_url(mill), data)
    htmx_response = client.post(calendar_url(mill), data, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    assert 'class="form-errors" role="alert"' in response.content.decode()
    assert htmx_response.status_code == 400
    assert 'role="alert"' in htmx_response.content.decode()
    assert (rules(mill), windows(mill)) == before


@pytest.mark.django_db
def test_the_error_message_names_the_bad_cell(client_for, provider_member, mill):
    client = client_for(provider_member)
    client.cookies["django_language"] = "en"
    response = client.post(calendar_url(mill), {"cell": ["9-99"]})
    assert "“9-99” is not a cell of the weekly grid (weekday 0–6, half hour 0–47). Nothing was saved." in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_another_organisation_gets_404_and_changes_nothing(client_for, outsider, buyer_owner, mill):
    set_weekly_pattern(resource=mill, blocks=[(3, 0, 600)])
    before = (rules(mill), windows(mill))
    for user in (outsider, buyer_owner):
        client = client_for(user)
        assert client.get(calendar_url(mill)).status_code == 404
        assert client.post(calendar_url(mill), {"preset": "clear"}).status_code == 404
        assert client.get(reverse("capacity:resource_utilisation", args=[mill.pk])).status_code == 404
    assert (rules(mill), windows(mill)) == before


@pytest.mark.django_db
def test_the_page_shows_the_zone_the_timeline_and_upcoming_exceptions(client_for, provider_member, mill):
    set_weekly_pattern(resource=mill, blocks=[(d, 0, 1440) for d in range(7)])
    client = client_for(provider_member)
    client.cookies["django_language"] = "en"

    html = client.get(calendar_url(mill)).content.decode()

    assert "Asia/Shanghai" in html
    assert html.count('<rect class="tl-idle" x="0" y="2" width="1440" height="20"/>') == 13  # today is partly past
    assert "The next 14 days as text" in html
    assert "No upcoming exceptions." in html
