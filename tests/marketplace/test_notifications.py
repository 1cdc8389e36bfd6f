import pytest
from django.core import mail
from django.urls import reverse

from marketplace import services
from marketplace.models import Notification
from marketplace.tasks import deliver_notification


@pytest.mark.django_db(transaction=True)
def test_notification_is_emailed_once_after_commit(provider_owner, provider_org):
    notification = services.notify(
        user=provider_owner,
        organisation=provider_org,
        kind="order.matched",
        title="A new order fits your mill",
        url="/",
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Spindle] A new order fits your mill"
    # A redelivered task finds the notification already claimed and sends nothing.
    assert deliver_notification(notification.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_notifications_page_shows_only_my_notifications(client_for, provider_owner, outsider):
    Notification.objects.create(user=provider_owner, kind="x", title="For the owner")
    Notification.objects.create(user=outsider, kind="x", title="For the outsider")
    response = client_for(provider_owner).get(reverse("notifications"))
    content = response.content.decode()
    assert "For the owner" in content
    assert "For the outsider" not in content


@pytest.mark.django_db
def test_mark_all_read(client_for, provider_owner, outsider):
    Notification.objects.create(user=provider_owner, kind="x", title="Mine")
    theirs = Notification.objects.create(user=outsider, kind="x", title="Theirs")
    client_for(provider_owner).post(reverse("notifications"))
    assert Notification.objects.filter(user=provider_owner, read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None
