"""Bank transfers (对公转账): an operator records money received against an invoice's unique
payment reference. Each transfer is one Payment row and one ledger transaction (bank clearing ←
buyer receivable); the invoice is paid once nothing is due. Partial payments are kept; paying
more than is due is refused, so no money lands on an invoice it does not belong to.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceEvent, Payment
from billing.money import format_money, quantize
from billing.services.invoices import amount_due
from billing.services.ledger import credit, debit, ledger_account, post_transaction
from marketplace.errors import DomainError
from marketplace.models import User
from marketplace.services.webhooks import publish_payment_received


def record_bank_transfer(
    *,
    invoice: Invoice,
    amount: Decimal,
    received_on: date,
    bank_reference: str,
    by: User,
    now: datetime | None = None,
) -> Payment:
    now = now or timezone.now()
    bank_reference = bank_reference.strip()
    if not bank_reference:
        raise DomainError(_("Give the bank's reference of the transfer."), code="reference_required")
    if amount <= 0 or quantize(amount, invoice.currency) != amount:
        raise DomainError(_("Enter a positive amount in whole cents."), code="amount")
    try:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().select_related("buyer").get(pk=invoice.pk)
            if locked.status not in (Invoice.Status.ISSUED, Invoice.Status.OVERDUE):
                raise DomainError(
                    _("Invoice %(number)s is %(status)s: it takes no payments.")
                    % {"number": locked.number, "status": Invoice.Status(locked.status).label},
                    code="not_open",
                )
            if Payment.objects.filter(bank_reference=bank_reference).exists():
                raise DomainError(
                    _("A transfer with the bank reference %(reference)s is already recorded.")
                    % {"reference": bank_reference},
                    code="duplicate",
                )
            due = amount_due(locked)
            if amount > due:
                raise DomainError(
                    _(
                        "%(amount)s is more than the %(due)s still due on invoice %(number)s; record the transfer "
                        "against the right invoice or return the difference to the buyer."
                    )
                    % {
                        "amount": format_money(amount, locked.currency),
                        "due": format_money(due, locked.currency),
                        "number": locked.number,
                    },
                    code="overpayment",
                )
            journal = post_transaction(
                key=f"bank_transfer:{bank_reference}",
                kind="bank_transfer",
                lines=[
                    debit(ledger_account("bank_clearing", currency=locked.currency), amount),
                    credit(
                        ledger_account("buyer_receivable", currency=locked.currency, organisation=locked.buyer), amount
                    ),
                ],
                memo=f"Bank transfer {bank_reference} for {locked.number}",
                effective_at=now,
                created_by=by,
            )
            payment = Payment.objects.create(
                invoice=locked,
                amount=amount,
                currency=locked.currency,
                received_on=received_on,
                bank_reference=bank_reference,
                journal=journal,
                recorded_by=by,
                recorded_at=now,
            )
            publish_payment_received(payment)
            if amount == due:
                Invoice.objects.filter(pk=locked.pk).update(status=Invoice.Status.PAID, paid_at=now)
                InvoiceEvent.objects.create(
                    invoice=locked,
                    from_status=locked.status,
                    to_status=Invoice.Status.PAID,
                    actor=by,
                    note=bank_reference[:300],
                    at=now,
                )
    except IntegrityError as error:
        if "bank_reference" in str(error) or "idempotency_key" in str(error):
            raise DomainError(
                _("A transfer with the bank reference %(reference)s is already recorded.")
                % {"reference": bank_reference},
                code="duplicate",
            ) from error
        raise
    invoice.refresh_from_db()
    return payment
