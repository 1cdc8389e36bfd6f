"""Money: a double-entry ledger under every invoice, payment, refund, payout and fee.

Every movement of money is one balanced JournalTransaction of Postings (debits = credits per
currency). The database enforces what matters even if application code is wrong:
postings and transactions are immutable (triggers refuse UPDATE and DELETE), a posting's
currency must equal its account's, and a deferred constraint trigger checks at commit that each
transaction balances per currency. Corrections are new, reversing transactions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.models import Organisation


class LedgerAccount(models.Model):
    """An account of the platform's books, optionally for one organisation (a buyer's receivable,
    a provider's payable) and always in one currency."""

    class Type(models.TextChoices):
        ASSET = "asset", _("Asset")
        LIABILITY = "liability", _("Liability")
        REVENUE = "revenue", _("Revenue")
        EXPENSE = "expense", _("Expense")
        EQUITY = "equity", _("Equity")

    code = models.CharField(_("code"), max_length=60)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        ordering = ["code", "currency", "organisation_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "organisation", "currency"], nulls_distinct=False, name="ledgeraccount_unique"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledgeraccount_currency_iso"),
        ]

    def __str__(self) -> str:
        owner = f" · {self.organisation}" if self.organisation_id else ""
        return f"{self.code} ({self.currency}){owner}"

    @property
    def is_debit_normal(self) -> bool:
        return self.type in (self.Type.ASSET, self.Type.EXPENSE)


class JournalTransaction(models.Model):
    """One balanced, immutable movement of money, created once per idempotency key."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=40)
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    effective_at = models.DateTimeField(_("effective at"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")

    class Meta:
        verbose_name = _("journal transaction")
        verbose_name_plural = _("journal transactions")
        ordering = ["effective_at", "pk"]
        indexes = [models.Index(fields=["kind", "effective_at"], name="journal_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"


class Posting(models.Model):
    class Side(models.TextChoices):
        DEBIT = "debit", _("Debit")
        CREDIT = "credit", _("Credit")

    transaction = models.ForeignKey(JournalTransaction, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    side = models.CharField(max_length=6, choices=Side.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="posting_amount_positive")]
        indexes = [models.Index(fields=["account", "side"], name="posting_account_idx")]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.currency} → {self.account}"


# --- invoicing -------------------------------------------------------------------------------


def _private(folder: str, filename: str) -> str:
    import uuid
    from pathlib import PurePath

    from django.utils import timezone

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


def fapiao_upload_to(instance, filename: str) -> str:
    return _private("fapiao", filename)


class BuyerBillingProfile(models.Model):
    """An organisation's invoicing details (开票信息), snapshotted onto every invoice it receives."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="billing_profile")
    legal_name = models.CharField(_("legal name"), max_length=200)
    tax_id = models.CharField(_("tax ID (unified social credit code)"), max_length=18)
    address = models.CharField(_("registered address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    bank_name = models.CharField(_("bank"), max_length=200, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=60, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("invoicing details")
        verbose_name_plural = _("invoicing details")

    def __str__(self) -> str:
        return self.legal_name


class DocumentSequence(models.Model):
    """The last number used in one gapless series: per seller, year and kind of document. The row
    is locked (SELECT … FOR UPDATE) inside the issuing transaction, so a rolled-back issue
    rolls the counter back too and two issues never share or skip a number."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    seller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["seller", "year", "kind"], name="documentsequence_unique")]

    def __str__(self) -> str:
        return f"{self.seller_id}/{self.year}/{self.kind}: {self.last_number}"


class Invoice(models.Model):
    """The provider's invoice to the buyer for a trade, priced from its terms snapshot and final
    usage. Once issued its amounts, lines and parties never change (a database trigger refuses
    it): corrections are credit notes or a supplementary invoice."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        OVERDUE = "overdue", _("Overdue")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")

    seller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="invoices_issued")
    buyer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="invoices_received")
    trade = models.ForeignKey("marketplace.Trade", on_delete=models.PROTECT, related_name="invoices")
    supplements = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="supplementary_invoices"
    )
    number = models.CharField(_("number"), max_length=40, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(_("currency"), max_length=3)
    net = models.DecimalField(_("net"), max_digits=14, decimal_places=2, default=0)
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=5, decimal_places=4)
    vat = models.DecimalField(_("VAT"), max_digits=14, decimal_places=2, default=0)
    gross = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    commission = models.DecimalField(_("platform commission"), max_digits=14, decimal_places=2, default=0)
    provider_share = models.DecimalField(_("provider share"), max_digits=14, decimal_places=2, default=0)
    notes = models.JSONField(default=list, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    payment_reference = models.CharField(_("payment reference"), max_length=20, unique=True)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # Parties as they were at issue.
    seller_legal_name = models.CharField(_("seller"), max_length=200)
    seller_tax_id = models.CharField(_("seller tax ID"), max_length=18, blank=True)
    buyer_legal_name = models.CharField(_("buyer"), max_length=200)
    buyer_tax_id = models.CharField(_("buyer tax ID"), max_length=18, blank=True)
    buyer_address = models.CharField(max_length=300, blank=True)
    buyer_phone = models.CharField(max_length=40, blank=True)
    buyer_bank_name = models.CharField(max_length=200, blank=True)
    buyer_bank_account = models.CharField(max_length=60, blank=True)
    # The VAT fapiao (增值税发票) the provider issued for this invoice: a private file.
    fapiao = models.FileField(_("VAT fapiao"), upload_to=fapiao_upload_to, blank=True)
    fapiao_name = models.CharField(max_length=255, blank=True)
    fapiao_type = models.CharField(max_length=100, blank=True)
    fapiao_uploaded_at = models.DateTimeField(null=True, blank=True)
    # A period invoice of a long rental bills the machine-hours of one closed month (local dates
    # in the provider's time zone, end exclusive); the final invoice at completion bills the rest.
    period_start = models.DateField(_("period from"), null=True, blank=True)
    period_end = models.DateField(_("period until"), null=True, blank=True)
    # Measured in-window run time of the trade from its start up to period_end (cumulative): what
    # this period invoice and the ones before it billed together.
    period_seconds = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["seller", "number"], condition=~Q(number=""), name="invoice_number_unique"),
            # One primary (final) invoice per trade (supplementary invoices point at it) …
            models.UniqueConstraint(
                fields=["trade"],
                condition=Q(supplements__isnull=True, period_start__isnull=True),
                name="invoice_one_per_trade",
            ),
            # … and one period invoice per trade and period, whoever runs the month-end job twice.
            models.UniqueConstraint(
                fields=["trade", "period_start"], condition=Q(period_start__isnull=False), name="invoice_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True, period_end__isnull=True, period_seconds__isnull=True)
                | Q(
                    period_start__isnull=False,
                    period_end__gt=models.F("period_start"),
                    period_seconds__gte=0,
                    supplements__isnull=True,
                ),
                name="invoice_period_consistent",
            ),
            models.CheckConstraint(
                condition=Q(gross=models.F("net") + models.F("vat"))
                & Q(net=models.F("provider_share") + models.F("commission")),
                name="invoice_totals_add_up",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (~Q(number="") & Q(issued_at__isnull=False, due_at__isnull=False)),
                name="invoice_issued_numbered",
            ),
        ]
        indexes = [
            models.Index(fields=["seller", "status"], name="invoice_seller_idx"),
            models.Index(fields=["buyer", "status"], name="invoice_buyer_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.ISSUED, self.Status.OVERDUE)

    @property
    def is_period(self) -> bool:
        return self.period_start is not None


class InvoiceLine(models.Model):
    """One priced line of an invoice, with the rounding rule its amount was computed by."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=20)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    rule = models.CharField(_("rounding"), max_length=40)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoiceline_position")]

    def __str__(self) -> str:
        return f"{self.invoice_id}/{self.position}: {self.amount}"


class CreditNote(models.Model):
    """A correction of an issued invoice: negative amounts in the seller's own gapless credit-note
    series. Immutable once written (a trigger refuses UPDATE and DELETE)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    seller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("number"), max_length=40)
    reason = models.CharField(_("reason"), max_length=300)
    currency = models.CharField(max_length=3)
    net = models.DecimalField(max_digits=14, decimal_places=2)
    vat = models.DecimalField(max_digits=14, decimal_places=2)
    gross = models.DecimalField(max_digits=14, decimal_places=2)
    commission = models.DecimalField(max_digits=14, decimal_places=2)
    provider_share = models.DecimalField(max_digits=14, decimal_places=2)
    lines = models.JSONField(default=list)
    issued_at = models.DateTimeField(_("issued"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["issued_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["seller", "number"], name="creditnote_number_unique"),
            models.CheckConstraint(condition=Q(gross__lt=0), name="creditnote_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class Payment(models.Model):
    """Money received against an invoice (a bank transfer recorded by an operator). Append-only;
    an invoice may have several (partial payments)."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CARD = "card", _("Card")
        # The trade's deposit applied to its invoice (billing.services.deposits).
        DEPOSIT = "deposit", _("Deposit")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("method"), max_length=16, choices=Method.choices, default=Method.BANK_TRANSFER)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    received_on = models.DateField(_("received on"))
    # The bank's reference of a transfer, or the PaymentIntent id of a card payment.
    bank_reference = models.CharField(_("bank reference"), max_length=100, unique=True)
    journal = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="+")
    # Empty for card payments, which Stripe's webhook records.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-recorded_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → {self.invoice_id}"


class InvoiceEvent(models.Model):
    """One status change of an invoice: who, when, from, to, why."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=8, blank=True)
    to_status = models.CharField(max_length=8)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.from_status or '∅'} → {self.to_status}"


I = Invoice.Status  # noqa: E741

# The invoice state machine; anything else is refused by the services.
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    I.DRAFT: frozenset({I.ISSUED, I.VOID}),
    I.ISSUED: frozenset({I.PAID, I.OVERDUE, I.VOID}),
    I.OVERDUE: frozenset({I.PAID, I.VOID}),
    I.PAID: frozenset({I.VOID}),  # only by a full card refund with its credit note
    I.VOID: frozenset(),
}


# --- Stripe: card payments, webhooks, payouts, refunds ---------------------------------------


class StripePayment(models.Model):
    """One card payment attempt on an invoice: a Stripe PaymentIntent, created once per attempt
    under the idempotency key ``invoice-<id>-attempt-<n>`` and stored before it is confirmed, so
    a retry after a network failure confirms the same PaymentIntent instead of charging twice."""

    class Status(models.TextChoices):
        REQUIRES_PAYMENT_METHOD = "requires_payment_method", _("Waiting for card details")
        REQUIRES_CONFIRMATION = "requires_confirmation", _("Waiting for confirmation")
        REQUIRES_ACTION = "requires_action", _("Waiting for the cardholder")
        PROCESSING = "processing", _("Processing")
        REQUIRES_CAPTURE = "requires_capture", _("Authorised")
        SUCCEEDED = "succeeded", _("Succeeded")
        CANCELED = "canceled", _("Cancelled")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="stripe_payments")
    attempt = models.PositiveSmallIntegerField()
    payment_intent_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=200, blank=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(_("status"), max_length=30, choices=Status.choices)
    charge_id = models.CharField(max_length=100, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("card payment")
        verbose_name_plural = _("card payments")
        ordering = ["invoice", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "attempt"], name="stripepayment_attempt_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="stripepayment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_intent_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.SUCCEEDED, self.Status.CANCELED)


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once under its id before anything is done with it,
    with the status of its handler (the worker re-fetches the object it names)."""

    class HandlerStatus(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=HandlerStatus.choices, default=HandlerStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.status})"


class ConnectAccount(models.Model):
    """A provider's Stripe Connect Express account, which receives its payouts."""

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="connect_account")
    account_id = models.CharField(max_length=100, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Stripe Connect account")
        verbose_name_plural = _("Stripe Connect accounts")

    def __str__(self) -> str:
        return self.account_id


class Payout(models.Model):
    """The provider's share of one paid invoice, sent once: a Stripe transfer to its Connect
    account (linked to the card charge), or a bank transfer an operator recorded."""

    class Method(models.TextChoices):
        STRIPE = "stripe", _("Stripe transfer")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="payout")
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="payouts")
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    transfer_id = models.CharField(max_length=100, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    reversed_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    journal = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(_("paid"))

    class Meta:
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        ordering = ["-paid_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.UniqueConstraint(
                fields=["transfer_id"], condition=~Q(transfer_id=""), name="payout_transfer_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → {self.provider_id}"


class Refund(models.Model):
    """Card money returned to the buyer: a Stripe refund, the transfer reversal that claws the
    provider's part back when it was already paid out, and their ledger transaction."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="refunds")
    stripe_payment = models.ForeignKey(StripePayment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=300)
    refund_id = models.CharField(max_length=100, unique=True)
    transfer_reversal_id = models.CharField(max_length=100, blank=True)
    credit_note = models.OneToOneField(CreditNote, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    journal = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["created_at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.refund_id}: {self.amount} {self.currency}"


class BankRefund(models.Model):
    """Bank-transfer money a credit note made owed back to the buyer. Written as owed when the
    credit note is issued (buyer receivable → buyer credit); an operator records it executed
    once the platform's bank sent it (buyer credit → bank clearing). Card money goes back
    through Stripe instead (Refund)."""

    class Status(models.TextChoices):
        OWED = "owed", _("Owed to the buyer")
        EXECUTED = "executed", _("Sent to the buyer")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="bank_refunds")
    credit_note = models.OneToOneField(CreditNote, on_delete=models.PROTECT, related_name="bank_refund")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OWED)
    journal = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    executed_journal = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("bank refund")
        verbose_name_plural = _("bank refunds")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bankrefund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="owed", executed_at__isnull=True, executed_journal__isnull=True)
                | (
                    Q(status="executed", executed_at__isnull=False, executed_journal__isnull=False)
                    & ~Q(bank_reference="")
                ),
                name="bankrefund_executed_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → {self.invoice_id} ({self.status})"


class StripeFee(models.Model):
    """Stripe's processing fee on one card charge, read from the charge's balance transaction
    and posted once as its own journal transaction (stripe_fees ← stripe_clearing). The charge
    is an invoice's card payment or a trade's card deposit."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="stripe_fee")
    deposit = models.OneToOneField(
        "Deposit", on_delete=models.PROTECT, null=True, blank=True, related_name="stripe_fee"
    )
    balance_transaction_id = models.CharField(max_length=100, unique=True)
    charge_id = models.CharField(max_length=100)
    amount = models.DecimalField(_("fee"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    journal = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Stripe fee")
        verbose_name_plural = _("Stripe fees")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="stripefee_amount_positive"),
            models.CheckConstraint(
                condition=Q(payment__isnull=False, deposit__isnull=True)
                | Q(payment__isnull=True, deposit__isnull=False),
                name="stripefee_one_charge",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.balance_transaction_id}: {self.amount} {self.currency}"


class ReconciliationRun(models.Model):
    """The reconciliation of one day (in TIME_ZONE) of Stripe balance transactions with the
    ledger. One row per day: a re-run replaces its items and keeps the operators' explanations."""

    class Status(models.TextChoices):
        CLEAN = "clean", _("Reconciled")
        DIFFERENCES = "differences", _("Differences")

    day = models.DateField(_("day"), unique=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    stripe_transactions = models.PositiveIntegerField(_("Stripe transactions"), default=0)
    matched = models.PositiveIntegerField(_("matched"), default=0)
    differences = models.PositiveIntegerField(_("differences"), default=0)
    # {currency: {"stripe_net": "…", "ledger_movement": "…"}} for stripe_clearing over the day.
    totals = models.JSONField(default=dict)
    runs = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.status}"


class ReconciliationItem(models.Model):
    """One Stripe balance transaction (or one ledger entry, or the day's clearing total) compared
    with the other side. A difference stays flagged until an operator explains it."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Card charge")
        FEE = "fee", _("Stripe fee")
        REFUND = "refund", _("Refund")
        TRANSFER = "transfer", _("Transfer to a provider")
        TRANSFER_REVERSAL = "transfer_reversal", _("Transfer reversal")
        OTHER = "other", _("Other Stripe transaction")
        CLEARING = "clearing", _("Stripe clearing movement")

    class Status(models.TextChoices):
        MATCHED = "matched", _("Matched")
        MISSING_IN_LEDGER = "missing_in_ledger", _("Missing in the ledger")
        MISSING_AT_STRIPE = "missing_at_stripe", _("Missing at Stripe")
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # The Stripe object (ch_…, re_…, tr_…, trr_…), the balance transaction for fees and
    # other transactions, or the currency for the clearing total.
    ref = models.CharField(_("reference"), max_length=100)
    balance_transaction_id = models.CharField(max_length=100, blank=True)
    stripe_type = models.CharField(max_length=40, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    stripe_amount = models.DecimalField(_("at Stripe"), max_digits=14, decimal_places=2, null=True, blank=True)
    ledger_amount = models.DecimalField(_("in the ledger"), max_digits=14, decimal_places=2, null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    at = models.DateTimeField(_("at"), null=True, blank=True)
    explanation = models.CharField(_("explanation"), max_length=500, blank=True)
    explained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    explained_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reconciliation item")
        verbose_name_plural = _("reconciliation items")
        ordering = ["run", "kind", "ref"]
        constraints = [models.UniqueConstraint(fields=["run", "kind", "ref"], name="reconciliationitem_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}: {self.status}"

    @property
    def is_difference(self) -> bool:
        return self.status != self.Status.MATCHED

    @property
    def difference(self):
        return (self.stripe_amount or 0) - (self.ledger_amount or 0)


# --- month-end period runs -------------------------------------------------------------------


class PeriodRun(models.Model):
    """One month-end invoicing run: a period invoice for every long rental that had booked time
    in the closed month. Its items are claimed one by one, each in its own transaction, so a run
    interrupted anywhere (a killed worker) is resumed by running it again: done items are skipped,
    and the unique (trade, period_start) of invoices makes a second issue impossible anyway."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    period_start = models.DateField(_("period from"), unique=True)
    period_end = models.DateField(_("period until"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    items_total = models.PositiveIntegerField(_("trades"), default=0)
    invoiced = models.PositiveIntegerField(_("invoiced"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)

    class Meta:
        verbose_name = _("period invoicing run")
        verbose_name_plural = _("period invoicing runs")
        ordering = ["-period_start"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")), name="periodrun_ordered")
        ]

    def __str__(self) -> str:
        return f"{self.period_start:%Y-%m} ({self.status})"


class PeriodRunItem(models.Model):
    """One trade of a period run and what became of it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        INVOICED = "invoiced", _("Invoiced")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(PeriodRun, on_delete=models.CASCADE, related_name="items")
    trade = models.ForeignKey("marketplace.Trade", on_delete=models.PROTECT, related_name="period_run_items")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="period_run_item"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "trade"], name="periodrunitem_unique"),
            models.CheckConstraint(
                condition=~Q(status="invoiced") | Q(invoice__isnull=False), name="periodrunitem_invoiced_has_invoice"
            ),
        ]
        indexes = [models.Index(fields=["run", "status"], name="periodrunitem_status_idx")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.trade_id}: {self.status}"


# --- deposits ----------------------------------------------------------------------------------


class Deposit(models.Model):
    """Money a buyer pays when a trade is booked, as a share of its estimated gross that the
    provider's profile asked for (snapshotted into the trade's terms). Held on the platform's
    ``customer_deposits`` liability (per buyer) until the trade's invoice is issued, then
    applied to it as a Payment; an excess, or a deposit of a trade cancelled before production,
    goes back to the buyer (DepositRefund). See billing.services.deposits."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        PAID = "paid", _("Paid")
        APPLIED = "applied", _("Applied to the invoice")
        REFUNDED = "refunded", _("Refunded")
        CANCELLED = "cancelled", _("No longer requested")

    class Method(models.TextChoices):
        CARD = "card", _("Card")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    trade = models.OneToOneField("marketplace.Trade", on_delete=models.PROTECT, related_name="deposit")
    buyer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="deposits_paid")
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="deposits_requested")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    percent = models.DecimalField(_("deposit (%)"), max_digits=5, decimal_places=2)
    estimated_gross = models.DecimalField(_("estimated total"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    rule = models.CharField(_("rounding"), max_length=40)
    payment_reference = models.CharField(_("payment reference"), max_length=20, unique=True)
    method = models.CharField(_("paid by"), max_length=16, choices=Method.choices, blank=True)
    # The one PaymentIntent of a card deposit (idempotency key ``deposit:<id>``), stored before
    # it is confirmed; a declined card is retried on the same PaymentIntent.
    payment_intent_id = models.CharField(max_length=100, blank=True)
    client_secret = models.CharField(max_length=200, blank=True)
    card_status = models.CharField(max_length=30, blank=True)
    charge_id = models.CharField(max_length=100, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    paid_journal = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="deposits_applied"
    )
    applied_payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="deposit"
    )
    # Kept back from a cancelled trade's deposit for its cancellation fee; stays on
    # customer_deposits until the fee is invoiced.
    retained_amount = models.DecimalField(
        _("kept for the cancellation fee"), max_digits=14, decimal_places=2, default=0
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_positive"),
            models.CheckConstraint(condition=Q(percent__gt=0, percent__lte=100), name="deposit_percent_range"),
            models.UniqueConstraint(
                fields=["payment_intent_id"], condition=~Q(payment_intent_id=""), name="deposit_intent_unique"
            ),
            models.UniqueConstraint(
                fields=["bank_reference"], condition=~Q(bank_reference=""), name="deposit_bank_reference_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "cancelled"])
                | (Q(paid_at__isnull=False, paid_journal__isnull=False) & ~Q(method="")),
                name="deposit_paid_recorded",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="deposit_status_idx")]

    def __str__(self) -> str:
        return f"{self.payment_reference}: {self.amount} {self.currency} ({self.status})"


class DepositRefund(models.Model):
    """Deposit money going back to the buyer: the excess over the invoice, or what a trade
    cancelled before production leaves after its cancellation fee. By card it is a Stripe
    refund on the deposit's charge (sent at once); by bank it is owed (customer deposits →
    buyer credit) until an operator records the transfer (buyer credit → bank clearing)."""

    class Kind(models.TextChoices):
        EXCESS = "excess", _("Excess over the invoice")
        CANCELLATION = "cancellation", _("Trade cancelled")

    class Status(models.TextChoices):
        OWED = "owed", _("Owed to the buyer")
        SENT = "sent", _("Sent to the buyer")

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="refunds")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    method = models.CharField(_("method"), max_length=16, choices=Deposit.Method.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    refund_id = models.CharField(max_length=100, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    journal = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="+")
    executed_journal = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    executed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("deposit refund")
        verbose_name_plural = _("deposit refunds")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="depositrefund_amount_positive"),
            # One refund per deposit: the excess and the cancellation exclude each other.
            models.UniqueConstraint(fields=["deposit"], name="depositrefund_one_per_deposit"),
            models.UniqueConstraint(
                fields=["refund_id"], condition=~Q(refund_id=""), name="depositrefund_stripe_unique"
            ),
            models.CheckConstraint(
                condition=Q(method="card", status="sent", executed_at__isnull=False) & ~Q(refund_id="")
                | Q(method="bank_transfer", status="owed", executed_at__isnull=True, executed_journal__isnull=True)
                | (
                    Q(method="bank_transfer", status="sent", executed_at__isnull=False, executed_journal__isnull=False)
                    & ~Q(bank_reference="")
                ),
                name="depositrefund_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → deposit {self.deposit_id} ({self.status})"
