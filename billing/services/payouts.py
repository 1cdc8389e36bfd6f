"""Paying providers, and refunds.

A provider's share of an invoice (``invoice.provider_share`` = net − commission) is paid out
once the trade is completed and the invoice paid: a Stripe transfer to its Connect Express
account, linked to the card charge (separate charges and transfers, ``source_transaction``),
under the idempotency key ``payout:<invoice id>``; or, for providers without Stripe, a bank
transfer an operator records. Either way one Payout row and one ledger transaction
(provider payable ← clearing). VAT stays on ``vat_payable`` and commission on
``commission_revenue``, so payout + commission + VAT = gross paid.

Refunds: every refund is a credit note first (full or partial: it reverses its share of the
invoice posting, VAT and commission included), then the money paid beyond what remains of
the invoice goes back — card money through a Stripe refund (and, if the provider was already
paid by Stripe, its credited share of the transfer is reversed), bank money as a bank refund
owed to the buyer that an operator records once sent. A dispute resolved with a refund goes
the same way (refund_dispute).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_gateway as gateway
from billing.models import BankRefund, ConnectAccount, CreditNote, Invoice, Payment, Payout, Refund, StripePayment
from billing.money import format_money, to_minor_units
from billing.pricing import split_credit
from billing.services.invoices import (
    check_credit_amount,
    issue_credit_note,
    paid_total,
    remaining_of,
    returned_total,
)
from billing.services.ledger import credit, debit, ledger_account, post_transaction
from marketplace.errors import DomainError
from marketplace.models import Organisation, Trade, User

ZERO = Decimal("0.00")


# --- Connect onboarding ------------------------------------------------------------------------


def start_connect_onboarding(*, organisation: Organisation, email: str, refresh_url: str, return_url: str) -> str:
    """Create the provider's Express account once and return a Stripe-hosted onboarding link."""
    if not gateway.is_configured():
        raise DomainError(_("Stripe payouts are switched off; you are paid by bank transfer."), code="stripe_off")
    account = ConnectAccount.objects.filter(organisation=organisation).first()
    try:
        if account is None:
            created = gateway.create_express_account(
                email=email,
                country="CN",
                idempotency_key=f"connect-account:{organisation.pk}",
                metadata={"organisation_id": str(organisation.pk)},
            )
            account, _created = ConnectAccount.objects.get_or_create(
                organisation=organisation, defaults={"account_id": created["id"]}
            )
        link = gateway.create_account_link(
            account_id=account.account_id, refresh_url=refresh_url, return_url=return_url
        )
    except gateway.ConnectionError as error:
        raise DomainError(
            _("Stripe could not be reached; please try again in a minute."), code="stripe_unreachable"
        ) from error
    return link["url"]


def refresh_connect_account(*, organisation: Organisation) -> ConnectAccount | None:
    account = ConnectAccount.objects.filter(organisation=organisation).first()
    if account is None:
        return None
    remote = gateway.retrieve_account(account.account_id)
    account.charges_enabled = bool(remote.get("charges_enabled"))
    account.payouts_enabled = bool(remote.get("payouts_enabled"))
    account.details_submitted = bool(remote.get("details_submitted"))
    account.save(update_fields=["charges_enabled", "payouts_enabled", "details_submitted", "updated_at"])
    return account


# --- payouts -----------------------------------------------------------------------------------


def refunded_total(invoice: Invoice) -> Decimal:
    return invoice.refunds.aggregate(total=Sum("amount"))["total"] or ZERO


def payout_amount(invoice: Invoice) -> Decimal:
    """The provider's share of what remains of the invoice after its credit notes."""
    return remaining_of(invoice).provider_share


def _check_payable(invoice: Invoice) -> None:
    if invoice.status != Invoice.Status.PAID:
        raise DomainError(_("Only paid invoices are paid out."), code="not_paid")
    if invoice.trade.status not in (Trade.Status.COMPLETED, Trade.Status.RESOLVED):
        raise DomainError(_("Only completed trades and resolved disputes are paid out."), code="not_completed")
    if hasattr(invoice, "payout"):
        raise DomainError(_("This invoice was paid out already."), code="paid_out")


def pay_out_by_stripe(*, invoice: Invoice, now: datetime | None = None) -> Payout | None:
    """Transfer the provider's share to its Connect account once. Returns None when the provider
    has no payout-enabled account (an operator pays it by bank) or it is not payable yet."""
    now = now or timezone.now()
    existing = Payout.objects.filter(invoice_id=invoice.pk).first()
    if existing is not None:
        return existing
    invoice = Invoice.objects.select_related("trade", "seller").get(pk=invoice.pk)
    account = ConnectAccount.objects.filter(organisation=invoice.seller, payouts_enabled=True).first()
    if account is None or not gateway.is_configured():
        return None
    try:
        _check_payable(invoice)
    except DomainError:
        return None
    amount = payout_amount(invoice)
    if amount <= 0:
        return None
    charge = (
        StripePayment.objects.filter(invoice=invoice, status=StripePayment.Status.SUCCEEDED)
        .exclude(charge_id="")
        .order_by("attempt")
        .first()
    )
    # Stripe returns the same transfer for the same key, so a crash between this call and the
    # commit below pays nothing twice when the task runs again.
    transfer = gateway.create_transfer(
        amount_minor=to_minor_units(amount, invoice.currency),
        currency=invoice.currency,
        destination=account.account_id,
        idempotency_key=f"payout:{invoice.pk}",
        source_transaction=charge.charge_id if charge else "",
        transfer_group=f"invoice-{invoice.pk}",
        metadata={"invoice_id": str(invoice.pk), "invoice_number": invoice.number},
    )
    return _record_payout(
        invoice=invoice, amount=amount, method=Payout.Method.STRIPE, transfer_id=transfer["id"], by=None, now=now
    )


def record_bank_payout(*, invoice: Invoice, bank_reference: str, by: User, now: datetime | None = None) -> Payout:
    """An operator paid the provider's share by bank transfer: record it once."""
    now = now or timezone.now()
    bank_reference = bank_reference.strip()
    if not bank_reference:
        raise DomainError(_("Give the bank's reference of the transfer."), code="reference_required")
    invoice = Invoice.objects.select_related("trade", "seller").get(pk=invoice.pk)
    _check_payable(invoice)
    amount = payout_amount(invoice)
    if amount <= 0:
        raise DomainError(_("Nothing is owed to the provider on this invoice."), code="nothing_owed")
    return _record_payout(
        invoice=invoice,
        amount=amount,
        method=Payout.Method.BANK_TRANSFER,
        bank_reference=bank_reference,
        by=by,
        now=now,
    )


def _record_payout(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    by: User | None,
    now: datetime,
    transfer_id: str = "",
    bank_reference: str = "",
) -> Payout:
    clearing = "stripe_clearing" if method == Payout.Method.STRIPE else "bank_clearing"
    try:
        with transaction.atomic():
            Invoice.objects.select_for_update().get(pk=invoice.pk)
            existing = Payout.objects.filter(invoice_id=invoice.pk).first()
            if existing is not None:
                return existing
            journal = post_transaction(
                key=f"payout:{invoice.pk}",
                kind="payout",
                lines=[
                    debit(
                        ledger_account("provider_payable", currency=invoice.currency, organisation=invoice.seller),
                        amount,
                    ),
                    credit(ledger_account(clearing, currency=invoice.currency), amount),
                ],
                memo=f"Payout for {invoice.number} {transfer_id or bank_reference}",
                effective_at=now,
                created_by=by,
            )
            return Payout.objects.create(
                invoice=invoice,
                provider=invoice.seller,
                method=method,
                amount=amount,
                currency=invoice.currency,
                transfer_id=transfer_id,
                bank_reference=bank_reference,
                journal=journal,
                recorded_by=by,
                paid_at=now,
            )
    except IntegrityError:
        existing = Payout.objects.filter(invoice_id=invoice.pk).first()
        if existing is None:
            raise
        return existing


# --- refunds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditOutcome:
    """What crediting part of an invoice did: the credit note, and the money that went back —
    a card refund through Stripe and/or a bank refund owed to the buyer."""

    credit_note: CreditNote
    refund: Refund | None = None
    bank_refund: BankRefund | None = None


def credit_and_refund(
    *, invoice: Invoice, amount: Decimal | None, reason: str, by: User | None = None, now: datetime | None = None
) -> CreditOutcome:
    """Credit ``amount`` of the invoice's gross (all that remains when None) and return to the
    buyer whatever it paid beyond what then remains: by card through Stripe as far as card money
    was taken (reversing the provider's credited share of its transfer if it was paid out), the
    rest as a bank refund owed to the buyer. One transaction: the invoice row is locked
    throughout, and the Stripe calls carry idempotency keys, so a retry after a failure returns
    the same Stripe objects instead of refunding twice."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give the reason for the refund."), code="reason_required")
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("seller", "buyer", "trade")
            .get(pk=invoice.pk)
        )
        amount = check_credit_amount(locked, amount)
        remaining = remaining_of(locked)
        excess = max((paid_total(locked) - returned_total(locked)) - (remaining.gross - amount), ZERO)
        card_part = min(excess, _card_room(locked))
        bank_part = excess - card_part
        stripe_refund = reversal = charge = None
        reverse_amount = ZERO
        number = locked.refunds.count() + 1
        key = f"refund:{locked.pk}:{number}"
        if card_part:
            charge = (
                StripePayment.objects.filter(invoice=locked, status=StripePayment.Status.SUCCEEDED)
                .order_by("attempt")
                .first()
            )
            payout = Payout.objects.filter(invoice=locked).first()
            if payout is not None and payout.method == Payout.Method.STRIPE:
                split = split_credit(
                    amount,
                    remaining_net=remaining.net,
                    remaining_vat=remaining.vat,
                    remaining_commission=remaining.commission,
                    terms=replace(locked.trade.pricing_terms(), currency=locked.currency, vat_rate=locked.vat_rate),
                )
                # The provider gives back its credited share of what it was paid out.
                reverse_amount = min(split.provider_share, payout.amount - payout.reversed_amount)
            try:
                stripe_refund = gateway.create_refund(
                    payment_intent_id=charge.payment_intent_id,
                    amount_minor=to_minor_units(card_part, locked.currency),
                    idempotency_key=key,
                    metadata={"invoice_id": str(locked.pk)},
                )
                if reverse_amount:
                    reversal = gateway.reverse_transfer(
                        transfer_id=payout.transfer_id,
                        amount_minor=to_minor_units(reverse_amount, locked.currency),
                        idempotency_key=f"{key}:reversal",
                        metadata={"invoice_id": str(locked.pk)},
                    )
            except gateway.ConnectionError as error:
                raise DomainError(
                    _("Stripe could not be reached; nothing was refunded. Try again."), code="stripe_unreachable"
                ) from error
        note = issue_credit_note(invoice=locked, amount=amount, reason=reason, by=by, now=now, refund=True)
        currency = locked.currency
        receivable = ledger_account("buyer_receivable", currency=currency, organisation=locked.buyer)
        refund = bank_refund = None
        if card_part:
            clearing = ledger_account("stripe_clearing", currency=currency)
            lines = [debit(receivable, card_part), credit(clearing, card_part)]
            if reverse_amount:
                payable = ledger_account("provider_payable", currency=currency, organisation=locked.seller)
                lines += [debit(clearing, reverse_amount), credit(payable, reverse_amount)]
            journal = post_transaction(
                key=key,
                kind="card_refund",
                lines=lines,
                memo=f"Refund {stripe_refund['id']} for {locked.number}: {reason}",
                effective_at=now,
                created_by=by,
            )
            if reverse_amount:
                Payout.objects.filter(pk=payout.pk).update(reversed_amount=F("reversed_amount") + reverse_amount)
            refund = Refund.objects.create(
                invoice=locked,
                stripe_payment=charge,
                amount=card_part,
                currency=currency,
                reason=reason[:300],
                refund_id=stripe_refund["id"],
                transfer_reversal_id=reversal["id"] if reversal else "",
                credit_note=note,
                journal=journal,
                created_by=by,
                created_at=now,
            )
        if bank_part:
            journal = post_transaction(
                key=f"bank_refund:{note.pk}",
                kind="bank_refund_owed",
                lines=[
                    debit(receivable, bank_part),
                    credit(ledger_account("buyer_credit", currency=currency, organisation=locked.buyer), bank_part),
                ],
                memo=f"Owed back to the buyer on {locked.number} ({note.number}): {reason}",
                effective_at=now,
                created_by=by,
            )
            bank_refund = BankRefund.objects.create(
                invoice=locked,
                credit_note=note,
                amount=bank_part,
                currency=currency,
                reason=reason[:300],
                journal=journal,
                created_by=by,
                created_at=now,
            )
    invoice.refresh_from_db()
    return CreditOutcome(credit_note=note, refund=refund, bank_refund=bank_refund)


def _card_room(invoice: Invoice) -> Decimal:
    """Card money taken on the invoice and not yet refunded."""
    card = invoice.payments.filter(method=Payment.Method.CARD).aggregate(total=Sum("amount"))["total"] or ZERO
    return card - refunded_total(invoice)


def refund_invoice_payment(
    *, invoice: Invoice, amount: Decimal, reason: str, by: User | None = None, now: datetime | None = None
) -> Refund:
    """Return ``amount`` of a card-paid invoice to the buyer: a credit note for that gross
    (partial or full) and a Stripe refund of it, reversing the provider's credited share of its
    transfer when it was already paid out (see credit_and_refund)."""
    invoice = Invoice.objects.get(pk=invoice.pk)
    if invoice.status != Invoice.Status.PAID or not _card_room(invoice):
        raise DomainError(_("Only an invoice paid by card can be refunded here."), code="not_card_paid")
    if amount is not None and amount > _card_room(invoice):
        raise DomainError(
            _("At most %(room)s of card money can be refunded on this invoice.")
            % {"room": format_money(_card_room(invoice), invoice.currency)},
            code="too_much",
        )
    outcome = credit_and_refund(invoice=invoice, amount=amount, reason=reason, by=by, now=now)
    return outcome.refund


def record_bank_refund_executed(
    *, bank_refund: BankRefund, bank_reference: str, by: User, now: datetime | None = None
) -> BankRefund:
    """An operator sent a bank refund owed to the buyer: record it once (buyer credit → bank
    clearing). A second recording is refused."""
    now = now or timezone.now()
    bank_reference = bank_reference.strip()
    if not bank_reference:
        raise DomainError(_("Give the bank's reference of the transfer."), code="reference_required")
    with transaction.atomic():
        locked = (
            BankRefund.objects.select_for_update(of=("self",)).select_related("invoice__buyer").get(pk=bank_refund.pk)
        )
        buyer_credit = ledger_account("buyer_credit", currency=locked.currency, organisation=locked.invoice.buyer)
        if locked.status != BankRefund.Status.OWED:
            raise DomainError(_("This bank refund is recorded as sent already."), code="executed")
        currency = locked.currency
        journal = post_transaction(
            key=f"bank_refund:{locked.credit_note_id}:executed",
            kind="bank_refund",
            lines=[
                debit(buyer_credit, locked.amount),
                credit(ledger_account("bank_clearing", currency=currency), locked.amount),
            ],
            memo=f"Bank refund {bank_reference} for {locked.invoice.number}",
            effective_at=now,
            created_by=by,
        )
        locked.status = BankRefund.Status.EXECUTED
        locked.bank_reference = bank_reference[:100]
        locked.executed_journal, locked.executed_by, locked.executed_at = journal, by, now
        locked.save(update_fields=["status", "bank_reference", "executed_journal", "executed_by", "executed_at"])
    return locked


# --- dispute refunds ---------------------------------------------------------------------------


def refund_ceiling(trade: Trade) -> tuple[Decimal, str]:
    """The most a dispute of ``trade`` may refund: what remains of its invoice, or the gross it
    would be invoiced at when it has none yet. Raises DomainError while usage is open."""
    from billing.pricing import price_trade
    from billing.services.invoices import trade_usage

    invoice = Invoice.objects.filter(trade=trade, supplements__isnull=True).first()
    if invoice is not None:
        return remaining_of(invoice).gross, invoice.currency
    quote = price_trade(trade.pricing_terms(), trade_usage(trade))
    return quote.gross, quote.currency


def refund_dispute(
    *, trade: Trade, amount: Decimal | None, reason: str, by: User, now: datetime | None = None
) -> CreditOutcome:
    """Settle a dispute resolved with a refund (the trade is already resolved, in the caller's
    transaction): make its usage final by the finality hook, issue its invoice if it has none,
    then credit ``amount`` (everything when None) and return any money paid beyond what remains."""
    from billing.services.invoices import issue_invoice_for_trade
    from capacity.services.metering import compute_booking_usage

    now = now or timezone.now()
    for link in trade.bookings.select_related("booking", "booking__usage").order_by("booking_id"):
        usage = getattr(link.booking, "usage", None)
        if usage is None or not usage.final:
            compute_booking_usage(booking=link.booking, now=now)
    invoice = issue_invoice_for_trade(trade=trade, now=now, by=by)
    return credit_and_refund(invoice=invoice, amount=amount, reason=reason, by=by, now=now)
