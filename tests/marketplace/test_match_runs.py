"""Match runs: the order → request adapter, stored matches, split plans, no-match reasons, the
order's transition and the task's claim."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from capacity.models import Category, Measurand
from marketplace.errors import DomainError
from marketplace.matching import find_matches
from marketplace.matching.adapter import match_request_for_order
from marketplace.models import Match, MatchRun, Order, OrderEvent
from marketplace.services import matching as services
from marketplace.tasks import run_match_run
from tests.marketplace.match_orders import job_order
from tests.marketplace.matching_market import MONDAY, at, job, mill

pytestmark = pytest.mark.django_db


def iso(moment):
    return moment.astimezone(UTC).isoformat()


def test_the_adapter_maps_every_field_matching_needs(buyer_org):
    order = job_order(
        buyer_org, latitude=Decimal("30.274085"), longitude=Decimal("120.155070"), cycle_time_minutes=Decimal("45")
    )

    request = match_request_for_order(order, now=MONDAY)

    assert request == job(
        kind="production",
        cycle_time_minutes=Decimal("45"),
        delivery_lat=30.274085,
        delivery_lon=120.15507,
        currency="CNY",
    )
    assert request.part_dims == (Decimal("300"), Decimal("400"), Decimal("500"))


def test_the_adapter_maps_a_measurement_order(buyer_org):
    measurand = Measurand.objects.order_by("code").first()
    order = job_order(
        buyer_org,
        kind="testing",
        category=Category.objects.get(code="T0101"),
        envelope_x_mm=None,
        envelope_y_mm=None,
        envelope_z_mm=None,
        material=None,
        certifications=[],
        measurand=measurand,
        range_min=Decimal("-40"),
        range_max=Decimal("85"),
        range_unit="°C",
        billing_preference="part",
    )

    request = match_request_for_order(order, now=MONDAY)

    assert (request.category, request.kind, request.measurand) == ("T0101", "testing", measurand.code)
    assert (request.range_min, request.range_max) == (Decimal("-40"), Decimal("85"))
    assert request.billing_unit is None  # a preference, not a constraint
    assert request.part_dims is None and request.material is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"due_at": None}, "Set a due date before matching."),
        ({"due_at": MONDAY - timedelta(hours=1)}, "The due date has passed: set a later one to find matches."),
        ({"range_min": Decimal("1"), "range_max": None}, "Give both ends of the range before matching."),
    ],
)
def test_an_order_missing_what_matching_needs_is_refused_and_nothing_is_stored(buyer_org, changes, message):
    order = job_order(buyer_org, **changes)

    with translation.override("en"), pytest.raises(DomainError) as refused:
        match_request_for_order(order, now=MONDAY)
    assert str(refused.value.message) == message
    with pytest.raises(DomainError):
        services.run_matching(order=order, now=MONDAY)
    assert MatchRun.objects.count() == 0
    assert Order.objects.get(pk=order.pk).status == "open"


def test_a_run_stores_the_ranked_matches_in_find_matches_order(buyer_org, buyer_owner):
    near = mill(rate=Decimal("150"), windows=((1, 8, 20),))
    dear = mill(rate=Decimal("260"), windows=((1, 8, 20),))
    late = mill(rate=Decimal("150"), windows=((3, 6, 20),))
    order = job_order(buyer_org)
    expected = find_matches(job(kind="production")).matches

    run = services.run_matching(order=order, by=buyer_owner, now=MONDAY)

    assert (run.status, run.progress, run.as_of, run.due_at) == ("done", 100, MONDAY, at(5, 0))
    stored = list(Match.objects.filter(run=run).order_by("rank"))
    assert [(m.rank, m.resource_id) for m in stored] == [(i, m.resource_id) for i, m in enumerate(expected, 1)]
    assert {m.resource_id for m in stored} == {near.pk, dear.pk, late.pk}
    first = stored[0]
    assert first.resource_id == near.pk
    assert (first.order_id, first.provider_id) == (order.pk, near.provider_id)
    assert first.price_total == expected[0].price.total == Decimal("1740.00")  # 10 h × ¥150 + ¥240 setup
    assert first.price["total"] == "1740.00" and first.price["setup_fee"] == "240.00"
    assert first.price["work_amount"] == "1500.00" and first.price["billed_hours"] == "10"
    assert first.currency == "CNY"
    assert first.finish_at == at(1, 18)
    assert first.slots == [[iso(at(1, 8)), iso(at(1, 18))]]
    assert first.free_windows == [[iso(at(1, 8)), iso(at(1, 20))]]
    assert first.score == pytest.approx(expected[0].score)
    assert first.terms == expected[0].terms
    assert set(first.explanation) == {"zh-hans", "en"}
    assert first.explanation["en"][-1] == "CN¥1,740.00 = 10 h × CN¥150.00 + CN¥240.00 setup"
    assert first.explanation["zh-hans"][-1] != first.explanation["en"][-1]
    assert run.no_match is None and run.split_plan is None


def test_the_order_goes_from_open_to_matched_with_one_event(buyer_org, buyer_owner):
    mill()
    order = job_order(buyer_org)

    services.run_matching(order=order, by=buyer_owner, now=MONDAY)
    services.run_matching(order=order, by=buyer_owner, now=MONDAY + timedelta(minutes=5))

    order.refresh_from_db()
    assert order.status == "matched"
    events = list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor"))
    assert events == [("open", "matched", buyer_owner.pk)]
    assert MatchRun.objects.filter(order=order, status="done").count() == 2


def test_a_split_is_stored_when_no_single_machine_is_in_time(buyer_org):
    a = mill(rate=Decimal("180"), setup_fee=Decimal("240"), windows=((1, 8, 12),))
    b = mill(rate=Decimal("100"), setup_fee=Decimal("500"), windows=((2, 8, 13),))
    c = mill(rate=Decimal("150"), setup_fee=Decimal("100"), windows=((3, 8, 14),))
    order = job_order(buyer_org)

    run = services.run_matching(order=order, now=MONDAY)

    assert Match.objects.filter(run=run).count() == 0
    plan = run.split_plan
    assert [(p["resource_id"], p["quantity"], p["price"]["total"]) for p in plan["parts"]] == [
        (b.pk, 5, "1000.00"),
        (c.pk, 5, "850.00"),
    ]
    assert (plan["total"], plan["currency"], plan["method"]) == ("1850.00", "CNY", "milp")
    assert plan["finish"] == iso(at(3, 13))
    assert plan["parts"][0]["slots"] == [[iso(at(2, 8)), iso(at(2, 13))]]
    assert plan["explanation"]["en"][0].startswith(f"5 on {b.name}, finishes")
    assert len(plan["explanation"]["zh-hans"]) == 2
    assert run.split_providers == sorted([b.provider_id, c.provider_id])
    assert a.pk not in [p["resource_id"] for p in plan["parts"]]
    assert run.no_match["constraint"] == "time"
    assert Order.objects.get(pk=order.pk).status == "matched"


def test_the_no_match_explanation_is_stored_in_both_languages(buyer_org):
    mill(windows=((6, 8, 20),))  # free only after the due date
    mill(windows=((7, 8, 20),))
    order = job_order(buyer_org)

    run = services.run_matching(order=order, now=MONDAY)

    assert Match.objects.filter(run=run).count() == 0
    assert run.split_plan is None
    assert run.no_match["constraint"] == "time"
    assert run.no_match["steps"][0] == ["category", 2]
    assert run.no_match["earliest_finish"] == iso(at(6, 18))
    assert (
        run.no_match["message"]["en"] == "2 machines fit, none is free before December 12; earliest finish December 13"
    )
    assert run.no_match["message"]["zh-hans"] == "2 台设备满足要求，但 12月12日 前均无足够空闲时段；最早 12月13日 完工"
    assert Order.objects.get(pk=order.pk).status == "open"
    assert OrderEvent.objects.filter(order=order).count() == 0


def test_the_task_claims_a_run_once(buyer_org, buyer_owner):
    mill(windows=((40, 8, 20),))
    order = job_order(buyer_org, due_at=MONDAY + timedelta(days=400))
    run = services.queue_match_run(order=order, by=buyer_owner)

    assert run_match_run.delay(run.pk).get() is True
    run.refresh_from_db()
    finished = (run.status, run.progress, run.finished_at)
    assert run.status == "done" and run.progress == 100
    matches = Match.objects.filter(run=run).count()

    assert run_match_run.delay(run.pk).get() is False
    run.refresh_from_db()
    assert (run.status, run.progress, run.finished_at) == finished
    assert Match.objects.filter(run=run).count() == matches
    assert OrderEvent.objects.filter(order=order, to_status="matched").count() == (1 if matches else 0)


def test_a_run_of_a_closed_order_is_refused(buyer_org):
    order = job_order(buyer_org, status="cancelled")

    with pytest.raises(DomainError) as refused:
        services.queue_match_run(order=order, now=MONDAY)

    assert refused.value.code == "not_matchable"
    assert MatchRun.objects.count() == 0
