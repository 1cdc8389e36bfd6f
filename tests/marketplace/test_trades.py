"""Instant booking: a matched plan is held and confirmed whole, one trade per provider, terms
snapshotted; rescheduling is one atomic move; no-shows are recorded against the provider."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from capacity.models import Booking
from capacity.services.booking import SlotTaken
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import Order, Trade, TradeBooking, TradeEvent
from marketplace.services import trades as services
from marketplace.services.trades import PlanSlice
from tests.factories import OrganisationFactory, ProviderProfileFactory, ResourceFactory
from tests.marketplace.trade_world import NOW, at, book, idle, mill_of, order_of


@pytest.fixture
def mill(provider_org):
    return mill_of(provider_org)


@pytest.fixture
def order(buyer_org):
    return order_of(buyer_org)


@pytest.mark.django_db
def test_a_confirmed_plan_makes_one_trade_with_the_terms_of_that_moment(mill, order, buyer_owner, provider_owner):
    links = services.book_plan(
        order=order,
        buyer_user=buyer_owner,
        slices=[(mill.pk, at(10), at(12), 20, {"machine_minutes": "110", "total": "1"})],
        now=NOW,
    )
    assert [link.booking.status for link in links] == ["held"]
    assert Trade.objects.count() == 0

    [trade] = services.confirm_plan(order=order, buyer_user=buyer_owner, booking_ids=[links[0].booking_id], now=NOW)

    trade.refresh_from_db()
    assert (trade.buyer, trade.provider, trade.order, trade.status) == (order.buyer, mill.provider, order, "confirmed")
    assert (trade.currency, trade.quantity, trade.billing_unit, trade.rate, trade.setup_fee) == (
        "CNY",
        20,
        "machine_hour",
        Decimal("180.00"),
        Decimal("240.00"),
    )
    # 110 machine minutes round up to 120 (15-minute increments): 2 h × 180 + 240 setup.
    assert trade.price_estimate == Decimal("600.00")
    assert (trade.vat_rate, trade.commission_rate, trade.commission_min, trade.commission_max) == (
        Decimal("0.1300"),
        Decimal("0.0500"),
        Decimal("10.00"),
        Decimal("5000.00"),
    )
    assert trade.free_cancellation_until == at(10) - timedelta(hours=48)
    assert trade.cancellation_fee_percent == Decimal("20.00")
    assert trade.terms["slices"][0]["rate_card"]["rate"] == "180.00"
    assert list(TradeBooking.objects.values_list("trade", "booking__status")) == [(trade.pk, "confirmed")]
    assert list(trade.events.values_list("from_status", "to_status")) == [("", "confirmed")]
    order.refresh_from_db()
    assert order.status == Order.Status.AWARDED
    assert provider_owner.notifications.filter(kind="trade_confirmed").count() == 1


@pytest.mark.django_db
def test_a_listing_edited_after_booking_leaves_the_trade_terms_unchanged(mill, order, buyer_owner):
    trade = book(order, buyer_owner, mill)
    before = Trade.objects.filter(pk=trade.pk).values().get()

    mill.rate, mill.setup_fee, mill.billing_increment_minutes, mill.minimum_charge = (
        Decimal("999.00"),
        Decimal("1.00"),
        60,
        Decimal("5000.00"),
    )
    mill.save()

    assert Trade.objects.filter(pk=trade.pk).values().get() == before
    trade.refresh_from_db()
    assert trade.pricing_terms().rate == Decimal("180.00")
    assert trade.pricing_terms().billing_increment_minutes == 15


@pytest.mark.django_db
def test_testing_orders_snapshot_six_percent_vat(provider_org, buyer_org, buyer_owner):
    resource = mill_of(provider_org)
    order = order_of(buyer_org, kind="testing")
    trade = book(order, buyer_owner, resource)
    assert trade.vat_rate == Decimal("0.06")


@pytest.mark.django_db
def test_a_split_plan_across_providers_makes_one_trade_each(mill, order, buyer_owner):
    other = ResourceFactory()
    idle(other)
    second_on_first = ResourceFactory(provider=mill.provider)
    idle(second_on_first)
    links = services.book_plan(
        order=order,
        buyer_user=buyer_owner,
        slices=[
            PlanSlice(mill.pk, at(8), at(10), 8),
            PlanSlice(other.pk, at(8), at(10), 7),
            PlanSlice(second_on_first.pk, at(9), at(11), 5),
        ],
        now=NOW,
    )
    trades = services.confirm_plan(
        order=order, buyer_user=buyer_owner, booking_ids=[link.booking_id for link in links], now=NOW
    )
    assert sorted((t.provider_id, t.quantity, t.bookings.count()) for t in trades) == sorted(
        [(mill.provider_id, 13, 2), (other.provider_id, 7, 1)]
    )
    assert Booking.objects.filter(status="confirmed").count() == 3


@pytest.mark.django_db
def test_a_taken_slot_refuses_the_whole_plan_with_the_next_options(mill, order, buyer_owner, buyer_org):
    other = ResourceFactory()
    idle(other)
    book(order_of(buyer_org), buyer_owner, other, at(14), at(16))
    with pytest.raises(SlotTaken) as refused:
        services.book_plan(
            order=order,
            buyer_user=buyer_owner,
            slices=[PlanSlice(mill.pk, at(8), at(10), 10), PlanSlice(other.pk, at(15), at(17), 10)],
            now=NOW,
        )
    assert refused.value.code == "slot_taken" and refused.value.resource_id == other.pk
    assert refused.value.alternatives[0] == (at(8), at(10))
    assert Booking.objects.filter(resource=mill).count() == 0
    assert TradeBooking.objects.filter(order=order).count() == 0


@pytest.mark.django_db
def test_an_expired_hold_cannot_be_confirmed_and_writes_no_trade(mill, order, buyer_owner):
    links = services.book_plan(order=order, buyer_user=buyer_owner, slices=[(mill.pk, at(10), at(12), 20)], now=NOW)
    with pytest.raises(DomainError) as refused:
        services.confirm_plan(
            order=order, buyer_user=buyer_owner, booking_ids=[links[0].booking_id], now=NOW + timedelta(minutes=11)
        )
    assert refused.value.code == "hold_expired"
    assert Trade.objects.count() == 0
    order.refresh_from_db()
    assert order.status == "open"


@pytest.mark.django_db
def test_only_the_buyer_books_its_order(mill, order, outsider, provider_owner):
    for user in (outsider, provider_owner):
        with pytest.raises(PermissionDeniedError):
            services.book_plan(order=order, buyer_user=user, slices=[(mill.pk, at(10), at(12), 20)], now=NOW)
    assert Booking.objects.count() == 0


@pytest.mark.django_db
def test_booking_without_a_hold_confirms_at_once(mill, order, buyer_owner):
    [link] = services.book_plan(
        order=order, buyer_user=buyer_owner, slices=[(mill.pk, at(10), at(12), 20)], hold=False, now=NOW
    )
    assert link.trade.status == "confirmed"
    assert link.booking.status == "confirmed"


@pytest.mark.django_db
def test_a_booking_moves_atomically_within_its_resource(mill, order, buyer_owner, buyer_org):
    trade = book(order, buyer_owner, mill)
    link = trade.bookings.get()
    moved = services.reschedule_booking(link=link, start=at(14), end=at(16), by=buyer_owner, now=NOW)
    assert (moved.booking.span.lower, moved.booking.span.upper, moved.booking.status) == (at(14), at(16), "confirmed")
    assert Booking.objects.get(span__startswith=at(10)).status == "released"
    assert trade.events.filter(kind="reschedule").count() == 1

    # A move onto a taken slot fails and leaves the booking where it was.
    book(order_of(buyer_org), buyer_owner, mill, at(17), at(19))
    with pytest.raises(SlotTaken):
        services.reschedule_booking(link=moved, start=at(16), end=at(18), by=buyer_owner, now=NOW)
    link.refresh_from_db()
    assert link.booking_id == moved.booking_id
    assert Booking.objects.get(pk=moved.booking_id).status == "confirmed"
    assert trade.events.filter(kind="reschedule").count() == 1


@pytest.mark.django_db
def test_a_no_show_is_recorded_once_the_slot_has_ended(mill, order, buyer_owner, provider_owner):
    trade = book(order, buyer_owner, mill)
    link = trade.bookings.get()
    with pytest.raises(DomainError) as refused:
        services.record_no_show(link=link, by=buyer_owner, now=at(11))
    assert refused.value.code == "not_ended"
    with pytest.raises(PermissionDeniedError):
        services.record_no_show(link=link, by=provider_owner, now=at(13))
    services.record_no_show(link=link, by=buyer_owner, now=at(13))
    link.refresh_from_db()
    assert link.no_show_at == at(13)
    assert list(trade.events.filter(kind="no_show").values_list("actor", flat=True)) == [buyer_owner.pk]
    with pytest.raises(DomainError):
        services.record_no_show(link=link, by=buyer_owner, now=at(14))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_32_buyers_confirm_overlapping_plans_exactly_one_trade():
    provider = OrganisationFactory(kind="provider")
    ProviderProfileFactory(organisation=provider)
    resource = ResourceFactory(provider=provider)
    partner = ResourceFactory()
    idle(resource)
    idle(partner)
    buyer = OrganisationFactory(kind="buyer")
    from tests.factories import MembershipFactory

    users = [MembershipFactory(organisation=buyer).user for _ in range(32)]
    orders = [order_of(buyer) for _ in range(32)]
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(32)

    def buyer_thread(n: int) -> None:
        slices = [PlanSlice(resource.pk, at(10) + timedelta(minutes=n), at(12) + timedelta(minutes=n), 10)]
        if n % 3 == 0:  # a split plan across two providers
            slices.append(
                PlanSlice(partner.pk, at(8) + timedelta(minutes=10 * n), at(9) + timedelta(minutes=10 * n), 10)
            )
        barrier.wait()
        try:
            links = services.book_plan(order=orders[n], buyer_user=users[n], slices=slices, now=NOW)
            services.confirm_plan(
                order=orders[n], buyer_user=users[n], booking_ids=[link.booking_id for link in links], now=NOW
            )
            result = "trade"
        except SlotTaken as taken:
            result = "taken" if taken.code == "slot_taken" and taken.message else "other"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buyer_thread, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["taken"] * 31 + ["trade"]
    active = Booking.objects.filter(resource=resource, status__in=Booking.ACTIVE)
    assert active.count() == 1
    winner = TradeBooking.objects.get(booking=active.get())
    winner_trades = Trade.objects.filter(order=winner.order)
    # No partial plan: the partner machine is booked only if the winning plan was a split one.
    expected = 2 if orders.index(winner.order) % 3 == 0 else 1
    assert winner_trades.count() == expected
    assert Trade.objects.count() == expected
    assert Booking.objects.filter(resource=partner).count() == expected - 1
    assert TradeEvent.objects.count() == expected
