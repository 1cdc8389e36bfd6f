"""Celery tasks: they take ids, call a service or send mail, and are safe to run twice."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from marketplace.models import Invitation, Notification


@shared_task
def deliver_notification(notification_id: int) -> bool:
    """Email a notification once. The conditional update claims it, so a retry never resends."""
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    body = notification.body
    if notification.url:
        body = f"{body}\n\n{settings.SITE_URL}{notification.url}"
    send_mail(
        subject=f"[Spindle] {notification.title}",
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[notification.user.email],
    )
    return True


@shared_task
def send_invitation_email(invitation_id: int) -> bool:
    invitation = Invitation.objects.select_related("organisation", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_open:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        context = {"invitation": invitation, "site_url": settings.SITE_URL}
        subject = render_to_string("organisations/email/invitation_subject.txt", context).strip()
        body = render_to_string("organisations/email/invitation_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    return True


@shared_task
def run_match_run(run_id: int) -> bool:
    """Execute a queued match run. The conditional update queued → running claims it, so a
    second delivery of the same task (or a second worker) does nothing."""
    from marketplace.models import MatchRun
    from marketplace.services import matching

    if not matching.claim_match_run(run_id=run_id):
        return False
    run = MatchRun.objects.get(pk=run_id)
    try:
        matching.execute_match_run(run=run)
    except Exception:
        # An unexpected failure must not leave the page polling a run that never ends.
        MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.RUNNING).update(
            status=MatchRun.Status.FAILED,
            progress=100,
            finished_at=timezone.now(),
            error=matching.in_every_language(lambda: str(_("Matching failed. Please run it again."))),
        )
        raise
    return True


@shared_task
def send_match_digests() -> int:
    """Daily: one digest per provider that chose it, listing the orders matched since the last."""
    from marketplace.services import matching

    return matching.send_match_digests()


@shared_task
def flag_trades() -> int:
    """Hourly, and after each new trade commits: raise the automatic trade flags."""
    from marketplace.services import ops

    return len(ops.flag_trades())


@shared_task
def process_certificate_expiry() -> dict:
    """Daily: warn of certificates expiring soon, withdraw the claims of expired ones."""
    from marketplace.services import ops

    return ops.process_certificate_expiry()


@shared_task
def deliver_webhook(delivery_id: int) -> bool:
    """One attempt of a webhook delivery; the claim (pending and due) makes a duplicate message
    or an early eager run a no-op."""
    from marketplace.services import webhooks

    return webhooks.attempt_delivery(delivery_id=delivery_id)


@shared_task
def enqueue_due_webhook_deliveries() -> int:
    from marketplace.services import webhooks

    return webhooks.enqueue_due_deliveries()
