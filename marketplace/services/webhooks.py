"""Outgoing webhooks: subscriptions (owners only), publishing domain events, signed delivery
with retries, and replay.

Signature: every POST carries ``Spindle-Event`` (the event type), ``Spindle-Delivery`` (the
delivery id), ``Spindle-Timestamp`` (Unix seconds) and
``Spindle-Signature: t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``.
A receiver recomputes the HMAC over the raw body with the secret shown at creation, compares
in constant time and rejects old timestamps (e.g. more than 5 minutes) against replays. The
body is ``{"id": <event id>, "type", "created", "organisation", "data"}``; the event id stays the
same across retries and replays, so receivers can de-duplicate on it.

Delivery: a Celery task takes the delivery id and claims it with a conditional update (pending
and due); a 2xx answer marks it succeeded, anything else schedules the next attempt after
BACKOFF, up to MAX_ATTEMPTS, then it fails. Replay queues one more attempt of the same event.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.crypto import decrypt, encrypt
from marketplace.errors import DomainError
from marketplace.models import Organisation, User, WebhookDelivery, WebhookEvent, WebhookSubscription
from marketplace.services.accounts import _require_owner

SECRET_PREFIX = "whsec_"  # noqa: S105 — a label, not a secret
MAX_ATTEMPTS = 6
# Wait after failed attempt n (1-based) before attempt n + 1.
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=12)]
# A claimed attempt holds the delivery this long; a worker that dies mid-attempt releases it then.
LEASE = timedelta(minutes=2)
# Tolerance for a worker whose clock runs slightly behind the one that scheduled the retry.
CLOCK_SKEW = timedelta(seconds=5)
TIMEOUT = (3.05, 10)  # connect, read (seconds)
MAX_SUBSCRIPTIONS = 20
LOCAL_HOSTS = {"localhost", "127.0.0.1"}


# --- subscriptions ---------------------------------------------------------------------------


def _local_allowed(host: str | None) -> bool:
    return host in LOCAL_HOSTS and settings.SPINDLE_WEBHOOK_ALLOW_LOCAL_HTTP


def _internal_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address if ``value`` is an IP literal that is not publicly routable, else None."""
    try:
        address = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return None
    return None if address.is_global else address


def blocked_destination(url: str) -> str:
    """Why ``url`` must not be called (it resolves to an internal address), or "".

    Webhooks are requests our servers make on a customer's behalf: without this check a
    subscription could point them at the platform's own network (SSRF). Checked again at every
    delivery, because DNS answers change."""
    host = urlsplit(url).hostname or ""
    if _local_allowed(host):
        return ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        return f"{host} cannot be resolved: {error}"
    for info in infos:
        address = _internal_ip(info[4][0])
        if address is not None:
            return f"{host} resolves to the internal address {address}"
    return ""


def clean_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password:
        raise DomainError(_("Enter a full URL such as https://erp.example.com/spindle/webhooks."), code="url")
    if parts.scheme == "http" and _local_allowed(parts.hostname):
        return url
    if parts.scheme != "https":
        raise DomainError(_("Webhook URLs must use https."), code="url")
    if not _local_allowed(parts.hostname) and (
        parts.hostname in LOCAL_HOSTS or _internal_ip(parts.hostname) is not None
    ):
        raise DomainError(_("Webhook URLs must point at a public address."), code="url")
    return url


def clean_event_types(event_types: list[str]) -> list[str]:
    chosen = [value for value in WebhookEvent.values if value in set(event_types)]
    if not chosen or len(chosen) != len(set(event_types)):
        raise DomainError(_("Choose at least one event from the list."), code="event_types")
    return chosen


@transaction.atomic
def create_subscription(
    *, organisation: Organisation, by: User, url: str, event_types: list[str]
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret, which is shown once."""
    _require_owner(organisation, by)
    url = clean_url(url)
    event_types = clean_event_types(event_types)
    Organisation.objects.select_for_update().get(pk=organisation.pk)  # serialises the count below
    if WebhookSubscription.objects.filter(organisation=organisation).count() >= MAX_SUBSCRIPTIONS:
        raise DomainError(
            _("An organisation can have at most %(count)s webhooks.") % {"count": MAX_SUBSCRIPTIONS}, code="limit"
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    subscription = WebhookSubscription.objects.create(
        organisation=organisation, url=url, event_types=event_types, secret_encrypted=encrypt(secret), created_by=by
    )
    return subscription, secret


@transaction.atomic
def update_subscription(
    *,
    subscription: WebhookSubscription,
    by: User,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
) -> WebhookSubscription:
    _require_owner(subscription.organisation, by)
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if url is not None:
        locked.url = clean_url(url)
    if event_types is not None:
        locked.event_types = clean_event_types(event_types)
    if active is not None:
        locked.active = active
    locked.save(update_fields=["url", "event_types", "active"])
    return locked


@transaction.atomic
def delete_subscription(*, subscription: WebhookSubscription, by: User) -> None:
    _require_owner(subscription.organisation, by)
    WebhookSubscription.objects.filter(pk=subscription.pk).delete()


# --- publishing ------------------------------------------------------------------------------


def publish_event(
    *, organisation: Organisation | int, type: str, payload: dict, now: datetime | None = None
) -> list[WebhookDelivery]:
    """One delivery per active subscription of ``organisation`` to ``type``, sent once the
    caller's transaction commits (a rolled-back change publishes nothing)."""
    organisation_id = organisation if isinstance(organisation, int) else organisation.pk
    subscriptions = list(
        WebhookSubscription.objects.filter(organisation_id=organisation_id, active=True, event_types__contains=[type])
    )
    if not subscriptions:
        return []
    now = now or timezone.now()
    event_id = uuid.uuid4()
    slug = Organisation.objects.values_list("slug", flat=True).get(pk=organisation_id)
    body = {"id": str(event_id), "type": type, "created": now.isoformat(), "organisation": slug, "data": payload}
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=subscription,
            event_type=type,
            event_id=event_id,
            payload=body,
            next_attempt_at=timezone.now(),  # due at once, even when ``now`` is an event's recorded time
        )
        for subscription in subscriptions
    )
    for delivery in deliveries:
        _enqueue_on_commit(delivery.pk)
    return deliveries


def _enqueue_on_commit(delivery_id: int, countdown: float | None = None) -> None:
    from marketplace.tasks import deliver_webhook

    transaction.on_commit(lambda: deliver_webhook.apply_async((delivery_id,), countdown=countdown))


def _trade_data(trade) -> dict:
    return {
        "trade": {
            "id": trade.pk,
            "order": trade.order_id,
            "buyer_id": trade.buyer_id,
            "provider_id": trade.provider_id,
            "status": trade.status,
            "currency": trade.currency,
            "price_estimate": str(trade.price_estimate),
        }
    }


def publish_trade_created(trade) -> None:
    for party in (trade.buyer_id, trade.provider_id):
        publish_event(organisation=party, type=WebhookEvent.TRADE_CREATED, payload=_trade_data(trade))


def publish_trade_status_changed(trade, *, from_status: str, to_status: str, now: datetime | None = None) -> None:
    data = {**_trade_data(trade), "from": from_status, "to": to_status}
    data["trade"]["status"] = to_status
    for party in (trade.buyer_id, trade.provider_id):
        publish_event(organisation=party, type=WebhookEvent.TRADE_STATUS_CHANGED, payload=data, now=now)


def publish_quote_received(quote) -> None:
    data = {
        "quote": {
            "id": quote.pk,
            "order": quote.rfq.order_id,
            "provider_id": quote.provider_id,
            "resource": quote.resource_id,
            "total": str(quote.total),
            "currency": quote.currency,
            "valid_until": quote.valid_until.isoformat(),
        }
    }
    publish_event(organisation=quote.rfq.order.buyer_id, type=WebhookEvent.QUOTE_RECEIVED, payload=data)


def _invoice_data(invoice) -> dict:
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "trade": invoice.trade_id,
        "seller_id": invoice.seller_id,
        "buyer_id": invoice.buyer_id,
        "status": invoice.status,
        "currency": invoice.currency,
        "gross": str(invoice.gross),
        "due_at": invoice.due_at.isoformat() if invoice.due_at else None,
    }


def publish_invoice_issued(invoice) -> None:
    for party in (invoice.seller_id, invoice.buyer_id):
        publish_event(organisation=party, type=WebhookEvent.INVOICE_ISSUED, payload={"invoice": _invoice_data(invoice)})


def publish_payment_received(payment) -> None:
    invoice = payment.invoice
    data = {
        "payment": {
            "id": payment.pk,
            "invoice": invoice.pk,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "received_on": payment.received_on.isoformat(),
        },
        "invoice": {"id": invoice.pk, "number": invoice.number},
    }
    for party in (invoice.seller_id, invoice.buyer_id):
        publish_event(organisation=party, type=WebhookEvent.PAYMENT_RECEIVED, payload=data)


# --- delivery --------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode()


def claim_delivery(*, delivery_id: int, now: datetime) -> bool:
    """Take the next attempt: only a pending, due delivery, once (the update returns 1 for one
    worker); the lease keeps others off while the request runs."""
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now + CLOCK_SKEW
        ).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    )


def attempt_delivery(*, delivery_id: int, now: datetime | None = None) -> bool:
    """POST the delivery once if it can be claimed; True when it was attempted."""
    now = now or timezone.now()
    if not claim_delivery(delivery_id=delivery_id, now=now):
        return False
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    status_code, error = None, ""
    started = time.monotonic()
    try:
        secret = decrypt(subscription.secret_encrypted)
    except InvalidToken:  # ENCRYPTION_KEY/SECRET_KEY changed: nothing can be signed, so give up
        secret = None
    if not subscription.active or secret is None:
        error = _("The webhook is disabled.") if secret else "Signing secret unreadable (encryption key changed)"
    else:
        body = body_of(delivery)
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Spindle-Webhooks/1",
            "Spindle-Event": delivery.event_type,
            "Spindle-Delivery": str(delivery.pk),
            "Spindle-Timestamp": str(timestamp),
            "Spindle-Signature": sign(secret, timestamp, body),
        }
        blocked = blocked_destination(subscription.url)
        try:
            if blocked:
                raise requests.ConnectionError(f"refused: {blocked}")
            with requests.post(
                subscription.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
            ) as response:
                status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
    _record_attempt(
        delivery=delivery,
        now=now,
        status_code=status_code,
        error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
        give_up=not subscription.active or secret is None,
    )
    return True


def _record_attempt(
    *, delivery: WebhookDelivery, now: datetime, status_code: int | None, error: str, duration_ms: int, give_up: bool
) -> None:
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        locked.attempt_log = [
            *locked.attempt_log,
            {
                "attempt": locked.attempts,
                "at": now.isoformat(),
                "status_code": status_code,
                "error": error,
                "duration_ms": duration_ms,
            },
        ]
        locked.last_status_code = status_code
        locked.last_error = error
        retry_in = None
        if not error:
            locked.status = WebhookDelivery.Status.SUCCEEDED
            locked.delivered_at = now
            locked.next_attempt_at = None
        elif give_up or locked.attempts >= MAX_ATTEMPTS:
            locked.status = WebhookDelivery.Status.FAILED
            locked.next_attempt_at = None
        else:
            retry_in = BACKOFF[min(locked.attempts, len(BACKOFF)) - 1]
            locked.next_attempt_at = now + retry_in
        locked.save(
            update_fields=[
                "attempt_log",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        if retry_in is not None:
            _enqueue_on_commit(locked.pk, countdown=retry_in.total_seconds())


@transaction.atomic
def replay_delivery(*, delivery: WebhookDelivery, by: User, now: datetime | None = None) -> WebhookDelivery:
    """Send the same event (same event id) once more, now."""
    now = now or timezone.now()
    _require_owner(delivery.subscription.organisation, by)
    locked = WebhookDelivery.objects.select_for_update().select_related("subscription").get(pk=delivery.pk)
    if not locked.subscription.active:
        raise DomainError(_("Enable the webhook before replaying its deliveries."), code="inactive")
    locked.status = WebhookDelivery.Status.PENDING
    locked.next_attempt_at = now
    locked.save(update_fields=["status", "next_attempt_at"])
    _enqueue_on_commit(locked.pk)
    return locked


def enqueue_due_deliveries(*, now: datetime | None = None) -> int:
    """Re-enqueue pending deliveries that are due (their message was lost or their lease ran out)."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    for delivery_id in due:
        _enqueue_on_commit(delivery_id)
    return len(due)
