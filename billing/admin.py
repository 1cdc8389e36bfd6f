from django.contrib import admin

from billing.models import (
    BankRefund,
    CreditNote,
    Deposit,
    DepositRefund,
    Invoice,
    InvoiceLine,
    JournalTransaction,
    LedgerAccount,
    Payment,
    PeriodRun,
    PeriodRunItem,
    Posting,
)
from marketplace.admin_base import ReadOnlyAdmin


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "currency", "organisation", "type", "created_at"]
    list_filter = ["type", "currency", "code"]
    search_fields = ["code", "organisation__name"]


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    readonly_fields = ["account", "side", "amount", "currency"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalTransaction)
class JournalTransactionAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "kind", "effective_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "memo"]
    inlines = [PostingInline]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = ["code", "description", "quantity", "unit", "unit_price", "amount", "rule"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Invoices change only through billing services (issue, credit note, payment)."""

    list_display = [
        "number", "seller", "buyer", "status", "gross", "currency", "period_start", "issued_at", "due_at", "paid_at",
    ]  # fmt: skip
    list_filter = ["status", "currency", "period_start"]
    search_fields = ["number", "payment_reference", "seller__name", "buyer__name"]
    list_select_related = ["seller", "buyer"]
    inlines = [InvoiceLineInline]


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ["number", "seller", "invoice", "gross", "currency", "issued_at"]
    search_fields = ["number", "invoice__number"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "method", "amount", "currency", "received_on", "bank_reference", "recorded_by"]
    list_filter = ["method", "currency"]
    search_fields = ["bank_reference", "invoice__number", "invoice__payment_reference"]


@admin.register(BankRefund)
class BankRefundAdmin(ReadOnlyAdmin):
    """Recorded as sent from the invoice page (billing.services.payouts.record_bank_refund_executed)."""

    list_display = ["invoice", "credit_note", "amount", "currency", "status", "bank_reference", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["invoice__number", "credit_note__number", "bank_reference"]


class PeriodRunItemInline(admin.TabularInline):
    model = PeriodRunItem
    extra = 0
    can_delete = False
    readonly_fields = ["trade", "status", "invoice", "note", "attempts", "finished_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PeriodRun)
class PeriodRunAdmin(ReadOnlyAdmin):
    """Month-end invoicing runs; operators resume them from /ops/period-runs/."""

    list_display = [
        "period_start",
        "status",
        "items_total",
        "invoiced",
        "skipped",
        "failed",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status"]
    inlines = [PeriodRunItemInline]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    """Deposits change only through billing.services.deposits (pay, apply, refund)."""

    list_display = ["payment_reference", "trade", "buyer", "status", "amount", "currency", "method", "paid_at"]
    list_filter = ["status", "method", "currency"]
    search_fields = ["payment_reference", "payment_intent_id", "bank_reference", "buyer__name"]
    list_select_related = ["buyer"]


@admin.register(DepositRefund)
class DepositRefundAdmin(ReadOnlyAdmin):
    list_display = ["deposit", "kind", "method", "status", "amount", "currency", "created_at"]
    list_filter = ["kind", "method", "status"]
    search_fields = ["refund_id", "bank_reference", "deposit__payment_reference"]
