"""The double-entry ledger: balanced, immutable, idempotent — enforced by the database too."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from billing.models import JournalTransaction, Posting
from billing.services.ledger import (
    LedgerError,
    account_balance,
    credit,
    debit,
    ledger_account,
    post_transaction,
    reverse_transaction,
    trial_balance,
)
from tests.factories import OrganisationFactory


@pytest.fixture
def books(db):
    buyer, provider = OrganisationFactory(kind="buyer"), OrganisationFactory(kind="provider")
    return {
        "receivable": ledger_account("buyer_receivable", currency="CNY", organisation=buyer),
        "payable": ledger_account("provider_payable", currency="CNY", organisation=provider),
        "commission": ledger_account("commission_revenue", currency="CNY"),
        "vat": ledger_account("vat_payable", currency="CNY"),
        "stripe": ledger_account("stripe_clearing", currency="CNY"),
        "usd_stripe": ledger_account("stripe_clearing", currency="USD"),
    }


def issue_invoice(books, key="invoice:1"):
    # Net 4,200.00 + VAT 546.00: provider share 3,990.00, commission 210.00.
    return post_transaction(
        key=key,
        kind="invoice_issued",
        lines=[
            debit(books["receivable"], Decimal("4746.00")),
            credit(books["payable"], Decimal("3990.00")),
            credit(books["commission"], Decimal("210.00")),
            credit(books["vat"], Decimal("546.00")),
        ],
    )


def test_a_balanced_transaction_moves_balances(books):
    issue_invoice(books)
    assert account_balance(books["receivable"]) == Decimal("4746.00")
    assert account_balance(books["payable"]) == Decimal("3990.00")
    assert account_balance(books["commission"]) == Decimal("210.00")
    assert trial_balance("CNY") == 0


def test_the_same_key_posts_once(books):
    first = issue_invoice(books)
    assert issue_invoice(books) == first
    assert JournalTransaction.objects.count() == 1
    assert Posting.objects.count() == 4


@pytest.mark.parametrize(
    "lines",
    [
        lambda b: [debit(b["receivable"], Decimal("10.00")), credit(b["payable"], Decimal("9.99"))],
        lambda b: [debit(b["receivable"], Decimal("10.00"))],
        lambda b: [debit(b["receivable"], Decimal("-1.00")), credit(b["payable"], Decimal("-1.00"))],
        lambda b: [debit(b["receivable"], Decimal("10.005")), credit(b["payable"], Decimal("10.005"))],
        lambda b: [debit(b["stripe"], Decimal("10.00")), credit(b["usd_stripe"], Decimal("10.00"))],
    ],
    ids=["unbalanced", "one-sided", "negative", "unrounded", "cross-currency"],
)
def test_malformed_transactions_are_refused_and_write_nothing(books, lines):
    with pytest.raises(LedgerError):
        post_transaction(key="bad", kind="test", lines=lines(books))
    assert JournalTransaction.objects.count() == 0


def test_postings_cannot_be_edited_or_deleted(books):
    issue_invoice(books)
    posting = Posting.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount=Decimal("1.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalTransaction.objects.all().delete()


def test_a_reversal_restores_every_balance(books):
    original = issue_invoice(books)
    reverse_transaction(original=original, key="void:invoice:1")
    for name in ("receivable", "payable", "commission", "vat"):
        assert account_balance(books[name]) == 0
    assert original.reversed_by.kind == "reversal:invoice_issued"


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_an_unbalanced_transaction_at_commit():
    receivable = ledger_account("buyer_receivable", currency="CNY", organisation=OrganisationFactory())
    payable = ledger_account("provider_payable", currency="CNY", organisation=OrganisationFactory())
    with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic():
        journal = JournalTransaction.objects.create(idempotency_key="raw", kind="raw", effective_at="2026-12-01T00:00Z")
        Posting.objects.create(transaction=journal, account=receivable, side="debit", amount=10, currency="CNY")
        Posting.objects.create(transaction=journal, account=payable, side="credit", amount=9, currency="CNY")
    assert JournalTransaction.objects.count() == 0
    with pytest.raises(DatabaseError, match="differs"), transaction.atomic():
        journal = JournalTransaction.objects.create(
            idempotency_key="raw2", kind="raw", effective_at="2026-12-01T00:00Z"
        )
        Posting.objects.create(transaction=journal, account=receivable, side="debit", amount=10, currency="USD")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_posting")
        assert cursor.fetchone()[0] == 0


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


class TrialBalanceProperty(TestCase):
    @settings(deadline=None)  # examples: the profile (tests/conftest.py)
    @given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), amounts), min_size=1, max_size=12))
    def test_any_sequence_of_postings_keeps_the_books_balanced(self, moves):
        codes = ["buyer_receivable", "stripe_clearing", "provider_payable", "commission_revenue", "vat_payable"]
        accounts = [ledger_account(code, currency="CNY") for code in codes]
        for n, (source, target, amount) in enumerate(moves):
            if source == target:
                continue
            post_transaction(
                key=f"move:{n}", kind="test", lines=[debit(accounts[source], amount), credit(accounts[target], amount)]
            )
        assert trial_balance("CNY") == 0
        assert sum(account_balance(a) * (1 if a.is_debit_normal else -1) for a in accounts) == 0
