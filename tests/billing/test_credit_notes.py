"""Partial credit notes: a credited gross is split by the invoice's VAT rate (net HALF_UP, VAT
the rest), the commission is recomputed on the reduced net within its minimum and maximum, the
provider's share credited by subtraction; the ledger gets the exact reverse share; the invoice
stays open with less due, turns paid when its payments cover the rest, void when nothing is left.
Over-crediting and malformed amounts are refused with nothing changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from billing.models import BankRefund, CreditNote, DocumentSequence, Invoice, JournalTransaction
from billing.pricing import Terms, commission_on, split_credit
from billing.services.invoices import amount_due, issue_credit_note, issue_invoice_for_trade, remaining_of
from billing.services.ledger import account_balance, ledger_account, trial_balance
from billing.services.payments import record_bank_transfer
from billing.services.payouts import credit_and_refund, record_bank_refund_executed
from marketplace.errors import DomainError
from tests.billing.invoice_world import ISSUED_AT, completed_trade

pytestmark = [pytest.mark.usefixtures("english")]

TERMS = Terms(
    currency="CNY",
    billing_unit="part",
    rate=Decimal("1"),
    vat_rate=Decimal("0.13"),
    commission_rate=Decimal("0.05"),
    commission_min=Decimal("10.00"),
    commission_max=Decimal("5000"),
)


def _split(amount, net, vat, commission, terms=TERMS):
    split = split_credit(
        Decimal(amount),
        remaining_net=Decimal(net),
        remaining_vat=Decimal(vat),
        remaining_commission=Decimal(commission),
        terms=terms,
    )
    return tuple(str(v) for v in (split.net, split.vat, split.commission, split.provider_share))


# --- golden cents --------------------------------------------------------------------------------


def test_golden_partial_credit_splits():
    # The invoice world's 614.70 + 79.91: 100.00 → net 88.4956 → 88.50, VAT 11.50; commission
    # 30.74 → 26.31 on 526.20 (26.31 = 526.20 × 5 % HALF_UP), so 4.43 credited, share 84.07.
    assert _split("100.00", "614.70", "79.91", "30.74") == ("88.50", "11.50", "4.43", "84.07")
    # One cent: net 0.00885 → 0.01, no VAT; commission 30.7345 → 30.73, the cent is commission.
    assert _split("0.01", "614.70", "79.91", "30.74") == ("0.01", "0.00", "0.01", "0.00")
    # Commission at its minimum: net 300.00 (15.00) credited down to 150.00, where 5 % is 7.50 <
    # the 10.00 minimum: only 5.00 of commission is credited, the provider bears the rest.
    assert _split("169.50", "300.00", "39.00", "15.00") == ("150.00", "19.50", "5.00", "145.00")
    # Already at the minimum: a further credit takes no commission at all…
    assert _split("56.50", "150.00", "19.50", "10.00") == ("50.00", "6.50", "0.00", "50.00")
    # …until the net falls below it: commission never exceeds the net.
    assert _split("107.35", "100.00", "13.00", "10.00") == ("95.00", "12.35", "5.00", "90.00")
    # Commission at its maximum (5 % of 200,000 = 10,000 → 5,000): halving the net keeps it there.
    assert _split("113000.00", "200000.00", "26000.00", "5000.00") == ("100000.00", "13000.00", "0.00", "100000.00")
    # All that remains: exactly the remaining parts, whatever the rate would say.
    assert _split("11.29", "10.00", "1.29", "10.00") == ("10.00", "1.29", "10.00", "0.00")


def test_a_cent_moves_to_net_when_vat_would_be_over_credited():
    # Earlier notes left VAT 1.29 on a net of 10.00 (the rate says 1.30): crediting 11.28 would
    # split 9.98 + 1.30, more VAT than remains, so the cent goes to the net: 9.99 + 1.29.
    assert _split("11.28", "10.00", "1.29", "10.00") == ("9.99", "1.29", "9.99", "0.00")


amounts = st.integers(min_value=1, max_value=5_000_000).map(lambda cents: Decimal(cents).scaleb(-2))


@given(
    net=amounts,
    vat_rate=st.sampled_from([Decimal("0.13"), Decimal("0.06"), Decimal("0.09"), Decimal("0")]),
    rate=st.sampled_from([Decimal("0.05"), Decimal("0.08"), Decimal("0.15")]),
    minimum=st.sampled_from([Decimal("0"), Decimal("10.00"), Decimal("200.00")]),
    maximum=st.sampled_from([None, Decimal("500.00"), Decimal("5000.00")]),
    fractions=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=8),
)
def test_any_sequence_of_partial_credits_keeps_the_remaining_invoice_adding_up(
    net, vat_rate, rate, minimum, maximum, fractions
):
    terms = Terms(
        currency="CNY",
        billing_unit="part",
        rate=Decimal("1"),
        vat_rate=vat_rate,
        commission_rate=rate,
        commission_min=minimum,
        commission_max=maximum,
    )
    vat = (net * vat_rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    commission = commission_on(net, terms)
    remaining = {"net": net, "vat": vat, "gross": net + vat, "commission": commission, "share": net - commission}
    for fraction in fractions:
        amount = max((remaining["gross"] * fraction / 1000).quantize(Decimal("0.01")), Decimal("0.01"))
        amount = min(amount, remaining["gross"])
        split = split_credit(
            amount,
            remaining_net=remaining["net"],
            remaining_vat=remaining["vat"],
            remaining_commission=remaining["commission"],
            terms=terms,
        )
        assert split.gross == split.net + split.vat == amount
        assert split.net == split.commission + split.provider_share
        assert min(split.net, split.vat, split.commission, split.provider_share) >= 0
        remaining = {
            "net": remaining["net"] - split.net,
            "vat": remaining["vat"] - split.vat,
            "gross": remaining["gross"] - amount,
            "commission": remaining["commission"] - split.commission,
            "share": remaining["share"] - split.provider_share,
        }
        assert remaining["net"] + remaining["vat"] == remaining["gross"]
        assert remaining["commission"] + remaining["share"] + remaining["vat"] == remaining["gross"]
        assert min(remaining.values()) >= 0
        assert remaining["commission"] == commission_on(remaining["net"], terms)  # recomputed, never drifting
        if remaining["gross"] == 0:
            break
    # Crediting what is left empties every part at once.
    if remaining["gross"]:
        last = split_credit(
            remaining["gross"],
            remaining_net=remaining["net"],
            remaining_vat=remaining["vat"],
            remaining_commission=remaining["commission"],
            terms=terms,
        )
        assert (last.net, last.vat, last.commission, last.provider_share) == (
            remaining["net"],
            remaining["vat"],
            remaining["commission"],
            remaining["share"],
        )


# --- on an invoice ---------------------------------------------------------------------------------


@pytest.fixture
def invoice(db, provider_org, provider_owner, buyer_org, buyer_owner) -> Invoice:
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    return issue_invoice_for_trade(trade=trade, now=ISSUED_AT)  # 694.61 = 614.70 + 79.91; 30.74 / 583.96


def _balance(code, organisation=None):
    return account_balance(ledger_account(code, currency="CNY", organisation=organisation))


def _state(invoice):
    invoice.refresh_from_db()
    return (
        invoice.status,
        CreditNote.objects.count(),
        JournalTransaction.objects.count(),
        list(DocumentSequence.objects.values_list("kind", "last_number").order_by("kind")),
        BankRefund.objects.count(),
    )


def test_partial_credit_notes_on_an_unpaid_invoice(invoice, provider_org, buyer_org, provider_owner):
    first = issue_credit_note(invoice=invoice, amount=Decimal("100.00"), reason="Six parts rejected", now=ISSUED_AT)
    assert (first.number, first.gross, first.net, first.vat, first.commission, first.provider_share) == (
        "SP-CN-2030-000001",
        Decimal("-100.00"),
        Decimal("-88.50"),
        Decimal("-11.50"),
        Decimal("-4.43"),
        Decimal("-84.07"),
    )
    assert first.lines == [
        {
            "code": "credit",
            "description": "Six parts rejected",
            "quantity": "-1",
            "unit": "",
            "unit_price": "88.50",
            "amount": "-88.50",
        }
    ]
    journal = JournalTransaction.objects.get(idempotency_key=f"credit_note:{first.pk}")
    assert sorted((p.side, p.account.code, p.amount) for p in journal.postings.select_related("account")) == [
        ("credit", "buyer_receivable", Decimal("100.00")),
        ("debit", "commission_revenue", Decimal("4.43")),
        ("debit", "provider_payable", Decimal("84.07")),
        ("debit", "vat_payable", Decimal("11.50")),
    ]
    invoice.refresh_from_db()
    assert (invoice.status, amount_due(invoice)) == ("issued", Decimal("594.61"))
    second = issue_credit_note(invoice=invoice, amount=Decimal("0.01"), reason="Rounding", now=ISSUED_AT)
    assert second.number == "SP-CN-2030-000002"
    rest = remaining_of(invoice)
    assert (rest.gross, rest.net, rest.vat, rest.commission, rest.provider_share) == (
        Decimal("594.60"),
        Decimal("526.19"),
        Decimal("68.41"),
        Decimal("26.31"),
        Decimal("499.88"),
    )
    assert _balance("buyer_receivable", buyer_org) == Decimal("594.60")
    assert _balance("provider_payable", provider_org) == rest.provider_share
    assert _balance("commission_revenue") == rest.commission
    assert _balance("vat_payable", provider_org) == rest.vat
    assert trial_balance("CNY") == Decimal("0.00")

    # Crediting the rest voids it; the series stays gapless.
    last = issue_credit_note(invoice=invoice, reason="Order cancelled", now=ISSUED_AT)
    assert (last.number, last.gross) == ("SP-CN-2030-000003", Decimal("-594.60"))
    invoice.refresh_from_db()
    assert (invoice.status, amount_due(invoice)) == ("void", Decimal("0.00"))
    assert _balance("buyer_receivable", buyer_org) == _balance("provider_payable", provider_org) == Decimal("0.00")
    assert trial_balance("CNY") == Decimal("0.00")


def test_over_credit_and_malformed_amounts_are_refused_with_nothing_changed(invoice):
    issue_credit_note(invoice=invoice, amount=Decimal("600.00"), reason="Most of it", now=ISSUED_AT)
    before = _state(invoice)
    for amount, code in [
        (Decimal("94.62"), "over_credit"),
        (Decimal("0"), "amount"),
        (Decimal("-1.00"), "amount"),
        (Decimal("0.001"), "amount"),
    ]:
        with pytest.raises(DomainError) as refused:
            issue_credit_note(invoice=invoice, amount=amount, reason="Again", now=ISSUED_AT)
        assert refused.value.code == code, amount
    with pytest.raises(DomainError) as refused:
        issue_credit_note(invoice=invoice, amount=Decimal("94.62"), reason="Again", now=ISSUED_AT)
    assert "At most CN¥94.61 of invoice SP-2030-000001 can still be credited" in refused.value.message
    assert _state(invoice) == before


def test_a_credit_the_payments_then_cover_marks_the_invoice_paid(invoice, operator):
    record_bank_transfer(
        invoice=invoice, amount=Decimal("594.61"), received_on=ISSUED_AT.date(), bank_reference="B-1", by=operator
    )
    issue_credit_note(invoice=invoice, amount=Decimal("100.00"), reason="Agreed discount", now=ISSUED_AT)
    invoice.refresh_from_db()
    assert (invoice.status, amount_due(invoice)) == ("paid", Decimal("0.00"))
    # Crediting more now would owe money back: the seller alone cannot.
    before = _state(invoice)
    with pytest.raises(DomainError) as refused:
        issue_credit_note(invoice=invoice, amount=Decimal("1.00"), reason="More", now=ISSUED_AT)
    assert refused.value.code == "paid"
    assert _state(invoice) == before


def test_bank_money_credited_back_is_owed_then_sent(invoice, operator, buyer_org, provider_org):
    record_bank_transfer(
        invoice=invoice, amount=GROSS_PAID, received_on=ISSUED_AT.date(), bank_reference="B-2", by=operator
    )
    outcome = credit_and_refund(invoice=invoice, amount=Decimal("100.00"), reason="Late", by=operator, now=ISSUED_AT)
    owed = outcome.bank_refund
    assert (outcome.refund, owed.amount, owed.status, owed.credit_note) == (
        None,
        Decimal("100.00"),
        "owed",
        outcome.credit_note,
    )
    invoice.refresh_from_db()
    assert (invoice.status, amount_due(invoice)) == ("paid", Decimal("0.00"))
    assert _balance("buyer_credit", buyer_org) == Decimal("100.00")
    assert _balance("buyer_receivable", buyer_org) == Decimal("0.00")
    assert trial_balance("CNY") == Decimal("0.00")

    record_bank_refund_executed(bank_refund=owed, bank_reference="ICBC-RF-1", by=operator, now=ISSUED_AT)
    owed.refresh_from_db()
    assert (owed.status, owed.bank_reference, owed.executed_by) == ("executed", "ICBC-RF-1", operator)
    assert _balance("buyer_credit", buyer_org) == Decimal("0.00")
    assert _balance("bank_clearing") == Decimal("594.61")
    assert trial_balance("CNY") == Decimal("0.00")
    with pytest.raises(DomainError) as refused:
        record_bank_refund_executed(bank_refund=owed, bank_reference="ICBC-RF-2", by=operator)
    assert refused.value.code == "executed"
    assert JournalTransaction.objects.filter(kind="bank_refund").count() == 1


GROSS_PAID = Decimal("694.61")


def test_operator_records_a_bank_refund_from_the_invoice_page(invoice, operator, client_for):
    record_bank_transfer(
        invoice=invoice, amount=GROSS_PAID, received_on=ISSUED_AT.date(), bank_reference="B-3", by=operator
    )
    owed = credit_and_refund(invoice=invoice, amount=Decimal("10.00"), reason="Late", by=operator).bank_refund
    client = client_for(operator)
    listing = client.get(reverse("billing:ops_payments")).content.decode()
    assert owed.credit_note.number in listing and "CN¥10.00" in listing
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Record as sent" in page and "Owed to the buyer" in page
    response = client.post(
        reverse("billing:bank_refund_executed", args=[owed.pk]), {"bankrefund-bank_reference": "ICBC-RF-9"}
    )
    assert response.status_code == 302
    owed.refresh_from_db()
    assert (owed.status, owed.bank_reference) == ("executed", "ICBC-RF-9")
    assert owed.credit_note.number not in client.get(reverse("billing:ops_payments")).content.decode()


def test_seller_issues_a_partial_credit_note_from_the_invoice_page(invoice, provider_owner, buyer_owner, client_for):
    client = client_for(provider_owner)
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Amount to credit" in page
    response = client.post(
        reverse("billing:invoice_credit_note", args=[invoice.pk]), {"amount": "100.00", "reason": "Late delivery"}
    )
    assert response.status_code == 302
    note = CreditNote.objects.get()
    assert note.gross == Decimal("-100.00")
    page = client_for(buyer_owner).get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert note.number in page and "CN¥594.61" in page  # the amount due, after the credit note
    from billing.pdf import render_invoice_pdf

    assert render_invoice_pdf(invoice).startswith(b"%PDF")
