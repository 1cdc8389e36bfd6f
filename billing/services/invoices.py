"""Invoices: issued once per completed (or resolved) trade from its terms snapshot and final
usage, numbered in the provider's gapless yearly series, posted to the ledger; corrected only
by credit notes (full or partial) or a supplementary invoice for an extra charge, never by
editing.

Numbering: each (seller, year, kind) has one DocumentSequence row. Issuing locks it with
SELECT … FOR UPDATE in the same transaction that writes the invoice and its ledger entry, so
concurrent issues queue on the row and a rolled-back issue also rolls the counter back: no
number is ever used twice or skipped.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import (
    INVOICE_TRANSITIONS,
    BuyerBillingProfile,
    CreditNote,
    DocumentSequence,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
)
from billing.money import format_money, quantize
from billing.pricing import (
    NOTHING_BILLED,
    Billed,
    CreditSplit,
    Quote,
    Terms,
    Usage,
    extra_line,
    price_extra_lines,
    price_trade,
    split_credit,
)
from billing.services.ledger import credit, debit, ledger_account, post_transaction
from marketplace.errors import DomainError
from marketplace.models import Organisation, Trade, User
from marketplace.services.webhooks import publish_invoice_issued

ZERO = Decimal("0.00")
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


# --- numbering -------------------------------------------------------------------------------


def series_prefix(seller: Organisation) -> str:
    """A short, stable prefix for the seller's series: the initials of its slug's words
    (suzhou-precision → SP), or its first letters when the slug is one word."""
    words = [w for w in seller.slug.split("-") if w]
    prefix = "".join(w[0] for w in words) if len(words) > 1 else (words[0][:4] if words else "INV")
    return prefix.upper()[:6]


def _seller_year(seller: Organisation, when: datetime) -> int:
    try:
        zone = ZoneInfo(seller.time_zone)
    except (KeyError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")
    return timezone.localtime(when, zone).year


def next_number(*, seller: Organisation, kind: str, when: datetime) -> str:
    """Take the next number of the seller's series for ``when``'s year. Must run inside the
    issuing transaction: the counter row stays locked until it commits or rolls back."""
    return next_numbers(seller=seller, kind=kind, when=when, count=1)[0]


def next_numbers(*, seller: Organisation, kind: str, when: datetime, count: int) -> list[str]:
    """The next ``count`` numbers of the seller's series, in order (same rules as next_number)."""
    year = _seller_year(seller, when)
    # One UPDATE takes the row lock and the numbers at once; the first of the year creates the row.
    last = _increment(seller.pk, year, kind, count)
    if last is None:
        DocumentSequence.objects.get_or_create(seller=seller, year=year, kind=kind)
        last = _increment(seller.pk, year, kind, count)
    middle = "CN-" if kind == DocumentSequence.Kind.CREDIT_NOTE else ""
    return [f"{series_prefix(seller)}-{middle}{year}-{n:06d}" for n in range(last - count + 1, last + 1)]


def next_numbers_for(*, sellers: list[Organisation], kind: str, when: datetime) -> dict[int, list[str]]:
    """Numbers for many invoices of many sellers at once (``sellers``: one entry per document,
    in order): the counter rows are created if missing and locked in primary-key order (so two
    such calls never deadlock), then all advanced by one statement."""
    wanted: dict[tuple[int, int], int] = defaultdict(int)
    seller_of: dict[int, Organisation] = {}
    for seller in sellers:
        wanted[(seller.pk, _seller_year(seller, when))] += 1
        seller_of[seller.pk] = seller
    DocumentSequence.objects.bulk_create(
        [DocumentSequence(seller_id=s, year=y, kind=kind) for s, y in sorted(wanted)], ignore_conflicts=True
    )
    rows = [
        row
        for row in DocumentSequence.objects.select_for_update()
        .filter(seller_id__in=seller_of, year__in={y for _s, y in wanted}, kind=kind)
        .order_by("pk")
        if (row.seller_id, row.year) in wanted
    ]
    table = DocumentSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} s SET last_number = s.last_number + v.n"  # noqa: S608 — our table name
            " FROM unnest(%s::bigint[], %s::int[]) AS v(id, n) WHERE s.id = v.id",
            [[row.pk for row in rows], [wanted[(row.seller_id, row.year)] for row in rows]],
        )
    middle = "CN-" if kind == DocumentSequence.Kind.CREDIT_NOTE else ""
    numbers: dict[int, list[str]] = {}
    for row in rows:
        count = wanted[(row.seller_id, row.year)]
        prefix = f"{series_prefix(seller_of[row.seller_id])}-{middle}{row.year}-"
        numbers[row.seller_id] = [f"{prefix}{n:06d}" for n in range(row.last_number + 1, row.last_number + count + 1)]
    return numbers


def _increment(seller_id: int, year: int, kind: str, count: int) -> int | None:
    table = DocumentSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_number = last_number + %s"  # noqa: S608 — our table name
            " WHERE seller_id = %s AND year = %s AND kind = %s RETURNING last_number",
            [count, seller_id, year, kind],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _new_reference() -> str:
    return "SPD" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(9))


def _payment_reference() -> str:
    while True:
        reference = _new_reference()
        if not Invoice.objects.filter(payment_reference=reference).exists():
            return reference


# --- usage of a trade ------------------------------------------------------------------------


def trade_usage(trade: Trade) -> Usage:
    """The final usage of ``trade``: booked vs measured run time over its bookings (final
    BookingUsage plus later adjustments), overrun approved only where the buyer recorded the
    approval per booking (TradeBooking.overrun_approved_at), accepted parts from the inspection.
    Raises DomainError while any usage is open."""
    from capacity.models_metering import BookingUsage, UsageAdjustment

    links = list(trade.bookings.select_related("booking"))
    if not links:
        raise DomainError(_("This trade has no bookings to bill."), code="no_bookings")
    booking_ids = [link.booking_id for link in links]
    usages = {u.booking_id: u for u in BookingUsage.objects.filter(booking_id__in=booking_ids)}
    if trade.billing_unit == "machine_hour":
        missing = [b for b in booking_ids if b not in usages or not usages[b].final]
        if missing:
            raise DomainError(
                _("The usage of this trade is not final yet; it can be invoiced once metering has closed."),
                code="usage_not_final",
            )
    booked = sum(((link.booking.span.upper - link.booking.span.lower).total_seconds() for link in links), 0.0)
    run = sum((u.run_seconds for u in usages.values()), Decimal("0"))
    # Overrun is billed per booking, only where the buyer approved it on the trade page.
    approved_ids = {link.booking_id for link in links if link.overrun_approved_at is not None}
    approved = sum((u.overrun_run_seconds for b, u in usages.items() if b in approved_ids), Decimal("0"))
    unapproved = sum((u.overrun_run_seconds for b, u in usages.items() if b not in approved_ids), Decimal("0"))
    adjustments = UsageAdjustment.objects.filter(booking_id__in=booking_ids).aggregate(run=Sum("run_seconds"))
    run += adjustments["run"] or 0
    return Usage(
        booked_seconds=int(booked),
        measured_seconds=max(int(run.to_integral_value()), 0),
        approved_overrun_seconds=max(int(approved.to_integral_value()), 0),
        unapproved_overrun_seconds=max(int(unapproved.to_integral_value()), 0),
        accepted_parts=trade.accepted_quantity or 0,
    )


# --- issuing ---------------------------------------------------------------------------------


def _seller_identity(seller: Organisation) -> tuple[str, str]:
    profile = getattr(seller, "provider_profile", None)
    if profile is None:
        return seller.name, ""
    return profile.legal_name or seller.name, profile.credit_code or ""


def _event(invoice: Invoice, *, to: str, frm: str, actor: User | None, at: datetime, note: str = "") -> None:
    if frm and to not in INVOICE_TRANSITIONS[frm]:
        raise DomainError(_("An invoice cannot go from %(from)s to %(to)s.") % {"from": frm, "to": to})
    InvoiceEvent.objects.create(invoice=invoice, from_status=frm, to_status=to, actor=actor, note=note[:300], at=at)


def issue_invoice_for_trade(*, trade: Trade, now: datetime | None = None, by: User | None = None) -> Invoice:
    """Price the completed (or resolved) trade and issue its invoice, with one balanced ledger transaction
    (buyer receivable = provider payable + commission + VAT). A second call returns the same
    invoice; an incomplete trade or open usage is refused with the reason."""
    now = now or timezone.now()
    with transaction.atomic():
        # The trade row serialises issuers of the same trade; the counter row, issuers of a seller.
        locked = Trade.objects.select_for_update().select_related("buyer", "provider").get(pk=trade.pk)
        existing = Invoice.objects.filter(trade=locked, supplements__isnull=True, period_start__isnull=True).first()
        if existing is not None:
            return existing
        # A resolved dispute is as final as a completion: the trade is invoiced for its usage and
        # any refund decided is a credit note against that invoice.
        if locked.status not in (Trade.Status.COMPLETED, Trade.Status.RESOLVED):
            raise DomainError(
                _("Only completed trades and resolved disputes are invoiced; this one is %(status)s.")
                % {"status": Trade.Status(locked.status).label},
                code="not_completed",
            )
        quote = price_trade(locked.pricing_terms(), trade_usage(locked), billed_by_periods(locked))
        invoice = _issue(locked, quote, now=now, by=by)
        # The trade's paid deposit, if any, pays (part of) its final invoice at once.
        from billing.services.deposits import apply_deposit

        apply_deposit(invoice=invoice, now=now, by=by)
    return invoice


def billed_by_periods(trade: Trade, *, invoices: list[Invoice] | None = None) -> Billed:
    """What the trade's live (not voided) period invoices billed, for the next one to bill only
    the rest. A voided period invoice's hours and setup count as not billed. ``invoices``: the
    trade's invoices with their lines prefetched, when the caller has them already."""
    if invoices is None:
        invoices = list(Invoice.objects.filter(trade=trade, period_start__isnull=False).prefetch_related("lines"))
    invoices = [i for i in invoices if i.period_start is not None and i.status != Invoice.Status.VOID]
    if not invoices:
        return NOTHING_BILLED
    lines = [line for invoice in invoices for line in invoice.lines.all()]
    hours = [line for line in lines if line.code == "machine_hours"]
    setup = [line for line in lines if line.code == "setup"]
    return Billed(
        measured_seconds=max(invoice.period_seconds or 0 for invoice in invoices),
        hours=sum((line.quantity for line in hours), Decimal("0")),
        hours_amount=sum((line.amount for line in hours), ZERO),
        work=sum((line.amount for line in hours + setup), ZERO),
        net=sum((invoice.net for invoice in invoices), ZERO),
        commission=sum((invoice.commission for invoice in invoices), ZERO),
        setup=bool(setup),
    )


def _issue(
    locked: Trade,
    quote: Quote,
    *,
    now: datetime,
    by: User | None,
    period: tuple[date, date, int] | None = None,
) -> Invoice:
    """Write, number, post and announce one invoice of the locked trade (inside its transaction)."""
    invoice = draft_invoice(locked, quote, period=period, payment_reference=_payment_reference())
    invoice.save()
    _finish_issue(invoice, quote=quote, now=now, by=by)
    return invoice


def _finish_issue(invoice: Invoice, *, quote: Quote, now: datetime, by: User | None) -> None:
    """Lines, number, ledger entry and notices of a saved draft invoice, inside the issuing
    transaction (trade invoices, period invoices and supplementary invoices alike)."""
    InvoiceLine.objects.bulk_create(invoice_lines(invoice, quote))
    _event(invoice, to=Invoice.Status.DRAFT, frm="", actor=by, at=now)
    invoice.number = next_number(seller=invoice.seller, kind=DocumentSequence.Kind.INVOICE, when=now)
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = now
    invoice.due_at = now + timedelta(days=invoice.payment_terms_days)
    invoice.save(update_fields=["number", "status", "issued_at", "due_at"])
    _event(invoice, to=Invoice.Status.ISSUED, frm=Invoice.Status.DRAFT, actor=by, at=now)
    _post_invoice(invoice, now=now, by=by)
    publish_invoice_issued(invoice)
    invoice_id = invoice.pk
    transaction.on_commit(lambda: _send_on_commit(invoice_id))
    _notify_buyer(invoice)


def draft_invoice(
    locked: Trade, quote: Quote, *, period: tuple[date, date, int] | None, payment_reference: str
) -> Invoice:
    """The unsaved draft of ``quote`` for the trade, its parties snapshotted (buyer profile and
    provider profile select_related by callers that can, else one query each)."""
    period_start, period_end, period_seconds = period or (None, None, None)
    seller_name, seller_tax_id = _seller_identity(locked.provider)
    try:
        profile = locked.buyer.billing_profile
    except BuyerBillingProfile.DoesNotExist:
        profile = None
    return Invoice(
        seller=locked.provider,
        buyer=locked.buyer,
        trade=locked,
        status=Invoice.Status.DRAFT,
        currency=quote.currency,
        net=quote.net,
        vat_rate=quote.vat_rate,
        vat=quote.vat,
        gross=quote.gross,
        commission=quote.commission,
        provider_share=quote.provider_share,
        notes=quote.notes,
        payment_terms_days=settings.SPINDLE_INVOICE_PAYMENT_TERMS_DAYS,
        payment_reference=payment_reference,
        seller_legal_name=seller_name,
        seller_tax_id=seller_tax_id,
        buyer_legal_name=profile.legal_name if profile else locked.buyer.name,
        buyer_tax_id=profile.tax_id if profile else "",
        buyer_address=profile.address if profile else "",
        buyer_phone=profile.phone if profile else "",
        buyer_bank_name=profile.bank_name if profile else "",
        buyer_bank_account=profile.bank_account if profile else "",
        period_start=period_start,
        period_end=period_end,
        period_seconds=period_seconds,
    )


def invoice_lines(invoice: Invoice, quote: Quote) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            invoice=invoice,
            position=position,
            code=line.code,
            description=line.description[:300],
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            amount=line.amount,
            rule=line.rule,
        )
        for position, line in enumerate(quote.lines, start=1)
    ]


def payment_references(count: int) -> list[str]:
    """``count`` new, distinct payment references (one query to rule out the rare collision)."""
    references: set[str] = set()
    while len(references) < count:
        fresh = {_new_reference() for _ in range(count - len(references))} - references
        taken = set(Invoice.objects.filter(payment_reference__in=fresh).values_list("payment_reference", flat=True))
        references |= fresh - taken
    return sorted(references)


def invoice_ledger_lines(invoice: Invoice, account=ledger_account) -> list:
    """The invoice's entry: buyer receivable (gross) = provider payable + commission + VAT."""
    currency = invoice.currency
    lines = [debit(account("buyer_receivable", currency=currency, organisation=invoice.buyer), invoice.gross)]
    if invoice.provider_share:
        lines.append(
            credit(account("provider_payable", currency=currency, organisation=invoice.seller), invoice.provider_share)
        )
    if invoice.commission:
        lines.append(credit(account("commission_revenue", currency=currency), invoice.commission))
    if invoice.vat:
        lines.append(credit(account("vat_payable", currency=currency, organisation=invoice.seller), invoice.vat))
    return lines


def _post_invoice(invoice: Invoice, *, now: datetime, by: User | None) -> None:
    if not invoice.gross:
        # A final invoice whose period invoices billed everything moves no money: no entry.
        return
    post_transaction(
        key=f"invoice:{invoice.pk}",
        kind="invoice",
        lines=invoice_ledger_lines(invoice),
        memo=f"Invoice {invoice.number}",
        effective_at=now,
        created_by=by,
    )


def _send_on_commit(invoice_id: int) -> None:
    from billing.tasks import email_invoice

    email_invoice.delay(invoice_id)


def _notify_buyer(invoice: Invoice, *, members: list[User] | None = None) -> None:
    """Tell the buyer's members (``members``: already fetched by a caller issuing many)."""
    from marketplace.services.accounts import notify

    if members is None:
        members = [m.user for m in invoice.buyer.memberships.select_related("user")]
    title = _("Invoice %(number)s from %(seller)s") % {"number": invoice.number, "seller": invoice.seller_legal_name}
    url = reverse("billing:invoice_detail", args=[invoice.pk])
    for user in members:
        notify(user=user, organisation=invoice.buyer, kind="invoice_issued", title=title, url=url)


# --- amounts ---------------------------------------------------------------------------------


def credited_total(invoice: Invoice) -> Decimal:
    """Σ credit-note gross (a positive number: how much of the invoice was cancelled)."""
    return -(invoice.credit_notes.aggregate(total=Sum("gross"))["total"] or ZERO)


def paid_total(invoice: Invoice) -> Decimal:
    return invoice.payments.aggregate(total=Sum("amount"))["total"] or ZERO


def returned_total(invoice: Invoice) -> Decimal:
    """Money paid on the invoice that went back to the buyer (card refunds) or is owed back or
    was sent back by bank (bank refunds)."""
    card = invoice.refunds.aggregate(total=Sum("amount"))["total"] or ZERO
    bank = invoice.bank_refunds.aggregate(total=Sum("amount"))["total"] or ZERO
    return card + bank


def amount_due(invoice: Invoice) -> Decimal:
    """Gross − Σ credit notes − (Σ paid − Σ returned)."""
    return invoice.gross - credited_total(invoice) - (paid_total(invoice) - returned_total(invoice))


@dataclass(frozen=True)
class Remaining:
    """What is left of an invoice after its credit notes (positive amounts)."""

    gross: Decimal
    net: Decimal
    vat: Decimal
    commission: Decimal
    provider_share: Decimal


def remaining_of(invoice: Invoice) -> Remaining:
    totals = invoice.credit_notes.aggregate(
        gross=Sum("gross"), net=Sum("net"), vat=Sum("vat"), commission=Sum("commission"), share=Sum("provider_share")
    )
    return Remaining(
        gross=invoice.gross + (totals["gross"] or ZERO),
        net=invoice.net + (totals["net"] or ZERO),
        vat=invoice.vat + (totals["vat"] or ZERO),
        commission=invoice.commission + (totals["commission"] or ZERO),
        provider_share=invoice.provider_share + (totals["share"] or ZERO),
    )


def _terms_of(invoice: Invoice) -> Terms:
    """The trade's pricing rules with the invoice's own VAT rate (what was printed on it)."""
    return replace(invoice.trade.pricing_terms(), currency=invoice.currency, vat_rate=invoice.vat_rate)


def check_credit_amount(invoice: Invoice, amount: Decimal | None) -> Decimal:
    """The gross to credit: ``amount``, or all that remains when None. Refuses zero, negative,
    sub-cent amounts and more than what remains (Σ credit notes ≤ gross)."""
    remaining = remaining_of(invoice).gross
    if amount is None:
        amount = remaining
    elif amount <= 0 or quantize(amount, invoice.currency) != amount:
        raise DomainError(_("Enter a positive amount in whole cents."), code="amount")
    if remaining <= 0:
        raise DomainError(_("This invoice is fully credited already."), code="fully_credited")
    if amount > remaining:
        raise DomainError(
            _("At most %(remaining)s of invoice %(number)s can still be credited; %(amount)s is more.")
            % {
                "remaining": format_money(remaining, invoice.currency),
                "number": invoice.number,
                "amount": format_money(amount, invoice.currency),
            },
            code="over_credit",
        )
    return amount


# --- credit notes ----------------------------------------------------------------------------


def issue_credit_note(
    *,
    invoice: Invoice,
    reason: str,
    amount: Decimal | None = None,
    by: User | None = None,
    now: datetime | None = None,
    refund: bool = False,
) -> CreditNote:
    """Credit ``amount`` of the invoice's gross (all that remains when None) by a credit note in
    the seller's gapless credit-note series, and post the exact reverse share of its ledger
    entry (pricing.split_credit: VAT by the invoice's rate, commission recomputed on the reduced
    net, provider share by subtraction).

    The invoice stays open with less due, becomes paid when its payments now cover what remains,
    or void when nothing remains. Money already paid beyond what remains must go back to the
    buyer: only a caller that returns it in the same transaction (``refund=True``,
    billing.services.payouts) may credit such an invoice."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give the reason for the credit note."), code="reason_required")
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("seller", "buyer", "trade")
            .get(pk=invoice.pk)
        )
        allowed = (Invoice.Status.ISSUED, Invoice.Status.OVERDUE, Invoice.Status.PAID)
        if locked.status not in allowed:
            raise DomainError(
                _("Invoice %(number)s is %(status)s: it cannot be credited.")
                % {"number": locked.number, "status": Invoice.Status(locked.status).label},
                code="not_open",
            )
        amount = check_credit_amount(locked, amount)
        remaining = remaining_of(locked)
        kept = paid_total(locked) - returned_total(locked)
        if kept > remaining.gross - amount and not refund:
            raise DomainError(
                _(
                    "Money was paid on this invoice that this credit would make owed back to the buyer; ask an "
                    "operator to refund it."
                ),
                code="paid",
            )
        split = split_credit(
            amount,
            remaining_net=remaining.net,
            remaining_vat=remaining.vat,
            remaining_commission=remaining.commission,
            terms=_terms_of(locked),
        )
        full = amount == remaining.gross and remaining.gross == locked.gross
        note = CreditNote.objects.create(
            invoice=locked,
            seller=locked.seller,
            number=next_number(seller=locked.seller, kind=DocumentSequence.Kind.CREDIT_NOTE, when=now),
            reason=reason[:300],
            currency=locked.currency,
            net=-split.net,
            vat=-split.vat,
            gross=-split.gross,
            commission=-split.commission,
            provider_share=-split.provider_share,
            lines=_credit_lines(locked, split, reason, full=full),
            issued_at=now,
            issued_by=by,
        )
        currency = locked.currency
        lines = [credit(ledger_account("buyer_receivable", currency=currency, organisation=locked.buyer), split.gross)]
        if split.provider_share:
            lines.append(
                debit(
                    ledger_account("provider_payable", currency=currency, organisation=locked.seller),
                    split.provider_share,
                )
            )
        if split.commission:
            lines.append(debit(ledger_account("commission_revenue", currency=currency), split.commission))
        if split.vat:
            lines.append(debit(ledger_account("vat_payable", currency=currency, organisation=locked.seller), split.vat))
        post_transaction(
            key=f"credit_note:{note.pk}",
            kind="credit_note",
            lines=lines,
            memo=f"Credit note {note.number} for {locked.number}",
            effective_at=now,
            created_by=by,
        )
        _notify_credit(locked, note)
        left = remaining.gross - amount
        if left == 0:
            _event(locked, to=Invoice.Status.VOID, frm=locked.status, actor=by, at=now, note=reason)
            Invoice.objects.filter(pk=locked.pk).update(status=Invoice.Status.VOID)
            invoice.status = Invoice.Status.VOID
        elif locked.is_open and kept >= left:
            # What was paid covers what remains (any excess goes back with refund=True).
            _event(locked, to=Invoice.Status.PAID, frm=locked.status, actor=by, at=now, note=reason)
            Invoice.objects.filter(pk=locked.pk).update(status=Invoice.Status.PAID, paid_at=now)
            invoice.status, invoice.paid_at = Invoice.Status.PAID, now
    return note


def _notify_credit(invoice: Invoice, note: CreditNote) -> None:
    """Both parties hear of a credit note (in-app, and by email on commit)."""
    from marketplace.services.accounts import notify_organisation

    title = _("Credit note %(number)s: %(amount)s off invoice %(invoice)s") % {
        "number": note.number,
        "amount": format_money(-note.gross, note.currency),
        "invoice": invoice.number,
    }
    for organisation in (invoice.buyer, invoice.seller):
        notify_organisation(
            organisation=organisation,
            kind="credit_note_issued",
            title=title,
            body=note.reason,
            url=reverse("billing:invoice_detail", args=[invoice.pk]),
        )


def _credit_lines(invoice: Invoice, split: CreditSplit, reason: str, *, full: bool) -> list[dict]:
    """A full credit mirrors the invoice's lines; a partial one is a single line for its net."""
    if full:
        return [
            {
                "code": line.code,
                "description": line.description,
                "quantity": str(-line.quantity),
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "amount": str(-line.amount),
            }
            for line in invoice.lines.all()
        ]
    return [
        {
            "code": "credit",
            "description": reason[:300],
            "quantity": "-1",
            "unit": "",
            "unit_price": str(split.net),
            "amount": str(-split.net),
        }
    ]


# --- supplementary invoices ------------------------------------------------------------------


@dataclass(frozen=True)
class ExtraLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit: str = ""


def issue_supplementary_invoice(
    *, invoice: Invoice, lines: list[ExtraLine], reason: str, by: User | None = None, now: datetime | None = None
) -> Invoice:
    """An extra charge agreed after ``invoice`` was issued: its own invoice, numbered in the
    seller's invoice series, pointing at the primary invoice (``supplements``), priced by the
    trade's VAT and commission rules (pricing.price_extra_lines), posted to the ledger and
    payable like any invoice."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Say what the extra charge is for."), code="reason_required")
    if not lines:
        raise DomainError(_("Add at least one line."), code="no_lines")
    currency = invoice.currency
    priced = []
    for line in lines:
        description = line.description.strip()
        if not description:
            raise DomainError(_("Every line needs a description."), code="description")
        if line.quantity <= 0 or line.unit_price <= 0 or quantize(line.unit_price, currency) != line.unit_price:
            raise DomainError(
                _("Quantities and unit prices must be positive, unit prices in whole cents."), code="amount"
            )
        priced.append(
            extra_line(
                description=description,
                quantity=line.quantity,
                unit=line.unit.strip()[:10],
                unit_price=line.unit_price,
                currency=currency,
            )
        )
    with transaction.atomic():
        primary = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("seller", "buyer", "trade")
            .get(pk=invoice.pk)
        )
        if primary.supplements_id is not None:
            primary = Invoice.objects.select_related("seller", "buyer", "trade").get(pk=primary.supplements_id)
        if primary.status == Invoice.Status.DRAFT:
            raise DomainError(_("The invoice is not issued yet."), code="draft")
        quote = price_extra_lines(_terms_of(primary), priced)
        supplement = Invoice.objects.create(
            seller=primary.seller,
            buyer=primary.buyer,
            trade=primary.trade,
            supplements=primary,
            status=Invoice.Status.DRAFT,
            currency=currency,
            net=quote.net,
            vat_rate=quote.vat_rate,
            vat=quote.vat,
            gross=quote.gross,
            commission=quote.commission,
            provider_share=quote.provider_share,
            notes=[_("Supplementary to invoice %(number)s: %(reason)s") % {"number": primary.number, "reason": reason}],
            payment_terms_days=primary.payment_terms_days,
            payment_reference=_payment_reference(),
            seller_legal_name=primary.seller_legal_name,
            seller_tax_id=primary.seller_tax_id,
            buyer_legal_name=primary.buyer_legal_name,
            buyer_tax_id=primary.buyer_tax_id,
            buyer_address=primary.buyer_address,
            buyer_phone=primary.buyer_phone,
            buyer_bank_name=primary.buyer_bank_name,
            buyer_bank_account=primary.buyer_bank_account,
        )
        _finish_issue(supplement, quote=quote, now=now, by=by)
    return supplement


# --- overdue ---------------------------------------------------------------------------------


def mark_overdue(*, now: datetime | None = None) -> int:
    """Issued invoices past their due date become overdue, and the buyer is reminded once:
    the conditional update claims each invoice, so a re-run (or a second worker) does nothing."""
    from marketplace.services.accounts import notify_organisation

    now = now or timezone.now()
    count = 0
    for invoice_id in Invoice.objects.filter(status=Invoice.Status.ISSUED, due_at__lt=now).values_list("pk", flat=True):
        with transaction.atomic():
            claimed = Invoice.objects.filter(pk=invoice_id, status=Invoice.Status.ISSUED, due_at__lt=now).update(
                status=Invoice.Status.OVERDUE, reminder_sent_at=now
            )
            if not claimed:
                continue
            invoice = Invoice.objects.select_related("buyer").get(pk=invoice_id)
            _event(invoice, to=Invoice.Status.OVERDUE, frm=Invoice.Status.ISSUED, actor=None, at=now)
            notify_organisation(
                organisation=invoice.buyer,
                kind="invoice_overdue",
                title=_("Invoice %(number)s is overdue") % {"number": invoice.number},
                body=_("Please transfer the amount due quoting the payment reference %(reference)s.")
                % {"reference": invoice.payment_reference},
                url=reverse("billing:invoice_detail", args=[invoice.pk]),
            )
            count += 1
    return count


# --- fapiao and invoicing details --------------------------------------------------------------


def upload_fapiao(*, invoice: Invoice, upload, by: User, now: datetime | None = None) -> Invoice:
    """The provider attaches the VAT fapiao (增值税发票) it issued: a PDF or an image, its type
    checked from the content; stored privately. A new upload replaces the previous file."""
    from pathlib import PurePath

    from marketplace import drawings
    from marketplace.models import OrderFile

    now = now or timezone.now()
    detected = drawings.check_upload(upload)
    if detected.kind not in (OrderFile.Kind.PDF, OrderFile.Kind.IMAGE):
        raise DomainError(_("Upload the fapiao as a PDF or an image (PNG, JPEG, WebP, TIFF)."), code="type")
    if invoice.status == Invoice.Status.DRAFT:
        raise DomainError(_("The invoice is not issued yet."), code="draft")
    name = PurePath(upload.name).name[:255]
    stored = None
    try:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            previous = locked.fapiao.name if locked.fapiao else ""
            locked.fapiao.save(name, upload, save=False)
            stored = locked.fapiao.name
            locked.fapiao_name, locked.fapiao_type, locked.fapiao_uploaded_at = name, detected.content_type, now
            locked.save(update_fields=["fapiao", "fapiao_name", "fapiao_type", "fapiao_uploaded_at"])
    except Exception:
        if stored:
            invoice.fapiao.storage.delete(stored)
        raise
    if previous:
        storage = locked.fapiao.storage
        transaction.on_commit(lambda: storage.delete(previous))
    return locked


def save_billing_profile(*, organisation: Organisation, data: dict) -> BuyerBillingProfile:
    profile, _created = BuyerBillingProfile.objects.update_or_create(organisation=organisation, defaults=data)
    return profile
