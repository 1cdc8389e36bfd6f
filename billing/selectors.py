"""Reads for billing: who may see an invoice, the lists of the billing pages, the statement,
refunds and reconciliation runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import (
    BankRefund,
    CreditNote,
    Deposit,
    DepositRefund,
    Invoice,
    LedgerAccount,
    Payment,
    Payout,
    Posting,
    ReconciliationItem,
    ReconciliationRun,
    Refund,
)
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


def deposits_requested() -> QuerySet[Deposit]:
    """Deposits still awaiting the buyer's money: what a transfer quoting DEP… can be matched to."""
    return (
        Deposit.objects.filter(status=Deposit.Status.REQUESTED)
        .select_related("buyer", "trade")
        .order_by("created_at", "pk")
    )


def deposit_refunds_owed() -> QuerySet[DepositRefund]:
    """Deposit money owed back to a buyer by bank that no operator has recorded as sent."""
    return (
        DepositRefund.objects.filter(status=DepositRefund.Status.OWED)
        .select_related("deposit", "deposit__buyer")
        .order_by("created_at", "pk")
    )


def trade_deposit(trade) -> Deposit | None:
    """The deposit of ``trade`` with its refund (for the trade page), or None."""
    return (
        Deposit.objects.filter(trade_id=trade.pk)
        .select_related("applied_payment", "invoice")
        .prefetch_related("refunds")
        .first()
    )


def bank_refunds_owed() -> QuerySet[BankRefund]:
    """Bank refunds a credit note made owed to a buyer and no operator has recorded as sent."""
    return (
        BankRefund.objects.filter(status=BankRefund.Status.OWED)
        .select_related("invoice", "credit_note")
        .order_by("created_at", "pk")
    )


# --- refunds -------------------------------------------------------------------------------------


def _refunds() -> QuerySet[Refund]:
    return Refund.objects.select_related("invoice", "credit_note").order_by("-created_at", "-pk")


def refunds_received(organisation: Organisation) -> QuerySet[Refund]:
    """Refunds of card payments the organisation made on invoices it received."""
    return _refunds().filter(invoice__buyer=organisation)


def refunds_issued(organisation: Organisation) -> QuerySet[Refund]:
    """Refunds on the organisation's own invoices (each with the credit note it rests on)."""
    return _refunds().filter(invoice__seller=organisation)


def all_refunds(
    *, query: str = "", since: date | None = None, until: date | None = None, kind: str = "", currency: str = ""
) -> QuerySet[Refund]:
    """Every refund for operators; ``query`` matches an invoice number, a party or a Stripe id;
    ``since``/``until`` are local dates, both inclusive; ``kind`` is "full" (the whole
    invoice went back) or "partial"."""
    qs = _refunds().select_related("invoice__seller", "invoice__buyer")
    if query:
        qs = qs.filter(
            Q(invoice__number__icontains=query)
            | Q(invoice__seller_legal_name__icontains=query)
            | Q(invoice__buyer_legal_name__icontains=query)
            | Q(refund_id=query)
        )
    if since:
        qs = qs.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=timezone.get_default_timezone()))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone())
        qs = qs.filter(created_at__lt=end)
    if kind == "full":
        qs = qs.filter(amount=F("invoice__gross"))
    elif kind == "partial":
        qs = qs.exclude(amount=F("invoice__gross"))
    if currency:
        qs = qs.filter(currency=currency)
    return qs


# --- reconciliation ------------------------------------------------------------------------------


def reconciliation_runs(limit: int = 90) -> list[ReconciliationRun]:
    """The latest runs, each with its count of differences no operator has explained yet."""
    return list(
        ReconciliationRun.objects.annotate(
            unexplained=Count(
                "items",
                filter=~Q(items__status=ReconciliationItem.Status.MATCHED) & Q(items__explained_at__isnull=True),
            )
        ).order_by("-day")[:limit]
    )
