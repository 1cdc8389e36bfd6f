"""From an order row to the engine's plain :class:`MatchRequest`.

The engine never reads orders (see ``request``); this is the one place that knows how an
order's fields map to what matching needs. An order that lacks something matching cannot do
without raises :class:`DomainError` with a message the buyer can act on.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.errors import DomainError
from marketplace.matching.request import MatchRequest
from marketplace.models import Order


def match_request_for_order(order: Order, *, now: datetime | None = None) -> MatchRequest:
    """The matching request for ``order`` as seen at ``now`` (default: the current time)."""
    now = now or timezone.now()
    if order.category_id is None:
        raise DomainError(_("Choose a category before matching."), code="category")
    if order.due_at is None:
        raise DomainError(_("Set a due date before matching."), code="due")
    if order.due_at <= now:
        raise DomainError(_("The due date has passed: set a later one to find matches."), code="due")
    if (order.range_min is None) != (order.range_max is None):
        raise DomainError(_("Give both ends of the range before matching."), code="range")
    envelope = order.envelope
    return MatchRequest(
        category=order.category.code,
        kind=order.kind or None,
        quantity=order.quantity,
        due=order.due_at,
        now=now,
        cycle_time_minutes=order.cycle_time_minutes,
        part_x_mm=envelope[0] if envelope else None,
        part_y_mm=envelope[1] if envelope else None,
        part_z_mm=envelope[2] if envelope else None,
        weight_kg=order.weight_kg,
        tolerance_mm=order.tolerance_mm,
        material=order.material.code if order.material_id else None,
        certifications=tuple(order.certifications or ()),
        measurand=order.measurand.code if order.measurand_id else None,
        range_min=order.range_min if order.measurand_id else None,
        range_max=order.range_max if order.measurand_id else None,
        delivery_lat=float(order.latitude) if order.latitude is not None and order.longitude is not None else None,
        delivery_lon=float(order.longitude) if order.latitude is not None and order.longitude is not None else None,
        # The billing preference is the buyer's wish, not a constraint: a per-part lab can still
        # do a machine-hour order (its estimate is shown in its own unit).
        billing_unit=None,
        currency=order.currency,
    )
