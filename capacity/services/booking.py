"""Reserving machine time.

Concurrency rules (why this is safe under many concurrent buyers):
- All slices of one plan are created in ONE transaction: all or none.
- The resources a plan consumes are locked with SELECT … FOR UPDATE in primary-key order (so two
  plans touching the same machines cannot deadlock), inside the transaction, just before the
  checks and inserts.
- For capacity-1 resources the exclusion constraint ``booking_no_overlap`` makes an overlap
  impossible whatever the application does; the IntegrityError it raises becomes SlotTaken.
- For capacity-N resources (several specimens in one chamber) the lock plus a count of
  overlapping active bookings, in the same transaction, guards the limit.
- Stale holds are expired inside the same transaction before checking, so an abandoned hold
  never blocks a buyer; a beat task sweeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from capacity.models import Booking, IdleWindow, Resource
from marketplace.errors import DomainError

HOLD_DURATION = timedelta(minutes=10)


@dataclass(frozen=True)
class Slice:
    resource_id: int
    start: datetime
    end: datetime


class SlotTaken(DomainError):
    """A slot is no longer free. ``alternatives`` lists the next free slots of the same length."""

    def __init__(self, message, *, resource_id: int, alternatives: list[tuple[datetime, datetime]]):
        super().__init__(message, code="slot_taken")
        self.resource_id = resource_id
        self.alternatives = alternatives


def expire_stale_holds(*, now: datetime | None = None, resource_ids: list[int] | None = None) -> int:
    """Turn holds past their expiry into ``expired`` (they stop counting at once)."""
    now = now or timezone.now()
    stale = Booking.objects.filter(status=Booking.Status.HELD, hold_expires_at__lte=now)
    if resource_ids is not None:
        stale = stale.filter(resource_id__in=resource_ids)
    return stale.update(status=Booking.Status.EXPIRED, updated_at=now)


def _inside_idle_window(resource_id: int, start: datetime, end: datetime) -> bool:
    return IdleWindow.objects.filter(resource_id=resource_id, span__contains=DateTimeTZRange(start, end, "[)")).exists()


def next_free_slots(resource: Resource, length: timedelta, *, after: datetime, count: int = 3):
    """The next ``count`` free slots of ``length`` on ``resource`` starting at or after ``after``."""
    from capacity.selectors.availability import free_windows

    slots = []
    for start, end in free_windows(resource, after, after + timedelta(weeks=13)):
        cursor = start
        while cursor + length <= end and len(slots) < count:
            slots.append((cursor, cursor + length))
            cursor += length
        if len(slots) >= count:
            break
    return slots


def _taken(resource: Resource, piece: Slice, now: datetime) -> SlotTaken:
    alternatives = next_free_slots(resource, piece.end - piece.start, after=max(now, piece.start - timedelta(days=1)))
    return SlotTaken(
        _("That slot on %(resource)s was just taken — here are the next free options.") % {"resource": resource.name},
        resource_id=resource.pk,
        alternatives=alternatives,
    )


def book_slices(*, slices: list[Slice], hold: bool = True, now: datetime | None = None) -> list[Booking]:
    """Reserve every slice, or none. Held bookings expire after HOLD_DURATION unless confirmed."""
    now = now or timezone.now()
    if not slices:
        raise DomainError(_("Nothing to book."), code="empty")
    for piece in slices:
        if piece.end <= piece.start:
            raise DomainError(_("A booking must end after it starts."), code="invalid_span")
        if piece.start < now:
            raise DomainError(_("A booking cannot start in the past."), code="past")
    with transaction.atomic():
        resource_ids = sorted({piece.resource_id for piece in slices})
        resources = {r.pk: r for r in Resource.objects.select_for_update().filter(pk__in=resource_ids).order_by("pk")}
        if len(resources) != len(resource_ids):
            raise DomainError(_("That machine no longer exists."), code="missing")
        expire_stale_holds(now=now, resource_ids=resource_ids)
        bookings = []
        for piece in slices:
            resource = resources[piece.resource_id]
            if not resource.is_bookable:
                raise DomainError(
                    _("%(resource)s is not open for booking.") % {"resource": resource.name}, code="not_bookable"
                )
            if not _inside_idle_window(resource.pk, piece.start, piece.end):
                raise _taken(resource, piece, now)
            if resource.capacity > 1:
                overlapping = Booking.objects.filter(
                    resource=resource, status__in=Booking.ACTIVE, span__overlap=(piece.start, piece.end)
                ).count()
                overlapping += sum(
                    1
                    for b in bookings
                    if b.resource_id == resource.pk and b.span.lower < piece.end and piece.start < b.span.upper
                )
                if overlapping >= resource.capacity:
                    raise _taken(resource, piece, now)
            bookings.append(
                Booking(
                    resource=resource,
                    span=DateTimeTZRange(piece.start, piece.end, "[)"),
                    status=Booking.Status.HELD if hold else Booking.Status.CONFIRMED,
                    exclusive=resource.capacity == 1,
                    hold_expires_at=now + HOLD_DURATION if hold else None,
                )
            )
        # Savepoint per insert so the constraint violation is attributable to its slice.
        for booking, piece in zip(bookings, slices, strict=True):
            try:
                with transaction.atomic():
                    booking.save()
            except IntegrityError as error:
                if "booking_no_overlap" in str(error):
                    raise _taken(resources[piece.resource_id], piece, now) from error
                raise
        return bookings


@transaction.atomic
def confirm_bookings(*, booking_ids: list[int], now: datetime | None = None) -> int:
    """held → confirmed for every booking, or none (a hold that expired meanwhile is refused)."""
    now = now or timezone.now()
    bookings = list(Booking.objects.select_for_update().filter(pk__in=booking_ids).order_by("pk"))
    if len(bookings) != len(set(booking_ids)):
        raise DomainError(_("Some of these bookings no longer exist."), code="missing")
    for booking in bookings:
        if booking.status != Booking.Status.HELD or (booking.hold_expires_at and booking.hold_expires_at <= now):
            raise DomainError(_("The hold on this slot has expired; please book again."), code="hold_expired")
    return Booking.objects.filter(pk__in=booking_ids).update(
        status=Booking.Status.CONFIRMED, hold_expires_at=None, updated_at=now
    )


@transaction.atomic
def release_bookings(*, booking_ids: list[int], now: datetime | None = None) -> int:
    """Give the time back (cancellation). Completed bookings are history and stay."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(pk__in=booking_ids)
        .filter(Q(status=Booking.Status.HELD) | Q(status=Booking.Status.CONFIRMED))
        .update(status=Booking.Status.RELEASED, updated_at=now)
    )
