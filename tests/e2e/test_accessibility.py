"""Key pages in both languages: no serious or critical axe-core violations, and no horizontal
scrolling on a 375 px wide phone screen."""

from __future__ import annotations

import pytest

from tests.e2e.browser import axe_violations, describe_violations, horizontal_overflow
from tests.marketplace.trade_world import book, mill_of, order_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(provider_org, provider_owner, buyer_org, buyer_owner, operator):
    mill = mill_of(provider_org, name="Haas VF-2 vertical mill")
    trade = book(order_of(buyer_org, title="Aluminium brackets"), buyer_owner, mill)
    return {"mill": mill, "trade": trade, "provider": provider_owner, "buyer": buyer_owner, "operator": operator}


def key_pages(world) -> list[tuple[str, str, object]]:
    """(name, path, user) of the pages every journey passes through."""
    mill, trade = world["mill"], world["trade"]
    return [
        ("home", "/", None),
        ("catalogue list", "/catalogue/resources/", None),
        ("resource page", f"/catalogue/resources/{mill.pk}/", None),
        ("login", "/accounts/login/", None),
        ("signup", "/accounts/signup/", None),
        ("order wizard, step 1", "/orders/new/", world["buyer"]),
        ("calendar editor", f"/workspace/resources/{mill.pk}/calendar/", world["provider"]),
        ("trade page", f"/trades/{trade.pk}/", world["buyer"]),
        ("provider dashboard", "/", world["provider"]),
        ("workspace resources", "/workspace/resources/", world["provider"]),
        ("order matches", f"/orders/{trade.order_id}/matches/", world["buyer"]),
        ("billing", "/billing/", world["buyer"]),
        ("operator review queue", "/ops/listings/", world["operator"]),
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_key_pages_pass_axe_and_fit_a_phone(page_in, world, language):
    problems = []
    pages = {}
    for name, path, user in key_pages(world):
        key = user.pk if user else None
        if key not in pages:
            pages[key] = page_in(language, user=user)
        page = pages[key]
        page.set_viewport_size({"width": 1280, "height": 800})
        response = page.goto(path)
        if response.status != 200:
            problems.append(f"{name} ({path}): HTTP {response.status}")
            continue
        violations = axe_violations(page)
        if violations:
            problems.append(f"{name} ({path}):\n" + describe_violations(violations))
        page.set_viewport_size({"width": 375, "height": 740})
        page.goto(path)
        overflow = horizontal_overflow(page)
        if overflow > 0:
            wide = page.evaluate(
                """() => Array.from(document.querySelectorAll('body *'))
                .filter(e => e.getBoundingClientRect().right > 376)
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))"""
            )
            problems.append(f"{name} ({path}): {overflow}px wider than a 375px screen; e.g. {wide}")
    assert problems == [], "\n".join(problems)
