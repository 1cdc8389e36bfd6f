"""Split plans: the MILP finds the true optimum of the real (rounded) prices; greedy never beats it."""

import random
from decimal import Decimal

import pytest

from marketplace.matching import find_matches, plan_split
from marketplace.matching.pricing import RateCard
from marketplace.matching.split import GREEDY, MILP, SplitOption, allocation_cost, brute_force, greedy, solve
from tests.marketplace.matching_market import at, job, mill


def random_instance(rng: random.Random) -> tuple[list[SplitOption], int]:
    currency = rng.choice(["CNY", "CNY", "JPY"])
    options = []
    for _ in range(rng.randint(2, 4)):
        card = RateCard(
            billing_unit=rng.choice(["machine_hour", "machine_hour", "part"]),
            rate=Decimal(rng.randint(500, 40000)) / 100,
            setup_fee=rng.choice([Decimal(0), Decimal(rng.randint(0, 60000)) / 100]),
            minimum_charge=rng.choice([Decimal(0), Decimal(0), Decimal(rng.randint(100, 3000))]),
            currency=currency,
            billing_increment_minutes=rng.choice([1, 6, 15, 30, 60]),
        )
        options.append(
            SplitOption(
                card=card,
                cycle_minutes=Decimal(rng.randint(100, 9000)) / 100,
                setup_minutes=rng.choice([Decimal(0), Decimal(rng.randint(0, 12000)) / 100]),
                capacity=rng.randint(0, 6),
            )
        )
    total = sum(o.capacity for o in options)
    return options, rng.randint(1, max(1, total))


def test_milp_equals_the_brute_force_optimum_and_greedy_never_beats_it():
    rng = random.Random(20261207)
    checked = 0
    for _ in range(80):
        options, quantity = random_instance(rng)
        optimum = brute_force(options, quantity)
        solution = solve(options, quantity, method=MILP)
        if optimum is None:
            assert solution is None
            continue
        quantities, method = solution
        assert method == MILP
        assert allocation_cost(options, quantities) == optimum[0]
        assert allocation_cost(options, greedy(options, quantity)) >= optimum[0]
        checked += 1
    assert checked >= 60


def test_greedy_is_the_fallback_when_asked_or_when_the_solver_is_missing(monkeypatch):
    options = [
        SplitOption(RateCard("part", Decimal("10"), Decimal("100"), Decimal(0), "CNY", 15), Decimal(1), Decimal(0), 5),
        SplitOption(RateCard("part", Decimal("30"), Decimal("0"), Decimal(0), "CNY", 15), Decimal(1), Decimal(0), 5),
    ]
    # The first's 5 parts cost 5 × 10 + 100 = 150 (30 a part), tying the second's 30 a part: the
    # larger batch wins the tie, then the second makes the last part.
    assert solve(options, 6, method=GREEDY) == ([5, 1], GREEDY)
    assert solve(options, 6, method=MILP) == ([5, 1], MILP)
    assert solve(options, 11) is None

    import builtins

    real_import = builtins.__import__

    def no_highspy(name, *args, **kwargs):
        if name == "highspy":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_highspy)
    assert solve(options, 6, method=MILP) == ([5, 1], GREEDY)


@pytest.mark.django_db
def test_when_no_single_machine_is_in_time_the_split_is_the_cheapest_and_uses_their_free_windows():
    a = mill(rate=Decimal("180"), setup_fee=Decimal("240"), windows=((1, 8, 12),))  # 4 parts
    b = mill(rate=Decimal("100"), setup_fee=Decimal("500"), windows=((2, 8, 13),))  # 5 parts
    c = mill(rate=Decimal("150"), setup_fee=Decimal("100"), windows=((3, 8, 14),))  # 6 parts
    assert find_matches(job()).matches == []

    plan = plan_split(job())

    # B 5 (500 + 500) + C 5 (100 + 750) = 1850; any plan with A costs more (brute force: 1850).
    assert plan.method == MILP
    assert [(p.candidate.resource_id, p.quantity, p.price.total) for p in plan.parts] == [
        (b.pk, 5, Decimal("1000.00")),
        (c.pk, 5, Decimal("850.00")),
    ]
    assert plan.total == Decimal("1850.00")
    assert plan.currency == "CNY"
    assert [p.slots for p in plan.parts] == [[(at(2, 8), at(2, 13))], [(at(3, 8), at(3, 13))]]
    assert plan.finish == at(3, 13)
    assert a.pk not in [p.candidate.resource_id for p in plan.parts]

    greedy_plan = plan_split(job(), method=GREEDY)
    assert greedy_plan.method == GREEDY
    assert greedy_plan.total == Decimal("1900.00")  # C 6 first (cheapest per part), then B 4

    assert plan_split(job(quantity=16)) is None  # 15 parts is all they can make together


@pytest.mark.django_db
def test_split_slots_of_a_parallel_resource_skip_only_saturated_time():
    from tests.marketplace.matching_market import book

    chamber = mill(capacity=2, rate=Decimal("170"), windows=((1, 8, 14),))  # cheaper; 5 parts after saturation
    other = mill(windows=((2, 8, 14),))  # 6 parts
    book(chamber, at(1, 8), at(1, 10))
    book(chamber, at(1, 8), at(1, 9))  # saturated 8–9 only

    plan = plan_split(job())

    assert plan.total == Decimal("2230.00")  # 5 h × 170 + 5 h × 180 + two setups of 240
    assert {p.candidate.resource_id: p.quantity for p in plan.parts} == {chamber.pk: 5, other.pk: 5}
    chamber_part = next(p for p in plan.parts if p.candidate.resource_id == chamber.pk)
    assert chamber_part.slots == [(at(1, 9), at(1, 14))]
