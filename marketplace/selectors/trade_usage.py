"""Reads joining trades to metering: a held plan with the price it would be agreed at, the
usage of each booking of a trade (measured against booked time, job reports), and the usage
finality rule of a trade's bookings (the hook ``settings.SPINDLE_USAGE_FINALITY`` names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from capacity.models import Booking, BookingUsage, JobReport
from capacity.selectors.metering import booking_usage_chart
from capacity.services.metering import USAGE_STATUSES, compute_booking_usage
from marketplace.models import Trade, TradeBooking, TradeEvent
from marketplace.services.trades import estimate_link

COMPLETION = (Trade.Status.COMPLETED, Trade.Status.RESOLVED)


def usage_final_at(*, booking: Booking, default: datetime) -> datetime | None:
    """The finality hook: a booking of a trade is final at the LATER of the trade's completion
    (completed, or a dispute resolved) and the end of the trade's last window + 48 h; before
    the trade completes, not at all (None). A booking outside any trade keeps ``default``."""
    link = TradeBooking.objects.filter(booking=booking, trade__isnull=False).only("trade_id").first()
    if link is None:
        return default
    completed = (
        TradeEvent.objects.filter(trade_id=link.trade_id, kind=TradeEvent.Kind.TRANSITION, to_status__in=COMPLETION)
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    if completed is None:
        return None
    ends = [
        b.span.upper
        for b in Booking.objects.filter(trade_link__trade_id=link.trade_id, status__in=USAGE_STATUSES).only("span")
    ]
    last = max(ends, default=booking.span.upper)
    return max(completed, default + (last - booking.span.upper))


# --- the hold page ------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldSlice:
    link: TradeBooking
    price: object  # a matching PriceBreakdown: what confirming would agree, at today's rate card


def held_plan(links) -> tuple[list[HeldSlice], dict[str, Decimal], datetime | None]:
    """The held slices with their estimates, the totals per currency and the earliest expiry."""
    rows = [HeldSlice(link, estimate_link(link, link.resource)) for link in links]
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.price.currency] = totals.get(row.price.currency, Decimal(0)) + row.price.total
    expiry = min((row.link.booking.hold_expires_at for row in rows), default=None)
    return rows, totals, expiry


def cancellation_policy(rows: list[HeldSlice]) -> dict | None:
    """The policy a trade of this plan will snapshot (services.trades._create_trade): free until
    SPINDLE_FREE_CANCELLATION_HOURS before the first slot, then a fee on the estimate."""
    if not rows:
        return None
    first = min(row.link.booking.span.lower for row in rows)
    return {
        "free_until": first - timedelta(hours=settings.SPINDLE_FREE_CANCELLATION_HOURS),
        "fee_percent": Decimal(str(settings.SPINDLE_CANCELLATION_FEE_PERCENT)),
    }


# --- usage on the trade page ---------------------------------------------------------------


def booking_usage(booking: Booking, *, now: datetime | None = None) -> BookingUsage | None:
    """The stored usage of a booking; derived now (and stored) only when absent and the window
    has begun. Bookings that never ran (released, in the future) have none."""
    usage = BookingUsage.objects.filter(booking=booking).first()
    now = now or timezone.now()
    if usage is None and booking.status in USAGE_STATUSES and booking.span.lower <= now:
        usage = compute_booking_usage(booking=booking, now=now)
    return usage


@dataclass
class BookingUsageRow:
    link: TradeBooking
    usage: BookingUsage | None
    chart: dict | None
    reports: list[JobReport]

    @property
    def live_report(self) -> JobReport | None:
        return next((r for r in self.reports if r.status != JobReport.Status.DISPUTED), None)

    @property
    def has_overrun(self) -> bool:
        return self.usage is not None and self.usage.overrun_run_seconds > 0

    @property
    def overrun_hours(self) -> Decimal:
        return (self.usage.overrun_run_seconds / 3600).quantize(Decimal("0.01")) if self.usage else Decimal(0)

    @property
    def measured_by_telemetry(self) -> bool:
        return self.usage is not None and self.usage.readings_count > 0

    @property
    def can_report(self) -> bool:
        """A job report fits a booking that ran without telemetry and has no live report."""
        return (
            self.link.booking.status in USAGE_STATUSES and not self.measured_by_telemetry and self.live_report is None
        )


def trade_usage(links: list[TradeBooking], *, now: datetime | None = None) -> list[BookingUsageRow]:
    now = now or timezone.now()
    reports: dict[int, list[JobReport]] = {}
    for report in JobReport.objects.filter(booking__in=[link.booking_id for link in links]).order_by(
        "-created_at", "-pk"
    ):
        reports.setdefault(report.booking_id, []).append(report)
    rows = []
    for link in links:
        usage = booking_usage(link.booking, now=now)
        chart = booking_usage_chart(link.booking) if usage is not None else None
        rows.append(BookingUsageRow(link, usage, chart, reports.get(link.booking_id, [])))
    return rows


def job_report_of(trade: Trade, report_id: int) -> JobReport | None:
    return JobReport.objects.filter(pk=report_id, booking__trade_link__trade=trade).select_related("booking").first()
