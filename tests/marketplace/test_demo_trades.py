"""The demo trades: one in every state for the demo buyer and provider, idempotent."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from capacity.demo import seed_capacity
from marketplace.demo import seed_people
from marketplace.demo_trades import seed_trades
from marketplace.models import RFQ, Quote, Trade, TradeEvent

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_trades_cover_every_state_once():
    seed_people()
    seed_capacity(now=NOW)
    seed_trades(now=NOW)
    assert sorted(Trade.objects.values_list("status", flat=True)) == sorted(Trade.Status.values)
    assert set(Trade.objects.values_list("buyer__slug", "provider__slug").distinct()) == {
        ("hangzhou-qiming", "suzhou-jinggong")
    }
    assert (RFQ.objects.count(), Quote.objects.count()) == (1, 1)
    counts = (Trade.objects.count(), TradeEvent.objects.count(), Quote.objects.count())
    seed_trades(now=NOW)
    assert (Trade.objects.count(), TradeEvent.objects.count(), Quote.objects.count()) == counts
