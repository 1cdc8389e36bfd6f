"""The start of the order journey (the rest — drawing, matches, booking, payment — follows with
card payments): a buyer fills the wizard's first step with the keyboard-free helpers."""

from __future__ import annotations

import pytest

from capacity.models import Category
from marketplace.models import Order
from tests.e2e import journeys as j
from tests.e2e.browser import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_buyer_starts_an_order_and_reaches_the_spec_step(page_in, buyer_org, buyer_owner):
    machining = Category.objects.get(code="P01")
    buyer = page_in("zh-hans", user=buyer_owner)
    buyer.goto("/orders/new/")
    j.wizard_next(
        buyer,
        {
            "id_kind": Order.Kind.PRODUCTION,
            "id_major": str(machining.pk),
            "id_title": "铝合金支架",
            "id_quantity": "40",
        },
    )
    order = Order.objects.get(buyer=buyer_org)
    assert (order.title, order.quantity, order.category, order.created_by) == (
        "铝合金支架",
        40,
        machining,
        buyer_owner,
    )
    assert buyer.url.endswith(f"/orders/{order.pk}/edit/spec/")
    assert_accessible(buyer)
