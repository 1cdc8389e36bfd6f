"""Long rentals for the period-invoicing tests: a machine booked across month boundaries, a
device that reported its run-time counter, usage derived from those readings by the metering
service (which keeps the daily rollup). Fixed dates in 2030, no dependency on today."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from capacity.models import Booking, MeterReading
from capacity.services.metering import compute_booking_usage, register_device
from marketplace.models import Trade
from marketplace.services import trades as trade_services
from tests.marketplace.trade_world import book, idle, mill_of, order_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
BOOKED_AT = datetime(2030, 10, 1, 9, tzinfo=SHANGHAI)


def long_rental(provider_org, provider_owner, buyer_org, buyer_owner, *, start, end, **mill) -> Trade:
    """A confirmed trade of one booking ``[start, end)`` on a new mill of ``provider_org``."""
    mill.setdefault("rate", Decimal("187.35"))
    mill.setdefault("setup_fee", Decimal("240.00"))
    mill.setdefault("billing_increment_minutes", 15)
    resource = mill_of(provider_org, **mill)
    idle(resource, start, end)
    order = order_of(buyer_org, quantity=1)
    return book(order, buyer_owner, resource, start=start, end=end, quantity=1, now=BOOKED_AT)


def report(trade: Trade, provider_owner, times: list[datetime], counters: list[int], *, now: datetime) -> None:
    """The device of the trade's machine reported these cumulative run-seconds counters; usage is
    then re-derived as the ingestion task does (recompute_usage_near → compute_booking_usage)."""
    link = trade.bookings.select_related("resource", "booking").get()
    device = link.resource.devices.first()
    if device is None:
        device, _secret = register_device(
            organisation=trade.provider, user=provider_owner, name="Gateway", kind="gateway", resources=[link.resource]
        )
    first = MeterReading.objects.filter(device=device).count()
    MeterReading.objects.bulk_create(
        MeterReading(
            device=device,
            resource=link.resource,
            boot_id="boot-1",
            seq=first + i,
            device_time=when,
            received_at=when + timedelta(seconds=5),
            run_seconds=counter,
            part_count=0,
        )
        for i, (when, counter) in enumerate(zip(times, counters, strict=True))
    )
    compute_booking_usage(booking=link.booking, now=now)


def daily_readings(start: datetime, days: int, run_per_day: int) -> tuple[list[datetime], list[int]]:
    """One reading at each local midnight from ``start``: the machine ran ``run_per_day`` s a day."""
    times = [start + timedelta(days=d) for d in range(days + 1)]
    return times, [d * run_per_day for d in range(days + 1)]


def complete(trade: Trade, provider_owner, buyer_owner, *, now: datetime) -> Trade:
    for status in (Trade.Status.IN_PRODUCTION, Trade.Status.PRODUCED, Trade.Status.DELIVERED):
        trade_services.transition_trade(trade=trade, to=status, by=provider_owner, now=now)
    trade_services.record_inspection(trade=trade, by=buyer_owner, accepted=1, rejected=0, now=now)
    trade_services.transition_trade(trade=trade, to=Trade.Status.COMPLETED, by=buyer_owner, now=now)
    booking = trade.bookings.get().booking
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.COMPLETED)
    # Usage becomes final 48 h after the window and the trade's completion.
    compute_booking_usage(booking=booking, now=now + timedelta(days=3))
    trade.refresh_from_db()
    return trade
