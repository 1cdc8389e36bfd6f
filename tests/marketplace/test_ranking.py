"""Price estimates exact to the cent, and the ranking rule of marketplace.matching.ranking."""

from decimal import Decimal

import pytest
from django.utils import translation

from marketplace.matching import find_matches
from marketplace.matching.pricing import RateCard, estimate
from marketplace.matching.ranking import haversine_km, lower_is_better, weighted_score
from marketplace.models.matching import MatchingWeights
from tests.marketplace.matching_market import at, book, job, mill, provider


def card(**kwargs) -> RateCard:
    fields = {
        "billing_unit": "machine_hour",
        "rate": Decimal("180.33"),
        "setup_fee": Decimal("240.00"),
        "minimum_charge": Decimal("0"),
        "currency": "CNY",
        "billing_increment_minutes": 15,
    }
    fields.update(kwargs)
    return RateCard(**fields)


def test_machine_time_is_rounded_up_to_the_increment_and_each_line_half_up():
    price = estimate(card(), quantity=10, machine_minutes=Decimal("610"))
    # 610 min → 615 min = 10.25 h × 180.33 = 1848.3825 → 1848.38; + 240.00 setup.
    assert (price.billed_minutes, price.billed_hours) == (Decimal("615"), Decimal("10.25"))
    assert (price.work_amount, price.setup_fee, price.minimum_topup) == (
        Decimal("1848.38"),
        Decimal("240.00"),
        Decimal("0"),
    )
    assert price.total == Decimal("2088.38")
    assert price.rounding == "HALF_UP"


def test_minimum_charge_tops_up_the_sum():
    price = estimate(card(minimum_charge=Decimal("3000")), quantity=10, machine_minutes=Decimal("610"))
    assert price.minimum_topup == Decimal("911.62")
    assert price.total == Decimal("3000.00")


def test_half_a_fen_rounds_up_not_to_even():
    price = estimate(card(rate=Decimal("0.03"), setup_fee=Decimal("0"), billing_increment_minutes=1), quantity=1,
                     machine_minutes=Decimal("10"))  # fmt: skip
    assert price.work_amount == Decimal("0.01")  # 10 min × 0.03/h = 0.005


def test_per_part_price_and_zero_decimal_currency():
    parts = estimate(card(billing_unit="part", rate=Decimal("12.35"), setup_fee=Decimal("50"),
                          minimum_charge=Decimal("200")), quantity=7, machine_minutes=Decimal("70"))  # fmt: skip
    assert (parts.work_amount, parts.minimum_topup, parts.total) == (
        Decimal("86.45"),
        Decimal("63.55"),
        Decimal("200.00"),
    )
    assert parts.billed_minutes == 0
    yen = estimate(card(currency="JPY", rate=Decimal("1000"), setup_fee=Decimal("0"), billing_increment_minutes=60),
                   quantity=1, machine_minutes=Decimal("61"))  # fmt: skip
    assert yen.total == Decimal("2000")


@pytest.mark.django_db
def test_a_match_carries_its_price_and_a_readable_explanation():
    mill(minimum_charge=Decimal("2500"), billing_increment_minutes=60, cycle_time_minutes=Decimal("55"))
    with translation.override("en"):
        match = find_matches(job(delivery_lat=31.2990, delivery_lon=120.5853)).matches[0]
    # 10 × 55 min = 550 min → 600 min = 10 h × 180 = 1800 + 240 setup = 2040 → minimum 2500.
    assert (match.price.work_amount, match.price.minimum_topup, match.price.total) == (
        Decimal("1800.00"),
        Decimal("460.00"),
        Decimal("2500.00"),
    )
    assert match.finish == at(1, 8 + 550 / 60)
    assert match.summary == (
        "fits envelope 500×400×300 within 800×500×500; 12 h free before the due date; finishes December 8 17:10; "
        "CN¥2,500.00 minimum charge (10 h × CN¥180.00 + CN¥240.00 setup = CN¥2,040.00); 0 km"
    )


def test_normalisation_and_weighted_sum():
    assert lower_is_better([10.0, 20.0, 30.0]) == [1.0, 0.5, 0.0]
    assert lower_is_better([5.0, 5.0]) == [1.0, 1.0]
    assert lower_is_better([None, 4.0, 8.0]) == [0.0, 1.0, 0.0]
    terms = {"price": 1.0, "finish": 0.5, "distance": 0.0, "reputation": 0.5, "idle": 1.0}
    assert weighted_score(terms, {"price": 2, "finish": 2, "distance": 0, "reputation": 0, "idle": 0}) == 0.75
    assert weighted_score(terms, dict.fromkeys(terms, 0)) == pytest.approx(3.0 / 5)
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.1951, abs=1e-4)


@pytest.mark.django_db
def test_ranking_follows_the_weighted_rule_and_operator_weights():
    a = mill(rate=Decimal("180"), windows=((1, 8, 20),))  # ¥2040, finishes Tuesday 18:00
    b = mill(rate=Decimal("80"), windows=((2, 8, 20),))  # ¥1040, Wednesday 18:00
    c = mill(rate=Decimal("280"), windows=((3, 8, 20), (10, 8, 20)))  # ¥3040, Thursday 18:00
    book(c, at(10, 8), at(10, 14))  # booked 6 h of its 24 idle h in the next 4 weeks

    matches = find_matches(job()).matches

    assert [m.resource_id for m in matches] == [b.pk, a.pk, c.pk]
    assert [m.terms for m in matches] == [
        {"price": 1.0, "finish": 0.5, "distance": 1.0, "reputation": 0.5, "idle": 1.0},
        {"price": 0.5, "finish": 1.0, "distance": 1.0, "reputation": 0.5, "idle": 1.0},
        {"price": 0.0, "finish": 0.0, "distance": 1.0, "reputation": 0.5, "idle": 0.75},
    ]
    # Default weights 0.40 / 0.25 / 0.15 / 0.10 / 0.10 (sum 1).
    assert [m.score for m in matches] == pytest.approx([0.825, 0.75, 0.275])

    weights = MatchingWeights.load()
    weights.finish = Decimal("5")
    weights.save()
    assert [m.resource_id for m in find_matches(job()).matches] == [a.pk, b.pk, c.pk]
    assert MatchingWeights.objects.count() == 1


@pytest.mark.django_db
def test_distance_prefers_the_nearest_and_ties_fall_back_to_price_finish_and_id():
    near = mill(provider(latitude=Decimal("31.2304"), longitude=Decimal("121.4737")))  # Shanghai
    far = mill(provider(latitude=Decimal("39.9042"), longitude=Decimal("116.4074")))  # Beijing
    unknown = mill(provider(latitude=None, longitude=None))
    cheaper_unknown = mill(provider(latitude=None, longitude=None), rate=Decimal("179"))
    distance_only = {"price": 0, "finish": 0, "distance": 1, "reputation": 0, "idle": 0}

    matches = find_matches(job(delivery_lat=31.2304, delivery_lon=121.4737), weights=distance_only).matches

    assert [m.resource_id for m in matches] == [near.pk, cheaper_unknown.pk, far.pk, unknown.pk]
    assert [m.terms["distance"] for m in matches] == [1.0, 0.0, 0.0, 0.0]
    assert matches[0].distance_km == 0
    assert round(matches[2].distance_km) == 1067
    assert matches[1].distance_km is None
