"""Hard constraints: a resource missing any single one is never returned; timing across windows;
the explanation of an order nothing can meet."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from capacity.models import Category, Certification, Measurand, ProviderProfile, Resource
from capacity.selectors.availability import free_windows
from marketplace.errors import DomainError
from marketplace.matching import MatchRequest, find_matches
from tests.factories import ProviderProfileFactory
from tests.marketplace.matching_market import MONDAY, at, book, job, mill, window

pytestmark = pytest.mark.django_db


def returned(request=None) -> list[int]:
    return [m.resource_id for m in find_matches(request or job()).matches]


def _other_category(r):
    r.category = Category.objects.get(code="P0102")
    r.save()


def _small_envelope(r):
    r.envelope_z_mm = Decimal("250")  # sorted 250 < the part's smallest side 300
    r.save()


def _no_envelope(r):
    r.envelope_y_mm = None
    r.save()


def _light(r):
    r.max_part_weight_kg = Decimal("49.99")
    r.save()


def _coarse(r):
    r.tolerance_mm = Decimal("0.03")
    r.save()


def _wrong_material(r):
    r.materials.set([])


def _expired_certificate(r):
    # Lapses the day before the due date: not valid for the whole job.
    Certification.objects.filter(profile__organisation=r.provider).update(valid_until=date(2026, 12, 10))


def _unverified(r):
    ProviderProfile.objects.filter(organisation=r.provider).update(status="pending")


def _unlisted(r):
    r.status = Resource.Status.PAUSED
    r.save()


def _not_enough_time(r):
    r.idle_windows.all().delete()
    window(r, at(1, 8), at(1, 17, 59))  # 9 h 59 min < 10 h


def _booked_out(r):
    book(r, at(1, 10), at(1, 13), status="held")  # 12 h − 3 h held = 9 h


def _time_after_due(r):
    r.idle_windows.all().delete()
    window(r, at(4, 15), at(5, 8))  # only 9 h before the due date (Saturday 00:00)


def _lead_time(r):
    r.lead_time_buffer_hours = 40  # work may start Tuesday 16:00: 4 h left of the window
    r.save()


def _no_cycle_time(r):
    r.cycle_time_minutes = None
    r.save()


def _other_currency(r):
    r.currency = "USD"
    r.save()


@pytest.mark.parametrize(
    "miss",
    [
        _other_category,
        _small_envelope,
        _no_envelope,
        _light,
        _coarse,
        _wrong_material,
        _expired_certificate,
        _unverified,
        _unlisted,
        _not_enough_time,
        _booked_out,
        _time_after_due,
        _lead_time,
        _no_cycle_time,
        _other_currency,
    ],
)
def test_a_resource_missing_any_single_constraint_is_never_returned(miss):
    control = mill()
    candidate = mill()
    assert sorted(returned()) == [control.pk, candidate.pk]

    miss(candidate)

    assert returned() == [control.pk]


def test_a_provider_without_the_required_certificate_is_not_returned():
    holder = mill()
    bare = mill(ProviderProfileFactory())

    assert returned() == [holder.pk]
    assert sorted(returned(job(certifications=()))) == [holder.pk, bare.pk]
    assert returned(job(certifications=("ISO9001", "IATF16949"))) == []


def test_the_part_may_be_turned_to_fit_the_envelope():
    resource = mill(envelope_x_mm=Decimal("300"), envelope_y_mm=Decimal("500"), envelope_z_mm=Decimal("400"))
    assert returned(job(part_x_mm=Decimal("500"), part_y_mm=Decimal("300"), part_z_mm=Decimal("400"))) == [resource.pk]
    assert returned(job(part_x_mm=Decimal("500"), part_y_mm=Decimal("301"), part_z_mm=Decimal("400"))) == []


def test_a_major_category_means_any_minor_under_it():
    milling = mill()
    turning = mill(category=Category.objects.get(code="P0102"))
    grinding_elsewhere = mill(category=Category.objects.get(code="P0201"))

    assert sorted(returned(job(category="P01"))) == [milling.pk, turning.pk]
    assert grinding_elsewhere.pk not in returned(job(category="P01"))


def test_released_and_expired_bookings_do_not_block():
    resource = mill()
    book(resource, at(1, 8), at(1, 20), status="released")
    book(resource, at(1, 8), at(1, 20), status="expired")
    assert returned() == [resource.pk]


def test_the_request_cycle_time_overrides_the_resource_and_rescues_one_without():
    slow = mill(cycle_time_minutes=Decimal("90"))  # 15 h needed, 12 h free
    without = mill(cycle_time_minutes=None)
    assert returned() == []
    assert sorted(returned(job(cycle_time_minutes=Decimal("72")))) == [slow.pk, without.pk]  # 12 h exactly


def test_setup_time_from_extra_specs_counts_towards_machine_time():
    resource = mill(extra_specs={"setup_minutes": 90})
    match = find_matches(job(quantity=9)).matches[0]
    assert match.resource_id == resource.pk
    assert match.price.machine_minutes == Decimal("630")
    assert match.finish == at(1, 8 + 10.5)
    assert returned(job(quantity=11)) == []  # 90 min + 11 h > 12 h
    typo = mill(extra_specs={"setup_minutes": "ninety"})  # not a number: setup time 0
    assert returned(job(quantity=11)) == [typo.pk]


def test_a_job_spanning_several_free_windows_finishes_when_enough_time_has_accrued():
    resource = mill(windows=((1, 8, 12), (2, 8, 12), (3, 8, 12), (4, 8, 12)))
    book(resource, at(2, 9), at(2, 10))

    match = find_matches(job()).matches[0]

    # 4 h Tuesday + 3 h Wednesday (booked 9–10) + 3 h Thursday = 10 h: done Thursday 11:00.
    assert match.resource_id == resource.pk
    assert match.finish == at(3, 11)
    assert match.slots == [
        (at(1, 8), at(1, 12)),
        (at(2, 8), at(2, 9)),
        (at(2, 10), at(2, 12)),
        (at(3, 8), at(3, 11)),
    ]
    assert match.free_hours == Decimal("15")


def test_a_parallel_resource_is_blocked_only_when_saturated():
    chamber = mill(capacity=2)
    book(chamber, at(1, 8), at(1, 20))
    assert returned() == [chamber.pk]  # one place of two still free all day

    book(chamber, at(1, 8), at(1, 11))
    # Saturated 8–11: 9 h free, 10 h needed.
    assert returned() == []
    assert free_windows(chamber, at(1, 0), at(2, 0)) == [(at(1, 11), at(1, 20))]


def test_measurand_and_range_must_contain_the_order_range():
    force = Measurand.objects.get(code="tensile_strength")
    tensile = Category.objects.get(code="T0101")

    def lab(range_min, range_max, measurand=force):
        return mill(
            category=tensile,
            measurand=measurand,
            range_min=Decimal(range_min),
            range_max=Decimal(range_max),
            range_unit="MPa",
            envelope_x_mm=None,
            materials=(),
        )

    wide = lab("0", "2000")
    lab("0", "999")  # too low a top
    lab("100", "2000")  # too high a bottom
    lab("0", "2000", measurand=Measurand.objects.get(code="hardness"))
    request = MatchRequest(
        category="T0101",
        kind="testing",
        quantity=5,
        due=at(5, 0),
        now=MONDAY,
        measurand="tensile_strength",
        range_min=Decimal("50"),
        range_max=Decimal("1000"),
    )
    assert returned(request) == [wide.pk]


def test_an_unmeetable_order_says_which_constraint_removed_most_and_the_earliest_finish():
    mill(windows=((8, 8, 20),))  # free only the Tuesday after the due date
    mill(windows=((9, 8, 20),))
    mill(tolerance_mm=Decimal("0.05"), windows=((1, 8, 20),))

    with translation.override("en"):
        result = find_matches(job())

    assert result.matches == []
    assert result.no_match.constraint == "time"
    assert result.no_match.steps == [
        ("category", 3),
        ("verified", 3),
        ("listed", 3),
        ("currency", 3),
        ("envelope", 3),
        ("weight", 3),
        ("tolerance", 2),
        ("material", 2),
        ("certification", 2),
        ("cycle_time", 2),
        ("time", 0),
    ]
    assert result.no_match.earliest_finish == at(8, 18)
    assert result.no_match.message == "2 machines fit, none is free before December 12; earliest finish December 15"


def test_when_a_spec_removes_most_the_explanation_names_it():
    for _ in range(3):
        mill(tolerance_mm=Decimal("0.05"))
    mill(windows=((6, 8, 20),))

    with translation.override("en"):
        result = find_matches(job())

    assert result.no_match.constraint == "tolerance"
    assert result.no_match.message == (
        "most candidates were ruled out by: tolerance (3 of 4); "
        "1 machine fits, none is free before December 12; earliest finish December 13"
    )
    with translation.override("zh-hans"):
        assert find_matches(job()).no_match.message.startswith("大部分候选资源因“公差”被排除（4 个中的 3 个）")


def test_an_empty_category_and_bad_requests():
    with translation.override("en"):
        assert find_matches(job()).no_match.message == "No listed resource in this category."
        with pytest.raises(DomainError, match="Unknown category P9999"):
            find_matches(job(category="P9999"))
        with pytest.raises(DomainError, match="kind of capacity"):
            find_matches(job(kind="testing"))
        with pytest.raises(DomainError, match="all three part dimensions"):
            job(part_z_mm=None)
        with pytest.raises(DomainError, match="due date must be in the future"):
            job(due=MONDAY - timedelta(hours=1))
        with pytest.raises(DomainError, match="at least 1"):
            job(quantity=0)
