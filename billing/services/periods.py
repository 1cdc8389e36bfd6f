"""Month-end period invoicing of long rentals (issue #7): resumable and idempotent.

A trade billed by the machine-hour whose bookings run across a month boundary (in the
provider's time zone) is a *long rental*. After each month closes, one period invoice per such
trade bills the machine-hours measured up to the month's end that no earlier period invoice
billed (billing.pricing.price_period: cumulative, so the trade's invoices add up exactly to
what one invoice would bill); the final invoice at completion bills the rest
(billing.services.invoices.issue_invoice_for_trade).

Usage comes from the daily rollup (capacity BookingUsageDay), kept whenever a booking's usage is
re-derived, so the run never rescans raw readings.

The run: one PeriodRun row per month and one PeriodRunItem per eligible trade. Each item is
claimed (SELECT … FOR UPDATE SKIP LOCKED) and processed in its own transaction together with its
invoice, its number and its ledger entry, so a worker killed anywhere leaves either a finished
item with its invoice or an untouched pending one; running again resumes where it stopped. The
unique (trade, period_start) of invoices and the ledger's idempotency key per invoice make a
second issue impossible even for a run started twice at once.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Invoice, PeriodRun, PeriodRunItem
from billing.pricing import price_period
from billing.services.invoices import _issue, billed_by_periods
from marketplace.errors import DomainError
from marketplace.models import Trade, User

logger = logging.getLogger(__name__)
LIVE_BOOKINGS = ("confirmed", "completed")
# Refusals that mean "nothing to invoice for this trade this period", not a failure.
SKIP_CODES = frozenset({"nothing_to_bill", "final_invoiced", "trade_final", "later_period", "not_hourly"})


# --- periods -----------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def closed_month(now: datetime) -> date:
    """The month before the current one in the platform's time zone (the beat's zone)."""
    local = timezone.localtime(now, ZoneInfo(settings.TIME_ZONE)).date()
    return month_start(month_start(local) - timedelta(days=1))


def period_label(period_start: date, period_end: date) -> str:
    return f"{period_start:%Y-%m-%d} – {period_end:%Y-%m-%d}"


def _grace() -> timedelta:
    return timedelta(hours=settings.SPINDLE_PERIOD_RUN_GRACE_HOURS)


# --- eligibility and usage ---------------------------------------------------------------------

_ELIGIBLE_SQL = """
    SELECT t.id
    FROM marketplace_trade t
    JOIN marketplace_organisation o ON o.id = t.provider_id
    JOIN marketplace_tradebooking tb ON tb.trade_id = t.id
    JOIN capacity_booking b ON b.id = tb.booking_id AND b.status = ANY(%(live)s)
    WHERE t.billing_unit = 'machine_hour'
      AND t.status <> ALL(%(final)s)
      AND NOT EXISTS (SELECT 1 FROM billing_invoice i
                      WHERE i.trade_id = t.id AND i.supplements_id IS NULL AND i.period_start IS NULL)
      -- the provider's month is over (plus the grace for late readings)
      AND (%(end)s::timestamp AT TIME ZONE o.time_zone) + %(grace)s <= %(now)s
    GROUP BY t.id, o.time_zone
    HAVING min(lower(b.span)) < (%(end)s::timestamp AT TIME ZONE o.time_zone)
       AND max(upper(b.span)) > (%(end)s::timestamp AT TIME ZONE o.time_zone)
       AND bool_or(b.span && tstzrange(%(start)s::timestamp AT TIME ZONE o.time_zone,
                                       %(end)s::timestamp AT TIME ZONE o.time_zone, '[)'))
    ORDER BY t.id
"""


def eligible_trade_ids(*, period_start: date, period_end: date, now: datetime) -> list[int]:
    """Long rentals to invoice for the period: machine-hour trades, not final and without their
    final invoice, with booked time in the month and bookings continuing past its end, whose
    provider's month (in its own time zone) closed at least the grace period ago."""
    params = {
        "live": list(LIVE_BOOKINGS),
        "final": [str(s) for s in Trade.FINAL],
        "start": datetime.combine(period_start, datetime.min.time()),
        "end": datetime.combine(period_end, datetime.min.time()),
        "grace": _grace(),
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(_ELIGIBLE_SQL, params)
        return [row[0] for row in cursor.fetchall()]


def seconds_to_date(trade: Trade, period_end: date) -> int:
    """In-window run time of the trade's live bookings on local days before ``period_end``,
    from the daily rollup (whole seconds, as the final invoice counts them)."""
    from capacity.models import BookingUsageDay

    total = BookingUsageDay.objects.filter(
        booking__trade_link__trade=trade, booking__status__in=LIVE_BOOKINGS, day__lt=period_end
    ).aggregate(run=Sum("run_seconds"))["run"] or Decimal("0")
    return max(int(total.to_integral_value()), 0)


# --- one period invoice ------------------------------------------------------------------------


def issue_period_invoice(
    *, trade: Trade, period_start: date, period_end: date, now: datetime | None = None, by: User | None = None
) -> Invoice:
    """Issue the trade's period invoice for ``[period_start, period_end)``: the machine-hours
    measured to the period's end not billed before, the setup fee on the first one. A second
    call returns the same invoice; refusals carry a code (SKIP_CODES: nothing to invoice)."""
    now = now or timezone.now()
    with transaction.atomic():
        # The trade row serialises this with the final invoice and with a second run. Only the
        # trade row is locked; the parties' profiles come along for the invoice's snapshot.
        locked = (
            Trade.objects.select_for_update(of=("self",))
            .select_related("buyer__billing_profile", "provider__provider_profile")
            .get(pk=trade.pk)
        )
        invoices = list(Invoice.objects.filter(trade=locked).prefetch_related("lines"))  # one look for every check
        existing = next((i for i in invoices if i.period_start == period_start), None)
        if existing is not None:
            return existing
        if locked.billing_unit != "machine_hour":
            raise DomainError(_("Only machine-hour trades are invoiced by period."), code="not_hourly")
        if any(i.period_start is None and i.supplements_id is None for i in invoices):
            raise DomainError(_("This trade already has its final invoice."), code="final_invoiced")
        if locked.status in Trade.FINAL:
            raise DomainError(_("This trade is closed; its final invoice bills the rest."), code="trade_final")
        if any(i.period_start is not None and i.period_start > period_start for i in invoices):
            raise DomainError(_("A later period of this trade is already invoiced."), code="later_period")
        billed = billed_by_periods(locked, invoices=invoices)
        measured = max(seconds_to_date(locked, period_end), billed.measured_seconds)
        quote = price_period(
            locked.pricing_terms(),
            seconds_to_date=measured,
            billed=billed,
            period=period_label(period_start, period_end),
        )
        if not quote.net:
            raise DomainError(_("No machine-hours to bill for this period."), code="nothing_to_bill")
        return _issue(locked, quote, now=now, by=by, period=(period_start, period_end, measured))


# --- the run -----------------------------------------------------------------------------------


def start_period_run(*, period_start: date, now: datetime | None = None) -> PeriodRun:
    """Open (or reopen) the month's run and add an item for every eligible trade not in it yet:
    providers whose month closed since the last pass (other time zones) join a finished run."""
    now = now or timezone.now()
    period_start = month_start(period_start)
    period_end = next_month(period_start)
    if timezone.localtime(now, ZoneInfo(settings.TIME_ZONE)).date() < period_end:
        raise DomainError(_("This period has not ended yet."), code="period_open")
    with transaction.atomic():
        PeriodRun.objects.get_or_create(
            period_start=period_start, defaults={"period_end": period_end, "started_at": now}
        )
        run = PeriodRun.objects.select_for_update().get(period_start=period_start)
        ids = eligible_trade_ids(period_start=period_start, period_end=period_end, now=now)
        known = set(run.items.values_list("trade_id", flat=True))
        new = [PeriodRunItem(run=run, trade_id=trade_id) for trade_id in ids if trade_id not in known]
        PeriodRunItem.objects.bulk_create(new, ignore_conflicts=True)
        if new or run.status == PeriodRun.Status.FAILED:
            run.status = PeriodRun.Status.RUNNING
            run.finished_at = None
        run.attempts += 1
        run.items_total = run.items.count()
        run.save(update_fields=["status", "finished_at", "attempts", "items_total"])
    return run


def process_period_run(*, run: PeriodRun, now: datetime | None = None) -> PeriodRun:
    """Work through the run's pending (and earlier failed) items, each claimed and finished in
    its own transaction; then record the counts and the outcome. Each item is visited once per
    call, so a trade that keeps failing does not loop."""
    now = now or timezone.now()
    delay = settings.SPINDLE_PERIOD_RUN_ITEM_DELAY_S
    cursor = 0
    while True:
        with transaction.atomic():
            item = (
                PeriodRunItem.objects.select_for_update(skip_locked=True)
                .filter(run=run, pk__gt=cursor, status__in=[PeriodRunItem.Status.PENDING, PeriodRunItem.Status.FAILED])
                .select_related("trade")
                .order_by("pk")
                .first()
            )
            if item is None:
                break
            cursor = item.pk
            item.attempts += 1
            try:
                with transaction.atomic():
                    invoice = issue_period_invoice(
                        trade=item.trade, period_start=run.period_start, period_end=run.period_end, now=now
                    )
            except DomainError as refusal:
                skipped = refusal.code in SKIP_CODES
                item.status = PeriodRunItem.Status.SKIPPED if skipped else PeriodRunItem.Status.FAILED
                item.note = str(refusal.message)[:300]
            except (IntegrityError, DataError, ValueError, ArithmeticError) as error:
                # One trade's bad data must not stop the month: its savepoint is rolled back, the
                # item is marked failed for an operator, and the run carries on.
                logger.exception("period invoice of trade %s failed", item.trade_id)
                item.status, item.note = PeriodRunItem.Status.FAILED, f"{type(error).__name__}: {error}"[:300]
            else:
                item.status, item.invoice, item.note = PeriodRunItem.Status.INVOICED, invoice, ""
            item.finished_at = now
            item.save(update_fields=["status", "invoice", "note", "attempts", "finished_at"])
            if delay:
                # Test hook (SPINDLE_PERIOD_RUN_ITEM_DELAY_S): hold the item's transaction open so
                # a worker can be killed deterministically in the middle of one.
                time.sleep(delay)
    return finish_period_run(run=run, now=now)


def finish_period_run(*, run: PeriodRun, now: datetime) -> PeriodRun:
    """Count the items; the run is completed when none is pending or failed, failed when some
    failed, and stays running while another worker still holds a pending item."""
    S = PeriodRunItem.Status
    with transaction.atomic():
        run = PeriodRun.objects.select_for_update().get(pk=run.pk)
        counts = run.items.aggregate(
            total=Count("pk"),
            invoiced=Count("pk", filter=Q(status=S.INVOICED)),
            skipped=Count("pk", filter=Q(status=S.SKIPPED)),
            failed=Count("pk", filter=Q(status=S.FAILED)),
            pending=Count("pk", filter=Q(status=S.PENDING)),
        )
        run.items_total, run.invoiced, run.skipped, run.failed = (
            counts["total"],
            counts["invoiced"],
            counts["skipped"],
            counts["failed"],
        )
        if not counts["pending"]:
            run.status = PeriodRun.Status.FAILED if counts["failed"] else PeriodRun.Status.COMPLETED
            run.finished_at = now
        run.save(update_fields=["items_total", "invoiced", "skipped", "failed", "status", "finished_at"])
    return run


def run_period_invoicing(*, period_start: date | None = None, now: datetime | None = None) -> PeriodRun:
    """Start (or resume) the run for ``period_start``'s month — by default the month that just
    closed — and process it. Safe to call any number of times."""
    now = now or timezone.now()
    run = start_period_run(period_start=period_start or closed_month(now), now=now)
    return process_period_run(run=run, now=now)


def rerun_period(*, run: PeriodRun) -> PeriodRun:
    """An operator resumes a failed or interrupted run (the work itself goes to a worker)."""
    from billing.tasks import run_period_invoices

    if run.status == PeriodRun.Status.COMPLETED:
        raise DomainError(_("This run is complete; there is nothing to resume."), code="completed")
    period = run.period_start.isoformat()
    # Evaluated as of now, and never earlier than the run first started.
    as_of = max(timezone.now(), run.started_at).isoformat()
    transaction.on_commit(lambda: run_period_invoices.delay(period, as_of))
    return run
