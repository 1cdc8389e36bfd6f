"""Card payments through Stripe: payment attempts, webhook events and settlement.

A buyer's card payment is a StripePayment row per attempt. Its PaymentIntent is created under
the idempotency key ``invoice-<id>-attempt-<n>`` and the id is stored *before* anything is
confirmed, so a retry after Stripe was unreachable confirms the same PaymentIntent and charges
once. Settlement (a Payment row, the ledger transaction ``stripe:<payment_intent>``, the invoice
paid) happens only from a PaymentIntent re-fetched from Stripe, whoever asks: the confirm path
or the webhook worker, any number of times, in any order. Stripe's fee on the charge is posted
after commit (billing.services.fees).
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_gateway as gateway
from billing.models import Invoice, InvoiceEvent, Payment, StripeEvent, StripePayment
from billing.money import from_minor_units, to_minor_units
from billing.services.deposits import settle_deposit_intent
from billing.services.invoices import amount_due
from billing.services.ledger import credit, debit, ledger_account, post_transaction
from marketplace.errors import DomainError
from marketplace.models import User

# How long settlement waits for a row another worker holds before giving up (Stripe retries).
LOCK_TIMEOUT = "5s"


def _unreachable() -> DomainError:
    return DomainError(
        _("The card payment service could not be reached, so nothing was charged. Please try again in a minute."),
        code="stripe_unreachable",
    )


def _payable(invoice: Invoice) -> None:
    if not gateway.is_configured():
        raise DomainError(_("Card payments are switched off; please pay by bank transfer."), code="cards_off")
    if invoice.status not in (Invoice.Status.ISSUED, Invoice.Status.OVERDUE):
        raise DomainError(
            _("Invoice %(number)s is %(status)s: it takes no payments.")
            % {"number": invoice.number, "status": Invoice.Status(invoice.status).label},
            code="not_open",
        )


def _sync(attempt: StripePayment, intent: dict) -> StripePayment:
    attempt.status = intent["status"]
    attempt.charge_id = gateway.charge_id_of(intent) or attempt.charge_id
    error = intent.get("last_payment_error") or {}
    attempt.last_error = (error.get("message") or "")[:300] if isinstance(error, dict) else ""
    StripePayment.objects.filter(pk=attempt.pk).update(
        status=attempt.status, charge_id=attempt.charge_id, last_error=attempt.last_error, updated_at=timezone.now()
    )
    return attempt


def open_attempt(*, invoice: Invoice, payment_method: str = "") -> StripePayment:
    """The invoice's open payment attempt, or a new one with its PaymentIntent created and stored.
    The amount is what is still due; an open attempt for another amount is left to expire."""
    _payable(invoice)
    due_minor = to_minor_units(amount_due(invoice), invoice.currency)
    if due_minor <= 0:
        raise DomainError(_("Nothing is due on this invoice."), code="nothing_due")
    with transaction.atomic():
        # The invoice row serialises attempts: two tabs never create two PaymentIntents.
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        attempt = (
            StripePayment.objects.filter(invoice=locked, amount_minor=due_minor)
            .exclude(status__in=[StripePayment.Status.SUCCEEDED, StripePayment.Status.CANCELED])
            .order_by("-attempt")
            .first()
        )
        if attempt is not None:
            return attempt
        number = (
            StripePayment.objects.filter(invoice=locked).order_by("-attempt").values_list("attempt", flat=True).first()
            or 0
        ) + 1
        try:
            intent = gateway.create_payment_intent(
                amount_minor=due_minor,
                currency=locked.currency,
                idempotency_key=f"invoice-{locked.pk}-attempt-{number}",
                metadata={"invoice_id": str(locked.pk), "invoice_number": locked.number, "attempt": str(number)},
                payment_method=payment_method,
            )
        except gateway.ConnectionError as error:
            raise _unreachable() from error
        return StripePayment.objects.create(
            invoice=locked,
            attempt=number,
            payment_intent_id=intent["id"],
            client_secret=intent.get("client_secret") or "",
            amount_minor=due_minor,
            currency=locked.currency,
            status=intent["status"],
        )


def pay_by_card(*, invoice: Invoice, payment_method: str, by: User | None = None, now: datetime | None = None):
    """Confirm the invoice's PaymentIntent on the server with ``payment_method`` (a PaymentMethod
    id). Returns the attempt; the invoice is paid if the card was charged."""
    attempt = open_attempt(invoice=invoice, payment_method=payment_method)
    try:
        intent = gateway.retrieve_payment_intent(attempt.payment_intent_id)
        if intent["status"] == StripePayment.Status.REQUIRES_PAYMENT_METHOD:
            intent = gateway.attach_payment_method(attempt.payment_intent_id, payment_method)
        if intent["status"] == StripePayment.Status.REQUIRES_CONFIRMATION:
            intent = gateway.confirm_payment_intent(attempt.payment_intent_id)
    except gateway.ConnectionError as error:
        raise _unreachable() from error
    except gateway.CardError as error:
        attempt.last_error = (error.user_message or str(error))[:300]
        StripePayment.objects.filter(pk=attempt.pk).update(last_error=attempt.last_error)
        raise DomainError(
            _("The card was declined: %(reason)s") % {"reason": attempt.last_error}, code="card_declined"
        ) from error
    _sync(attempt, intent)
    if intent["status"] == StripePayment.Status.SUCCEEDED:
        settle_payment_intent(intent, now=now)
    return attempt


def settle_payment_intent(intent: dict, *, now: datetime | None = None) -> Payment | None:
    """Record a succeeded PaymentIntent once: Payment(card) + ledger + invoice paid when nothing
    is due. ``intent`` must come from Stripe's API (re-fetched), never from a webhook body."""
    now = now or timezone.now()
    attempt = StripePayment.objects.filter(payment_intent_id=intent["id"]).first()
    if attempt is None:
        return None  # not ours (another integration on the same account)
    _sync(attempt, intent)
    if intent["status"] != StripePayment.Status.SUCCEEDED:
        return None
    existing = Payment.objects.filter(bank_reference=intent["id"]).first()
    if existing is not None:
        return existing
    amount = from_minor_units(int(intent["amount"]), attempt.currency)
    try:
        with transaction.atomic():
            with transaction.get_connection().cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            invoice = Invoice.objects.select_for_update().select_related("buyer").get(pk=attempt.invoice_id)
            existing = Payment.objects.filter(bank_reference=intent["id"]).first()
            if existing is not None:
                return existing
            journal = post_transaction(
                key=f"stripe:{intent['id']}",
                kind="card_payment",
                lines=[
                    debit(ledger_account("stripe_clearing", currency=invoice.currency), amount),
                    credit(
                        ledger_account("buyer_receivable", currency=invoice.currency, organisation=invoice.buyer),
                        amount,
                    ),
                ],
                memo=f"Card payment {intent['id']} for {invoice.number}",
                effective_at=now,
            )
            # Money Stripe took is recorded even on an invoice that is no longer open (paid by
            # bank meanwhile): the books show it, and an operator refunds it.
            due = amount_due(invoice)
            payment = Payment.objects.create(
                invoice=invoice,
                method=Payment.Method.CARD,
                amount=amount,
                currency=invoice.currency,
                received_on=timezone.localdate(now),
                bank_reference=intent["id"],
                journal=journal,
                recorded_by=None,
                recorded_at=now,
            )
            if invoice.is_open and amount >= due:
                Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID, paid_at=now)
                InvoiceEvent.objects.create(
                    invoice=invoice,
                    from_status=invoice.status,
                    to_status=Invoice.Status.PAID,
                    note=intent["id"],
                    at=now,
                )
    except IntegrityError:
        existing = Payment.objects.filter(bank_reference=intent["id"]).first()
        if existing is None:
            raise
        return existing
    _after_paid(attempt.invoice_id, payment.pk)
    return payment


def _after_paid(invoice_id: int, payment_id: int) -> None:
    from billing.tasks import pay_out_invoice, record_stripe_fee

    transaction.on_commit(lambda: pay_out_invoice.delay(invoice_id))
    # Stripe's fee is read from the charge's balance transaction and posted on its own.
    transaction.on_commit(lambda: record_stripe_fee.delay(payment_id))


# --- webhooks ---------------------------------------------------------------------------------


class LockTimeout(Exception):
    """Another request holds what this one needs; Stripe should retry (HTTP 503)."""


class StripeUnreachable(Exception):
    """Stripe's API could not be reached to re-fetch an event's object; the event stays pending."""


def receive_event(*, payload: bytes, signature: str) -> StripeEvent | None:
    """Verify and store a webhook event once under its id; enqueue its processing on commit.
    Returns None for a redelivery. Raises ValueError/SignatureVerificationError if forged."""
    event = gateway.construct_event(payload, signature)
    try:
        with transaction.atomic():
            with transaction.get_connection().cursor() as cursor:
                # A concurrent delivery of the same id waits on the unique index; don't hang.
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            stored, created = StripeEvent.objects.get_or_create(
                event_id=event["id"], defaults={"type": event.get("type", ""), "payload": event}
            )
            if created or stored.status == StripeEvent.HandlerStatus.PENDING:
                # A redelivery of an event still pending (its processing could not reach Stripe,
                # or its task was lost) is processed again; processing is idempotent.
                event_pk = stored.pk
                transaction.on_commit(lambda: _enqueue(event_pk))
    except OperationalError as error:
        if "lock timeout" in str(error):
            raise LockTimeout() from error
        raise
    except IntegrityError:
        return None
    return stored if created else None


def _enqueue(event_pk: int) -> None:
    from billing.tasks import process_stripe_event

    process_stripe_event.delay(event_pk)


HANDLED = {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"}


def process_event(*, event_pk: int, now: datetime | None = None) -> StripeEvent:
    """Handle one stored event: claim it, re-fetch the object it names, settle. Safe to run twice.
    Raises LockTimeout (the task retries) and leaves the event pending."""
    claimed = StripeEvent.objects.filter(pk=event_pk, status=StripeEvent.HandlerStatus.PENDING).update(
        attempts=F("attempts") + 1
    )
    event = StripeEvent.objects.get(pk=event_pk)
    if not claimed:
        return event
    try:
        if event.type in HANDLED:
            intent_id = event.payload["data"]["object"]["id"]
            intent = gateway.retrieve_payment_intent(intent_id)
            # Each settles only PaymentIntents it owns (by their stored ids); the other ignores it.
            settle_payment_intent(intent, now=now)
            settle_deposit_intent(intent, now=now)
    except OperationalError as error:
        if "lock timeout" in str(error):
            raise LockTimeout() from error
        raise
    except gateway.ConnectionError as error:
        # Marking it failed would strand it: Stripe had its 200 and will not send it again.
        StripeEvent.objects.filter(pk=event_pk).update(error=repr(error)[:2000])
        raise StripeUnreachable() from error
    except Exception as error:  # the row keeps what went wrong; an operator retries
        StripeEvent.objects.filter(pk=event_pk).update(
            status=StripeEvent.HandlerStatus.FAILED, error=repr(error)[:2000]
        )
        event.refresh_from_db()
        return event
    StripeEvent.objects.filter(pk=event_pk).update(
        status=StripeEvent.HandlerStatus.PROCESSED, processed_at=now or timezone.now(), error=""
    )
    event.refresh_from_db()
    return event
