"""Paying providers, and refunds.

A provider's share of an invoice (``invoice.provider_share`` = net − commission) is paid out
once the trade is completed and the invoice paid: a Stripe transfer to its Connect Express
account, linked to the card charge (separate charges and transfers, ``source_transaction``),
under the idempotency key ``payout:<invoice id>``; or, for providers without Stripe, a bank
transfer an operator records. Either way one Payout row and one ledger transaction
(provider payable ← clearing). VAT stays on ``vat_payable`` and commission on
``commission_revenue``, so payout + commission + VAT = gross paid.

Refunds (card payments only): a full refund issues a credit note (which reverses the invoice
posting) and returns the money; a partial refund is a concession the provider bears — a Refund
row and a ledger transaction against ``provider_payable``, no credit note (a VAT correction
needs one; issue a full refund and a new invoice for that). Either way, if the provider was
already paid by Stripe, the same part of its transfer is reversed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_gateway as gateway
from billing.models import ConnectAccount, Invoice, Payout, Refund, StripePayment
from billing.money import format_money, quantize, to_minor_units
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
    """The provider's share less what it bore of partial refunds."""
    borne = invoice.refunds.filter(credit_note__isnull=True).aggregate(total=Sum("amount"))["total"] or ZERO
    return invoice.provider_share - borne


def _check_payable(invoice: Invoice) -> None:
    if invoice.status != Invoice.Status.PAID:
        raise DomainError(_("Only paid invoices are paid out."), code="not_paid")
    if invoice.trade.status != Trade.Status.COMPLETED:
        raise DomainError(_("Only completed trades are paid out."), code="not_completed")
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


def refund_invoice_payment(
    *, invoice: Invoice, amount: Decimal, reason: str, by: User | None = None, now: datetime | None = None
) -> Refund:
    """Return ``amount`` of the invoice's card payment to the buyer (see the module docstring)."""
    from billing.services.invoices import issue_credit_note

    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give the reason for the refund."), code="reason_required")
    invoice = Invoice.objects.select_related("seller", "buyer").get(pk=invoice.pk)
    if amount <= 0 or quantize(amount, invoice.currency) != amount:
        raise DomainError(_("Enter a positive amount in whole cents."), code="amount")
    charge = (
        StripePayment.objects.filter(invoice=invoice, status=StripePayment.Status.SUCCEEDED).order_by("attempt").first()
    )
    if charge is None or invoice.status != Invoice.Status.PAID:
        raise DomainError(_("Only an invoice paid by card can be refunded here."), code="not_card_paid")
    already = refunded_total(invoice)
    full = already == ZERO and amount == invoice.gross
    payout = Payout.objects.filter(invoice=invoice).first()
    if not full:
        # A partial refund is borne by the provider: at most its share not yet refunded.
        room = invoice.provider_share - already
        if amount > room:
            raise DomainError(
                _("A partial refund can be at most %(room)s (the provider's share not yet refunded).")
                % {"room": format_money(room, invoice.currency)},
                code="too_much",
            )
    number = invoice.refunds.count() + 1
    key = f"refund:{invoice.pk}:{number}"
    try:
        refund = gateway.create_refund(
            payment_intent_id=charge.payment_intent_id,
            amount_minor=to_minor_units(amount, invoice.currency),
            idempotency_key=key,
            metadata={"invoice_id": str(invoice.pk)},
        )
        reversal = None
        reverse_amount = ZERO
        if payout is not None and payout.method == Payout.Method.STRIPE:
            reverse_amount = payout.amount - payout.reversed_amount if full else amount
            reversal = gateway.reverse_transfer(
                transfer_id=payout.transfer_id,
                amount_minor=to_minor_units(reverse_amount, invoice.currency),
                idempotency_key=f"{key}:reversal",
                metadata={"invoice_id": str(invoice.pk)},
            )
    except gateway.ConnectionError as error:
        raise DomainError(
            _("Stripe could not be reached; nothing was refunded. Try again."), code="stripe_unreachable"
        ) from error
    currency = invoice.currency
    clearing = ledger_account("stripe_clearing", currency=currency)
    payable = ledger_account("provider_payable", currency=currency, organisation=invoice.seller)
    receivable = ledger_account("buyer_receivable", currency=currency, organisation=invoice.buyer)
    with transaction.atomic():
        note = None
        if full:
            # The credit note reverses the invoice posting (receivable against payable,
            # commission and VAT); the refund then settles the buyer's receivable.
            note = issue_credit_note(invoice=invoice, reason=reason, by=by, now=now, refund=True)
            lines = [debit(receivable, amount), credit(clearing, amount)]
        else:
            lines = [debit(payable, amount), credit(clearing, amount)]
        if reverse_amount:
            lines += [debit(clearing, reverse_amount), credit(payable, reverse_amount)]
        journal = post_transaction(
            key=key,
            kind="card_refund",
            lines=lines,
            memo=f"Refund {refund['id']} for {invoice.number}: {reason}",
            effective_at=now,
            created_by=by,
        )
        if reverse_amount:
            Payout.objects.filter(pk=payout.pk).update(reversed_amount=payout.reversed_amount + reverse_amount)
        return Refund.objects.create(
            invoice=invoice,
            stripe_payment=charge,
            amount=amount,
            currency=currency,
            reason=reason[:300],
            refund_id=refund["id"],
            transfer_reversal_id=reversal["id"] if reversal else "",
            credit_note=note,
            journal=journal,
            created_by=by,
            created_at=now,
        )
