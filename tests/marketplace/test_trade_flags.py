"""Automatic trade flags: each rule on a hand-built fixture, and nothing below its threshold."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from capacity.models import BookingUsage, Certification
from marketplace.models import Trade, TradeFlag
from marketplace.services import ops
from tests.factories import ResourceFactory
from tests.marketplace.ops_world import NOW, buyer, cancel, make_trade

pytestmark = pytest.mark.django_db
K = TradeFlag.Kind


def flags(kind):
    return sorted(TradeFlag.objects.filter(kind=kind).values_list("trade_id", flat=True))


def test_price_far_above_the_category_median_is_flagged_once():
    # Five trades at 180/h (2 h, 360) and one at 400/h (2 h, 800): median 180, 400 > 2 × 180.
    normal = [make_trade(estimate="360.00") for _ in range(5)]
    dear = make_trade(estimate="800.00")
    raised = ops.flag_trades(now=NOW)
    assert flags(K.PRICE_OUTLIER) == [dear.pk]
    flag = TradeFlag.objects.get(kind=K.PRICE_OUTLIER)
    assert flag.details == {"rate_per_hour": "400.00", "median": "180.00", "samples": 6}
    assert [f.kind for f in raised] == [K.PRICE_OUTLIER]
    # The next hourly run raises nothing new.
    assert ops.flag_trades(now=NOW + timedelta(hours=1)) == []
    assert normal[0].flags.count() == 0


def test_price_below_half_the_median_is_flagged_and_a_near_price_is_not():
    for _ in range(5):
        make_trade(estimate="360.00")
    cheap = make_trade(estimate="170.00")  # 85/h < 90/h
    near = make_trade(estimate="190.00")  # 95/h ≥ 90/h
    ops.flag_trades(now=NOW)
    assert flags(K.PRICE_OUTLIER) == [cheap.pk]
    assert near.flags.count() == 0


def test_no_price_flag_with_fewer_than_five_samples():
    for _ in range(3):
        make_trade(estimate="360.00")
    make_trade(estimate="2000.00")
    ops.flag_trades(now=NOW)
    assert flags(K.PRICE_OUTLIER) == []


def test_large_first_order_of_a_new_buyer(settings):
    settings.SPINDLE_FLAG_FIRST_TRADE_AMOUNT = "50000.00"
    newcomer, regular, small = buyer(), buyer(), buyer()
    first = make_trade(buyer_org=newcomer, estimate="60000.00")
    make_trade(buyer_org=regular, estimate="1000.00", created_at=NOW - timedelta(days=5))
    make_trade(buyer_org=regular, estimate="60000.00")  # large, but not its first
    make_trade(buyer_org=small, estimate="50000.00")  # first, but not above the threshold
    ops.flag_trades(now=NOW)
    assert flags(K.LARGE_FIRST_ORDER) == [first.pk]
    assert TradeFlag.objects.get(kind=K.LARGE_FIRST_ORDER).details == {
        "estimate": "60000.00",
        "threshold": "50000.00",
        "currency": "CNY",
    }


def test_three_cancellations_by_one_party_in_thirty_days():
    flaky, steady = buyer(), buyer()
    cancelled = [cancel(make_trade(buyer_org=flaky), by=flaky, at=NOW - timedelta(days=days)) for days in (20, 10, 1)]
    # Two recent ones and one 31 days ago: below the limit.
    cancel(make_trade(buyer_org=steady), by=steady, at=NOW - timedelta(days=31))
    cancel(make_trade(buyer_org=steady), by=steady, at=NOW - timedelta(days=3))
    cancel(make_trade(buyer_org=steady), by=steady, at=NOW - timedelta(days=2))
    ops.flag_trades(now=NOW)
    assert flags(K.REPEATED_CANCELLATIONS) == [cancelled[-1].pk]
    assert TradeFlag.objects.get(kind=K.REPEATED_CANCELLATIONS).details == {
        "organisation": flaky.pk,
        "cancellations": 3,
    }


def _usage(trade, run_hours, overrun_hours=0):
    booking = trade.bookings.get().booking
    return BookingUsage.objects.create(
        booking=booking,
        run_seconds=Decimal(run_hours * 3600),
        overrun_run_seconds=Decimal(overrun_hours * 3600),
        computed_at=NOW,
    )


def test_usage_far_above_the_booking():
    over = make_trade(hours=2)
    _usage(over, 2.6)  # 2.6 h > 1.25 × 2 h
    overrun = make_trade(hours=2)
    _usage(overrun, 2, overrun_hours=2.5)  # overrun > 2 h
    fine = make_trade(hours=2)
    _usage(fine, 2.5, overrun_hours=2)  # exactly at both limits
    ops.flag_trades(now=NOW)
    assert flags(K.USAGE_OVERRUN) == sorted([over.pk, overrun.pk])
    details = TradeFlag.objects.get(kind=K.USAGE_OVERRUN, trade=over).details
    assert details == {
        "bookings": [
            {
                "booking": over.bookings.get().booking_id,
                "booked_hours": "2.00",
                "run_hours": "2.60",
                "overrun_hours": "0.00",
            }
        ]
    }


def _cert(resource, standard, valid_from, valid_until, number="C-1"):
    return Certification.objects.create(
        profile=resource.provider.provider_profile,
        standard=standard,
        number=number,
        issuer="CQC",
        valid_from=valid_from,
        valid_until=valid_until,
    )


def test_expired_certificate_behind_an_active_listing():
    lapsed = ResourceFactory()
    _cert(lapsed, "ISO9001", date(2027, 1, 1), date(2030, 1, 1))
    renewed = ResourceFactory()
    _cert(renewed, "ISO9001", date(2027, 1, 1), date(2030, 1, 1), number="old")
    _cert(renewed, "ISO9001", date(2030, 1, 1), date(2033, 1, 1), number="new")
    lapsed_trade = make_trade(resource=lapsed)
    make_trade(resource=renewed)
    make_trade(resource=lapsed, status=Trade.Status.COMPLETED, start=NOW + timedelta(days=5))  # finished
    ops.flag_trades(now=NOW)
    assert flags(K.EXPIRED_CERTIFICATE) == [lapsed_trade.pk]
    assert TradeFlag.objects.get(kind=K.EXPIRED_CERTIFICATE).details == {"standards": ["ISO9001"]}


def test_a_resolved_flag_is_not_raised_again(operator):
    for _ in range(5):
        make_trade(estimate="360.00")
    make_trade(estimate="800.00")
    [flag] = ops.flag_trades(now=NOW)
    ops.resolve_flag(flag=flag, by=operator, note="Rush job, price agreed.", now=NOW)
    assert ops.flag_trades(now=NOW + timedelta(hours=1)) == []
    flag.refresh_from_db()
    assert (flag.resolved_by, flag.resolution_note) == (operator, "Rush job, price agreed.")


def test_resolving_needs_a_note_and_an_operator(operator, provider_owner):
    flag = TradeFlag.objects.create(trade=make_trade(), kind=K.PRICE_OUTLIER)
    from marketplace.errors import DomainError

    with pytest.raises(DomainError):
        ops.resolve_flag(flag=flag, by=operator, note="  ")
    with pytest.raises(DomainError):
        ops.resolve_flag(flag=flag, by=provider_owner, note="fine")
    flag.refresh_from_db()
    assert flag.resolved_at is None


def test_a_new_trade_is_checked_once_it_commits(settings, django_capture_on_commit_callbacks, buyer_owner, buyer_org):
    from tests.marketplace.trade_world import book, mill_of, order_of

    settings.SPINDLE_FLAG_FIRST_TRADE_AMOUNT = "1.00"
    mill = mill_of(ResourceFactory().provider)
    with django_capture_on_commit_callbacks(execute=True):
        trade = book(order_of(buyer_org), buyer_owner, mill)
    assert flags(K.LARGE_FIRST_ORDER) == [trade.pk]
