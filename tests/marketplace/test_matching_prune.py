"""Pruning before the costly part of matching changes nothing: on a seeded market of varied
resources, the best ``limit`` found through ``match_summaries`` + ``ranking.prune`` are the first
``limit`` of the full ranking, in the same order, with the same scores, prices, slots and texts."""

import random
from decimal import Decimal

import pytest

from capacity.models import Material
from marketplace.matching import find_matches, ranking
from marketplace.matching.candidates import booked_shares, find_candidates, match_summaries
from marketplace.matching.pricing import estimate
from tests.factories import ProviderProfileFactory, ResourceFactory
from tests.marketplace.matching_market import at, book, job, window

pytestmark = pytest.mark.django_db

WEIGHT_SETS = [
    None,  # the operator's (defaults)
    {"price": 1.0, "finish": 0.0, "distance": 0.0, "reputation": 0.0, "idle": 0.0},
    {"price": 0.1, "finish": 0.1, "distance": 0.1, "reputation": 0.2, "idle": 0.9},
    {"price": 0.0, "finish": 0.0, "distance": 0.0, "reputation": 0.0, "idle": 0.0},  # all equal
]


def seed_market(rng: random.Random, currency: str = "CNY", count: int = 40) -> None:
    """``count`` mills fitting the standard job, with random rate cards, positions, idle windows
    and bookings (some of them parallel chambers, some providers without coordinates)."""
    aluminium = list(Material.objects.filter(code="AL6061"))
    profiles = []
    for i in range(count // 3):
        located = i % 5 != 0
        profiles.append(
            ProviderProfileFactory(
                latitude=Decimal(str(round(rng.uniform(22, 40), 4))) if located else None,
                longitude=Decimal(str(round(rng.uniform(104, 122), 4))) if located else None,
            )
        )
    for _ in range(count):
        resource = ResourceFactory(
            provider=rng.choice(profiles).organisation,
            currency=currency,
            rate=Decimal(rng.randint(4000, 40000)) / 100,
            setup_fee=Decimal(rng.randint(0, 60000)) / 100,
            minimum_charge=rng.choice([Decimal(0), Decimal(rng.randint(10000, 400000)) / 100]),
            billing_unit=rng.choice(["machine_hour", "machine_hour", "part"]),
            billing_increment_minutes=rng.choice([15, 30, 60]),
            cycle_time_minutes=Decimal(rng.randint(500, 9000)) / 100,
            extra_specs={"setup_minutes": rng.randint(0, 90)} if rng.random() < 0.4 else {},
            capacity=rng.choice([1, 1, 1, 2]),
            lead_time_buffer_hours=rng.choice([0, 0, 4, 12]),
        )
        resource.materials.set(aluminium)
        for day in range(5):
            if rng.random() < 0.85:
                start = rng.choice([6, 7, 8, 9])
                end = start + rng.randint(6, 14)
                window(resource, at(day, start), at(day, end))
                if rng.random() < 0.5:
                    begin = start + rng.randint(0, 3)
                    book(resource, at(day, begin), at(day, begin + rng.randint(1, 3)),
                         status=rng.choice(["confirmed", "held", "released"]))  # fmt: skip


def order(**overrides):
    """The standard job without the certificate (the seeded providers hold none)."""
    return job(certifications=(), **overrides)


def same(match, other) -> None:
    assert match.resource_id == other.resource_id
    assert match.score == other.score
    assert match.terms == other.terms
    assert match.price == other.price
    assert match.finish == other.finish
    assert match.slots == other.slots
    assert match.booked_share == other.booked_share
    assert match.reputation == other.reputation
    assert match.explanation == other.explanation


@pytest.mark.parametrize("seed", [1, 2])
def test_the_pruned_ranking_is_the_top_of_the_full_ranking(seed):
    rng = random.Random(seed)
    seed_market(rng)
    requests = [
        order(quantity=4, due=at(5, 0)),
        order(quantity=12, due=at(4, 12), delivery_lat=31.23, delivery_lon=121.47),
        order(quantity=1, due=at(2, 0), delivery_lat=39.34, delivery_lon=117.36, material=None),
        order(quantity=25, due=at(6, 0), delivery_lat=23.02, delivery_lon=113.75),
    ]
    pruned_somewhere = False
    for request in requests:
        for weights in WEIGHT_SETS:
            full = find_matches(request, weights=weights, limit=None).matches
            for limit in (1, 3, 8):
                top = find_matches(request, weights=weights, limit=limit).matches
                assert len(top) == min(limit, len(full))
                for match, other in zip(top, full[:limit], strict=False):
                    same(match, other)
                pruned_somewhere |= len(full) > 2 * limit
    assert pruned_somewhere  # the market is big enough for the pruning to matter


def test_prune_drops_matches_that_cannot_reach_the_top():
    seed_market(random.Random(5))
    request = order(quantity=6, due=at(5, 0), delivery_lat=31.23, delivery_lon=121.47)
    summaries = match_summaries(request)
    asked = {"reputation": [], "share": []}

    def reputations(ids):
        asked["reputation"].append(len(ids))
        return ranking.reputation_scores(ids)

    def shares(ids):
        asked["share"].append(len(ids))
        return booked_shares(request, ids)

    weights = {"price": 0.8, "finish": 0.1, "distance": 0.1, "reputation": 0.0, "idle": 0.05}
    kept, _spans = ranking.prune(
        summaries, weights, limit=3, delivery=(31.23, 121.47), reputations=reputations, shares=shares
    )
    assert len(summaries) > 10
    assert len(kept) == 3
    # Only the survivors of the bounds were scored exactly: fewer than all the matches.
    assert asked["share"][0] < len(summaries)


def test_summaries_are_the_candidates_with_their_estimated_totals():
    """The SQL total is pricing.estimate's total, for every match, in CNY and in a currency
    without minor units (JPY); the set and finish times are find_candidates'."""
    for currency, seed in (("CNY", 3), ("JPY", 4)):
        seed_market(random.Random(seed), currency=currency, count=25)
        for quantity in (1, 7, 30):
            request = order(quantity=quantity, due=at(6, 0), currency=currency)
            candidates = {c.resource_id: c for c in find_candidates(request)}
            summaries = match_summaries(request)
            assert len(candidates) > 5
            assert {s.resource_id for s in summaries} == set(candidates)
            for summary in summaries:
                candidate = candidates[summary.resource_id]
                price = estimate(candidate.card, quantity=quantity, machine_minutes=candidate.machine_minutes(quantity))
                assert summary.total == price.total
                assert summary.finish == candidate.finish


def test_the_funnel_finds_the_earliest_finish_of_all_and_counts_the_matches():
    """The funnel's bounded search gives the minimum finish over every resource passing the
    static constraints (timed far beyond the due date), and the number of matches."""
    from dataclasses import replace

    from marketplace.matching.candidates import funnel

    seed_market(random.Random(6))
    for quantity, due in ((3, at(1, 0)), (40, at(2, 12)), (90, at(3, 0)), (8, at(5, 0))):
        request = order(quantity=quantity, due=due)
        everyone = find_candidates(replace(request, due=at(60, 0)))
        assert everyone
        result = funnel(request)
        assert result.earliest_finish == min(c.finish for c in everyone)
        assert result.steps[-1] == ("time", len(find_candidates(request)))
