"""Card payments end to end against localstripe through the official SDK: the PaymentIntent is
created once per attempt and stored before it is confirmed; the buyer's card is charged once,
even when Stripe goes away mid-payment; with no keys configured cards are off."""

from decimal import Decimal

import pytest
import stripe
from django.urls import reverse

from billing.models import Invoice, JournalTransaction, Payment, StripeEvent, StripePayment
from billing.services.card_payments import open_attempt
from billing.services.ledger import account_balance, ledger_account, trial_balance
from tests.billing.stripe_world import FEE, GROSS, deliver, issued_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner):
    return issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner)


def _intents_of(stripe_on, invoice) -> list:
    client = stripe.StripeClient("sk_test_spindle", base_addresses={"api": stripe_on.url}, max_network_retries=0)
    return [
        pi
        for pi in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if pi.metadata.to_dict().get("invoice_id") == str(invoice.pk)
    ]


def test_buyer_pays_an_invoice_by_card(
    stripe_on, webhook_inbox, invoice, buyer_owner, buyer_org, client_for, django_capture_on_commit_callbacks
):
    client = client_for(buyer_owner)
    page = client.get(reverse("billing:invoice_pay", args=[invoice.pk]))
    assert page.status_code == 200
    assert f'src="{stripe_on.url}/js.stripe.com/v3/"' in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("billing:invoice_pay", args=[invoice.pk]), {"payment_method": "pm_card_visa"})
    assert response.status_code == 302
    attempt = StripePayment.objects.get(invoice=invoice)
    assert (attempt.attempt, attempt.amount_minor, attempt.currency, attempt.status) == (1, 69461, "CNY", "succeeded")
    assert attempt.payment_intent_id.startswith("pi_") and attempt.charge_id.startswith("ch_")
    [intent] = _intents_of(stripe_on, invoice)
    assert (intent.id, intent.amount, intent.currency, intent.status) == (
        attempt.payment_intent_id,
        69461,
        "cny",
        "succeeded",
    )
    assert intent.metadata.to_dict() == {
        "invoice_id": str(invoice.pk),
        "invoice_number": invoice.number,
        "attempt": "1",
    }

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.method, payment.amount, payment.bank_reference, payment.recorded_by) == (
        "card",
        GROSS,
        attempt.payment_intent_id,
        None,
    )
    assert payment.journal.idempotency_key == f"stripe:{attempt.payment_intent_id}"
    assert [(p.side, p.account.code, p.amount) for p in payment.journal.postings.order_by("side")] == [
        ("credit", "buyer_receivable", GROSS),
        ("debit", "stripe_clearing", GROSS),
    ]

    # Stripe's webhook for the same payment arrives afterwards: stored, processed, nothing twice.
    [(body, signature)] = webhook_inbox.wait_for("payment_intent.succeeded", object_id=attempt.payment_intent_id)
    assert deliver(client, body, signature, django_capture_on_commit_callbacks).status_code == 200
    assert StripeEvent.objects.get().status == "processed"
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert JournalTransaction.objects.filter(kind="card_payment").count() == 1
    assert account_balance(ledger_account("buyer_receivable", currency="CNY", organisation=buyer_org)) == Decimal(
        "0.00"
    )
    # Stripe kept its fee: posted once from the charge's balance transaction, not per delivery.
    assert account_balance(ledger_account("stripe_clearing", currency="CNY")) == GROSS - FEE
    assert account_balance(ledger_account("stripe_fees", currency="CNY")) == FEE
    assert JournalTransaction.objects.filter(kind="stripe_fee").count() == 1
    assert trial_balance("CNY") == Decimal("0.00")
    assert list(invoice.events.order_by("pk").values_list("to_status", flat=True)) == ["draft", "issued", "paid"]


def test_stripe_down_mid_payment_then_retry_charges_once(
    stripe_on, invoice, buyer_owner, client_for, django_capture_on_commit_callbacks
):
    # The PaymentIntent exists and its id is stored; then Stripe becomes unreachable.
    attempt = open_attempt(invoice=invoice, payment_method="pm_card_visa")
    assert attempt.status == "requires_confirmation"
    stripe_on.stop()
    client = client_for(buyer_owner)
    response = client.post(reverse("billing:invoice_pay", args=[invoice.pk]), {"payment_method": "pm_card_visa"})
    assert response.status_code == 400
    assert "could not be reached, so nothing was charged" in response.content.decode()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_at) == (Invoice.Status.ISSUED, None)
    assert Payment.objects.count() == 0
    assert JournalTransaction.objects.filter(kind="card_payment").count() == 0

    assert stripe_on.start()  # back, with its saved state
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("billing:invoice_pay", args=[invoice.pk]), {"payment_method": "pm_card_visa"})
    assert response.status_code == 302
    assert list(StripePayment.objects.values_list("payment_intent_id", "status")) == [
        (attempt.payment_intent_id, "succeeded")
    ]
    assert [(pi.id, pi.status) for pi in _intents_of(stripe_on, invoice)] == [(attempt.payment_intent_id, "succeeded")]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.get().amount == GROSS
    assert trial_balance("CNY") == Decimal("0.00")


def test_paying_twice_reuses_the_open_payment_intent(stripe_on, invoice):
    first = open_attempt(invoice=invoice)
    again = open_attempt(invoice=invoice)
    assert (again.pk, again.payment_intent_id, again.attempt) == (first.pk, first.payment_intent_id, 1)
    assert len(_intents_of(stripe_on, invoice)) == 1


def test_a_declined_card_pays_nothing(stripe_on, invoice, buyer_owner, client_for):
    response = client_for(buyer_owner).post(
        reverse("billing:invoice_pay", args=[invoice.pk]), {"payment_method": "pm_card_chargeCustomerFail"}
    )
    assert response.status_code == 400
    assert "The card was declined" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert Payment.objects.count() == 0


def test_without_stripe_keys_cards_are_off_and_bank_transfer_stays(settings, invoice, buyer_owner, client_for):
    settings.STRIPE_SECRET_KEY = ""
    client = client_for(buyer_owner)
    page = client.get(reverse("billing:invoice_pay", args=[invoice.pk])).content.decode()
    assert "Card payments are switched off on this site; please pay by bank transfer." in page
    assert "js.stripe.com" not in page
    assert invoice.payment_reference in page
    detail = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Card payments are switched off" in detail and invoice.payment_reference in detail
    response = client.post(reverse("billing:invoice_pay", args=[invoice.pk]), {"payment_method": "pm_card_visa"})
    assert response.status_code == 400
    assert StripePayment.objects.count() == 0
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED


def test_only_the_buyer_pays(stripe_on, invoice, provider_owner, outsider, client_for):
    for user in (provider_owner, outsider):
        response = client_for(user).post(
            reverse("billing:invoice_pay", args=[invoice.pk]), {"payment_method": "pm_card_visa"}
        )
        assert response.status_code == 404
    assert StripePayment.objects.count() == 0
