"""A completed trade with final usage, ready to invoice (fixed times, no dependency on today).

The mill bills machine-hours at 187.35 CNY in 15-minute increments rounded up, with a 240.00
setup fee; the booking is 2 h and the machine ran 6,421 s (→ 2.00 h billed) plus 600 s outside
the window that nobody approved.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from capacity.models import ProviderProfile
from capacity.models_metering import BookingUsage
from capacity.validators import credit_code_check_character
from marketplace.models import Trade
from marketplace.services import trades as trade_services
from tests.marketplace.trade_world import NOW, SHANGHAI, book, mill_of, order_of

ISSUED_AT = datetime(2030, 12, 10, 10, 0, tzinfo=SHANGHAI)


def credit_code(base17: str) -> str:
    return base17 + credit_code_check_character(base17)


SELLER_TAX_ID = credit_code("91320594MA1MXXXX1")
BUYER_TAX_ID = credit_code("91330106MA2HXXXX2")


def completed_trade(provider_org, provider_owner, buyer_org, buyer_owner, *, run_seconds="6421", **mill) -> Trade:
    if not ProviderProfile.objects.filter(organisation=provider_org).exists():
        from tests.factories import ProviderProfileFactory

        ProviderProfileFactory(organisation=provider_org, legal_name="苏州精工数控有限公司", credit_code=SELLER_TAX_ID)
    mill.setdefault("rate", Decimal("187.35"))
    mill.setdefault("setup_fee", Decimal("240.00"))
    resource = mill_of(provider_org, **mill)
    order = order_of(buyer_org, quantity=20)
    trade = book(order, buyer_owner, resource)
    for status in (Trade.Status.IN_PRODUCTION, Trade.Status.PRODUCED, Trade.Status.DELIVERED):
        trade_services.transition_trade(trade=trade, to=status, by=provider_owner, now=NOW)
    trade_services.record_inspection(trade=trade, by=buyer_owner, accepted=20, rejected=0, now=NOW)
    trade_services.transition_trade(trade=trade, to=Trade.Status.COMPLETED, by=buyer_owner, now=NOW)
    link = trade.bookings.get()
    BookingUsage.objects.create(
        booking=link.booking,
        run_seconds=Decimal(run_seconds),
        parts=Decimal("20"),
        overrun_run_seconds=Decimal("600"),
        computed_at=NOW,
        final=True,
        finalised_at=NOW,
    )
    trade.refresh_from_db()
    return trade
