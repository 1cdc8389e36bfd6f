"""Writes for trades: instant booking of a matched plan, the trade state machine, delivery,
inspection, rescheduling, no-shows, the message thread and reviews.

Every change of a trade's state goes through ``transition_trade``: it checks the one map of
allowed transitions (``TRADE_TRANSITIONS``) and the role allowed to make each move
(``TRANSITION_ROLES``), and writes exactly one TradeEvent. A refused move raises and writes
nothing. Notifications to the other side are recorded in the same transaction and emailed by
Celery once it commits (marketplace.services.accounts.notify).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.money import HALF_UP, quantize
from billing.services.deposits import (
    check_production_allowed,
    deposit_terms,
    request_deposit,
    settle_deposit_on_cancel,
)
from capacity.models import Booking, Resource
from capacity.services.booking import Slice, book_slices, confirm_bookings, release_bookings
from marketplace import drawings
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import (
    TRADE_TRANSITIONS,
    TRANSITION_ROLES,
    Membership,
    Order,
    Organisation,
    Review,
    Trade,
    TradeAttachment,
    TradeBooking,
    TradeEvent,
    TradeFileAccess,
    TradeMessage,
    User,
)
from marketplace.models.trades import BUYER, OPERATOR, PROVIDER
from marketplace.services.accounts import notify_organisation
from marketplace.services.ops import check_not_suspended
from marketplace.services.orders import transition_order
from marketplace.services.webhooks import publish_trade_created, publish_trade_status_changed

# Orders a plan may be booked for or an RFQ awarded on.
AWARDABLE = (Order.Status.OPEN, Order.Status.MATCHED)
MAX_ATTACHMENTS = 5


@dataclass(frozen=True)
class PlanSlice:
    """One slice of a matched plan: a slot on a resource, the quantity made there and the price
    the match showed (a matching PriceBreakdown or its dict)."""

    resource_id: int
    start: datetime
    end: datetime
    quantity: int
    price: Any = None


def price_dict(price) -> dict:
    """A PriceBreakdown (or dict) as JSON-safe data: Decimals as strings."""
    if price is None:
        return {}
    data = asdict(price) if is_dataclass(price) else dict(price)
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()}


def _is_member(organisation_id: int, user: User) -> bool:
    return Membership.objects.filter(organisation_id=organisation_id, user=user).exists()


def roles_of(trade: Trade, user: User) -> set[str]:
    """The roles ``user`` holds on ``trade`` (a user may act for both sides' organisations)."""
    roles = set()
    member_of = set(
        Membership.objects.filter(user=user, organisation__in=[trade.buyer_id, trade.provider_id]).values_list(
            "organisation_id", flat=True
        )
    )
    if trade.buyer_id in member_of:
        roles.add(BUYER)
    if trade.provider_id in member_of:
        roles.add(PROVIDER)
    if user.is_operator:
        roles.add(OPERATOR)
    return roles


def _trade_url(trade: Trade) -> str:
    return reverse("trade_detail", args=[trade.pk])


def _notify_party(trade: Trade, organisation_id: int, *, kind: str, title: str, body: str = "") -> None:
    organisation = Organisation.objects.get(pk=organisation_id)
    notify_organisation(organisation=organisation, kind=kind, title=title, body=body, url=_trade_url(trade))


# --- terms snapshot ------------------------------------------------------------------------


def rate_card_of(resource: Resource) -> dict:
    return {
        "resource_id": resource.pk,
        "resource_name": resource.name,
        "billing_unit": resource.billing_unit,
        "rate": str(resource.rate),
        "setup_fee": str(resource.setup_fee),
        "minimum_charge": str(resource.minimum_charge),
        "currency": resource.currency,
        "billing_increment_minutes": resource.billing_increment_minutes,
    }


def vat_rate_for(kind: str) -> Decimal:
    return Decimal(str(settings.SPINDLE_VAT_RATES[kind]))


def _estimate(resource: Resource, *, quantity: int, minutes: Decimal):
    from marketplace.matching.pricing import RateCard, estimate

    card = RateCard(
        billing_unit=resource.billing_unit,
        rate=resource.rate,
        setup_fee=resource.setup_fee,
        minimum_charge=resource.minimum_charge,
        currency=resource.currency,
        billing_increment_minutes=resource.billing_increment_minutes,
    )
    return estimate(card, quantity=quantity, machine_minutes=minutes)


def estimate_link(link: TradeBooking, resource: Resource):
    """The price a plan slice is agreed at: the resource's rate card now, for the slice's quantity
    and machine minutes (those the match priced, else the slot's length). The hold page shows
    this same estimate before the buyer confirms."""
    minutes = Decimal(link.price.get("machine_minutes") or 0) or Decimal(
        int((link.booking.span.upper - link.booking.span.lower).total_seconds() // 60)
    )
    return _estimate(resource, quantity=link.quantity, minutes=minutes)


def _material_share(order: Order, quantity: int) -> Decimal:
    """The material line of a trade: the order's material budget (provider-supplied material
    only), shared out by quantity when the order is split."""
    if order.material_supply != Order.MaterialSupply.PROVIDER_SUPPLIED or not order.material_budget:
        return Decimal("0")
    return quantize(order.material_budget * quantity / order.quantity, order.currency, HALF_UP)


def _create_trade(
    *,
    order: Order,
    provider_id: int,
    links: list[TradeBooking],
    by: User,
    now: datetime,
    origin: str,
    price_estimate: Decimal | None = None,
    material: Decimal | None = None,
    freight: Decimal = Decimal("0"),
    quote=None,
    extra_terms: dict | None = None,
) -> Trade:
    """One Trade for ``provider_id`` over ``links``, its terms snapshotted from the resources'
    rate cards as they are now (the caller holds the lock on those rows)."""
    links = sorted(links, key=lambda link: (link.booking.span.lower, link.pk or 0))
    primary = links[0].resource
    currency = primary.currency
    quantity = sum(link.quantity for link in links)
    first_start = links[0].booking.span.lower
    if price_estimate is None:
        price_estimate = sum((Decimal(link.price["total"]) for link in links), Decimal("0"))
    if material is None:
        material = _material_share(order, quantity)
    commission = settings.SPINDLE_COMMISSION
    trade = Trade(
        buyer_id=order.buyer_id,
        provider_id=provider_id,
        order=order,
        quote=quote,
        origin=origin,
        status=Trade.Status.CONFIRMED,
        created_by=by,
        kind=order.kind,
        currency=currency,
        quantity=quantity,
        billing_unit=primary.billing_unit,
        rate=primary.rate,
        setup_fee=primary.setup_fee,
        minimum_charge=primary.minimum_charge,
        billing_increment_minutes=primary.billing_increment_minutes,
        increment_rounding="ceiling",
        vat_rate=vat_rate_for(order.kind),
        commission_rate=Decimal(commission["rate"]),
        commission_min=Decimal(commission["min"]),
        commission_max=Decimal(commission["max"]) if commission.get("max") else None,
        material_amount=material,
        freight_amount=freight,
        price_estimate=price_estimate,
        free_cancellation_until=first_start - timedelta(hours=settings.SPINDLE_FREE_CANCELLATION_HOURS),
        cancellation_fee_percent=Decimal(str(settings.SPINDLE_CANCELLATION_FEE_PERCENT)),
        created_at=now,
    )
    trade.terms = {
        "currency": currency,
        "quantity": quantity,
        "billing_unit": trade.billing_unit,
        "rate": str(trade.rate),
        "setup_fee": str(trade.setup_fee),
        "minimum_charge": str(trade.minimum_charge),
        "billing_increment_minutes": trade.billing_increment_minutes,
        "increment_rounding": trade.increment_rounding,
        "vat_rate": str(trade.vat_rate),
        "commission": {"rate": commission["rate"], "min": commission["min"], "max": commission.get("max")},
        "material": str(material),
        "freight": str(freight),
        "price_estimate": str(price_estimate),
        "cancellation": {
            "free_until": trade.free_cancellation_until.isoformat(),
            "fee_percent": str(trade.cancellation_fee_percent),
        },
        "slices": [
            {
                "resource_id": link.resource_id,
                "start": link.booking.span.lower.isoformat(),
                "end": link.booking.span.upper.isoformat(),
                "quantity": link.quantity,
                "rate_card": link.rate_card,
                "price": link.price,
            }
            for link in links
        ],
        **(extra_terms or {}),
    }
    deposit = deposit_terms(provider_id)
    if deposit:
        trade.terms["deposit"] = deposit
    trade.save()
    TradeBooking.objects.filter(pk__in=[link.pk for link in links]).update(trade=trade)
    TradeEvent.objects.create(trade=trade, actor=by, from_status="", to_status=trade.status, at=now)
    request_deposit(trade=trade, now=now)
    transaction.on_commit(_enqueue_flag_trades)
    publish_trade_created(trade)
    _notify_party(
        trade,
        provider_id,
        kind="trade_confirmed",
        title=_("New trade #%(id)s from %(buyer)s: %(title)s")
        % {"id": trade.pk, "buyer": order.buyer.name, "title": order.title},
    )
    return trade


def _enqueue_flag_trades() -> None:
    from marketplace.tasks import flag_trades

    flag_trades.delay()


def _award_order(order: Order, by: User, now: datetime, note: str) -> None:
    if order.status != Order.Status.AWARDED:
        transition_order(order=order, to=Order.Status.AWARDED, by=by, note=note, now=now)


def _check_buyer(order: Order, user: User) -> None:
    if not _is_member(order.buyer_id, user):
        raise PermissionDeniedError(_("Only members of %(name)s can do that.") % {"name": order.buyer.name})


def _check_awardable(order: Order) -> None:
    if order.status not in AWARDABLE:
        raise DomainError(
            _("A %(status)s order cannot be booked or awarded.") % {"status": order.get_status_display()},
            code="not_awardable",
        )


# --- instant booking -----------------------------------------------------------------------


def book_plan(
    *, order: Order, buyer_user: User, slices: list, hold: bool = True, now: datetime | None = None
) -> list[TradeBooking]:
    """Reserve every slice of a matched plan at once (held for HOLD_DURATION), or none.

    ``slices`` are PlanSlice or ``(resource_id, start, end, quantity, price)`` tuples. A slot
    that is no longer free raises SlotTaken with the next free options; nothing is kept.
    With ``hold=False`` the plan is booked and confirmed (trades created) in one go.
    """
    now = now or timezone.now()
    pieces = [piece if isinstance(piece, PlanSlice) else PlanSlice(*piece) for piece in slices]
    _check_buyer(order, buyer_user)
    check_not_suspended(order.buyer_id)
    _check_awardable(order)
    for piece in pieces:
        if piece.quantity < 1:
            raise DomainError(_("Each slot of a plan must make at least one part."), code="quantity")
    with transaction.atomic():
        # Lock order everywhere: the order, then its resources (confirm_plan and award_quote
        # take them in the same order), so two plans of one order cannot deadlock.
        Order.objects.select_for_update().filter(pk=order.pk).first()
        bookings = book_slices(slices=[Slice(p.resource_id, p.start, p.end) for p in pieces], hold=True, now=now)
        resources = {r.pk: r for r in Resource.objects.filter(pk__in={p.resource_id for p in pieces})}
        if any(resources[p.resource_id].provider_id == order.buyer_id for p in pieces):
            raise DomainError(_("You cannot book your own organisation's machines."), code="own_resource")
        links = [
            TradeBooking.objects.create(
                order=order,
                booking=booking,
                resource=resources[piece.resource_id],
                quantity=piece.quantity,
                price=price_dict(piece.price),
                held_by=buyer_user,
                created_at=now,
            )
            for booking, piece in zip(bookings, pieces, strict=True)
        ]
        if not hold:
            confirm_plan(order=order, buyer_user=buyer_user, booking_ids=[b.pk for b in bookings], now=now)
            for link in links:
                link.refresh_from_db()
    return links


@transaction.atomic
def confirm_plan(*, order: Order, buyer_user: User, booking_ids: list[int], now: datetime | None = None) -> list[Trade]:
    """Held bookings → confirmed, and one Trade per provider of the plan, terms snapshotted
    from the resources' rate cards now; the order becomes awarded. All or nothing."""
    now = now or timezone.now()
    _check_buyer(order, buyer_user)
    # Lock the order first: two confirmations of one order queue here (award happens once).
    order = Order.objects.select_for_update().select_related("buyer").get(pk=order.pk)
    _check_awardable(order)
    links = list(
        TradeBooking.objects.select_related("booking")
        .filter(order=order, booking_id__in=booking_ids, trade__isnull=True)
        .order_by("pk")
    )
    if not booking_ids or len(links) != len(set(booking_ids)):
        raise DomainError(_("These bookings do not belong to this order's plan."), code="not_in_plan")
    # Lock the resources (pk order, as book_slices does) BEFORE touching their bookings: a
    # concurrent booker holding a resource lock may be waiting on our booking rows through the
    # exclusion constraint, so updating the bookings first and then waiting for the resource
    # would deadlock. The rate cards are read under this lock: the terms of this moment.
    resources = {
        r.pk: r
        for r in Resource.objects.select_for_update().filter(pk__in={link.resource_id for link in links}).order_by("pk")
    }
    confirm_bookings(booking_ids=booking_ids, now=now)
    by_provider: dict[int, list[TradeBooking]] = {}
    for link in links:
        resource = resources[link.resource_id]
        link.resource = resource
        link.booking.status = Booking.Status.CONFIRMED
        breakdown = estimate_link(link, resource)
        link.rate_card = rate_card_of(resource)
        link.price = price_dict(breakdown)
        link.save(update_fields=["rate_card", "price"])
        by_provider.setdefault(resource.provider_id, []).append(link)
    trades = [
        _create_trade(
            order=order, provider_id=provider_id, links=group, by=buyer_user, now=now, origin=Trade.Origin.BOOKING
        )
        for provider_id, group in sorted(by_provider.items())
    ]
    _award_order(order, buyer_user, now, _("Booked instantly: %(count)s trade(s).") % {"count": len(trades)})
    return trades


# --- the state machine ---------------------------------------------------------------------


def _refuse(trade_status: str, to: str) -> DomainError:
    label = Trade.Status(to).label if to in Trade.Status.values else to
    return DomainError(
        _("A trade cannot go from %(from)s to %(to)s.") % {"from": Trade.Status(trade_status).label, "to": label},
        code="transition",
    )


@transaction.atomic
def transition_trade(
    *, trade: Trade, to: str, by: User, note: str = "", as_role: str | None = None, now: datetime | None = None
) -> Trade:
    """Move ``trade`` to ``to`` if the map allows it and ``by`` holds a role allowed to make the
    move (``as_role`` narrows it to the side the user acts for). One TradeEvent per change;
    a refusal raises and writes nothing."""
    now = now or timezone.now()
    locked = Trade.objects.select_for_update().select_related("order", "buyer", "provider").get(pk=trade.pk)
    current = locked.status
    if to not in TRADE_TRANSITIONS.get(current, ()):
        raise _refuse(current, to)
    roles = roles_of(locked, by)
    if as_role is not None:
        roles &= {as_role}
    acting = roles & TRANSITION_ROLES[(current, to)]
    if not acting:
        raise PermissionDeniedError(
            _("You may not move this trade from %(from)s to %(to)s.")
            % {"from": Trade.Status(current).label, "to": Trade.Status(to).label},
            code="role",
        )
    role = BUYER if BUYER in acting else PROVIDER if PROVIDER in acting else OPERATOR
    note = note.strip()
    if to in (Trade.Status.DISPUTED, Trade.Status.RESOLVED) and not note:
        raise DomainError(_("Say what the dispute is about, or how it was resolved."), code="note_required")
    if to == Trade.Status.INSPECTED and locked.accepted_quantity is None:
        raise DomainError(_("Record the inspection (accepted and rejected parts) first."), code="not_inspected")
    if to == Trade.Status.IN_PRODUCTION:
        check_production_allowed(locked)

    changes: dict[str, Any] = {"status": to, "updated_at": now}
    if to == Trade.Status.DELIVERED and locked.delivered_at is None:
        changes["delivered_at"] = now
    if to == Trade.Status.CANCELLED:
        changes["cancelled_by_id"] = locked.buyer_id if role == BUYER else locked.provider_id
        late = now >= locked.free_cancellation_until
        # The fee applies when the buyer calls off late; it is charged when billing lands.
        fee = Decimal("0")
        if late and role == BUYER:
            fee = quantize(locked.price_estimate * locked.cancellation_fee_percent / 100, locked.currency, HALF_UP)
        changes["cancellation_fee"] = fee
        # A paid deposit goes back minus the fee, in this transaction: a refusal by Stripe
        # rolls the whole cancellation back.
        settle_deposit_on_cancel(trade=locked, fee=fee, now=now)
        release_bookings(booking_ids=list(locked.bookings.values_list("booking_id", flat=True)), now=now)
    if to == Trade.Status.COMPLETED:
        Booking.objects.filter(trade_link__trade=locked, status=Booking.Status.CONFIRMED).update(
            status=Booking.Status.COMPLETED, updated_at=now
        )
    Trade.objects.filter(pk=locked.pk).update(**changes)
    TradeEvent.objects.create(trade=locked, actor=by, from_status=current, to_status=to, note=note, at=now)
    publish_trade_status_changed(locked, from_status=current, to_status=to, now=now)
    for field, value in changes.items():
        setattr(trade, field, value)

    other = locked.provider_id if role == BUYER else locked.buyer_id
    parties = [other] if role != OPERATOR else [locked.buyer_id, locked.provider_id]
    for party in parties:
        _notify_party(
            locked,
            party,
            kind=f"trade_{to}",
            title=_("Trade #%(id)s is now %(status)s") % {"id": locked.pk, "status": Trade.Status(to).label},
            body=note,
        )
    if to in Trade.FINAL:
        _close_order_when_done(locked.order, by, now)
    return trade


def _close_order_when_done(order: Order, by: User, now: datetime) -> None:
    """An awarded order closes once all its trades are final and at least one was fulfilled."""
    trades = list(Trade.objects.filter(order=order).values_list("status", flat=True))
    if order.status != Order.Status.AWARDED or any(s not in Trade.FINAL for s in trades):
        return
    if all(s == Trade.Status.CANCELLED for s in trades):
        transition_order(order=order, to=Order.Status.CANCELLED, by=by, note=_("Every trade was cancelled."), now=now)
    else:
        transition_order(order=order, to=Order.Status.CLOSED, by=by, now=now)


# --- delivery and inspection ---------------------------------------------------------------


@transaction.atomic
def record_delivery(
    *, trade: Trade, by: User, carrier: str, tracking_number: str, delivered: bool = False, now=None
) -> Trade:
    """The provider records the shipment; with ``delivered`` it also marks the trade delivered."""
    locked = Trade.objects.select_for_update().get(pk=trade.pk)
    if PROVIDER not in roles_of(locked, by):
        raise PermissionDeniedError(_("Only the provider records the delivery."))
    if locked.status not in (Trade.Status.IN_PRODUCTION, Trade.Status.PRODUCED, Trade.Status.DELIVERED):
        raise DomainError(_("The delivery is recorded once production has started."), code="not_in_production")
    Trade.objects.filter(pk=locked.pk).update(carrier=carrier.strip(), tracking_number=tracking_number.strip())
    trade.carrier, trade.tracking_number = carrier.strip(), tracking_number.strip()
    if delivered:
        transition_trade(trade=trade, to=Trade.Status.DELIVERED, by=by, as_role=PROVIDER, now=now)
    return trade


def record_inspection(
    *,
    trade: Trade,
    by: User,
    accepted: int,
    rejected: int,
    reasons: str = "",
    report=None,
    now: datetime | None = None,
) -> Trade:
    """The buyer counts the delivery: accepted and rejected parts (reasons required for any
    rejection), an optional report (FAI, CMM — a private file checked like a drawing); the
    trade becomes inspected. A refusal leaves no row and no stored file behind."""
    now = now or timezone.now()
    if accepted < 0 or rejected < 0:
        raise DomainError(_("Counts cannot be negative."), code="invalid")
    if accepted + rejected != trade.quantity:
        raise DomainError(
            _("Accepted and rejected parts must add up to the %(quantity)s delivered.") % {"quantity": trade.quantity},
            code="count_mismatch",
        )
    if rejected and not reasons.strip():
        raise DomainError(_("Give the reasons for the rejected parts."), code="reasons_required")
    detected = drawings.check_upload(report) if report is not None else None
    stored_name = None
    try:
        with transaction.atomic():
            locked = Trade.objects.select_for_update().get(pk=trade.pk)
            if BUYER not in roles_of(locked, by):
                raise PermissionDeniedError(_("Only the buyer inspects the delivery."))
            if locked.status != Trade.Status.DELIVERED:
                raise _refuse(locked.status, Trade.Status.INSPECTED)
            locked.accepted_quantity, locked.rejected_quantity = accepted, rejected
            locked.rejection_reasons, locked.inspected_at = reasons.strip(), now
            fields = ["accepted_quantity", "rejected_quantity", "rejection_reasons", "inspected_at"]
            if report is not None:
                name = PurePath(report.name).name[:255]
                locked.inspection_report.save(name, report, save=False)
                stored_name = locked.inspection_report.name
                locked.inspection_report_name, locked.inspection_report_type = name, detected.content_type
                fields += ["inspection_report", "inspection_report_name", "inspection_report_type"]
            locked.save(update_fields=fields)
            transition_trade(trade=locked, to=Trade.Status.INSPECTED, by=by, as_role=BUYER, now=now)
    except Exception:
        if stored_name:
            trade.inspection_report.storage.delete(stored_name)
        raise
    trade.refresh_from_db()
    return trade


# --- rescheduling and no-shows -------------------------------------------------------------


def reschedule_booking(
    *, link: TradeBooking, start: datetime, end: datetime, by: User, now: datetime | None = None
) -> TradeBooking:
    """Move a trade's booking to another slot on the same resource as one atomic step: the old
    slot is released and the new one booked in one transaction, so a refusal (slot taken,
    outside idle time) leaves the original booking exactly as it was."""
    now = now or timezone.now()
    trade = link.trade
    roles = roles_of(trade, by)
    if not roles & {BUYER, PROVIDER}:
        raise PermissionDeniedError(_("Only the two parties can reschedule a booking."))
    with transaction.atomic():
        locked_trade = Trade.objects.select_for_update().get(pk=trade.pk)
        if locked_trade.status != Trade.Status.CONFIRMED:
            raise DomainError(_("Bookings can only be moved before production starts."), code="not_confirmed")
        # The resource first (see confirm_plan: bookings are touched only under its lock).
        Resource.objects.select_for_update().get(pk=link.resource_id)
        link = TradeBooking.objects.select_for_update(of=("self",)).select_related("booking").get(pk=link.pk)
        old = link.booking
        if old.status != Booking.Status.CONFIRMED:
            raise DomainError(_("This booking is no longer active."), code="inactive")
        old_span = (old.span.lower, old.span.upper)
        release_bookings(booking_ids=[old.pk], now=now)
        [new] = book_slices(slices=[Slice(link.resource_id, start, end)], hold=False, now=now)
        link.booking = new
        link.save(update_fields=["booking"])
        note = _("Booking moved from %(old)s to %(new)s.") % {
            "old": f"{timezone.localtime(old_span[0]):%Y-%m-%d %H:%M}–{timezone.localtime(old_span[1]):%H:%M}",
            "new": f"{timezone.localtime(start):%Y-%m-%d %H:%M}–{timezone.localtime(end):%H:%M}",
        }
        TradeEvent.objects.create(
            trade=locked_trade,
            kind=TradeEvent.Kind.RESCHEDULE,
            actor=by,
            from_status=locked_trade.status,
            to_status=locked_trade.status,
            note=note,
            at=now,
        )
        other = locked_trade.provider_id if BUYER in roles else locked_trade.buyer_id
        _notify_party(locked_trade, other, kind="trade_rescheduled", title=note)
    return link


@transaction.atomic
def record_no_show(*, link: TradeBooking, by: User, note: str = "", now: datetime | None = None) -> TradeBooking:
    """The buyer (or an operator) records that the machine never started within a booked slot:
    the slot has ended and the trade is still only confirmed. Counts against the provider."""
    now = now or timezone.now()
    link = TradeBooking.objects.select_for_update(of=("self",)).select_related("booking", "trade").get(pk=link.pk)
    trade = link.trade
    if not roles_of(trade, by) & {BUYER, OPERATOR}:
        raise PermissionDeniedError(_("Only the buyer or an operator can record a no-show."))
    if link.no_show_at is not None:
        raise DomainError(_("A no-show is already recorded for this booking."), code="already")
    if trade.status != Trade.Status.CONFIRMED or link.booking.status != Booking.Status.CONFIRMED:
        raise DomainError(_("Production has started: this is not a no-show."), code="started")
    if link.booking.span.upper > now:
        raise DomainError(_("A no-show can only be recorded after the booked slot has ended."), code="not_ended")
    link.no_show_at, link.no_show_by = now, by
    link.save(update_fields=["no_show_at", "no_show_by"])
    TradeEvent.objects.create(
        trade=trade,
        kind=TradeEvent.Kind.NO_SHOW,
        actor=by,
        from_status=trade.status,
        to_status=trade.status,
        note=note.strip() or _("The machine never started within the booked slot."),
        at=now,
    )
    _notify_party(
        trade, trade.provider_id, kind="trade_no_show", title=_("No-show recorded on trade #%(id)s") % {"id": trade.pk}
    )
    return link


# --- the thread ----------------------------------------------------------------------------


def post_message(
    *, trade: Trade, by: User, organisation: Organisation, body: str, uploads: list | None = None, now=None
) -> TradeMessage:
    """A message from one party to the other, with files checked by content like drawings. A
    refused file leaves no message and no stored file."""
    uploads = uploads or []
    body = body.strip()
    if organisation.pk not in (trade.buyer_id, trade.provider_id) or not _is_member(organisation.pk, by):
        raise PermissionDeniedError(_("Only the two parties can write in this thread."))
    if not body and not uploads:
        raise DomainError(_("Write a message or attach a file."), code="empty")
    if len(uploads) > MAX_ATTACHMENTS:
        raise DomainError(_("At most %(count)s files per message.") % {"count": MAX_ATTACHMENTS}, code="too_many")
    detected = [drawings.check_upload(upload) for upload in uploads]
    stored: list = []
    try:
        with transaction.atomic():
            message = TradeMessage.objects.create(
                trade=trade, author=by, organisation=organisation, body=body, created_at=now or timezone.now()
            )
            for upload, kind in zip(uploads, detected, strict=True):
                digest = hashlib.sha256()
                upload.seek(0)
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
                name = PurePath(upload.name).name[:255]
                attachment = TradeAttachment(
                    message=message,
                    original_name=name,
                    content_type=kind.content_type,
                    size=upload.size,
                    sha256=digest.hexdigest(),
                )
                attachment.file.save(name, upload, save=False)
                stored.append(attachment.file)
                attachment.save()
            other = trade.provider_id if organisation.pk == trade.buyer_id else trade.buyer_id
            _notify_party(
                trade,
                other,
                kind="trade_message",
                title=_("New message on trade #%(id)s from %(name)s") % {"id": trade.pk, "name": organisation.name},
                body=body[:500],
            )
    except Exception:
        for file in stored:
            file.delete(save=False)
        raise
    return message


def record_trade_file_access(
    *, trade: Trade, attachment: TradeAttachment | None, user: User, organisation, ip: str | None
) -> TradeFileAccess:
    return TradeFileAccess.objects.create(
        trade=trade, attachment=attachment, user=user, organisation=organisation, ip=ip or None
    )


# --- reviews -------------------------------------------------------------------------------


def leave_review(
    *, trade: Trade, by: User, organisation: Organisation, rating: int, text: str = "", now=None
) -> Review:
    """One review per party per completed trade, of the other party."""
    if organisation.pk not in (trade.buyer_id, trade.provider_id) or not _is_member(organisation.pk, by):
        raise PermissionDeniedError(_("Only the two parties can review this trade."))
    if trade.status not in (Trade.Status.COMPLETED, Trade.Status.RESOLVED):
        raise DomainError(_("A trade can be reviewed once it is completed."), code="not_completed")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise DomainError(_("Give a rating from 1 to 5."), code="rating")
    subject = trade.provider_id if organisation.pk == trade.buyer_id else trade.buyer_id
    try:
        with transaction.atomic():
            review = Review.objects.create(
                trade=trade,
                author=organisation,
                subject_id=subject,
                written_by=by,
                rating=rating,
                text=text.strip(),
                created_at=now or timezone.now(),
            )
    except IntegrityError as error:
        raise DomainError(_("Your organisation has already reviewed this trade."), code="already_reviewed") from error
    return review
