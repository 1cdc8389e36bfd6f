"""Supplementary invoices: an extra charge agreed after the invoice was issued gets an invoice of
its own in the seller's invoice series, pointing at the primary one, priced by the trade's VAT and
commission rules, posted to the ledger and payable like any invoice. Provider owners issue them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice, JournalTransaction
from billing.services.invoices import ExtraLine, amount_due, issue_invoice_for_trade, issue_supplementary_invoice
from billing.services.ledger import account_balance, ledger_account, trial_balance
from billing.services.payments import record_bank_transfer
from marketplace.errors import DomainError
from tests.billing.invoice_world import ISSUED_AT, completed_trade

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner) -> Invoice:
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    return issue_invoice_for_trade(trade=trade, now=ISSUED_AT)


def test_supplementary_invoice_is_numbered_priced_posted_and_payable(invoice, provider_org, buyer_org, operator):
    extra = issue_supplementary_invoice(
        invoice=invoice,
        lines=[
            ExtraLine(
                description="Deburring, agreed by phone", quantity=Decimal("1.5"), unit="h", unit_price=Decimal("80.00")
            ),
            ExtraLine(description="Express freight", quantity=Decimal("1"), unit_price=Decimal("35.55")),
        ],
        reason="Extra work agreed after delivery",
        now=ISSUED_AT,
    )
    # Net 120.00 + 35.55 = 155.55; VAT 13 % once on the net: 20.2215 → 20.22; commission 5 % is
    # 7.78, below the 10.00 minimum, so 10.00; the provider's share 145.55 by subtraction.
    assert (extra.number, extra.supplements, extra.trade_id, extra.status) == (
        "SP-2030-000002",
        invoice,
        invoice.trade_id,
        "issued",
    )
    assert (extra.net, extra.vat, extra.gross, extra.commission, extra.provider_share) == (
        Decimal("155.55"),
        Decimal("20.22"),
        Decimal("175.77"),
        Decimal("10.00"),
        Decimal("145.55"),
    )
    assert [(line.code, line.amount) for line in extra.lines.all()] == [
        ("extra", Decimal("120.00")),
        ("extra", Decimal("35.55")),
    ]
    assert extra.payment_reference != invoice.payment_reference
    assert JournalTransaction.objects.filter(idempotency_key=f"invoice:{extra.pk}").exists()
    receivable = account_balance(ledger_account("buyer_receivable", currency="CNY", organisation=buyer_org))
    assert receivable == invoice.gross + extra.gross
    assert trial_balance("CNY") == Decimal("0.00")
    # Payable like any invoice.
    record_bank_transfer(
        invoice=extra, amount=extra.gross, received_on=ISSUED_AT.date(), bank_reference="B-X", by=operator
    )
    extra.refresh_from_db()
    assert (extra.status, amount_due(extra), amount_due(invoice)) == ("paid", Decimal("0.00"), invoice.gross)


def test_supplementary_invoice_refuses_bad_lines_with_nothing_written(invoice):
    before = (Invoice.objects.count(), JournalTransaction.objects.count())
    for lines, reason, code in [
        ([], "Extra", "no_lines"),
        ([ExtraLine(description="x", quantity=Decimal("1"), unit_price=Decimal("1.001"))], "Extra", "amount"),
        ([ExtraLine(description="x", quantity=Decimal("0"), unit_price=Decimal("1.00"))], "Extra", "amount"),
        ([ExtraLine(description=" ", quantity=Decimal("1"), unit_price=Decimal("1.00"))], "Extra", "description"),
        ([ExtraLine(description="x", quantity=Decimal("1"), unit_price=Decimal("1.00"))], " ", "reason_required"),
    ]:
        with pytest.raises(DomainError) as refused:
            issue_supplementary_invoice(invoice=invoice, lines=lines, reason=reason, now=ISSUED_AT)
        assert refused.value.code == code
    assert (Invoice.objects.count(), JournalTransaction.objects.count()) == before


def test_provider_owners_issue_supplementary_invoices_from_the_invoice_page(
    invoice, provider_owner, provider_member, buyer_owner, client_for
):
    data = {
        "extra-description": "Extra fixture",
        "extra-quantity": "1",
        "extra-unit": "",
        "extra-unit_price": "100.00",
        "extra-reason": "Agreed on the phone",
    }
    url = reverse("billing:invoice_supplement", args=[invoice.pk])
    for user in (provider_member, buyer_owner):
        page = client_for(user).get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
        assert "Issue supplementary invoice" not in page
        assert client_for(user).post(url, data).status_code == 404
    assert Invoice.objects.count() == 1
    client = client_for(provider_owner)
    assert (
        "Issue supplementary invoice"
        in client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    )
    response = client.post(url, data)
    extra = Invoice.objects.get(supplements=invoice)
    assert response.status_code == 302 and response["Location"] == reverse("billing:invoice_detail", args=[extra.pk])
    assert (extra.net, extra.vat, extra.gross) == (Decimal("100.00"), Decimal("13.00"), Decimal("113.00"))
    page = client_for(buyer_owner).get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert extra.number in page
