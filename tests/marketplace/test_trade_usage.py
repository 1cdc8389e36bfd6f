"""Usage on the trade page: measured against booked time for both parties (404 for outsiders),
the buyer's overrun approval, and usage finality at the later of the trade's completion and
48 hours after its last window."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from capacity.models import BookingUsage
from capacity.services.metering import compute_booking_usage, finalise_due_usage, record_readings
from marketplace.models import Trade, TradeBooking, TradeEvent
from marketplace.selectors.trade_usage import usage_final_at
from marketplace.services import trades as services
from tests.capacity.metering_support import device_for, reading
from tests.marketplace.trade_world import idle, mill_of, order_of

pytestmark = pytest.mark.django_db

# A fixed past day: the window has run whatever today is.
T = datetime(2025, 6, 2, 8, tzinfo=UTC)
BEFORE = T - timedelta(days=1)
START, END = T + timedelta(hours=2), T + timedelta(hours=4)


@pytest.fixture
def mill(provider_org):
    resource = mill_of(provider_org)
    idle(resource, T, T + timedelta(hours=12))
    return resource


@pytest.fixture
def trade(mill, buyer_org, buyer_owner):
    order = order_of(buyer_org)
    links = services.book_plan(order=order, buyer_user=buyer_owner, slices=[(mill.pk, START, END, 20)], now=BEFORE)
    [trade] = services.confirm_plan(order=order, buyer_user=buyer_owner, booking_ids=[links[0].booking_id], now=BEFORE)
    return trade


@pytest.fixture
def metered(trade, mill, provider_org, provider_owner):
    """Readings: 3000 s run from 10:00 to 11:00, 4200 s from 11:00 to 13:00 (half outside)."""
    device, _secret = device_for(provider_org, provider_owner, resources=[mill])
    record_readings(
        device=device,
        readings=[
            reading(mill, 1, START, 0),
            reading(mill, 2, START + timedelta(hours=1), 3000, 5),
            reading(mill, 3, START + timedelta(hours=3), 7200, 10),
        ],
        now=END + timedelta(hours=2),
    )
    return trade


def test_both_parties_see_the_usage_computed_on_the_fly_and_outsiders_get_404(
    client_for, metered, buyer_owner, provider_owner, outsider, operator
):
    url = reverse("trade_detail", args=[metered.pk])
    assert BookingUsage.objects.count() == 0

    page = client_for(buyer_owner).get(url, HTTP_ACCEPT_LANGUAGE="en")

    usage = BookingUsage.objects.get()
    assert (usage.run_seconds, usage.overrun_run_seconds, usage.parts, usage.final) == (
        Decimal("5100.000"),
        Decimal("2100.000"),
        Decimal("7.500"),
        False,
    )
    body = page.content.decode()
    assert "Machine usage" in body and "Measured in the window" in body and 'class="metering-chart"' in body
    assert "Approve the overrun of 0.58 h" in body
    provider_page = client_for(provider_owner).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Measured in the window" in provider_page and "Overrun awaiting the buyer's approval" in provider_page
    assert "Approve the overrun" not in provider_page
    assert client_for(operator).get(url).status_code == 200
    assert client_for(outsider).get(url).status_code == 404
    assert BookingUsage.objects.count() == 1


def test_only_the_buyer_approves_an_overrun_once(client_for, metered, buyer_owner, provider_owner, outsider):
    link = TradeBooking.objects.get(trade=metered)
    compute_booking_usage(booking=link.booking, now=END + timedelta(hours=2))
    url = reverse("trade_overrun_approve", args=[metered.pk, link.pk])
    events = TradeEvent.objects.count()

    assert client_for(outsider).post(url).status_code == 404
    refused = client_for(provider_owner).post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert [str(m) for m in refused.context["messages"]] == ["Only the buyer can approve an overrun."]
    assert TradeBooking.objects.get(pk=link.pk).overrun_approved_at is None
    assert TradeEvent.objects.count() == events

    approved = client_for(buyer_owner).post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert [str(m) for m in approved.context["messages"]] == ["Overrun approved."]
    link.refresh_from_db()
    assert link.overrun_approved_by == buyer_owner and link.overrun_approved_at is not None
    event = TradeEvent.objects.filter(trade=metered, kind="usage").get()
    assert event.note.startswith("Overrun of 0.58 h approved on ")
    assert provider_owner.notifications.filter(kind="trade_overrun_approved").count() == 1

    again = client_for(buyer_owner).post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert [str(m) for m in again.context["messages"]] == ["The overrun of this booking is already approved."]
    assert TradeEvent.objects.filter(kind="usage").count() == 1


def test_without_overrun_there_is_nothing_to_approve(client_for, trade, buyer_owner):
    link = TradeBooking.objects.get(trade=trade)
    compute_booking_usage(booking=link.booking, now=END + timedelta(hours=2))
    response = client_for(buyer_owner).post(
        reverse("trade_overrun_approve", args=[trade.pk, link.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert [str(m) for m in response.context["messages"]] == ["No run time was measured outside this booking's window."]
    assert TradeBooking.objects.get(pk=link.pk).overrun_approved_at is None


def _complete(trade, buyer, provider, at):
    for to in (Trade.Status.IN_PRODUCTION, Trade.Status.PRODUCED, Trade.Status.DELIVERED):
        services.transition_trade(trade=trade, to=to, by=provider, now=at)
    services.record_inspection(trade=trade, by=buyer, accepted=trade.quantity, rejected=0, now=at)
    services.transition_trade(trade=trade, to=Trade.Status.COMPLETED, by=buyer, now=at)


def test_usage_is_final_at_the_later_of_completion_and_48_hours_after_the_last_window(
    metered, buyer_owner, provider_owner
):
    link = TradeBooking.objects.select_related("booking").get(trade=metered)
    # Past window end + 48 h, but the trade still runs: not final.
    assert usage_final_at(booking=link.booking, default=END + timedelta(hours=48)) is None
    compute_booking_usage(booking=link.booking, now=END + timedelta(hours=50))
    assert finalise_due_usage(now=END + timedelta(hours=50)) == 0
    assert BookingUsage.objects.get().final is False

    completed = END + timedelta(hours=60)
    _complete(metered, buyer_owner, provider_owner, completed)
    assert usage_final_at(booking=link.booking, default=END + timedelta(hours=48)) == completed
    assert finalise_due_usage(now=completed - timedelta(minutes=1)) == 0
    assert finalise_due_usage(now=completed) == 1
    usage = BookingUsage.objects.get()
    assert (usage.final, usage.finalised_at, usage.run_seconds) == (True, completed, Decimal("5100.000"))


def test_a_trade_completed_early_is_final_48_hours_after_its_last_window(trade, buyer_owner, provider_owner):
    link = TradeBooking.objects.select_related("booking").get(trade=trade)
    _complete(trade, buyer_owner, provider_owner, END + timedelta(hours=1))
    assert usage_final_at(booking=link.booking, default=END + timedelta(hours=48)) == END + timedelta(hours=48)
    assert finalise_due_usage(now=END + timedelta(hours=47)) == 0
    assert finalise_due_usage(now=END + timedelta(hours=48)) == 1
    assert BookingUsage.objects.get().final is True
