"""Month-end period invoicing of long rentals (issue #7): resumable and idempotent.

A trade billed by the machine-hour whose bookings run across a month boundary (in the
provider's time zone) is a *long rental*. After each month closes, one period invoice per such
trade bills the machine-hours measured up to the month's end that no earlier period invoice
billed (billing.pricing.price_period: cumulative, so the trade's invoices add up exactly to
what one invoice would bill); the final invoice at completion bills the rest
(billing.services.invoices.issue_invoice_for_trade).

Usage comes from the daily rollup (capacity BookingUsageDay), kept whenever a booking's usage is
re-derived, so the run never rescans raw readings.

The run: one PeriodRun row per month and one PeriodRunItem per eligible trade. Items are
claimed in batches (SELECT … FOR UPDATE SKIP LOCKED, SPINDLE_PERIOD_RUN_BATCH at a time) and each
batch is finished in one transaction together with its invoices, their numbers and their ledger
entries, so a worker killed anywhere leaves finished items with their invoices and untouched
pending ones, never half an invoice; running again resumes where it stopped. The unique
(trade, period_start) of invoices and the ledger's idempotency key per invoice make a second
issue impossible even for a run started twice at once. Batches write with bulk statements (the
month-end run must price 10,000 rentals in about a minute); a batch that hits a database error
is redone item by item through issue_period_invoice, the one-trade path.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import DocumentSequence, Invoice, InvoiceEvent, InvoiceLine, PeriodRun, PeriodRunItem
from billing.pricing import Quote, price_period
from billing.services.invoices import (
    _issue,
    _notify_buyer,
    billed_by_periods,
    draft_invoice,
    invoice_ledger_lines,
    invoice_lines,
    next_numbers_for,
    payment_references,
)
from billing.services.ledger import account_cache, post_new_transactions
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


def seconds_to_date_of(trade_ids: list[int], period_end: date) -> dict[int, int]:
    """In-window run time of each trade's live bookings on local days before ``period_end``,
    from the daily rollup (whole seconds, as the final invoice counts them); one query."""
    from capacity.models import BookingUsageDay

    rows = (
        BookingUsageDay.objects.filter(
            booking__trade_link__trade_id__in=trade_ids, booking__status__in=LIVE_BOOKINGS, day__lt=period_end
        )
        .values_list("booking__trade_link__trade_id")
        .annotate(run=Sum("run_seconds"))
    )
    return {trade_id: max(int((run or Decimal("0")).to_integral_value()), 0) for trade_id, run in rows}


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
        locked = _locked_trades([trade.pk])[trade.pk]
        invoices = list(Invoice.objects.filter(trade=locked).prefetch_related("lines"))
        existing, quote, measured = _period_quote(
            locked,
            invoices,
            period_start=period_start,
            period_end=period_end,
            seconds=seconds_to_date_of([locked.pk], period_end).get(locked.pk, 0),
        )
        if existing is not None:
            return existing
        return _issue(locked, quote, now=now, by=by, period=(period_start, period_end, measured))


def _locked_trades(ids: list[int]) -> dict[int, Trade]:
    trades = (
        Trade.objects.select_for_update(of=("self",))
        .select_related("buyer__billing_profile", "provider__provider_profile")
        .filter(pk__in=ids)
        .order_by("pk")  # lock in primary-key order
    )
    return {trade.pk: trade for trade in trades}


def _period_quote(
    locked: Trade, invoices: list[Invoice], *, period_start: date, period_end: date, seconds: int
) -> tuple[Invoice | None, Quote | None, int]:
    """For one locked trade and all its invoices: the period invoice it already has, or the
    quote of the one to issue and the usage to date it accounts for. Refusals raise."""
    existing = next((i for i in invoices if i.period_start == period_start), None)
    if existing is not None:
        return existing, None, 0
    if locked.billing_unit != "machine_hour":
        raise DomainError(_("Only machine-hour trades are invoiced by period."), code="not_hourly")
    if any(i.period_start is None and i.supplements_id is None for i in invoices):
        raise DomainError(_("This trade already has its final invoice."), code="final_invoiced")
    if locked.status in Trade.FINAL:
        raise DomainError(_("This trade is closed; its final invoice bills the rest."), code="trade_final")
    if any(i.period_start is not None and i.period_start > period_start for i in invoices):
        raise DomainError(_("A later period of this trade is already invoiced."), code="later_period")
    billed = billed_by_periods(locked, invoices=invoices)
    measured = max(seconds, billed.measured_seconds)
    quote = price_period(
        locked.pricing_terms(),
        seconds_to_date=measured,
        billed=billed,
        period=period_label(period_start, period_end),
    )
    if not quote.net:
        raise DomainError(_("No machine-hours to bill for this period."), code="nothing_to_bill")
    return None, quote, measured


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
    """Work through the run's pending (and earlier failed) items, a batch at a time: each batch
    is claimed and finished in one transaction with its invoices, numbers and ledger entries, so
    a worker killed anywhere loses at most that uncommitted batch and a re-run resumes after the
    last committed one. A batch that hits a database error is redone item by item, each in its
    own savepoint, so one trade's bad data fails that item only. Each item is visited once per
    call, so a trade that keeps failing does not loop."""
    now = now or timezone.now()
    delay = settings.SPINDLE_PERIOD_RUN_ITEM_DELAY_S
    size = max(settings.SPINDLE_PERIOD_RUN_BATCH, 1)
    cursor = 0
    while True:
        with transaction.atomic():
            items = list(
                PeriodRunItem.objects.select_for_update(skip_locked=True)
                .filter(run=run, pk__gt=cursor, status__in=[PeriodRunItem.Status.PENDING, PeriodRunItem.Status.FAILED])
                .order_by("pk")[:size]
            )
            if not items:
                break
            cursor = items[-1].pk
            attempts = {item.pk: item.attempts for item in items}
            try:
                with transaction.atomic():
                    _process_batch(run, items, now=now)
            except (IntegrityError, DataError, ValueError, ArithmeticError):
                logger.warning("period run %s: batch after item %s redone one by one", run.pk, items[0].pk)
                for item in items:
                    item.attempts = attempts[item.pk]  # the rolled-back batch did not count
                    _process_item(run, item, now=now)
            _save_items(items)
            if delay:
                # Test hook (SPINDLE_PERIOD_RUN_ITEM_DELAY_S): hold the batch's transaction open so
                # a worker can be killed deterministically in the middle of one.
                time.sleep(delay)
    return finish_period_run(run=run, now=now)


def _save_items(items: list[PeriodRunItem]) -> None:
    with connection.cursor() as cursor:  # one statement for the batch
        cursor.execute(
            "UPDATE billing_periodrunitem p SET status = v.status, invoice_id = v.invoice_id, note = v.note,"
            " attempts = v.attempts, finished_at = v.finished_at"
            " FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::int[], %s::timestamptz[])"
            " AS v(id, status, invoice_id, note, attempts, finished_at) WHERE p.id = v.id",
            [
                [i.pk for i in items],
                [i.status for i in items],
                [i.invoice_id for i in items],
                [i.note for i in items],
                [i.attempts for i in items],
                [i.finished_at for i in items],
            ],
        )


def _process_item(run: PeriodRun, item: PeriodRunItem, *, now: datetime) -> None:
    """One item in its own savepoint (the fallback when its batch failed)."""
    item.attempts += 1
    item.finished_at = now
    try:
        with transaction.atomic():
            invoice = issue_period_invoice(
                trade=item.trade, period_start=run.period_start, period_end=run.period_end, now=now
            )
    except DomainError as refusal:
        _refused(item, refusal)
    except (IntegrityError, DataError, ValueError, ArithmeticError) as error:
        # One trade's bad data must not stop the month: its savepoint is rolled back, the
        # item is marked failed for an operator, and the run carries on.
        logger.exception("period invoice of trade %s failed", item.trade_id)
        item.status, item.invoice, item.note = (
            PeriodRunItem.Status.FAILED,
            None,
            f"{type(error).__name__}: {error}"[:300],
        )
    else:
        item.status, item.invoice, item.note = PeriodRunItem.Status.INVOICED, invoice, ""


def _refused(item: PeriodRunItem, refusal: DomainError) -> None:
    skipped = refusal.code in SKIP_CODES
    item.status = PeriodRunItem.Status.SKIPPED if skipped else PeriodRunItem.Status.FAILED
    item.invoice, item.note = None, str(refusal.message)[:300]


def _process_batch(run: PeriodRun, items: list[PeriodRunItem], *, now: datetime) -> None:
    """The items' period invoices with a handful of statements for the whole batch: the same
    decisions (_period_quote) and documents (draft_invoice, invoice_lines, invoice_ledger_lines)
    as issue_period_invoice, written in bulk. Sets each item's outcome; raises on a database
    error (the caller rolls the batch back and goes item by item)."""
    ids = [item.trade_id for item in items]
    trades = _locked_trades(ids)
    invoices_of: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in Invoice.objects.filter(trade_id__in=ids).prefetch_related("lines"):
        invoices_of[invoice.trade_id].append(invoice)
    usage = seconds_to_date_of(ids, run.period_end)
    period = (run.period_start, run.period_end)
    to_issue: list[tuple[PeriodRunItem, Trade, Quote, int]] = []
    for item in items:
        item.attempts += 1
        item.finished_at = now
        trade = trades[item.trade_id]
        try:
            existing, quote, measured = _period_quote(
                trade,
                invoices_of[trade.pk],
                period_start=period[0],
                period_end=period[1],
                seconds=usage.get(trade.pk, 0),
            )
        except DomainError as refusal:
            _refused(item, refusal)
            continue
        if existing is not None:
            item.status, item.invoice, item.note = PeriodRunItem.Status.INVOICED, existing, ""
        else:
            to_issue.append((item, trade, quote, measured))
    if not to_issue:
        return
    invoices = _write_invoices(
        [(trade, quote, (*period, measured)) for _item, trade, quote, measured in to_issue], now=now
    )
    for (item, *_rest), invoice in zip(to_issue, invoices, strict=True):
        item.status, item.invoice, item.note = PeriodRunItem.Status.INVOICED, invoice, ""


def _write_invoices(entries: list[tuple[Trade, Quote, tuple[date, date, int]]], *, now: datetime) -> list[Invoice]:
    """Draft, number, issue, post and announce many invoices of locked trades at once."""
    references = payment_references(len(entries))
    invoices = [
        draft_invoice(trade, quote, period=period, payment_reference=reference)
        for (trade, quote, period), reference in zip(entries, references, strict=True)
    ]
    Invoice.objects.bulk_create(invoices)
    InvoiceLine.objects.bulk_create(
        line
        for invoice, (_trade, quote, _period) in zip(invoices, entries, strict=True)
        for line in invoice_lines(invoice, quote)
    )
    S = Invoice.Status
    InvoiceEvent.objects.bulk_create(
        InvoiceEvent(invoice=i, from_status="", to_status=S.DRAFT, at=now) for i in invoices
    )
    numbers = {
        seller_id: iter(series)
        for seller_id, series in next_numbers_for(
            sellers=[i.seller for i in invoices], kind=DocumentSequence.Kind.INVOICE, when=now
        ).items()
    }
    for invoice in invoices:
        invoice.number = next(numbers[invoice.seller_id])
        invoice.status, invoice.issued_at = S.ISSUED, now
        invoice.due_at = now + timedelta(days=invoice.payment_terms_days)
    with connection.cursor() as cursor:  # one statement (bulk_update's CASE per row is slow)
        cursor.execute(
            "UPDATE billing_invoice i SET number = v.number, status = %s, issued_at = %s, due_at = v.due_at"
            " FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS v(id, number, due_at) WHERE i.id = v.id",
            [S.ISSUED, now, [i.pk for i in invoices], [i.number for i in invoices], [i.due_at for i in invoices]],
        )
    InvoiceEvent.objects.bulk_create(
        InvoiceEvent(invoice=i, from_status=S.DRAFT, to_status=S.ISSUED, at=now) for i in invoices
    )
    specs = {("commission_revenue", i.currency, None) for i in invoices}
    for i in invoices:
        specs |= {
            ("buyer_receivable", i.currency, i.buyer),
            ("provider_payable", i.currency, i.seller),
            ("vat_payable", i.currency, i.seller),
        }
    account = account_cache(sorted(specs, key=lambda spec: (spec[0], spec[1], spec[2].pk if spec[2] else 0)))
    post_new_transactions(
        [
            (f"invoice:{i.pk}", "invoice", invoice_ledger_lines(i, account), f"Invoice {i.number}")
            for i in invoices
            if i.gross
        ],
        effective_at=now,
    )
    _announce(invoices)
    return invoices


def _announce(invoices: list[Invoice]) -> None:
    """Webhooks, the buyers' notifications and the e-mails, as for one invoice, with the
    subscriptions and memberships looked up once for the batch."""
    from marketplace.models import Membership, WebhookEvent, WebhookSubscription
    from marketplace.services.webhooks import publish_invoice_issued

    parties = {i.seller_id for i in invoices} | {i.buyer_id for i in invoices}
    subscribed = set(
        WebhookSubscription.objects.filter(
            organisation_id__in=parties, active=True, event_types__contains=[WebhookEvent.INVOICE_ISSUED]
        ).values_list("organisation_id", flat=True)
    )
    members: dict[int, list] = defaultdict(list)
    for membership in Membership.objects.filter(organisation_id__in={i.buyer_id for i in invoices}).select_related(
        "user"
    ):
        members[membership.organisation_id].append(membership.user)
    for invoice in invoices:
        if {invoice.seller_id, invoice.buyer_id} & subscribed:
            publish_invoice_issued(invoice)
        _notify_buyer(invoice, members=members[invoice.buyer_id])
    ids = [invoice.pk for invoice in invoices]
    transaction.on_commit(lambda: _email_on_commit(ids))


def _email_on_commit(invoice_ids: list[int]) -> None:
    from billing.tasks import email_invoices

    email_invoices.delay(invoice_ids)


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
