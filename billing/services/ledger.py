"""Posting balanced journal transactions.

Callers describe a movement as lines (account, side, amount); ``post_transaction`` checks that
it balances per currency and that amounts are rounded to the currency's minor unit, then writes
it once per idempotency key — a retry (a redelivered webhook, a re-run job) returns the same
transaction and moves no money twice. The database re-checks balance and immutability.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, DecimalField, F, Q, Sum, When
from django.utils import timezone

from billing.models import JournalTransaction, LedgerAccount, Posting
from billing.money import quantize
from marketplace.models import Organisation

Type = LedgerAccount.Type

# The chart of accounts: every code the platform posts to, and its type.
ACCOUNT_TYPES: dict[str, str] = {
    "buyer_receivable": Type.ASSET,  # what a buyer owes on issued invoices
    "stripe_clearing": Type.ASSET,  # card money held at Stripe, not yet paid out
    "bank_clearing": Type.ASSET,  # transfers received into the platform's bank account
    "buyer_credit": Type.LIABILITY,  # prepayments and credit owed back to a buyer
    "customer_deposits": Type.LIABILITY,  # deposits a buyer paid on trades not yet invoiced
    "provider_payable": Type.LIABILITY,  # what the platform owes a provider (net of commission)
    "vat_payable": Type.LIABILITY,  # VAT collected on the provider's behalf
    "commission_revenue": Type.REVENUE,  # the platform's commission
    "stripe_fees": Type.EXPENSE,  # processing fees the platform bears
    "platform_equity": Type.EQUITY,  # opening balances and write-offs
}


class LedgerError(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    account: LedgerAccount
    side: str  # Posting.Side.DEBIT or CREDIT
    amount: Decimal


def ledger_account(code: str, *, currency: str, organisation: Organisation | None = None) -> LedgerAccount:
    """The account ``code`` in ``currency`` (for ``organisation`` where it is per-organisation)."""
    if code not in ACCOUNT_TYPES:
        raise LedgerError(f"unknown ledger account {code!r}")
    try:
        account, _ = LedgerAccount.objects.get_or_create(
            code=code, currency=currency, organisation=organisation, defaults={"type": ACCOUNT_TYPES[code]}
        )
    except IntegrityError:
        account = LedgerAccount.objects.get(code=code, currency=currency, organisation=organisation)
    return account


def debit(account: LedgerAccount, amount: Decimal) -> Line:
    return Line(account, Posting.Side.DEBIT, amount)


def credit(account: LedgerAccount, amount: Decimal) -> Line:
    return Line(account, Posting.Side.CREDIT, amount)


def _check(lines: list[Line]) -> None:
    if len(lines) < 2:
        raise LedgerError("a journal transaction needs at least two postings")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.amount <= 0:
            raise LedgerError(f"posting amounts must be positive, got {line.amount}")
        if quantize(line.amount, line.account.currency) != line.amount:
            raise LedgerError(f"{line.amount} is not rounded to the minor unit of {line.account.currency}")
        totals[line.account.currency] += line.amount if line.side == Posting.Side.DEBIT else -line.amount
    unbalanced = {currency: total for currency, total in totals.items() if total}
    if unbalanced:
        raise LedgerError(f"journal transaction does not balance: {unbalanced}")


def post_transaction(
    *,
    key: str,
    kind: str,
    lines: list[Line],
    memo: str = "",
    effective_at: datetime | None = None,
    created_by=None,
    reverses: JournalTransaction | None = None,
) -> JournalTransaction:
    """Write one balanced transaction, or return the one already written under ``key``."""
    existing = JournalTransaction.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    _check(lines)
    try:
        with transaction.atomic():
            journal = JournalTransaction.objects.create(
                idempotency_key=key,
                kind=kind,
                memo=memo[:300],
                effective_at=effective_at or timezone.now(),
                created_by=created_by,
                reverses=reverses,
            )
            Posting.objects.bulk_create(
                [
                    Posting(
                        transaction=journal,
                        account=line.account,
                        side=line.side,
                        amount=line.amount,
                        currency=line.account.currency,
                    )
                    for line in lines
                ]
            )
    except IntegrityError:
        # A concurrent writer posted the same key first: theirs stands.
        existing = JournalTransaction.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return existing
    return journal


def reverse_transaction(*, original: JournalTransaction, key: str, memo: str = "", created_by=None):
    """Post the mirror image of ``original`` (debits become credits), linked to it."""
    lines = [
        Line(p.account, Posting.Side.CREDIT if p.side == Posting.Side.DEBIT else Posting.Side.DEBIT, p.amount)
        for p in original.postings.select_related("account")
    ]
    return post_transaction(
        key=key,
        kind=f"reversal:{original.kind}",
        lines=lines,
        memo=memo or f"Reversal of {original.idempotency_key}",
        created_by=created_by,
        reverses=original,
    )


def account_balance(account: LedgerAccount) -> Decimal:
    """The balance in the account's normal direction (assets/expenses: debit − credit)."""
    signed = Sum(
        Case(
            When(side=Posting.Side.DEBIT, then=F("amount")),
            default=-F("amount"),
            output_field=DecimalField(max_digits=20, decimal_places=2),
        )
    )
    total = Posting.objects.filter(account=account).aggregate(total=signed)["total"] or Decimal("0.00")
    return total if account.is_debit_normal else -total


def trial_balance(currency: str) -> Decimal:
    """Σ debits − Σ credits over the whole ledger in ``currency``: always zero."""
    result = Posting.objects.filter(currency=currency).aggregate(
        total=Sum(
            Case(
                When(side=Posting.Side.DEBIT, then=F("amount")),
                default=-F("amount"),
                output_field=DecimalField(max_digits=20, decimal_places=2),
            )
        )
    )
    return result["total"] or Decimal("0.00")


def account_cache(specs: list[tuple[str, str, Organisation | None]] = ()):
    """``ledger_account`` remembering what it found, for writing many entries in one
    transaction (discard it with the transaction). ``specs`` (code, currency, organisation) are
    fetched — and the missing ones created — with three statements up front."""
    found: dict[tuple, LedgerAccount] = {}
    wanted = {(code, currency, organisation.pk if organisation else None) for code, currency, organisation in specs}
    if wanted:

        def fetch():
            organisations = {organisation_id for _c, _cu, organisation_id in wanted}
            candidates = LedgerAccount.objects.filter(
                Q(organisation_id__in=organisations - {None}) | Q(organisation__isnull=True),
                code__in={code for code, _cu, _o in wanted},
                currency__in={currency for _c, currency, _o in wanted},
            )
            for account in candidates:
                key = (account.code, account.currency, account.organisation_id)
                if key in wanted:
                    found[key] = account

        fetch()
        missing = wanted - set(found)
        if missing:
            LedgerAccount.objects.bulk_create(
                [
                    LedgerAccount(
                        code=code, currency=currency, organisation_id=organisation_id, type=ACCOUNT_TYPES[code]
                    )
                    for code, currency, organisation_id in sorted(missing, key=str)
                ],
                ignore_conflicts=True,
            )
            fetch()

    def account(code: str, *, currency: str, organisation: Organisation | None = None) -> LedgerAccount:
        key = (code, currency, organisation.pk if organisation is not None else None)
        if key not in found:
            found[key] = ledger_account(code, currency=currency, organisation=organisation)
        return found[key]

    return account


def post_new_transactions(
    entries: list[tuple[str, str, list[Line], str]], *, effective_at: datetime, created_by=None
) -> list[JournalTransaction]:
    """Write many balanced transactions ``(key, kind, lines, memo)`` with two statements. For
    documents created in the same transaction, whose keys cannot exist yet: a key that does
    makes the whole call fail (IntegrityError) rather than silently reuse it."""
    for _key, _kind, lines, _memo in entries:
        _check(lines)
    journals = JournalTransaction.objects.bulk_create(
        JournalTransaction(
            idempotency_key=key, kind=kind, memo=memo[:300], effective_at=effective_at, created_by=created_by
        )
        for key, kind, _lines, memo in entries
    )
    Posting.objects.bulk_create(
        Posting(
            transaction=journal,
            account=line.account,
            side=line.side,
            amount=line.amount,
            currency=line.account.currency,
        )
        for journal, (_key, _kind, lines, _memo) in zip(journals, entries, strict=True)
        for line in lines
    )
    return journals
