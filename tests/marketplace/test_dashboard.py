"""Market dashboard figures equal hand-computed values on a fixed data set.

NOW is Saturday 2030-06-15 12:00 UTC (20:00 in Shanghai, the site's time zone)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse

from capacity.models import Booking, IdleWindow
from marketplace.models import Match, MatchRun, OrderEvent, Trade
from marketplace.selectors import dashboard
from tests.factories import OrderFactory, ProviderProfileFactory, ResourceFactory
from tests.marketplace.ops_world import NOW, make_trade

pytestmark = pytest.mark.django_db


def utc(month, day, hour=0):
    return datetime(2030, month, day, hour, tzinfo=UTC)


def opened(order, at, matched_after=None, awarded_after=None):
    OrderEvent.objects.create(order=order, from_status="draft", to_status="open", at=at)
    if matched_after is not None:
        OrderEvent.objects.create(order=order, from_status="open", to_status="matched", at=at + matched_after)
    if awarded_after is not None:
        OrderEvent.objects.create(order=order, from_status="matched", to_status="awarded", at=at + awarded_after)


@pytest.fixture
def orders():
    a, b, c, old = OrderFactory(), OrderFactory(), OrderFactory(), OrderFactory()
    opened(a, utc(6, 13, 20), matched_after=timedelta(hours=2), awarded_after=timedelta(hours=10))  # local 06-14
    opened(b, utc(6, 14, 3), matched_after=timedelta(hours=4))  # local 06-14
    opened(c, utc(6, 15, 1))  # local 06-15
    opened(old, utc(5, 1, 1), matched_after=timedelta(hours=1))  # outside the 30 days


def test_orders_per_day(orders):
    days = dashboard.orders_per_day(now=NOW)
    assert len(days) == 30
    assert days[0] == (date(2030, 5, 17), 0)
    assert days[-2:] == [(date(2030, 6, 14), 2), (date(2030, 6, 15), 1)]
    assert sum(n for _d, n in days) == 3


def test_fill_rate_and_median_times(orders):
    funnel = dashboard.order_funnel(now=NOW)
    assert (funnel.opened, funnel.matched, funnel.awarded) == (3, 2, 1)
    assert (funnel.match_rate, funnel.award_rate) == (Decimal("66.7"), Decimal("33.3"))
    assert (funnel.median_hours_to_match, funnel.median_hours_to_award) == (3.0, 10.0)


def test_weekly_volume_and_commission():
    later = NOW + timedelta(days=10)
    make_trade(estimate="1000.00", created_at=utc(6, 12, 2), start=later)
    make_trade(estimate="2000.00", created_at=utc(6, 14, 2), start=later)
    make_trade(estimate="500.00", created_at=utc(6, 5, 2), start=later)
    make_trade(estimate="9999.00", created_at=utc(6, 13, 2), start=later, status=Trade.Status.CANCELLED)
    make_trade(estimate="7777.00", created_at=utc(6, 16, 2), start=later)  # after now
    weeks = dashboard.weekly_volume(now=NOW)
    assert len(weeks) == 8
    assert weeks[0] == (date(2030, 4, 22), Decimal("0.00"), Decimal("0.00"))
    assert weeks[-2:] == [
        (date(2030, 6, 3), Decimal("500.00"), Decimal("25.00")),
        (date(2030, 6, 10), Decimal("3000.00"), Decimal("150.00")),
    ]


def _idle(resource, start, hours):
    IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(start, start + timedelta(hours=hours), "[)"))


def _booked(resource, start, hours, status="confirmed"):
    Booking.objects.create(
        resource=resource, span=DateTimeTZRange(start, start + timedelta(hours=hours), "[)"), status=status
    )


def test_utilisation_by_category_and_province():
    window_start = NOW - timedelta(weeks=4)
    jiangsu = ResourceFactory()  # province JS, category P0101 (major P01)
    _idle(jiangsu, utc(6, 10, 8), 10)
    _idle(jiangsu, window_start - timedelta(hours=2), 4)  # 2 h inside the window
    _booked(jiangsu, utc(6, 10, 8), 3)
    guangdong = ResourceFactory(provider=ProviderProfileFactory(province="GD").organisation)
    _idle(guangdong, utc(6, 11, 8), 8)
    _booked(guangdong, utc(6, 11, 8), 4)
    _booked(guangdong, utc(6, 11, 13), 1, status="released")  # not booked time
    paused = ResourceFactory(status="paused")
    _idle(paused, utc(6, 11, 8), 8)
    _booked(paused, utc(6, 11, 8), 8)

    [p01] = dashboard.utilisation_by_category(now=NOW)
    assert (p01.key, p01.booked_hours, p01.idle_hours, p01.percent) == (
        "P01",
        Decimal("7.00"),
        Decimal("20.00"),
        Decimal("35.0"),
    )
    provinces = [(u.key, u.booked_hours, u.idle_hours, u.percent) for u in dashboard.utilisation_by_province(now=NOW)]
    assert provinces == [
        ("GD", Decimal("4.00"), Decimal("8.00"), Decimal("50.0")),
        ("JS", Decimal("3.00"), Decimal("12.00"), Decimal("25.0")),
    ]


def _run(order, finished_at, matched_resource=None):
    run = MatchRun.objects.create(order=order, status=MatchRun.Status.DONE, finished_at=finished_at)
    if matched_resource is not None:
        Match.objects.create(
            run=run,
            order=order,
            resource=matched_resource,
            provider=matched_resource.provider,
            rank=1,
            score=0.9,
            price_total=Decimal("100.00"),
            currency="CNY",
            finish_at=finished_at,
        )
    return run


def test_unmet_demand_counts_open_orders_whose_latest_run_found_nothing():
    mill = ResourceFactory()
    nothing, found, found_later, lost_later, closed = (OrderFactory() for _ in range(5))
    _run(nothing, utc(6, 1))
    _run(found, utc(6, 1), mill)
    _run(found_later, utc(6, 1))
    _run(found_later, utc(6, 2), mill)
    _run(lost_later, utc(6, 1), mill)
    _run(lost_later, utc(6, 2))
    closed.status = "closed"
    closed.save()
    _run(closed, utc(6, 1))
    assert [(code, n) for code, _name, n in dashboard.unmet_demand()] == [("P0101", 2)]


def test_dashboard_page_renders_the_charts(client_for, operator, orders):
    response = client_for(operator).get(reverse("ops_dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="metering-chart ops-chart"') == 3
    assert "cdn" not in html.lower()
