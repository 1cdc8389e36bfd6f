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
