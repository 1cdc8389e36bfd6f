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


def _tab_to(page, element_id: str, limit: int = 80) -> None:
    """Press Tab until ``element_id`` has the focus (the keyboard is the only input device)."""
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} never received the focus by Tab")


def _arrow_to(page, element_id: str, value: str, limit: int = 60) -> None:
    """On a focused <select>, press ArrowDown until ``value`` is chosen (each step fires change)."""
    for _ in range(limit):
        if page.eval_on_selector(f"#{element_id}", "e => e.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"#{element_id} never reached {value!r} with the arrow keys")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_first_wizard_step_works_with_the_keyboard_alone(page_in, buyer_org, buyer_owner, language):
    machining = Category.objects.get(code="P01")
    buyer = page_in(language, user=buyer_owner)
    buyer.goto("/orders/new/")
    buyer.evaluate("document.activeElement && document.activeElement.blur()")
    _tab_to(buyer, "id_kind")
    _arrow_to(buyer, "id_kind", Order.Kind.PRODUCTION)
    # The category selects reload through htmx when the kind changes.
    buyer.wait_for_function(
        "code => [...document.querySelectorAll('#id_major option')].some(o => o.value === code)",
        arg=str(machining.pk),
    )
    _tab_to(buyer, "id_major")
    _arrow_to(buyer, "id_major", str(machining.pk))
    # Each arrow step reloads the selects; on a loaded machine the swaps land late, so wait
    # until the last one has settled on the chosen category before moving on.
    buyer.wait_for_function(
        "code => !document.querySelector('.htmx-request') && document.querySelector('#id_major').value === code",
        arg=str(machining.pk),
    )
    _tab_to(buyer, "id_title")
    buyer.keyboard.type("Keyboard bracket")
    _tab_to(buyer, "id_quantity")
    buyer.keyboard.press("Control+A")
    buyer.keyboard.type("12")
    buyer.keyboard.press("Enter")
    buyer.wait_for_url("**/edit/spec/")
    order = Order.objects.get(buyer=buyer_org)
    assert (order.kind, order.category, order.title, order.quantity) == (
        "production",
        machining,
        "Keyboard bracket",
        12,
    )
