"""The signed-in home page summarises the active organisation's own work, nobody else's."""

from datetime import timedelta

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse
from django.utils import timezone

from capacity.models import Booking
from tests.factories import OrderFactory, ResourceFactory


@pytest.mark.django_db
def test_buyer_home_lists_its_own_recent_orders(client_for, buyer_org, buyer_owner, outsider, other_org):
    OrderFactory(buyer=buyer_org, title="Gearbox housing", status="open")
    OrderFactory(buyer=other_org, title="Someone else's bracket", status="open")
    response = client_for(buyer_owner).get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    content = response.content.decode()
    assert "Gearbox housing" in content
    assert "Someone else&#x27;s bracket" not in content and "Someone else's bracket" not in content
    assert response.context["summary"]["buyer"]["open"] == 1


@pytest.mark.django_db
def test_provider_home_shows_this_weeks_bookings(client_for, provider_org, provider_owner):
    mill = ResourceFactory(provider=provider_org, name="DMU 50 five-axis")
    start = timezone.now() + timedelta(days=2)
    Booking.objects.create(resource=mill, span=DateTimeTZRange(start, start + timedelta(hours=3)), status="confirmed")
    Booking.objects.create(
        resource=mill,
        span=DateTimeTZRange(start + timedelta(days=9), start + timedelta(days=9, hours=1)),
        status="confirmed",
    )
    response = client_for(provider_owner).get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    summary = response.context["summary"]["provider"]
    assert [b.resource.name for b in summary["upcoming"]] == ["DMU 50 five-axis"]
    assert summary["resources"] == {"listed": 1, "pending": 0, "total": 1}
    assert "buyer" not in response.context["summary"]
