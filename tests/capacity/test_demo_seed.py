"""The demo capacity market (capacity.demo.seed_capacity): a believable, deterministic catalogue.

The market is seeded once for the module at a fixed ``NOW`` (so nothing depends on today's
date) inside a transaction that is rolled back afterwards; each test runs in a savepoint.
"""

import time
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.db import transaction
from django.db.models import Exists, OuterRef

from capacity.demo import seed_capacity
from capacity.demo.companies import GENERATED, LOCATIONS
from capacity.demo.metering import seed_metering
from capacity.models import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    Category,
    Certification,
    IdleWindow,
    ProviderProfile,
    Resource,
)
from capacity.reference import read
from capacity.services.availability import HORIZON, compute_idle_windows
from capacity.validators import validate_credit_code
from marketplace.demo import seed_people
from marketplace.demo_trades import seed_trades
from marketplace.models import Membership, Organisation, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 7 December 2026, 09:00 in Shanghai: New Year's Day falls inside the 13-week horizon.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)
TYPED_COLUMNS = [
    "envelope_x_mm",
    "envelope_y_mm",
    "envelope_z_mm",
    "max_part_weight_kg",
    "tolerance_mm",
    "surface_finish_ra_um",
    "axes",
    "spindle_speed_rpm",
    "max_force_kn",
    "temperature_min_c",
    "temperature_max_c",
    "range_min",
    "range_max",
    "uncertainty",
    "accreditation_ref",
]


@pytest.fixture(scope="module")
def market(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        seed_people()
        seed_capacity(now=NOW)
        seed_trades(now=NOW)
        seed_metering(now=NOW)
        yield
        transaction.set_rollback(True)


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Organisation,
            User,
            EmailAddress,
            Membership,
            ProviderProfile,
            Certification,
            Resource,
            Resource.materials.through,
            AvailabilityRule,
            AvailabilityException,
            IdleWindow,
            Booking,
        )
    }


def test_market_has_enough_providers_and_resources_of_every_kind(market, db):
    assert ProviderProfile.objects.count() == 5 + len(GENERATED)
    assert ProviderProfile.objects.count() >= 50
    assert set(
        Organisation.objects.filter(provider_profile__isnull=False).values_list("kind", flat=True).distinct()
    ) == {Organisation.Kind.PROVIDER, Organisation.Kind.BOTH}
    statuses = {
        status: ProviderProfile.objects.filter(status=status).count() for status in ProviderProfile.Status.values
    }
    assert statuses == {
        "unverified": 0,
        "pending": 3,
        "verified": 5 + len(GENERATED) - 5,
        "rejected": 1,
        "suspended": 1,
    }
    assert ProviderProfile.objects.get(organisation__slug="baoding-antuo").status_reason != ""

    assert Resource.objects.count() >= 300
    for kind in Category.Kind.values:
        assert Resource.objects.filter(kind=kind).count() >= 40, kind
        assert Resource.objects.visible_to_buyers().filter(kind=kind).count() >= 30, kind
    assert Resource.objects.visible_to_buyers().count() >= 250
    assert set(Resource.objects.values_list("status", flat=True).distinct()) == {
        "listed",
        "draft",
        "paused",
        "pending_review",
    }
    # Non-verified providers have listed resources too; buyers never see them.
    hidden = Resource.objects.filter(status="listed").exclude(provider__provider_profile__status="verified")
    assert hidden.exists()
    assert not Resource.objects.visible_to_buyers().filter(pk__in=hidden).exists()
    # Every demo provider organisation got a verified profile with its machines.
    for slug in ["suzhou-jinggong", "dongguan-hongda", "shenzhen-zhengce", "ningbo-jiliang", "wuxi-tongda"]:
        profile = ProviderProfile.objects.get(organisation__slug=slug)
        assert profile.status == "verified"
        assert profile.reviewed_by.email == "ops@spindle.demo"
        assert Resource.objects.filter(provider=profile.organisation).count() >= 7


def test_credit_codes_are_valid_unique_and_match_the_city(market, db):
    codes = list(ProviderProfile.objects.values_list("organisation__slug", "credit_code"))
    assert len(codes) == len({code for _, code in codes})
    for _slug, code in codes:
        validate_credit_code(code)
        assert code.startswith("91")
    divisions = {f"{LOCATIONS[loc][3]}-{trade_py}": LOCATIONS[loc][4] for loc, _a, _t, trade_py in GENERATED}
    for slug, code in codes:
        if slug in divisions:
            assert code[2:8] == divisions[slug], slug


def test_profiles_have_full_details_and_certificates(market, db):
    for profile in ProviderProfile.objects.all():
        for field in ["legal_name", "province", "city", "address", "contact_name", "contact_phone", "description"]:
            assert getattr(profile, field), (profile.legal_name, field)
        assert profile.legal_name.endswith("有限公司")
        assert profile.certifications.exists(), profile.legal_name
    today = NOW.date()
    expired = Certification.objects.filter(valid_until__lt=today)
    assert sorted(expired.values_list("profile__organisation__slug", "standard")) == [
        ("cixi-yonggu", "ISO9001"),
        ("weifang-hairui", "ISO9001"),
    ]
    assert not Certification.objects.filter(valid_from__gt=today).exists()
    labs = Certification.objects.filter(standard="ISO17025")
    assert labs.count() >= 10
    assert all(number.startswith("CNAS L") for number in labs.values_list("number", flat=True))
    assert Certification.objects.filter(standard="IATF16949").count() >= 10
    assert Certification.objects.filter(standard="AS9100").count() >= 4
    # Accredited labs quote their CNAS number on the resources whose category asks for it.
    lab = ProviderProfile.objects.get(organisation__slug="shenzhen-zhengce")
    number = lab.certifications.get(standard="ISO17025").number
    tensile = Resource.objects.get(provider=lab.organisation, category__code="T0101", make__startswith="Instron")
    assert tensile.accreditation_ref == number
    assert tensile.measurand.code == "tensile_strength"
    assert tensile.billing_unit == "part"


def test_specs_follow_the_category_attributes(market, db):
    typical = {row["code"]: row.get("typical_standards", []) for row in read("taxonomy")["categories"]}
    resources = Resource.objects.select_related("category").prefetch_related("materials")
    for resource in resources:
        attributes = set(resource.category.attributes)
        filled = {column for column in TYPED_COLUMNS if getattr(resource, column) not in (None, "")}
        assert filled <= attributes, resource.name
        assert set(resource.extra_specs) <= attributes, resource.name
        if resource.materials.all():
            assert "materials" in attributes, resource.name
        assert set(resource.standards) <= set(typical[resource.category.code]), resource.name
        assert resource.kind == resource.category.kind
        assert resource.rate > 0
        assert resource.billing_increment_minutes in (15, 30, 60)
        assert resource.search_text.startswith(resource.name)
    assert resources.filter(capacity__gt=1).count() >= 10
    assert set(Resource.objects.values_list("currency", flat=True).distinct()) == {"CNY", "EUR", "USD"}
    mill = Resource.objects.filter(category__code="P0104", make="DMG MORI", model_name="DMU 50").first()
    assert (mill.axes, mill.envelope_x_mm, mill.currency) == (5, 650, "CNY")
    assert 250 <= mill.rate <= 600


def test_listed_resources_of_verified_providers_have_future_idle_windows(market, db):
    visible = Resource.objects.visible_to_buyers()
    without = visible.exclude(
        Exists(IdleWindow.objects.filter(resource=OuterRef("pk"), span__overlap=(NOW, NOW + timedelta(days=14))))
    )
    assert list(without.values_list("name", flat=True)) == []
    assert not Resource.objects.exclude(Exists(AvailabilityRule.objects.filter(resource=OuterRef("pk")))).exists()


def test_stored_windows_are_what_the_availability_service_computes(market, db):
    for resource in Resource.objects.select_related("provider"):
        stored = [(w.span.lower, w.span.upper) for w in IdleWindow.objects.filter(resource=resource).order_by("span")]
        assert stored == compute_idle_windows(resource, NOW, NOW + HORIZON), resource.name


def test_labs_close_on_new_years_day_and_some_machines_have_maintenance(market, db):
    new_year = (datetime(2027, 1, 1, tzinfo=SHANGHAI), datetime(2027, 1, 2, tzinfo=SHANGHAI))
    labs = Resource.objects.exclude(kind=Category.Kind.PRODUCTION)
    assert not IdleWindow.objects.filter(resource__in=labs, span__overlap=new_year).exists()
    assert AvailabilityException.objects.filter(note="元旦放假").count() >= labs.count()
    assert AvailabilityException.objects.filter(kind="blackout").exclude(note="元旦放假").count() >= 50
    assert AvailabilityException.objects.filter(kind="extra", note="周六加开空档").count() >= 20


def test_bookings_are_confirmed_and_lie_inside_idle_windows(market, db):
    # Bookings of the demo trades follow their trade (released, completed): see test_demo_trades.
    # The metering demo's past, completed shift (see test_demo_devices_…) is history, not a slot.
    bookings = Booking.objects.filter(trade_link__isnull=True, span__startswith__gt=NOW).select_related("resource")
    assert bookings.count() >= 100
    assert set(bookings.values_list("status", flat=True).distinct()) == {"confirmed"}
    outside = bookings.exclude(
        Exists(IdleWindow.objects.filter(resource=OuterRef("resource"), span__contains=OuterRef("span")))
    )
    assert outside.count() == 0
    for booking in bookings:
        assert booking.exclusive == (booking.resource.capacity == 1)
        assert NOW < booking.span.lower < booking.span.upper <= NOW + timedelta(days=14)
    assert not bookings.exclude(resource__in=Resource.objects.visible_to_buyers()).exists()


def test_seed_demo_again_changes_nothing_and_is_fast(market, db):
    before = table_counts()
    out = StringIO()
    started = time.perf_counter()
    call_command("seed_demo", stdout=out)
    elapsed = time.perf_counter() - started
    assert table_counts() == before
    assert "added 0 resources and 0 bookings" in out.getvalue()
    assert "p01@spindle.demo … p60@spindle.demo" in out.getvalue()
    assert "p02@spindle.demo" not in out.getvalue()
    assert elapsed < 5


@pytest.mark.django_db
def test_demo_devices_stream_three_days_with_a_reboot(market):
    from capacity.models import BookingUsage, Device, MeterReading

    devices = Device.objects.filter(provider__slug="suzhou-jinggong")
    assert devices.count() == 2
    gateway = devices.get(kind="gateway")
    assert MeterReading.objects.filter(device=gateway).values("boot_id").distinct().count() == 4  # 2 mills × 2 boots
    assert MeterReading.objects.filter(device_time__gt=NOW).count() == 0
    usage = BookingUsage.objects.get(booking__resource__provider__slug="suzhou-jinggong", booking__status="completed")
    booked = usage.booking.span.upper - usage.booking.span.lower
    assert 0 < usage.run_seconds < booked.total_seconds()
    assert usage.parts > 0
