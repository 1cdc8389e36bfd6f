"""Booking from matches: hold a match's slots (or the whole split plan), the hold page with its
expiry, price and cancellation policy, confirm into trades or release; and a request for
quotes to the providers of chosen matches.

Only the order's buyer organisation uses these (everyone else gets a 404, operators included:
they may read the matches but not book for a buyer). Every write is one service call.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from capacity.services.booking import SlotTaken
from marketplace.errors import DomainError
from marketplace.match_views import _match_access, _results_context
from marketplace.order_views import _org_zone, _signed_in
from marketplace.selectors import matching as match_selectors
from marketplace.selectors import trade_usage as usage_selectors
from marketplace.selectors.orders import OrderAccess
from marketplace.services import match_booking as services
from marketplace.services import matching as matching_services
from marketplace.services import trades as trade_services


def _buyer_access(request, order_id: int) -> OrderAccess:
    access = _match_access(request, order_id)
    if not access.is_buyer:
        raise Http404
    return access


def _ids(values: list[str]) -> list[int] | None:
    try:
        return list(dict.fromkeys(int(value) for value in values))
    except ValueError:
        return None


def _slot_taken(request, access: OrderAccess, taken: SlotTaken):
    """The matches page again, with what was taken and the next free options of that machine."""
    context = _results_context(access, match_selectors.latest_run(access.order))
    context["can_run"] = access.order.status in matching_services.MATCHABLE
    context["slot_taken"] = {
        "message": taken.message,
        "resource": access.order.matches.filter(resource_id=taken.resource_id).select_related("resource").first(),
        "alternatives": taken.alternatives,
    }
    return render(request, "orders/matches.html", context, status=409)


def _held(request, access: OrderAccess, book):
    try:
        book()
    except SlotTaken as taken:
        return _slot_taken(request, access, taken)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("order_matches", order_id=access.order.pk)
    return redirect("order_hold", order_id=access.order.pk)


@_signed_in
@require_POST
def order_match_book(request, order_id: int, match_id: int):
    access = _buyer_access(request, order_id)
    return _held(
        request,
        access,
        lambda: services.book_match(order=access.order, match_id=match_id, buyer_user=request.user),
    )


@_signed_in
@require_POST
def order_split_book(request, order_id: int):
    access = _buyer_access(request, order_id)
    return _held(request, access, lambda: services.book_split(order=access.order, buyer_user=request.user))


@_signed_in
@require_GET
def order_hold(request, order_id: int):
    access = _buyer_access(request, order_id)
    now = timezone.now()
    rows, totals, expiry = usage_selectors.held_plan(services.active_holds(access.order, now))
    seconds_left = max(0, int((expiry - now).total_seconds())) if expiry else 0
    context = {
        "order": access.order,
        "rows": rows,
        "totals": sorted(totals.items()),
        "expiry": expiry,
        "now": now,
        "minutes_left": seconds_left // 60,
        "seconds_left": seconds_left % 60,
        "policy": usage_selectors.cancellation_policy(rows),
        "providers": len({row.link.resource.provider_id for row in rows}),
        "zone": _org_zone(access.order),
    }
    return render(request, "orders/hold.html", context)


@_signed_in
@require_POST
def order_hold_confirm(request, order_id: int):
    access = _buyer_access(request, order_id)
    ids = _ids(request.POST.getlist("booking"))
    try:
        if not ids:
            raise DomainError(_("These bookings do not belong to this order's plan."), code="not_in_plan")
        trades = trade_services.confirm_plan(order=access.order, buyer_user=request.user, booking_ids=ids)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("order_hold", order_id=access.order.pk)
    messages.success(
        request,
        ngettext("Booking confirmed: trade #%(ids)s.", "Booking confirmed: %(count)s trades, #%(ids)s.", len(trades))
        % {"count": len(trades), "ids": ", #".join(str(t.pk) for t in trades)},
    )
    return redirect("trade_detail", trade_id=trades[0].pk)


@_signed_in
@require_POST
def order_hold_release(request, order_id: int):
    access = _buyer_access(request, order_id)
    ids = _ids(request.POST.getlist("booking")) or []
    try:
        services.release_holds(order=access.order, buyer_user=request.user, booking_ids=ids)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("order_hold", order_id=access.order.pk)
    messages.success(request, _("The held slots were released."))
    return redirect("order_matches", order_id=access.order.pk)


@_signed_in
@require_POST
def order_match_rfq(request, order_id: int):
    access = _buyer_access(request, order_id)
    ids = _ids(request.POST.getlist("match"))
    try:
        if ids is None:
            raise DomainError(_("Choose at least one provider."), code="empty")
        services.request_quotes_from_matches(
            order=access.order, by=request.user, match_ids=ids, message=request.POST.get("message", "")[:2000]
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("order_matches", order_id=access.order.pk)
    messages.success(request, _("Request for quotes sent."))
    return redirect("order_quotes", order_id=access.order.pk)
