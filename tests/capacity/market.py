"""A small hand-built market for catalogue tests: where every answer is known."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from capacity.models import Booking, Category, Certification, IdleWindow, Material
from capacity.search import refresh_search_text
from tests.factories import OrganisationFactory, ProviderProfileFactory, ResourceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 7 December 2026, 00:00 in Shanghai: every test passes this as "now" or builds from it.
MONDAY = datetime(2026, 12, 7, tzinfo=SHANGHAI)
SUZHOU = (Decimal("31.299000"), Decimal("120.585300"))
BEIJING_HAIDIAN = (Decimal("39.958700"), Decimal("116.292200"))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def provider(name: str, *, status: str = "verified", province="JS", city="SZ", point=SUZHOU, slug=None):
    organisation = OrganisationFactory(name=name, slug=slug or name.lower().replace(" ", "-"))
    ProviderProfileFactory(
        organisation=organisation,
        status=status,
        province=province,
        city=city,
        latitude=point[0],
        longitude=point[1],
    )
    return organisation


def listing(organisation, name: str, *, category: str = "P0101", materials=(), **fields):
    resource = ResourceFactory(provider=organisation, name=name, category=Category.objects.get(code=category), **fields)
    if materials:
        resource.materials.set(Material.objects.filter(code__in=materials))
    refresh_search_text(resource)
    return resource


def idle(resource, start: datetime, end: datetime) -> IdleWindow:
    return IdleWindow.objects.create(resource=resource, span=DateTimeTZRange(start, end, "[)"))


def book(resource, start: datetime, end: datetime, status: str = "confirmed") -> Booking:
    return Booking.objects.create(
        resource=resource, span=DateTimeTZRange(start, end, "[)"), status=status, exclusive=resource.capacity == 1
    )


def certify(organisation, standard: str, valid_from, valid_until) -> Certification:
    return Certification.objects.create(
        profile=organisation.provider_profile,
        standard=standard,
        number=f"{standard}-{organisation.pk}",
        issuer="CQC",
        valid_from=valid_from,
        valid_until=valid_until,
    )
