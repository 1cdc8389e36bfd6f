"""Hand-built trades for the operator console tests: a trade with one booking of a given
length and estimate, created at a fixed moment (no dependency on today's date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from capacity.models import Booking
from marketplace.models import Organisation, Trade, TradeBooking, TradeEvent
from tests.factories import OrderFactory, OrganisationFactory, ResourceFactory

NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)


def buyer(name: str = "") -> Organisation:
    return OrganisationFactory(kind=Organisation.Kind.BUYER, **({"name": name} if name else {}))


def make_trade(
    *,
    buyer_org=None,
    resource=None,
    hours: int = 2,
    estimate: str = "360.00",
    created_at: datetime = NOW - timedelta(days=1),
    start: datetime | None = None,
    status: str = Trade.Status.CONFIRMED,
    category=None,
) -> Trade:
    buyer_org = buyer_org or buyer()
    resource = resource or ResourceFactory()
    order = OrderFactory(buyer=buyer_org, status="awarded", **({"category": category} if category else {}))
    start = start or created_at + timedelta(days=2)
    booking = Booking.objects.create(
        resource=resource, span=DateTimeTZRange(start, start + timedelta(hours=hours), "[)"), status="confirmed"
    )
    trade = Trade.objects.create(
        buyer=buyer_org,
        provider=resource.provider,
        order=order,
        origin=Trade.Origin.BOOKING,
        status=status,
        kind=order.kind,
        currency="CNY",
        quantity=10,
        billing_unit="machine_hour",
        rate=resource.rate,
        billing_increment_minutes=15,
        vat_rate=Decimal("0.13"),
        commission_rate=Decimal("0.05"),
        commission_min=Decimal("10.00"),
        price_estimate=Decimal(estimate),
        free_cancellation_until=start - timedelta(hours=48),
        cancellation_fee_percent=Decimal("20"),
        created_at=created_at,
    )
    TradeBooking.objects.create(order=order, trade=trade, booking=booking, resource=resource, quantity=10)
    TradeEvent.objects.create(trade=trade, from_status="", to_status=Trade.Status.CONFIRMED, at=created_at)
    return trade


def cancel(trade: Trade, *, by: Organisation, at: datetime) -> Trade:
    Trade.objects.filter(pk=trade.pk).update(status=Trade.Status.CANCELLED, cancelled_by=by)
    TradeEvent.objects.create(trade=trade, from_status=trade.status, to_status=Trade.Status.CANCELLED, at=at)
    trade.refresh_from_db()
    return trade
