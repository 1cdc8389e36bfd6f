"""Providers hear about matched orders once per order: at once, or in an idempotent daily digest."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from marketplace.models import MatchNotice, MatchNotificationPreference, Notification
from marketplace.services import matching as services
from tests.marketplace.match_orders import job_order
from tests.marketplace.matching_market import MONDAY, mill, provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_mill(provider_org, provider_owner, provider_member):
    return mill(provider(organisation=provider_org), rate=Decimal("120"))


def test_an_immediate_provider_gets_one_notification_and_email_per_order(
    buyer_org, provider_org, provider_owner, provider_member, own_mill, django_capture_on_commit_callbacks
):
    order = job_order(buyer_org)

    with django_capture_on_commit_callbacks(execute=True):
        services.run_matching(order=order, now=MONDAY)
        services.run_matching(order=order, now=MONDAY + timedelta(minutes=1))

    notes = Notification.objects.filter(kind="order_matched").order_by("user__email")
    assert [(n.user, n.organisation, n.url) for n in notes] == [
        (provider_member, provider_org, reverse("order_detail", args=[order.pk])),
        (provider_owner, provider_org, reverse("order_detail", args=[order.pk])),
    ]
    assert all(order.title in n.title for n in notes)
    assert sorted(m.to[0] for m in mail.outbox) == ["member@provider.example", "owner@provider.example"]
    notice = MatchNotice.objects.get(order=order, provider=provider_org)
    assert (notice.mode, notice.sent_at) == ("immediate", MONDAY)
    assert "9000" not in notes[0].body and "9,000" not in notes[0].body


def test_a_daily_provider_gets_one_idempotent_digest(
    buyer_org, provider_org, provider_owner, provider_member, own_mill, django_capture_on_commit_callbacks
):
    MatchNotificationPreference.objects.create(organisation=provider_org, mode="daily")
    first = job_order(buyer_org, title="Gearbox housing")
    second = job_order(buyer_org, title="Motor flange")

    with django_capture_on_commit_callbacks(execute=True):
        services.run_matching(order=first, now=MONDAY)
        services.run_matching(order=second, now=MONDAY)
    assert Notification.objects.count() == 0
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_match_digests(now=MONDAY + timedelta(hours=8)) == 1
        assert services.send_match_digests(now=MONDAY + timedelta(hours=9)) == 0

    digests = list(Notification.objects.filter(kind="order_matched_digest").order_by("user__email"))
    assert [n.user for n in digests] == [provider_member, provider_owner]
    assert "Gearbox housing" in digests[0].body and "Motor flange" in digests[0].body
    assert digests[0].url == reverse("matched_order_list")
    assert len(mail.outbox) == 2
    assert set(MatchNotice.objects.values_list("sent_at", flat=True)) == {MONDAY + timedelta(hours=8)}


def test_the_beat_schedule_sends_digests_daily_at_eight(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["send-match-digests"]
    assert entry["task"] == "marketplace.tasks.send_match_digests"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({8}, {0})
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


def test_owners_choose_the_mode_and_members_cannot(client_for, provider_org, provider_owner, provider_member):
    member = client_for(provider_member)
    assert member.post(reverse("match_notification_settings"), {"mode": "daily"}).status_code == 403
    assert MatchNotificationPreference.objects.count() == 0

    owner = client_for(provider_owner)
    assert owner.get(reverse("match_notification_settings")).status_code == 200
    bad = owner.post(reverse("match_notification_settings"), {"mode": "hourly"})
    assert bad.status_code == 200 and bad.context["form"].errors
    assert MatchNotificationPreference.objects.count() == 0

    response = owner.post(reverse("match_notification_settings"), {"mode": "daily"})
    assert response.status_code == 302
    assert MatchNotificationPreference.objects.get(organisation=provider_org).mode == "daily"
