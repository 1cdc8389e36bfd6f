"""Reserving machine time: all or nothing, never twice, holds that expire."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from capacity.models import Booking, IdleWindow
from capacity.services.booking import (
    Slice,
    SlotTaken,
    book_slices,
    confirm_bookings,
    expire_stale_holds,
    release_bookings,
)
from marketplace.errors import DomainError
from tests.factories import ResourceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, tzinfo=SHANGHAI)


def at(hour: int, day: int = 7) -> datetime:
    return datetime(2026, 12, day, tzinfo=SHANGHAI) + timedelta(hours=hour)


def idle(resource, start, end):
    IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(start, end, "[)"))


@pytest.fixture
def mill(db):
    resource = ResourceFactory()
    idle(resource, at(8), at(20))
    return resource


@pytest.mark.django_db
def test_a_slot_inside_an_idle_window_is_held_then_confirmed(mill):
    [booking] = book_slices(slices=[Slice(mill.pk, at(10), at(12))], now=NOW)
    assert booking.status == "held"
    assert booking.hold_expires_at == NOW + timedelta(minutes=10)
    assert confirm_bookings(booking_ids=[booking.pk], now=NOW + timedelta(minutes=5)) == 1
    booking.refresh_from_db()
    assert (booking.status, booking.hold_expires_at) == ("confirmed", None)


@pytest.mark.django_db
def test_outside_idle_time_is_refused_with_the_next_options(mill):
    with pytest.raises(SlotTaken) as refused:
        book_slices(slices=[Slice(mill.pk, at(19), at(21))], now=NOW)
    assert refused.value.alternatives[0] == (at(8), at(10))
    assert Booking.objects.count() == 0


@pytest.mark.django_db
def test_an_overlapping_slot_is_taken_and_adjacent_ones_are_free(mill):
    book_slices(slices=[Slice(mill.pk, at(10), at(12))], hold=False, now=NOW)
    with pytest.raises(SlotTaken) as refused:
        book_slices(slices=[Slice(mill.pk, at(11), at(13))], now=NOW)
    assert refused.value.alternatives == [(at(8), at(10)), (at(12), at(14)), (at(14), at(16))]
    book_slices(slices=[Slice(mill.pk, at(12), at(13))], now=NOW)
    assert Booking.objects.filter(status__in=Booking.ACTIVE).count() == 2


@pytest.mark.django_db
def test_a_plan_is_booked_whole_or_not_at_all(mill):
    other = ResourceFactory()
    idle(other, at(8), at(20))
    book_slices(slices=[Slice(other.pk, at(14), at(16))], hold=False, now=NOW)
    with pytest.raises(SlotTaken):
        book_slices(slices=[Slice(mill.pk, at(8), at(12)), Slice(other.pk, at(15), at(17))], now=NOW)
    assert Booking.objects.filter(resource=mill).count() == 0


@pytest.mark.django_db
def test_expired_holds_stop_blocking(mill):
    [held] = book_slices(slices=[Slice(mill.pk, at(10), at(12))], now=NOW)
    later = NOW + timedelta(minutes=11)
    with pytest.raises(DomainError):
        confirm_bookings(booking_ids=[held.pk], now=later)
    [fresh] = book_slices(slices=[Slice(mill.pk, at(10), at(12))], now=later)
    held.refresh_from_db()
    assert held.status == "expired"
    assert fresh.status == "held"
    assert expire_stale_holds(now=later + timedelta(minutes=11)) == 1


@pytest.mark.django_db
def test_capacity_above_one_takes_that_many_overlapping_bookings():
    chamber = ResourceFactory(capacity=2)
    idle(chamber, at(8), at(20))
    book_slices(slices=[Slice(chamber.pk, at(8), at(12))], hold=False, now=NOW)
    book_slices(slices=[Slice(chamber.pk, at(10), at(14))], hold=False, now=NOW)
    with pytest.raises(SlotTaken):
        book_slices(slices=[Slice(chamber.pk, at(11), at(12))], now=NOW)
    book_slices(slices=[Slice(chamber.pk, at(12), at(13))], now=NOW)  # only one overlap there
    assert Booking.objects.filter(resource=chamber).count() == 3


@pytest.mark.django_db
def test_released_time_is_free_again(mill):
    [booking] = book_slices(slices=[Slice(mill.pk, at(10), at(12))], hold=False, now=NOW)
    assert release_bookings(booking_ids=[booking.pk], now=NOW) == 1
    book_slices(slices=[Slice(mill.pk, at(10), at(12))], now=NOW)


@pytest.mark.django_db
def test_bad_slices_are_refused_and_write_nothing(mill):
    for slices in ([], [Slice(mill.pk, at(12), at(10))], [Slice(mill.pk, NOW - timedelta(hours=1), NOW)]):
        with pytest.raises(DomainError):
            book_slices(slices=slices, now=NOW)
    assert Booking.objects.count() == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_32_concurrent_buyers_one_slot_exactly_one_wins():
    resource = ResourceFactory()
    partner = ResourceFactory()
    idle(resource, at(8), at(20))
    idle(partner, at(8), at(20))
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(32)

    def buyer(n: int) -> None:
        # Overlapping slots on one machine; every third buyer books a split plan across two.
        slices = [Slice(resource.pk, at(10) + timedelta(minutes=n), at(12) + timedelta(minutes=n))]
        if n % 3 == 0:
            slices.append(Slice(partner.pk, at(8) + timedelta(minutes=10 * n), at(9) + timedelta(minutes=10 * n)))
        barrier.wait()
        try:
            book_slices(slices=slices, now=NOW)
            result = "booked"
        except SlotTaken:
            result = "taken"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["booked"] + ["taken"] * 31
    active = Booking.objects.filter(resource=resource, status__in=Booking.ACTIVE)
    assert active.count() == 1
    # No partial split plan: the partner machine holds a booking only if its plan won.
    winner_minute = int((active.get().span.lower - at(10)).total_seconds() // 60)
    expected_partner = 1 if winner_minute % 3 == 0 else 0
    assert Booking.objects.filter(resource=partner).count() == expected_partner


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_24_split_plans_colliding_only_on_their_second_machine_book_whole_or_not_at_all():
    """Each plan's first slice is free (its own half hour on the lathe); all their slices on the mill
    overlap. Half list the mill first, half the lathe first, so a lock taken in plan order would
    deadlock. Exactly one plan wins, whole; every other plan books nothing, not even its free slice."""
    lathe, mill = ResourceFactory(), ResourceFactory()
    idle(lathe, at(8), at(20))
    idle(mill, at(8), at(20))
    outcomes: dict[int, str] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(24)

    def buyer(n: int) -> None:
        own = Slice(lathe.pk, at(8) + timedelta(minutes=30 * n), at(8) + timedelta(minutes=30 * (n + 1)))
        shared = Slice(mill.pk, at(10) + timedelta(minutes=n), at(11) + timedelta(minutes=n))
        barrier.wait()
        try:
            book_slices(slices=[shared, own] if n % 2 else [own, shared], now=NOW)
            result = "booked"
        except SlotTaken:
            result = "taken"
        except Exception as error:  # a deadlock or a constraint error leaking out is a failure
            result = f"error: {error!r}"
        finally:
            connection.close()
        with lock:
            outcomes[n] = result

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes.values()) == ["booked"] + ["taken"] * 23
    [winner] = [n for n, result in outcomes.items() if result == "booked"]
    lathe_spans = [b.span for b in Booking.objects.filter(resource=lathe)]
    mill_spans = [b.span for b in Booking.objects.filter(resource=mill)]
    assert [(s.lower, s.upper) for s in lathe_spans] == [
        (at(8) + timedelta(minutes=30 * winner), at(8) + timedelta(minutes=30 * (winner + 1)))
    ]
    assert [(s.lower, s.upper) for s in mill_spans] == [
        (at(10) + timedelta(minutes=winner), at(11) + timedelta(minutes=winner))
    ]
