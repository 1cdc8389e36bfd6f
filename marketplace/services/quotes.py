"""Writes for RFQs and quotes: send an order to a few providers, answer with a quote or a
decline, award one quote (which books its slot and creates the Trade).

An RFQ shares the order with each invited provider (OrderShare), so they see its summary and
the drawings under the existing rules (NDA first where required). An expired quote cannot be
awarded: the refusal names the moment it expired and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from capacity.models import ProviderProfile, Resource
from capacity.services.booking import Slice, book_slices
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import (
    RFQ,
    Order,
    OrderShare,
    Organisation,
    Quote,
    RFQInvitation,
    Trade,
    TradeBooking,
    User,
)
from marketplace.services.accounts import notify_organisation
from marketplace.services.ops import check_not_suspended
from marketplace.services.trades import (
    AWARDABLE,
    _award_order,
    _check_buyer,
    _create_trade,
    _is_member,
    price_dict,
    rate_card_of,
)
from marketplace.services.webhooks import publish_quote_received

LINE_CODES = ("work", "setup", "material", "freight", "other")


def rfq_max() -> int:
    return int(getattr(settings, "SPINDLE_RFQ_MAX", 5))


@transaction.atomic
def create_rfq(
    *,
    order: Order,
    by: User,
    providers: list[Organisation],
    message: str = "",
    respond_by: datetime | None = None,
    now: datetime | None = None,
) -> RFQ:
    """Send ``order`` to up to SPINDLE_RFQ_MAX verified providers and share it with them."""
    now = now or timezone.now()
    _check_buyer(order, by)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status not in AWARDABLE:
        raise DomainError(
            _("Quotes can only be requested for an open order (this one is %(status)s).")
            % {"status": order.get_status_display()},
            code="not_open",
        )
    unique = {p.pk: p for p in providers}
    if not unique:
        raise DomainError(_("Choose at least one provider."), code="empty")
    if len(unique) > rfq_max():
        raise DomainError(_("An RFQ goes to at most %(max)s providers.") % {"max": rfq_max()}, code="too_many")
    verified = set(
        Organisation.objects.filter(
            pk__in=unique,
            kind__in=[Organisation.Kind.PROVIDER, Organisation.Kind.BOTH],
            provider_profile__status=ProviderProfile.Status.VERIFIED,
        )
        .exclude(pk=order.buyer_id)
        .values_list("pk", flat=True)
    )
    if verified != set(unique):
        raise DomainError(_("Quotes can only be requested from verified providers."), code="not_provider")
    if respond_by is not None and respond_by <= now:
        raise DomainError(_("The answer-by date must be in the future."), code="past")
    rfq = RFQ.objects.create(order=order, created_by=by, message=message.strip(), respond_by=respond_by, created_at=now)
    for provider in sorted(unique.values(), key=lambda p: p.pk):
        RFQInvitation.objects.create(rfq=rfq, provider=provider, invited_at=now)
        OrderShare.objects.get_or_create(order=order, provider=provider, defaults={"shared_by": by})
        notify_organisation(
            organisation=provider,
            kind="rfq_invited",
            title=_("%(buyer)s asks you for a quote: %(title)s") % {"buyer": order.buyer.name, "title": order.title},
            body=rfq.message,
            url=reverse("job_board"),
        )
    return rfq


def _clean_lines(lines: list[dict], currency: str) -> tuple[list[dict], Decimal]:
    cleaned = []
    for line in lines:
        label = str(line.get("label", "")).strip()
        code = line.get("code") or "other"
        try:
            amount = Decimal(str(line.get("amount")))
        except (InvalidOperation, TypeError):
            raise DomainError(_("Every price line needs an amount."), code="amount") from None
        if not label or code not in LINE_CODES:
            raise DomainError(_("Every price line needs a description."), code="label")
        if amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise DomainError(_("Amounts must be positive, to the cent."), code="amount")
        cleaned.append({"code": code, "label": label[:200], "amount": str(amount)})
    if not cleaned:
        raise DomainError(_("A quote needs at least one price line."), code="no_lines")
    return cleaned, sum((Decimal(line["amount"]) for line in cleaned), Decimal("0"))


@transaction.atomic
def submit_quote(
    *,
    invitation: RFQInvitation,
    by: User,
    resource: Resource,
    lines: list[dict],
    lead_time_days: int,
    slot_start: datetime,
    slot_end: datetime,
    valid_until: datetime,
    notes: str = "",
    now: datetime | None = None,
) -> Quote:
    """The invited provider answers with a priced quote and a proposed slot on its resource."""
    now = now or timezone.now()
    invitation = RFQInvitation.objects.select_for_update().select_related("rfq__order__buyer").get(pk=invitation.pk)
    if not _is_member(invitation.provider_id, by):
        raise PermissionDeniedError(_("Only the invited provider can quote."))
    if not invitation.is_open or invitation.rfq.status != RFQ.Status.OPEN:
        raise DomainError(_("This request for quotes is no longer open."), code="closed")
    if resource.provider_id != invitation.provider_id or not resource.is_bookable:
        raise DomainError(_("Propose a slot on one of your listed resources."), code="resource")
    if slot_end <= slot_start or slot_start <= now:
        raise DomainError(_("The proposed slot must be in the future and end after it starts."), code="slot")
    if valid_until <= now:
        raise DomainError(_("A quote must be valid until a moment in the future."), code="valid_until")
    if lead_time_days < 0:
        raise DomainError(_("The lead time cannot be negative."), code="lead_time")
    order = invitation.rfq.order
    cleaned, total = _clean_lines(lines, resource.currency)
    quote = Quote.objects.create(
        invitation=invitation,
        rfq=invitation.rfq,
        provider_id=invitation.provider_id,
        resource=resource,
        created_by=by,
        lines=cleaned,
        total=total,
        currency=resource.currency,
        lead_time_days=lead_time_days,
        slot_start=slot_start,
        slot_end=slot_end,
        valid_until=valid_until,
        notes=notes.strip(),
        created_at=now,
    )
    RFQInvitation.objects.filter(pk=invitation.pk).update(status=RFQInvitation.Status.QUOTED, responded_at=now)
    publish_quote_received(quote)
    notify_organisation(
        organisation=order.buyer,
        kind="quote_received",
        title=_("New quote for %(title)s from %(provider)s")
        % {"title": order.title, "provider": invitation.provider.name},
        url=reverse("order_quotes", args=[order.pk]),
    )
    return quote


@transaction.atomic
def decline_invitation(*, invitation: RFQInvitation, by: User, reason: str, now: datetime | None = None):
    now = now or timezone.now()
    invitation = RFQInvitation.objects.select_for_update().select_related("rfq__order__buyer").get(pk=invitation.pk)
    if not _is_member(invitation.provider_id, by):
        raise PermissionDeniedError(_("Only the invited provider can decline."))
    if not invitation.is_open:
        raise DomainError(_("This request has already been answered."), code="answered")
    if not reason.strip():
        raise DomainError(_("Say why you decline, so the buyer can plan."), code="reason")
    RFQInvitation.objects.filter(pk=invitation.pk).update(
        status=RFQInvitation.Status.DECLINED, decline_reason=reason.strip(), responded_at=now
    )
    order = invitation.rfq.order
    notify_organisation(
        organisation=order.buyer,
        kind="rfq_declined",
        title=_("%(provider)s declined to quote for %(title)s")
        % {"provider": invitation.provider.name, "title": order.title},
        body=reason.strip(),
        url=reverse("order_quotes", args=[order.pk]),
    )
    invitation.refresh_from_db()
    return invitation


@transaction.atomic
def award_quote(*, quote: Quote, by: User, now: datetime | None = None) -> Trade:
    """The buyer accepts a quote: its slot is booked (confirmed) and the Trade created; the
    other invited providers hear they were not selected. All or nothing."""
    now = now or timezone.now()
    order = Order.objects.select_for_update().select_related("buyer").get(pk=quote.rfq.order_id)
    _check_buyer(order, by)
    check_not_suspended(order.buyer_id)
    quote = Quote.objects.select_for_update().select_related("rfq", "provider", "resource").get(pk=quote.pk)
    if quote.is_expired(now):
        raise DomainError(
            _("This quote expired on %(when)s and can no longer be awarded. Ask the provider for a new one.")
            % {"when": f"{timezone.localtime(quote.valid_until):%Y-%m-%d %H:%M}"},
            code="expired",
        )
    if quote.status != Quote.Status.SUBMITTED or quote.rfq.status != RFQ.Status.OPEN:
        raise DomainError(_("This request for quotes has already been decided."), code="decided")
    if order.status not in AWARDABLE:
        raise DomainError(
            _("A %(status)s order cannot be booked or awarded.") % {"status": order.get_status_display()},
            code="not_awardable",
        )
    [booking] = book_slices(slices=[Slice(quote.resource_id, quote.slot_start, quote.slot_end)], hold=False, now=now)
    resource = Resource.objects.select_for_update().get(pk=quote.resource_id)
    amounts = {code: Decimal("0") for code in LINE_CODES}
    for line in quote.lines:
        amounts[line["code"]] += Decimal(line["amount"])
    link = TradeBooking.objects.create(
        order=order,
        booking=booking,
        resource=resource,
        quantity=order.quantity,
        price={"total": str(quote.total), "currency": quote.currency, "lines": quote.lines},
        rate_card=rate_card_of(resource),
        held_by=by,
        created_at=now,
    )
    link.booking = booking
    trade = _create_trade(
        order=order,
        provider_id=quote.provider_id,
        links=[link],
        by=by,
        now=now,
        origin=Trade.Origin.QUOTE,
        price_estimate=quote.total - amounts["material"] - amounts["freight"],
        material=amounts["material"],
        freight=amounts["freight"],
        quote=quote,
        extra_terms={
            "quote": {
                "id": quote.pk,
                "lines": quote.lines,
                "total": str(quote.total),
                "lead_time_days": quote.lead_time_days,
            }
        },
    )
    Quote.objects.filter(pk=quote.pk).update(status=Quote.Status.AWARDED)
    Quote.objects.filter(rfq=quote.rfq).exclude(pk=quote.pk).update(status=Quote.Status.NOT_SELECTED)
    RFQInvitation.objects.filter(pk=quote.invitation_id).update(status=RFQInvitation.Status.SELECTED)
    losers = list(
        RFQInvitation.objects.filter(rfq=quote.rfq)
        .exclude(pk=quote.invitation_id)
        .filter(status__in=[RFQInvitation.Status.INVITED, RFQInvitation.Status.QUOTED])
        .select_related("provider")
    )
    RFQInvitation.objects.filter(pk__in=[i.pk for i in losers]).update(status=RFQInvitation.Status.NOT_SELECTED)
    RFQ.objects.filter(pk=quote.rfq_id).update(status=RFQ.Status.AWARDED)
    for invitation in losers:
        notify_organisation(
            organisation=invitation.provider,
            kind="quote_not_selected",
            title=_("Not selected: %(title)s") % {"title": order.title},
            body=_("The buyer chose another provider for this request. Thank you for answering."),
            url=reverse("job_board"),
        )
    _award_order(order, by, now, _("Quote #%(id)s awarded.") % {"id": quote.pk})
    return trade


__all__ = ["award_quote", "create_rfq", "decline_invitation", "price_dict", "submit_quote"]
