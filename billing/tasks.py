"""Billing tasks: they take ids, call a service or send mail, and are safe to run twice."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import Invoice


@shared_task
def email_invoice(invoice_id: int) -> int:
    """Email the invoice PDF to the buyer's members (attachment). Returns the recipients' count."""
    from billing.pdf import render_invoice_pdf

    invoice = Invoice.objects.select_related("buyer").filter(pk=invoice_id).first()
    if invoice is None or not invoice.number:
        return 0
    recipients = sorted(invoice.buyer.memberships.values_list("user__email", flat=True))
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[Spindle] Invoice %(number)s from %(seller)s") % {
            "number": invoice.number,
            "seller": invoice.seller_legal_name,
        }
        body = _(
            "Invoice %(number)s is attached. Please pay by bank transfer by %(due)s quoting the payment "
            "reference %(reference)s.\n\n%(url)s"
        ) % {
            "number": invoice.number,
            "due": f"{invoice.due_at:%Y-%m-%d}",
            "reference": invoice.payment_reference,
            "url": f"{settings.SITE_URL}/billing/invoices/{invoice.pk}/",
        }
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    message.attach(f"{invoice.number}.pdf", render_invoice_pdf(invoice), "application/pdf")
    message.send()
    return len(recipients)


@shared_task
def email_invoices(invoice_ids: list[int]) -> int:
    """Fan out the e-mails of many invoices issued together (a period run's batch), so issuing
    them costs one enqueue; each e-mail is still its own task."""
    for invoice_id in invoice_ids:
        email_invoice.delay(invoice_id)
    return len(invoice_ids)


@shared_task
def mark_overdue_invoices() -> int:
    from billing.services.invoices import mark_overdue

    return mark_overdue()


@shared_task
def run_period_invoices(period_start: str | None = None, as_of: str | None = None) -> dict:
    """Month-end invoicing of long rentals (beat: hourly on the 1st and 2nd, each pass adding the
    providers whose month has closed by then). Resumes an interrupted run; never issues twice.
    ``as_of`` evaluates the run at another moment than now (replays and tests)."""
    from datetime import date, datetime

    from billing.services.periods import run_period_invoicing

    run = run_period_invoicing(
        period_start=date.fromisoformat(period_start) if period_start else None,
        now=datetime.fromisoformat(as_of) if as_of else None,
    )
    return {"run": run.pk, "status": run.status, "invoiced": run.invoiced, "failed": run.failed}


@shared_task(bind=True, max_retries=10)
def process_stripe_event(self, event_pk: int) -> str:
    """Handle one stored Stripe webhook event; retried when a lock was busy or Stripe unreachable."""
    from billing.services.card_payments import LockTimeout, StripeUnreachable, process_event

    try:
        return process_event(event_pk=event_pk).status
    except LockTimeout as busy:
        raise self.retry(countdown=10) from busy
    except StripeUnreachable as unreachable:
        # Back off up to ~1 h in all; Stripe's own redeliveries of the event also retry it.
        raise self.retry(countdown=60 * 2**self.request.retries, max_retries=6) from unreachable


@shared_task
def pay_out_invoice(invoice_id: int) -> str:
    """Transfer a paid invoice's provider share by Stripe, once (a no-op when not payable)."""
    from billing.services.payouts import pay_out_by_stripe

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        return "missing"
    payout = pay_out_by_stripe(invoice=invoice)
    return payout.transfer_id or payout.bank_reference if payout else "not_payable"


def _post_fee(task, record, object_id: int) -> str:
    """Run a fee recorder; while Stripe is unreachable, retry with backoff (eagerly: say so and
    leave it to the daily reconciliation, which posts fees still missing)."""
    from billing import stripe_gateway as gateway

    try:
        fee = record(object_id)
    except gateway.StripeError as error:
        if task.request.is_eager:
            return "deferred"
        raise task.retry(countdown=60 * 2**task.request.retries) from error
    return fee.balance_transaction_id if fee else "no_fee"


@shared_task(bind=True, max_retries=6)
def record_stripe_fee(self, payment_id: int) -> str:
    """Post Stripe's fee on a settled card payment, once; retried while Stripe is unreachable
    (the daily reconciliation posts it from the balance transaction otherwise)."""
    from billing.services.fees import record_fee_for_payment

    return _post_fee(self, lambda pk: record_fee_for_payment(payment_id=pk), payment_id)


@shared_task(bind=True, max_retries=6)
def record_deposit_stripe_fee(self, deposit_id: int) -> str:
    """Post Stripe's fee on a card deposit's charge, once; retried like record_stripe_fee."""
    from billing.services.fees import record_fee_for_deposit

    return _post_fee(self, lambda pk: record_fee_for_deposit(deposit_id=pk), deposit_id)


@shared_task(bind=True, max_retries=6)
def reconcile_stripe(self, day: str = "") -> str:
    """Reconcile one day (ISO date; yesterday in TIME_ZONE by default) of Stripe balance
    transactions with the ledger. Safe to re-run: the day's run is replaced."""
    from datetime import date, timedelta

    from django.utils import timezone

    from billing import stripe_gateway as gateway
    from billing.services.reconciliation import reconcile_stripe_day

    if not gateway.is_configured():
        return "stripe_off"
    the_day = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    try:
        run = reconcile_stripe_day(day=the_day)
    except gateway.StripeError as error:
        raise self.retry(countdown=300) from error
    return f"{run.day.isoformat()}: {run.status} ({run.differences})"
