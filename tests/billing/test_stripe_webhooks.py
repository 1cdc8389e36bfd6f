"""Stripe webhooks: verified on the raw body, stored once under the event id, processed by a
task that re-fetches the PaymentIntent — the same event three times, or a stale one after it,
settles the payment once; a forged signature is a 400 and stores nothing; an event whose processing
could not reach Stripe stays pending (never stranded as failed) and a retry or redelivery settles it once."""

import json
import time
from decimal import Decimal

import pytest
import stripe
from django.urls import reverse

from billing import stripe_gateway
from billing.models import Invoice, JournalTransaction, Payment, StripeEvent
from billing.services.card_payments import open_attempt
from billing.services.ledger import trial_balance
from tests.billing.stripe_world import GROSS, deliver, issued_invoice
from tests.stripe_servers import WEBHOOK_SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner):
    return issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner)


def _signed(event: dict) -> tuple[bytes, str]:
    """Sign an event the way Stripe does (t=…,v1=HMAC-SHA256(secret, "t.body"))."""
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", WEBHOOK_SECRET)
    return body, f"t={timestamp},v1={signature}"


def test_the_same_event_three_times_and_a_stale_one_settle_once(
    stripe_on, webhook_inbox, invoice, client, django_capture_on_commit_callbacks
):
    # Stripe.js confirmed the payment in the buyer's browser: only the webhook tells us.
    attempt = open_attempt(invoice=invoice, payment_method="pm_card_visa")
    stripe_gateway.confirm_payment_intent(attempt.payment_intent_id)
    assert Payment.objects.count() == 0
    [(body, signature)] = webhook_inbox.wait_for("payment_intent.succeeded", object_id=attempt.payment_intent_id)
    succeeded = json.loads(body)
    # An older "failed" event for the same PaymentIntent, delivered late (no ordering guarantee).
    stale_body, stale_signature = _signed(
        {
            "id": "evt_stale_failure",
            "object": "event",
            "type": "payment_intent.payment_failed",
            "data": {"object": {**succeeded["data"]["object"], "status": "requires_payment_method"}},
        }
    )
    deliveries = [(body, signature)] * 3 + [(stale_body, stale_signature)]
    statuses = [deliver(client, b, s, django_capture_on_commit_callbacks).status_code for b, s in deliveries]
    assert statuses == [200, 200, 200, 200]

    assert sorted(StripeEvent.objects.values_list("event_id", "type", "status", "attempts")) == sorted(
        [
            (succeeded["id"], "payment_intent.succeeded", "processed", 1),
            ("evt_stale_failure", "payment_intent.payment_failed", "processed", 1),
        ]
    )
    payment = Payment.objects.get()
    assert (payment.method, payment.amount, payment.bank_reference) == ("card", GROSS, attempt.payment_intent_id)
    assert JournalTransaction.objects.filter(kind="card_payment").count() == 1
    attempt.refresh_from_db()
    assert attempt.status == "succeeded"  # the stale event did not move it back
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert trial_balance("CNY") == Decimal("0.00")


def test_a_forged_signature_is_refused_and_stores_nothing(
    stripe_on, invoice, client, django_capture_on_commit_callbacks
):
    body, _signature = _signed({"id": "evt_forged", "object": "event", "type": "payment_intent.succeeded", "data": {}})
    for signature in ("t=1,v1=deadbeef", "", f"t={int(time.time())},v1={'0' * 64}"):
        response = deliver(client, body, signature, django_capture_on_commit_callbacks)
        assert response.status_code == 400
    # A body changed after signing fails too.
    good_body, good_signature = _signed({"id": "evt_x", "object": "event", "type": "customer.created", "data": {}})
    tampered = good_body.replace(b"customer.created", b"customer.updated")
    assert deliver(client, tampered, good_signature, django_capture_on_commit_callbacks).status_code == 400
    assert StripeEvent.objects.count() == 0
    assert Payment.objects.count() == 0


def test_events_we_do_not_handle_are_stored_and_marked_processed(stripe_on, client, django_capture_on_commit_callbacks):
    body, signature = _signed(
        {"id": "evt_customer", "object": "event", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    )
    assert deliver(client, body, signature, django_capture_on_commit_callbacks).status_code == 200
    assert list(StripeEvent.objects.values_list("event_id", "status")) == [("evt_customer", "processed")]


def test_the_webhook_needs_post(client):
    assert client.get(reverse("billing:stripe_webhook")).status_code == 405


def test_a_delivery_that_waits_on_a_lock_gets_503_so_stripe_retries(
    stripe_on, client, django_capture_on_commit_callbacks
):
    import psycopg
    from django.db import connection

    from tests.conftest import database_url

    body, signature = _signed({"id": "evt_busy", "object": "event", "type": "customer.created", "data": {}})
    # Another delivery of the same event is inserting it and has not committed yet.
    with psycopg.connect(database_url(connection.settings_dict)) as other:
        other.execute(
            "INSERT INTO billing_stripeevent (event_id, type, payload, received_at, status, attempts, error)"
            " VALUES ('evt_busy', 'customer.created', '{}', now(), 'pending', 0, '')"
        )
        response = deliver(client, body, signature, django_capture_on_commit_callbacks)
        assert response.status_code == 503
        other.rollback()
    assert StripeEvent.objects.count() == 0
    # Stripe's retry then goes through.
    assert deliver(client, body, signature, django_capture_on_commit_callbacks).status_code == 200
    assert list(StripeEvent.objects.values_list("event_id", "status")) == [("evt_busy", "processed")]


def test_stripe_down_while_an_event_is_processed_leaves_it_pending_and_a_redelivery_settles_once(
    stripe_on, webhook_inbox, invoice, client, django_capture_on_commit_callbacks
):
    from billing.services.card_payments import StripeUnreachable, process_event, receive_event

    attempt = open_attempt(invoice=invoice, payment_method="pm_card_visa")
    stripe_gateway.confirm_payment_intent(attempt.payment_intent_id)  # by Stripe.js, in the browser
    [(body, signature)] = webhook_inbox.wait_for("payment_intent.succeeded", object_id=attempt.payment_intent_id)
    # The event arrives, is stored and answered 200; by the time its task runs Stripe is gone.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        event = receive_event(payload=body, signature=signature)
    assert len(queued) == 1
    stripe_on.stop()
    with pytest.raises(StripeUnreachable):
        process_event(event_pk=event.pk)  # the task retries on this
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 1)
    assert "APIConnectionError" in event.error
    assert Payment.objects.count() == 0
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED

    # Stripe is back and redelivers the event (as it does until it gets a 200 — or the retry runs).
    assert stripe_on.start()
    for _ in range(2):
        assert deliver(client, body, signature, django_capture_on_commit_callbacks).status_code == 200
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 2)
    assert Payment.objects.get().bank_reference == attempt.payment_intent_id
    assert JournalTransaction.objects.filter(kind="card_payment").count() == 1
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert trial_balance("CNY") == Decimal("0.00")
