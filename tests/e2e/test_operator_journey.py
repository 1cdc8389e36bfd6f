"""Journey 3: an operator signs in with TOTP, works the review queues (sends a listing back with
a reason) and resolves a disputed trade: from the trade page to the dispute page, with a decision."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP

from capacity.models import Resource
from marketplace.models import Trade, TradeEvent
from marketplace.services import trades as services
from tests.e2e import journeys as j
from tests.factories import ResourceFactory, UserFactory
from tests.marketplace.trade_world import NOW, book, mill_of, order_of

pytestmark = pytest.mark.django_db(transaction=True)
S = Trade.Status


@pytest.fixture
def disputed_trade(provider_org, provider_owner, buyer_org, buyer_owner):
    mill = mill_of(provider_org, name="Haas VF-2 vertical mill")
    trade = book(order_of(buyer_org, title="Aluminium brackets"), buyer_owner, mill)
    for to in (S.IN_PRODUCTION, S.PRODUCED, S.DELIVERED):
        services.transition_trade(trade=trade, to=to, by=provider_owner, now=NOW)
    services.transition_trade(
        trade=trade, to=S.DISPUTED, by=buyer_owner, note="12 of 20 brackets are out of tolerance.", now=NOW
    )
    return trade


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_operator_sends_a_listing_back_and_resolves_a_dispute(page_in, provider_org, disputed_trade, language):
    staff = UserFactory(email="ops@spindle.example", is_staff=True, is_superuser=True, password=j.PASSWORD)
    TOTP.activate(staff, j.OPERATOR_TOTP_SECRET)
    pending = ResourceFactory(provider=provider_org, name="Unnamed lathe", status=Resource.Status.PENDING_REVIEW)

    ops = page_in(language)
    j.log_in(ops, staff.email, totp_secret=j.OPERATOR_TOTP_SECRET)

    # The queues: nothing to verify among providers; the pending listing goes back with a reason.
    ops.goto("/ops/providers/")
    assert ops.locator("main table").count() == 0
    ops.goto("/ops/listings/")
    with ops.expect_navigation():
        ops.get_by_role("link", name="Unnamed lathe").click()
    ops.fill("#id_reason", "Please give the lathe's model and swing diameter.")
    j.post_action(ops, f"/ops/listings/{pending.pk}/reject/")
    pending.refresh_from_db()
    assert (pending.status, pending.review_note) == (
        Resource.Status.DRAFT,
        "Please give the lathe's model and swing diameter.",
    )

    # The disputed trade: the operator reads it, opens the dispute and decides on a redo.
    ops.goto(f"/trades/{disputed_trade.pk}/")
    assert "12 of 20 brackets are out of tolerance." in ops.locator("main").inner_text()
    assert ops.locator("form.action-form").count() == 0  # no bare "resolve" button
    with ops.expect_navigation():
        ops.locator(f"main a[href='/ops/disputes/{disputed_trade.pk}/']").click()
    assert "12 of 20 brackets are out of tolerance." in ops.locator("main").inner_text()
    ops.check("input[name=decision][value=redo]")
    ops.fill("#id_note", "Provider re-machines the 12 brackets at its cost by Friday.")
    j.post_action(ops, f"/ops/disputes/{disputed_trade.pk}/resolve/")
    disputed_trade.refresh_from_db()
    assert disputed_trade.status == S.RESOLVED
    last = TradeEvent.objects.filter(trade=disputed_trade).latest("pk")
    assert (last.from_status, last.to_status, last.actor) == (S.DISPUTED, S.RESOLVED, staff)
    assert last.note.endswith("Provider re-machines the 12 brackets at its cost by Friday.")
    ops.goto(f"/trades/{disputed_trade.pk}/")
    assert ops.locator("form.action-form").count() == 0
