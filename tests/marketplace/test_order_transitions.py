"""The order state machine: one explicit map, one transition function, one event per change."""

from datetime import UTC, datetime

import pytest

from marketplace.errors import DomainError
from marketplace.models import ALLOWED_TRANSITIONS, Order, OrderEvent
from marketplace.services.orders import transition_order
from tests.factories import OrderFactory

NOW = datetime(2030, 6, 3, 9, 30, tzinfo=UTC)
STATUSES = list(Order.Status.values)
PAIRS = [(a, b) for a in STATUSES for b in STATUSES]


def test_the_map_is_exactly_the_documented_one():
    assert {k: sorted(v) for k, v in ALLOWED_TRANSITIONS.items()} == {
        "draft": ["cancelled", "open"],
        "open": ["awarded", "cancelled", "expired", "matched"],
        "matched": ["awarded", "cancelled", "expired", "open"],
        "awarded": ["cancelled", "closed"],
        "closed": [],
        "cancelled": [],
        "expired": [],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p[1] in ALLOWED_TRANSITIONS[p[0]]])
def test_every_allowed_transition_writes_exactly_one_event(current, target, buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status=current)

    transition_order(order=order, to=target, by=buyer_owner, note="because", now=NOW)

    order.refresh_from_db()
    assert order.status == target
    events = list(OrderEvent.objects.filter(order=order).values_list("actor", "from_status", "to_status", "note", "at"))
    assert events == [(buyer_owner.pk, current, target, "because", NOW)]


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p[1] not in ALLOWED_TRANSITIONS[p[0]]])
def test_every_disallowed_transition_raises_and_writes_nothing(current, target, buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status=current)
    updated_at = Order.objects.get(pk=order.pk).updated_at

    with pytest.raises(DomainError) as refused:
        transition_order(order=order, to=target, by=buyer_owner, now=NOW)

    assert refused.value.code == "transition"
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.updated_at) == (current, updated_at)
    assert OrderEvent.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_state_is_refused(buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status="open")
    with pytest.raises(DomainError):
        transition_order(order=order, to="shipped", by=buyer_owner, now=NOW)
    assert Order.objects.get(pk=order.pk).status == "open"
    assert OrderEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_stale_copy_cannot_skip_the_map(buyer_org, buyer_owner):
    """The check uses the locked row, not the caller's possibly stale copy."""
    order = OrderFactory(buyer=buyer_org, status="open")
    stale = Order.objects.get(pk=order.pk)
    transition_order(order=order, to="cancelled", by=buyer_owner, now=NOW)

    with pytest.raises(DomainError):
        transition_order(order=stale, to="matched", by=buyer_owner, now=NOW)

    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert OrderEvent.objects.count() == 1
