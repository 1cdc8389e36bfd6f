"""Bank transfers recorded by an operator: partial, complete, overpayment refused, duplicates
refused; the operator page and its trial balance."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice, JournalTransaction, Payment
from billing.services.invoices import amount_due, issue_invoice_for_trade
from billing.services.ledger import account_balance, ledger_account, trial_balance
from billing.services.payments import record_bank_transfer
from marketplace.errors import DomainError
from tests.billing.invoice_world import ISSUED_AT, completed_trade

pytestmark = pytest.mark.django_db

PAID_AT = ISSUED_AT + timedelta(days=5)


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner):
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    return issue_invoice_for_trade(trade=trade, now=ISSUED_AT)  # 694.61 CNY


def test_partial_then_complete_payment(invoice, operator, buyer_org):
    first = record_bank_transfer(
        invoice=invoice,
        amount=Decimal("400.00"),
        received_on=date(2030, 12, 14),
        bank_reference="CMB-1",
        by=operator,
        now=PAID_AT,
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_at, amount_due(invoice)) == (Invoice.Status.ISSUED, None, Decimal("294.61"))
    assert [(p.side, p.account.code, p.amount) for p in first.journal.postings.order_by("side")] == [
        ("credit", "buyer_receivable", Decimal("400.00")),
        ("debit", "bank_clearing", Decimal("400.00")),
    ]
    record_bank_transfer(
        invoice=invoice,
        amount=Decimal("294.61"),
        received_on=date(2030, 12, 15),
        bank_reference="CMB-2",
        by=operator,
        now=PAID_AT,
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_at, amount_due(invoice)) == (Invoice.Status.PAID, PAID_AT, Decimal("0.00"))
    assert Payment.objects.filter(invoice=invoice).count() == 2
    assert account_balance(ledger_account("buyer_receivable", currency="CNY", organisation=buyer_org)) == Decimal(
        "0.00"
    )
    assert account_balance(ledger_account("bank_clearing", currency="CNY")) == Decimal("694.61")
    assert trial_balance("CNY") == Decimal("0.00")
    assert list(invoice.events.values_list("to_status", flat=True)) == ["draft", "issued", "paid"]


def test_overpayment_is_refused_and_changes_nothing(invoice, operator):
    with pytest.raises(DomainError) as refused:
        record_bank_transfer(
            invoice=invoice,
            amount=Decimal("694.62"),
            received_on=date(2030, 12, 14),
            bank_reference="CMB-9",
            by=operator,
        )
    assert refused.value.code == "overpayment"
    assert "694.61" in str(refused.value.message)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert Payment.objects.count() == 0
    assert JournalTransaction.objects.filter(kind="bank_transfer").count() == 0


def test_the_same_bank_reference_is_recorded_once(invoice, operator):
    record_bank_transfer(
        invoice=invoice, amount=Decimal("100.00"), received_on=date(2030, 12, 14), bank_reference="CMB-1", by=operator
    )
    with pytest.raises(DomainError) as refused:
        record_bank_transfer(
            invoice=invoice,
            amount=Decimal("100.00"),
            received_on=date(2030, 12, 14),
            bank_reference="CMB-1",
            by=operator,
        )
    assert refused.value.code == "duplicate"
    assert amount_due(invoice) == Decimal("594.61")


def test_paid_invoice_takes_no_more_money(invoice, operator):
    record_bank_transfer(
        invoice=invoice, amount=Decimal("694.61"), received_on=date(2030, 12, 14), bank_reference="CMB-1", by=operator
    )
    with pytest.raises(DomainError) as refused:
        record_bank_transfer(
            invoice=invoice,
            amount=Decimal("1.00"),
            received_on=date(2030, 12, 14),
            bank_reference="CMB-2",
            by=operator,
        )
    assert refused.value.code == "not_open"


def test_operator_records_a_transfer_on_the_payments_page(client, invoice, operator):
    client.force_login(operator)
    response = client.get(reverse("billing:ops_payments"))
    assert response.status_code == 200
    assert invoice.payment_reference in response.content.decode()

    form = {
        "reference": invoice.payment_reference.lower(),
        "amount": "700.00",
        "received_on": "2030-12-14",
        "bank_reference": "CMB-7",
    }
    refused = client.post(reverse("billing:ops_payments"), form)
    assert refused.status_code == 400
    assert Payment.objects.count() == 0

    response = client.post(reverse("billing:ops_payments"), {**form, "amount": "694.61"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.get().bank_reference == "CMB-7"


def test_non_operators_are_refused(client, invoice, provider_owner):
    client.force_login(provider_owner)
    assert client.get(reverse("billing:ops_payments")).status_code == 403
    response = client.post(
        reverse("billing:ops_payments"),
        {"reference": invoice.payment_reference, "amount": "1.00", "received_on": "2030-12-14", "bank_reference": "x"},
    )
    assert response.status_code == 403
    assert Payment.objects.count() == 0
