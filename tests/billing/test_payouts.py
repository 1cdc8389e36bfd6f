"""Payouts: a provider onboards a Connect Express account; once its trade is completed and the
invoice paid by card, its share is transferred once (linked to the charge, idempotency key
``payout:<invoice>``); refunds after payout reverse the transfer; providers without Stripe
are paid by bank and an operator records it. Payout + commission + VAT = gross paid."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import ConnectAccount, CreditNote, Invoice, JournalTransaction, Payout, Refund, StripePayment
from billing.money import to_minor_units
from billing.services.card_payments import pay_by_card
from billing.services.invoices import amount_due
from billing.services.ledger import account_balance, ledger_account, trial_balance
from billing.services.payouts import record_bank_payout, refresh_connect_account, refund_invoice_payment
from billing.tasks import pay_out_invoice
from marketplace.errors import DomainError
from tests.billing.stripe_world import FEE, GROSS, issued_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _balance(code, organisation=None):
    return account_balance(ledger_account(code, currency="CNY", organisation=organisation))


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner):
    return issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner)


@pytest.fixture
def onboarded(stripe_on, connect_server, provider_org, provider_owner, client_for):
    response = client_for(provider_owner).post(reverse("billing:connect_onboarding"))
    account = ConnectAccount.objects.get(organisation=provider_org)
    assert response.status_code == 302
    assert response["Location"].startswith(f"https://connect.stripe.test/setup/e/{account.account_id}/")
    assert (account.payouts_enabled, account.charges_enabled) == (False, False)
    account = refresh_connect_account(organisation=provider_org)
    assert (account.payouts_enabled, account.charges_enabled, account.details_submitted) == (True, True, True)
    return account


def _pay(invoice, capture):
    with capture(execute=True):
        pay_by_card(invoice=invoice, payment_method="pm_card_visa")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_paid_invoice_is_paid_out_once_by_transfer(
    onboarded, connect_server, invoice, provider_org, buyer_org, django_capture_on_commit_callbacks
):
    _, state = connect_server
    _pay(invoice, django_capture_on_commit_callbacks)
    payout = Payout.objects.get(invoice=invoice)
    charge = StripePayment.objects.get(invoice=invoice)
    [transfer] = state.transfers.values()
    assert (payout.method, payout.amount, payout.transfer_id) == ("stripe", invoice.provider_share, transfer["id"])
    assert transfer["amount"] == to_minor_units(invoice.provider_share, "CNY")
    assert (transfer["destination"], transfer["source_transaction"], transfer["currency"]) == (
        onboarded.account_id,
        charge.charge_id,
        "cny",
    )
    assert f"payout:{invoice.pk}" in state.idempotent

    # The task runs again (a redelivered job): nothing more moves, here or at Stripe.
    assert pay_out_invoice.delay(invoice.pk).get() == transfer["id"]
    assert Payout.objects.count() == 1 and len(state.transfers) == 1
    assert [(p.side, p.account.code, p.amount) for p in payout.journal.postings.order_by("side")] == [
        ("credit", "stripe_clearing", invoice.provider_share),
        ("debit", "provider_payable", invoice.provider_share),
    ]
    assert JournalTransaction.objects.filter(kind="payout").count() == 1

    # The books: the provider is square, the platform keeps commission and VAT of the gross.
    assert _balance("provider_payable", provider_org) == Decimal("0.00")
    assert _balance("buyer_receivable", buyer_org) == Decimal("0.00")
    assert _balance("commission_revenue") == invoice.commission
    assert _balance("vat_payable", provider_org) == invoice.vat
    assert _balance("stripe_clearing") == GROSS - FEE - payout.amount
    assert _balance("stripe_fees") == FEE
    assert payout.amount + invoice.commission + invoice.vat == GROSS
    assert trial_balance("CNY") == Decimal("0.00")


def test_full_refund_after_payout_reverses_the_transfer_and_credits_the_invoice(
    onboarded, connect_server, invoice, provider_org, buyer_org, operator, django_capture_on_commit_callbacks
):
    _, state = connect_server
    _pay(invoice, django_capture_on_commit_callbacks)
    payout = Payout.objects.get()
    refund = refund_invoice_payment(invoice=invoice, amount=GROSS, reason="Parts out of tolerance", by=operator)

    [transfer] = state.transfers.values()
    assert (transfer["amount_reversed"], transfer["reversed"]) == (to_minor_units(payout.amount, "CNY"), True)
    assert refund.transfer_reversal_id == transfer["reversals"]["data"][0]["id"]
    assert refund.refund_id.startswith("re_") and refund.amount == GROSS
    note = CreditNote.objects.get(invoice=invoice)
    assert (refund.credit_note, note.gross) == (note, -GROSS)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    payout.refresh_from_db()
    assert payout.reversed_amount == payout.amount
    # Stripe keeps its fee on a refunded charge: the platform bears it.
    assert (_balance("stripe_clearing"), _balance("stripe_fees")) == (-FEE, FEE)
    for code, organisation in [
        ("provider_payable", provider_org),
        ("buyer_receivable", buyer_org),
        ("commission_revenue", None),
        ("vat_payable", provider_org),
    ]:
        assert _balance(code, organisation) == Decimal("0.00"), code
    assert trial_balance("CNY") == Decimal("0.00")


def test_partial_refund_after_payout_is_a_partial_credit_note_and_reverses_the_credited_share(
    onboarded, connect_server, invoice, provider_org, buyer_org, operator, django_capture_on_commit_callbacks
):
    # 694.61 = net 614.70 + VAT 79.91; commission 30.74, share 583.96. Crediting 100.00:
    # net 88.50 (100 / 1.13 HALF_UP), VAT 11.50; commission on 526.20 is 26.31 → 4.43 credited;
    # share credited 88.50 − 4.43 = 84.07, which is what the provider gives back of its transfer.
    _, state = connect_server
    _pay(invoice, django_capture_on_commit_callbacks)
    payout = Payout.objects.get()
    refund = refund_invoice_payment(invoice=invoice, amount=Decimal("100.00"), reason="Late delivery", by=operator)
    [transfer] = state.transfers.values()
    note = CreditNote.objects.get(invoice=invoice)
    assert (transfer["amount_reversed"], refund.credit_note, refund.amount) == (8407, note, Decimal("100.00"))
    assert (note.gross, note.net, note.vat, note.commission, note.provider_share) == (
        Decimal("-100.00"),
        Decimal("-88.50"),
        Decimal("-11.50"),
        Decimal("-4.43"),
        Decimal("-84.07"),
    )
    invoice.refresh_from_db()
    payout.refresh_from_db()
    assert (invoice.status, amount_due(invoice), payout.reversed_amount) == ("paid", Decimal("0.00"), Decimal("84.07"))
    assert _balance("provider_payable", provider_org) == Decimal("0.00")
    assert _balance("buyer_receivable", buyer_org) == Decimal("0.00")
    assert _balance("commission_revenue") == Decimal("26.31")
    assert _balance("vat_payable", provider_org) == Decimal("68.41")
    assert _balance("stripe_clearing") == Decimal("94.72") - FEE  # the platform keeps 26.31 + 68.41; Stripe its fee
    assert trial_balance("CNY") == Decimal("0.00")

    # More than the card money left (594.61) is refused, and nothing moves.
    with pytest.raises(DomainError) as refused:
        refund_invoice_payment(invoice=invoice, amount=Decimal("594.62"), reason="Too much", by=operator)
    assert refused.value.code == "too_much"
    assert (Refund.objects.count(), CreditNote.objects.count(), len(state.transfers)) == (1, 1, 1)
    assert JournalTransaction.objects.filter(kind="card_refund").count() == 1

    # The rest, refunded: the invoice is void, the provider's transfer fully reversed, books square.
    refund_invoice_payment(invoice=invoice, amount=Decimal("594.61"), reason="Everything back", by=operator)
    invoice.refresh_from_db()
    payout.refresh_from_db()
    assert (invoice.status, payout.reversed_amount) == ("void", payout.amount)
    assert sum(n.gross for n in CreditNote.objects.filter(invoice=invoice)) == -GROSS
    # Stripe keeps its fee on a refunded charge: the platform bears it.
    assert _balance("stripe_clearing") == -FEE
    for code, organisation in [
        ("provider_payable", provider_org),
        ("buyer_receivable", buyer_org),
        ("commission_revenue", None),
        ("vat_payable", provider_org),
    ]:
        assert _balance(code, organisation) == Decimal("0.00"), code
    assert trial_balance("CNY") == Decimal("0.00")


def test_provider_without_stripe_is_paid_by_bank_by_an_operator(
    stripe_on, invoice, provider_org, operator, client_for, django_capture_on_commit_callbacks
):
    _pay(invoice, django_capture_on_commit_callbacks)
    assert Payout.objects.count() == 0  # no Connect account: nothing transferred
    client = client_for(operator)
    page = client.get(reverse("billing:ops_payouts")).content.decode()
    assert invoice.number in page

    refused = client.post(reverse("billing:ops_payouts"), {"invoice": invoice.pk, "bank_reference": " "})
    assert refused.status_code == 400 and Payout.objects.count() == 0
    response = client.post(reverse("billing:ops_payouts"), {"invoice": invoice.pk, "bank_reference": "ICBC-PAY-7"})
    assert response.status_code == 302
    payout = Payout.objects.get()
    assert (payout.method, payout.amount, payout.bank_reference, payout.recorded_by) == (
        "bank_transfer",
        invoice.provider_share,
        "ICBC-PAY-7",
        operator,
    )
    assert [(p.side, p.account.code, p.amount) for p in payout.journal.postings.order_by("side")] == [
        ("credit", "bank_clearing", invoice.provider_share),
        ("debit", "provider_payable", invoice.provider_share),
    ]
    again = client.post(reverse("billing:ops_payouts"), {"invoice": invoice.pk, "bank_reference": "ICBC-PAY-8"})
    assert again.status_code == 400 and "paid out already" in again.content.decode()
    assert Payout.objects.count() == 1
    assert _balance("provider_payable", provider_org) == Decimal("0.00")
    assert trial_balance("CNY") == Decimal("0.00")


def test_unpaid_invoices_are_not_paid_out(stripe_on, invoice, operator):
    with pytest.raises(DomainError) as refused:
        record_bank_payout(invoice=invoice, bank_reference="ICBC-1", by=operator)
    assert refused.value.code == "not_paid"
    assert pay_out_invoice.delay(invoice.pk).get() == "not_payable"
    assert Payout.objects.count() == 0
    assert JournalTransaction.objects.filter(kind="payout").count() == 0


def test_only_operators_see_payouts_and_only_owners_onboard(stripe_on, provider_member, buyer_owner, client_for):
    assert client_for(buyer_owner).get(reverse("billing:ops_payouts")).status_code in (302, 403, 404)
    client_for(provider_member).post(reverse("billing:connect_onboarding"))
    assert ConnectAccount.objects.count() == 0
