"""Stripe's fee on a card charge: read through the official SDK from the charge's balance
transaction (localstripe's charge → the test server's /v1/balance_transactions) and posted once
as its own balanced journal transaction, however many times the webhook is delivered or the
task runs again."""

from decimal import Decimal

import pytest

from billing import stripe_gateway
from billing.models import JournalTransaction, Payment, StripeFee, StripePayment
from billing.services.card_payments import open_attempt
from billing.services.ledger import account_balance, ledger_account, trial_balance
from billing.tasks import record_stripe_fee
from tests.billing.stripe_world import FEE, GROSS, deliver, issued_invoice, stripe_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner):
    return issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner)


def test_fee_is_posted_once_from_the_charges_balance_transaction(
    stripe_on, webhook_inbox, connect_server, invoice, client, django_capture_on_commit_callbacks
):
    connect_url, state = connect_server
    # The buyer's browser confirmed the payment; the webhook arrives three times.
    attempt = open_attempt(invoice=invoice, payment_method="pm_card_visa")
    stripe_gateway.confirm_payment_intent(attempt.payment_intent_id)
    [(body, signature)] = webhook_inbox.wait_for("payment_intent.succeeded", object_id=attempt.payment_intent_id)
    for _ in range(3):
        assert deliver(client, body, signature, django_capture_on_commit_callbacks).status_code == 200

    attempt.refresh_from_db()
    charge = stripe_client(stripe_on.url).v1.charges.retrieve(attempt.charge_id)
    txn = stripe_client(connect_url).v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.type, txn.source, txn.amount, txn.fee, txn.net, txn.currency) == (
        "charge",
        attempt.charge_id,
        69461,
        2542,
        69461 - 2542,
        "cny",
    )
    payment = Payment.objects.get(invoice=invoice)
    fee = StripeFee.objects.get()
    assert (fee.payment, fee.balance_transaction_id, fee.charge_id, fee.amount, fee.currency) == (
        payment,
        charge.balance_transaction,
        attempt.charge_id,
        FEE,
        "CNY",
    )
    assert fee.journal.idempotency_key == f"stripe_fee:{charge.balance_transaction}"
    assert fee.journal.kind == "stripe_fee"
    assert sorted((p.side, p.account.code, p.amount) for p in fee.journal.postings.select_related("account")) == [
        ("credit", "stripe_clearing", FEE),
        ("debit", "stripe_fees", FEE),
    ]
    # The production path asked the (test) Stripe for it over HTTP once; the other GET is ours.
    assert state.requests.count(("GET", f"/v1/balance_transactions/{charge.balance_transaction}")) == 2

    # The task runs again (a redelivered job): same fee, nothing posted twice.
    assert record_stripe_fee.delay(payment.pk).get() == charge.balance_transaction
    assert StripeFee.objects.count() == 1
    assert JournalTransaction.objects.filter(kind="stripe_fee").count() == 1
    assert account_balance(ledger_account("stripe_fees", currency="CNY")) == FEE
    assert account_balance(ledger_account("stripe_clearing", currency="CNY")) == GROSS - FEE
    assert trial_balance("CNY") == Decimal("0.00")


def test_fee_waits_while_stripe_is_unreachable(stripe_on, invoice, django_capture_on_commit_callbacks):
    from billing.services.card_payments import pay_by_card

    with django_capture_on_commit_callbacks() as callbacks:
        pay_by_card(invoice=invoice, payment_method="pm_card_visa")
    stripe_on.stop()
    try:
        for callback in callbacks:
            callback()  # the payout (not payable: no Connect account) and the fee task
    finally:
        assert stripe_on.start()
    # Nothing half-done: no fee row, no fee posting; the payment stands.
    assert (StripeFee.objects.count(), JournalTransaction.objects.filter(kind="stripe_fee").count()) == (0, 0)
    assert Payment.objects.filter(invoice=invoice).count() == 1
    # Stripe is back: the retried task posts it.
    payment = Payment.objects.get(invoice=invoice)
    attempt = StripePayment.objects.get(invoice=invoice)
    fee_txn = record_stripe_fee.delay(payment.pk).get()
    assert fee_txn.startswith("txn_")
    assert StripeFee.objects.get().charge_id == attempt.charge_id
    assert account_balance(ledger_account("stripe_fees", currency="CNY")) == FEE


def test_a_charge_stripe_took_no_fee_on_posts_nothing(
    stripe_on, connect_server, invoice, django_capture_on_commit_callbacks
):
    from billing.services.card_payments import pay_by_card

    _, state = connect_server
    with django_capture_on_commit_callbacks() as callbacks:
        attempt = pay_by_card(invoice=invoice, payment_method="pm_card_visa")
    state.tampered[attempt.charge_id] = {"fee": 0}
    for callback in callbacks:
        callback()
    assert (StripeFee.objects.count(), JournalTransaction.objects.filter(kind="stripe_fee").count()) == (0, 0)
    assert account_balance(ledger_account("stripe_clearing", currency="CNY")) == GROSS
