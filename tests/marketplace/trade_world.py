"""Shared helpers for the trade tests: a provider's mill with idle time, a buyer's order, and
a trade made by booking a slot on it. Times are fixed (no dependency on today's date)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from capacity.models import IdleWindow
from marketplace.models import Trade
from marketplace.services import trades as services
from marketplace.services.trades import PlanSlice
from tests.factories import OrderFactory, ProviderProfileFactory, ResourceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 12, 1, 9, tzinfo=SHANGHAI)


def at(hour: int, day: int = 7) -> datetime:
    return datetime(2030, 12, day, tzinfo=SHANGHAI) + timedelta(hours=hour)


def idle(resource, start=None, end=None):
    IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(start or at(8), end or at(20), "[)"))


def mill_of(provider_org, **fields):
    if not hasattr(provider_org, "provider_profile"):
        ProviderProfileFactory(organisation=provider_org)
    resource = ResourceFactory(provider=provider_org, **fields)
    idle(resource)
    return resource


def order_of(buyer_org, **fields):
    fields.setdefault("quantity", 20)
    return OrderFactory(buyer=buyer_org, **fields)


def book(order, buyer, resource, start=None, end=None, quantity=None, now=NOW) -> Trade:
    """Book one slot on ``resource`` for ``order`` and confirm it: the trade."""
    start, end = start or at(10), end or at(12)
    slice_ = PlanSlice(resource.pk, start, end, quantity or order.quantity, {"machine_minutes": "120"})
    links = services.book_plan(order=order, buyer_user=buyer, slices=[slice_], now=now)
    [trade] = services.confirm_plan(order=order, buyer_user=buyer, booking_ids=[links[0].booking_id], now=now)
    return trade


def expected_estimate(rate: Decimal, setup: Decimal, minutes: int) -> Decimal:
    return rate * minutes / 60 + setup
