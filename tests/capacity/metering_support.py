"""Shared helpers for the metering tests: a device of provider_org bound to a resource, readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from capacity.models import Booking
from capacity.services.metering import register_device
from tests.factories import ResourceFactory

# Fixed clock for everything metering: tests never depend on today's date.
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def at(minutes: float = 0, *, hours: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


def device_for(organisation, owner, resources=None, name="Gateway hall 2"):
    resources = resources if resources is not None else [ResourceFactory(provider=organisation)]
    return register_device(organisation=organisation, user=owner, name=name, kind="gateway", resources=resources)


def booking(resource, start, end, status=Booking.Status.CONFIRMED) -> Booking:
    return Booking.objects.create(resource=resource, span=DateTimeTZRange(start, end), status=status)


def reading(resource, seq, when: datetime, run: int, parts: int = 0, boot: str = "boot-1", **extra) -> dict:
    return {
        "resource": resource.pk,
        "boot_id": boot,
        "seq": seq,
        "device_time": when.isoformat(),
        "run_seconds": run,
        "part_count": parts,
        **extra,
    }
