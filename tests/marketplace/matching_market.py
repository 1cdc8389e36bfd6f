"""A small hand-built market shared by the matching tests: dates, windows and a well-fitting mill."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from capacity.models import Booking, Certification, IdleWindow, Material
from marketplace.matching import MatchRequest
from tests.factories import ProviderProfileFactory, ResourceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 7 December 2026, 00:00 in Shanghai: "now" of every matching test.
MONDAY = datetime(2026, 12, 7, tzinfo=SHANGHAI)


def at(day: int, hour: float, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def window(resource, start: datetime, end: datetime) -> IdleWindow:
    return IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(start, end, "[)"))


def book(resource, start: datetime, end: datetime, status: str = "confirmed") -> Booking:
    return Booking.objects.create(
        resource=resource, span=DateTimeTZRange(start, end, "[)"), status=status, exclusive=resource.capacity == 1
    )


def provider(**kwargs):
    """A verified provider in Suzhou holding ISO 9001 for the whole of 2026–2027."""
    profile = ProviderProfileFactory(**kwargs)
    Certification.objects.create(
        profile=profile,
        standard="ISO9001",
        number="00126Q0001",
        issuer="CQC",
        valid_from=date(2026, 1, 1),
        valid_until=date(2027, 12, 31),
    )
    return profile


def mill(profile=None, *, windows=((1, 8, 20),), materials=("AL6061",), **kwargs):
    """A listed 3-axis mill (800×500×500 mm, 300 kg, ±0.01 mm, ¥180/h + ¥240 setup, 60 min per part)
    that fits the standard job, free on ``windows`` = (day, from hour, to hour)."""
    profile = profile or provider()
    kwargs.setdefault("cycle_time_minutes", Decimal("60"))
    resource = ResourceFactory(provider=profile.organisation, **kwargs)
    resource.materials.set(Material.objects.filter(code__in=materials))
    for day, start, end in windows:
        window(resource, at(day, start), at(day, end))
    return resource


def job(**overrides) -> MatchRequest:
    """Ten aluminium parts 500×400×300 mm, 50 kg, ±0.02 mm, ISO 9001, due Saturday 12 December 00:00."""
    fields = {
        "category": "P0101",
        "quantity": 10,
        "due": at(5, 0),
        "now": MONDAY,
        "part_x_mm": Decimal("500"),
        "part_y_mm": Decimal("400"),
        "part_z_mm": Decimal("300"),
        "weight_kg": Decimal("50"),
        "tolerance_mm": Decimal("0.02"),
        "material": "AL6061",
        "certifications": ("ISO9001",),
    }
    fields.update(overrides)
    return MatchRequest(**fields)
