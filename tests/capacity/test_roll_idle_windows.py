"""The daily beat task keeps listed and paused resources' idle windows 13 weeks ahead."""

import pytest
from django.conf import settings
from django.utils import timezone

from capacity.models import AvailabilityRule, IdleWindow
from capacity.services.availability import HORIZON
from capacity.tasks import roll_idle_windows
from marketplace.celery import app
from tests.factories import ResourceFactory


def around_the_clock(resource):
    AvailabilityRule.objects.bulk_create(
        [AvailabilityRule(resource=resource, weekday=d, start_minute=0, end_minute=1440) for d in range(7)]
    )


def spans(resource):
    return list(IdleWindow.objects.filter(resource=resource).order_by("span").values_list("span", flat=True))


@pytest.mark.django_db
def test_the_beat_task_materialises_the_horizon_for_listed_and_paused_resources():
    listed = ResourceFactory(status="listed")
    paused = ResourceFactory(status="paused")
    draft = ResourceFactory(status="draft")
    retired = ResourceFactory(status="retired")
    for resource in (listed, paused, draft, retired):
        around_the_clock(resource)
    before = timezone.now()

    rolled = roll_idle_windows.delay().get()

    after = timezone.now()
    assert rolled == 2
    for resource in (listed, paused):
        [window] = spans(resource)
        assert before <= window.lower <= after
        assert window.upper - window.lower == HORIZON
    assert spans(draft) == []
    assert spans(retired) == []

    # Idempotent: a second run keeps one merged window reaching the new horizon.
    assert roll_idle_windows.delay([listed.pk, draft.pk]).get() == 1
    [window] = spans(listed)
    assert before <= window.lower <= after
    assert window.upper >= after + HORIZON


def test_the_task_is_scheduled_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["roll-idle-windows"]
    assert entry["task"] == "capacity.tasks.roll_idle_windows"
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {1} and entry["schedule"].minute == {30}
