"""Reads for trades, RFQs and quotes: who may see what, the lists and the job board.

A trade is seen by its two parties (by their active organisation) and by operators with a
second factor; anyone else gets None, so views answer 404. Quotes are seen by the buyer of
the order and by the provider that wrote them — never by competing providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from capacity.models import Booking, Resource
from marketplace.models import (
    RFQ,
    TRADE_TRANSITIONS,
    TRANSITION_ROLES,
    Order,
    Organisation,
    Quote,
    RFQInvitation,
    Trade,
    TradeAttachment,
    TradeBooking,
    User,
)
from marketplace.models.trades import BUYER, OPERATOR, PROVIDER
from marketplace.selectors.orders import is_verified_operator


@dataclass(frozen=True)
class TradeAccess:
    trade: Trade
    role: str  # BUYER, PROVIDER or OPERATOR
    organisation: Organisation | None

    @property
    def is_buyer(self) -> bool:
        return self.role == BUYER

    @property
    def is_provider(self) -> bool:
        return self.role == PROVIDER

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR

    @property
    def is_party(self) -> bool:
        return self.role in (BUYER, PROVIDER)


def trade_access(*, user: User, organisation: Organisation | None, trade_id: int) -> TradeAccess | None:
    trade = Trade.objects.select_related("buyer", "provider", "order", "order__category").filter(pk=trade_id).first()
    if trade is None:
        return None
    if organisation is not None:
        if trade.buyer_id == organisation.pk:
            return TradeAccess(trade, BUYER, organisation)
        if trade.provider_id == organisation.pk:
            return TradeAccess(trade, PROVIDER, organisation)
    if is_verified_operator(user):
        return TradeAccess(trade, OPERATOR, organisation)
    return None


# The label of the button that makes each move.
ACTION_LABELS = {
    Trade.Status.IN_PRODUCTION: _("Start production"),
    Trade.Status.PRODUCED: _("Production finished"),
    Trade.Status.DELIVERED: _("Mark as delivered"),
    Trade.Status.INSPECTED: _("Record inspection"),
    Trade.Status.COMPLETED: _("Accept and complete"),
    Trade.Status.CANCELLED: _("Cancel trade"),
    Trade.Status.DISPUTED: _("Open a dispute"),
    Trade.Status.RESOLVED: _("Resolve dispute"),
}


def next_actions(trade: Trade, role: str) -> list[tuple[str, str]]:
    """(target status, button label) the viewer's role may take now. Inspection has its own
    form (counts and report) and a dispute is resolved on the operator's dispute page (a
    decision, and any refund through billing), so neither is a plain button."""
    actions = []
    for to in sorted(TRADE_TRANSITIONS[trade.status], key=list(Trade.Status.values).index):
        if role in TRANSITION_ROLES[(trade.status, to)] and to not in (Trade.Status.INSPECTED, Trade.Status.RESOLVED):
            actions.append((to, str(ACTION_LABELS[to])))
    return actions


def trades_of(*, organisation: Organisation, side: str | None = None, status: str | None = None):
    """The organisation's trades as buyer, as provider, or both."""
    condition = Q(buyer=organisation) | Q(provider=organisation)
    if side == BUYER:
        condition = Q(buyer=organisation)
    elif side == PROVIDER:
        condition = Q(provider=organisation)
    trades = Trade.objects.filter(condition).select_related("buyer", "provider", "order")
    if status:
        trades = trades.filter(status=status)
    return trades


def trade_bookings(trade: Trade):
    return trade.bookings.select_related("booking", "resource").order_by("booking__span", "pk")


def attachment_of(access: TradeAccess, attachment_id: int) -> TradeAttachment | None:
    return TradeAttachment.objects.filter(message__trade=access.trade, pk=attachment_id).first()


def trade_booking_of(access: TradeAccess, link_id: int) -> TradeBooking | None:
    return (
        TradeBooking.objects.select_related("booking", "resource", "trade")
        .filter(trade=access.trade, pk=link_id)
        .first()
    )


# --- RFQs and quotes -----------------------------------------------------------------------


def open_invitations(*, organisation: Organisation):
    return (
        RFQInvitation.objects.filter(provider=organisation, status=RFQInvitation.Status.INVITED, rfq__status="open")
        .select_related("rfq__order__buyer", "rfq__order__category")
        .order_by("invited_at", "pk")
    )


def answered_invitations(*, organisation: Organisation, limit: int = 20):
    return (
        RFQInvitation.objects.filter(provider=organisation)
        .exclude(status=RFQInvitation.Status.INVITED)
        .select_related("rfq__order__buyer", "quote")
        .order_by("-responded_at", "-pk")[:limit]
    )


def invitation_for_provider(*, organisation: Organisation, invitation_id: int) -> RFQInvitation | None:
    return (
        RFQInvitation.objects.filter(provider=organisation, pk=invitation_id)
        .select_related("rfq__order__buyer", "rfq__order__category", "rfq__order__material")
        .first()
    )


def quote_comparison(order: Order) -> list[dict]:
    """Every invitation of the order's RFQs, with its quote (or decline), cheapest first."""
    rows = []
    invitations = (
        RFQInvitation.objects.filter(rfq__order=order)
        .select_related("provider", "rfq", "quote", "quote__resource")
        .order_by("rfq__created_at", "pk")
    )
    for invitation in invitations:
        quote = getattr(invitation, "quote", None)
        rows.append({"invitation": invitation, "quote": quote})
    rows.sort(key=lambda r: (r["quote"] is None, r["quote"].total if r["quote"] else 0, r["invitation"].pk))
    return rows


def order_rfqs(order: Order):
    return RFQ.objects.filter(order=order).prefetch_related("invitations__provider")


def buyer_quote(*, organisation: Organisation, quote_id: int) -> Quote | None:
    return Quote.objects.filter(pk=quote_id, rfq__order__buyer=organisation).select_related("rfq__order").first()


def quotable_resources(organisation: Organisation):
    return Resource.objects.filter(provider=organisation, status=Resource.Status.LISTED).order_by("name", "pk")


# --- the job board's Gantt timeline ---------------------------------------------------------

GANTT_DAYS = 14
GANTT_WIDTH = 1400  # SVG units: 100 per day


@dataclass(frozen=True)
class GanttBar:
    x: float
    width: float
    status: str
    label: str
    trade_id: int | None


@dataclass(frozen=True)
class GanttRow:
    resource: Resource
    bars: list[GanttBar]


def booking_gantt(*, organisation: Organisation, start: datetime, tz: ZoneInfo, days: int = GANTT_DAYS):
    """Active bookings of the provider's resources from ``start`` for ``days``, as bars on a
    ``GANTT_WIDTH``-wide axis (one row per machine). Two queries."""
    end = start + timedelta(days=days)
    span = (end - start).total_seconds()
    resources = list(
        Resource.objects.filter(provider=organisation).exclude(status=Resource.Status.RETIRED).order_by("name", "pk")
    )
    bookings = (
        Booking.objects.filter(resource__in=resources, status__in=Booking.ACTIVE, span__overlap=(start, end))
        .select_related("trade_link")
        .order_by("span")
    )
    by_resource: dict[int, list[GanttBar]] = {r.pk: [] for r in resources}
    for booking in bookings:
        lo, hi = max(booking.span.lower, start), min(booking.span.upper, end)
        link = getattr(booking, "trade_link", None)
        local_lo, local_hi = lo.astimezone(tz), hi.astimezone(tz)
        by_resource[booking.resource_id].append(
            GanttBar(
                x=round((lo - start).total_seconds() / span * GANTT_WIDTH, 2),
                width=max(round((hi - lo).total_seconds() / span * GANTT_WIDTH, 2), 2),
                status=booking.status,
                label=f"{local_lo:%m-%d %H:%M}–{local_hi:%m-%d %H:%M} ({booking.get_status_display()})",
                trade_id=link.trade_id if link else None,
            )
        )
    return [GanttRow(resource=r, bars=by_resource[r.pk]) for r in resources]


def rfq_candidates(order: Order):
    """Verified providers not yet invited to quote on the order (never the buyer itself)."""
    return (
        Organisation.objects.filter(
            kind__in=[Organisation.Kind.PROVIDER, Organisation.Kind.BOTH],
            provider_profile__status="verified",
        )
        .exclude(pk=order.buyer_id)
        .exclude(rfq_invitations__rfq__order=order)
        .order_by("name")
    )
