"""Writes that turn an order's current matches into bookings, holds into trades, and matches
into a request for quotes. They translate a stored match (or the split plan) into the slices
``trades.book_plan`` takes and leave every rule — holds, locks, terms, trades per provider —
to the trade and quote services.

A match's slots are the machine's free windows the work would use; the last one ends at the
match's finish, so a slice is ``[slot start, min(slot end, finish))``. The quantity is shared
over the slices by their length (each makes at least one part), and so are the machine minutes
the match priced, so a one-slot match is agreed at exactly the price the card showed (at the
rate card of the moment of confirmation).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from capacity.models import Booking
from capacity.services.booking import release_bookings
from marketplace.errors import DomainError
from marketplace.models import RFQ, Match, MatchRun, Order, TradeBooking, User
from marketplace.services import quotes
from marketplace.services.trades import PlanSlice, _check_awardable, _check_buyer, book_plan


def _current_run(order: Order) -> MatchRun:
    run = MatchRun.objects.filter(order=order, status=MatchRun.Status.DONE).order_by("-finished_at", "-pk").first()
    if run is None:
        raise DomainError(_("This order has no matches yet."), code="no_run")
    return run


def _not_current() -> DomainError:
    return DomainError(
        _("Some of the chosen matches are no longer current. Choose again from the latest matches."),
        code="not_current",
    )


def _shares(total: int, weights: list[int], floor: int) -> list[int]:
    """``total`` split by ``weights`` (largest remainder), each share at least ``floor``."""
    rest = total - floor * len(weights)
    whole = sum(weights)
    exact = [rest * w / whole for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[: rest - sum(shares)]:
        shares[i] += 1
    return [floor + s for s in shares]


def plan_slices(
    *, resource_id: int, slots: list, finish: datetime, quantity: int, machine_minutes: Decimal
) -> list[PlanSlice]:
    """The slices of one resource's part of a plan (see the module docstring)."""
    spans = []
    for lo, hi in slots:
        start, end = parse_datetime(lo), min(parse_datetime(hi), finish)
        if end > start:
            spans.append((start, end))
    if not spans:
        raise _not_current()
    if quantity < len(spans):
        raise DomainError(
            _("This match spreads %(quantity)s parts over %(count)s separate slots; request a quote instead.")
            % {"quantity": quantity, "count": len(spans)},
            code="too_few_parts",
        )
    seconds = [int((end - start).total_seconds()) for start, end in spans]
    quantities = _shares(quantity, seconds, 1)
    minutes = [Decimal(s) / 60 for s in seconds[:-1]]
    minutes.append(max(machine_minutes - sum(minutes, Decimal(0)), Decimal(seconds[-1]) / 60))
    return [
        PlanSlice(resource_id, start, end, q, {"machine_minutes": str(m.quantize(Decimal("0.01")))})
        for (start, end), q, m in zip(spans, quantities, minutes, strict=True)
    ]


def match_slices(match: Match, quantity: int) -> list[PlanSlice]:
    return plan_slices(
        resource_id=match.resource_id,
        slots=match.slots,
        finish=match.finish_at,
        quantity=quantity,
        machine_minutes=Decimal(match.price.get("machine_minutes") or 0),
    )


def split_slices(run: MatchRun) -> list[PlanSlice]:
    slices = []
    for part in run.split_plan["parts"]:
        slices += plan_slices(
            resource_id=part["resource_id"],
            slots=part["slots"],
            finish=parse_datetime(part["finish"]),
            quantity=part["quantity"],
            machine_minutes=Decimal(part["price"].get("machine_minutes") or 0),
        )
    return slices


def active_holds(order: Order, now: datetime | None = None):
    """The order's plan bookings still held (not yet confirmed, not expired or released)."""
    now = now or timezone.now()
    return (
        TradeBooking.objects.filter(
            order=order, trade__isnull=True, booking__status=Booking.Status.HELD, booking__hold_expires_at__gt=now
        )
        .select_related("booking", "resource", "resource__provider")
        .order_by("booking__span", "pk")
    )


def _hold(order: Order, buyer_user: User, slices: list[PlanSlice], now: datetime) -> list[TradeBooking]:
    """Hold ``slices`` for the order, giving back the order's earlier holds in the same
    transaction: an order is one quantity, so one plan is held at a time. A refusal (slot
    taken) keeps the earlier holds as they were."""
    with transaction.atomic():
        earlier = [link.booking_id for link in active_holds(order, now)]
        if earlier:
            release_bookings(booking_ids=earlier, now=now)
        return book_plan(order=order, buyer_user=buyer_user, slices=slices, hold=True, now=now)


def book_match(*, order: Order, match_id: int, buyer_user: User, now: datetime | None = None) -> list[TradeBooking]:
    """Hold the slots of one of the order's current matches for the whole quantity."""
    now = now or timezone.now()
    _check_buyer(order, buyer_user)
    _check_awardable(order)
    match = Match.objects.filter(run=_current_run(order), pk=match_id).first()
    if match is None:
        raise _not_current()
    return _hold(order, buyer_user, match_slices(match, order.quantity), now)


def book_split(*, order: Order, buyer_user: User, now: datetime | None = None) -> list[TradeBooking]:
    """Hold every slice of the order's current split plan at once (one transaction); confirming
    makes one trade per provider."""
    now = now or timezone.now()
    _check_buyer(order, buyer_user)
    _check_awardable(order)
    run = _current_run(order)
    if not run.split_plan:
        raise _not_current()
    return _hold(order, buyer_user, split_slices(run), now)


def release_holds(*, order: Order, buyer_user: User, booking_ids: list[int], now: datetime | None = None) -> int:
    """Give back held slots of the order's plan (the buyer changed their mind)."""
    now = now or timezone.now()
    _check_buyer(order, buyer_user)
    with transaction.atomic():
        # The order first, as book_plan and confirm_plan lock it: a release and a confirmation
        # of the same plan queue here instead of racing.
        Order.objects.select_for_update().filter(pk=order.pk).first()
        held = [link.booking_id for link in active_holds(order, now).filter(booking_id__in=booking_ids)]
        if not booking_ids or len(held) != len(set(booking_ids)):
            raise DomainError(_("These slots are no longer held for this order."), code="not_held")
        return release_bookings(booking_ids=held, now=now)


def request_quotes_from_matches(
    *, order: Order, by: User, match_ids: list[int], message: str = "", now: datetime | None = None
) -> RFQ:
    """An RFQ to the providers of the chosen current matches (create_rfq checks the rest)."""
    ids = set(match_ids)
    matches = list(Match.objects.filter(run=_current_run(order), pk__in=ids).select_related("provider")) if ids else []
    if len(matches) != len(ids):
        raise _not_current()
    providers = {m.provider_id: m.provider for m in matches}
    return quotes.create_rfq(order=order, by=by, providers=list(providers.values()), message=message, now=now)
