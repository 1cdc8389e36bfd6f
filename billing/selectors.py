"""Reads for billing: who may see an invoice, the lists of the billing pages, the statement."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from billing.models import BankRefund, CreditNote, Invoice, LedgerAccount, Payment, Payout, Posting
from marketplace.models import Organisation, User
from marketplace.selectors.orders import is_verified_operator

BUYER, SELLER, OPERATOR = "buyer", "seller", "operator"


@dataclass(frozen=True)
class InvoiceAccess:
    invoice: Invoice
    role: str

    @property
    def is_seller(self) -> bool:
        return self.role == SELLER

    @property
    def is_buyer(self) -> bool:
        return self.role == BUYER


def invoice_access(*, user: User, organisation: Organisation | None, invoice_id: int) -> InvoiceAccess | None:
    """The two parties (by their active organisation) and verified operators; anyone else None."""
    invoice = Invoice.objects.select_related("seller", "buyer", "trade").filter(pk=invoice_id).first()
    if invoice is None:
        return None
    if organisation is not None:
        if invoice.seller_id == organisation.pk:
            return InvoiceAccess(invoice, SELLER)
        if invoice.buyer_id == organisation.pk:
            return InvoiceAccess(invoice, BUYER)
    if is_verified_operator(user):
        return InvoiceAccess(invoice, OPERATOR)
    return None


def _with_settlement(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    zero = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))

    # Subqueries, not joins: summing payments and credit notes in one join would multiply rows.
    def total(model, field: str):
        rows = model.objects.filter(invoice=OuterRef("pk")).order_by().values("invoice")
        return Coalesce(Subquery(rows.annotate(t=Sum(field)).values("t")[:1]), zero)

    return qs.annotate(
        paid=total(Payment, "amount"),
        credited_gross=-total(CreditNote, "gross"),
        credited_net=total(CreditNote, "net"),
        credited_commission=total(CreditNote, "commission"),
        credited_share=total(CreditNote, "provider_share"),
    ).select_related("seller", "buyer")


def invoices_received(organisation: Organisation) -> QuerySet[Invoice]:
    return _with_settlement(Invoice.objects.filter(buyer=organisation).exclude(status=Invoice.Status.DRAFT))


def invoices_issued(organisation: Organisation) -> QuerySet[Invoice]:
    return _with_settlement(Invoice.objects.filter(seller=organisation).exclude(status=Invoice.Status.DRAFT))


def payments_of(organisation: Organisation) -> QuerySet[Payment]:
    return Payment.objects.filter(invoice__buyer=organisation).select_related("invoice")


def open_invoices() -> QuerySet[Invoice]:
    return _with_settlement(Invoice.objects.filter(status__in=[Invoice.Status.ISSUED, Invoice.Status.OVERDUE]))


def recent_payments(limit: int = 50) -> list[Payment]:
    return list(Payment.objects.select_related("invoice", "recorded_by")[:limit])


def trial_balance_rows() -> list[dict]:
    """Per account code and currency: Σ debits, Σ credits; the grand totals must be equal."""
    signed_zero = Value(Decimal("0.00"), output_field=DecimalField(max_digits=20, decimal_places=2))
    rows = (
        Posting.objects.values("account__code", "currency")
        .annotate(
            debits=Coalesce(Sum(Case(When(side="debit", then=F("amount")))), signed_zero),
            credits=Coalesce(Sum(Case(When(side="credit", then=F("amount")))), signed_zero),
        )
        .order_by("currency", "account__code")
    )
    types = dict(LedgerAccount.objects.values_list("code", "type").distinct())
    return [
        {**row, "type": types.get(row["account__code"], ""), "balance": row["debits"] - row["credits"]} for row in rows
    ]


def find_invoice_by_reference(reference: str) -> Invoice | None:
    reference = reference.strip().upper()
    return Invoice.objects.filter(Q(payment_reference=reference) | Q(number=reference)).first()


def invoices_awaiting_payout() -> QuerySet[Invoice]:
    """Paid invoices not yet paid out to their provider, oldest payment first."""
    return (
        Invoice.objects.filter(status=Invoice.Status.PAID, payout__isnull=True)
        .select_related("seller", "seller__connect_account")
        .order_by("paid_at", "pk")
    )


def recent_payouts(limit: int = 50) -> list[Payout]:
    return list(Payout.objects.select_related("invoice", "provider", "recorded_by")[:limit])


def bank_refunds_owed() -> QuerySet[BankRefund]:
    """Bank refunds a credit note made owed to a buyer and no operator has recorded as sent."""
    return (
        BankRefund.objects.filter(status=BankRefund.Status.OWED)
        .select_related("invoice", "credit_note")
        .order_by("created_at", "pk")
    )
