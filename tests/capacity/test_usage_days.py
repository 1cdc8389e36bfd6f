"""The daily usage rollup (BookingUsageDay): kept with the booking's usage whenever it is
re-derived, split at the provider's local midnights, summing to the window's run time."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from capacity.models import BookingUsage, BookingUsageDay
from tests.billing.period_world import BERLIN, long_rental, report

pytestmark = pytest.mark.django_db


def test_days_follow_the_providers_midnights_and_add_up(provider_org, provider_owner, buyer_org, buyer_owner):
    provider_org.time_zone = "Europe/Berlin"
    provider_org.save(update_fields=["time_zone"])
    start, end = datetime(2030, 10, 26, 12, tzinfo=BERLIN), datetime(2030, 10, 28, 12, tzinfo=BERLIN)
    trade = long_rental(provider_org, provider_owner, buyer_org, buyer_owner, start=start, end=end)
    # Running all the time, a reading every hour (UTC): 27 October has 25 hours in Berlin.
    times = [datetime(2030, 10, 26, 8, tzinfo=UTC) + timedelta(hours=h) for h in range(56)]
    report(trade, provider_owner, times, [h * 3600 for h in range(56)], now=datetime(2030, 10, 28, 20, tzinfo=UTC))

    booking = trade.bookings.get().booking
    days = dict(BookingUsageDay.objects.filter(booking=booking).values_list("day", "run_seconds"))
    assert days == {
        date(2030, 10, 26): Decimal("43200.000"),  # 12:00–24:00
        date(2030, 10, 27): Decimal("90000.000"),  # 25 h: the clocks went back
        date(2030, 10, 28): Decimal("43200.000"),  # 00:00–12:00
    }
    assert sum(days.values()) == BookingUsage.objects.get(booking=booking).run_seconds

    # Recomputed with a later reading set: the rows are rewritten, not added to.
    report(
        trade, provider_owner, [times[-1] + timedelta(hours=1)], [56 * 3600], now=datetime(2030, 10, 28, 21, tzinfo=UTC)
    )
    assert BookingUsageDay.objects.filter(booking=booking).count() == 3
    assert sum(BookingUsageDay.objects.filter(booking=booking).values_list("run_seconds", flat=True)) == Decimal(
        "176400.000"
    )
