"""Booking from the matches page: hold a match (or the whole split plan), confirm into trades or
release; a taken slot shows the next options; an expired hold is refused; RFQ from matches."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse
from django.utils import timezone

from capacity.models import Booking
from marketplace.matching.pricing import RateCard, estimate
from marketplace.models import RFQ, Match, MatchRun, Order, Trade, TradeBooking
from marketplace.services.matching import price_json
from tests.factories import OrganisationFactory
from tests.marketplace.trade_world import idle, mill_of, order_of

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def soon(hours: float):
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    return base + timedelta(hours=hours)


def _price(resource, quantity: int, minutes: int) -> dict:
    card = RateCard(
        billing_unit=resource.billing_unit,
        rate=resource.rate,
        setup_fee=resource.setup_fee,
        minimum_charge=resource.minimum_charge,
        currency=resource.currency,
        billing_increment_minutes=resource.billing_increment_minutes,
    )
    return price_json(estimate(card, quantity=quantity, machine_minutes=Decimal(minutes)))


def _pairs(slots):
    return [[a.isoformat(), b.isoformat()] for a, b in slots]


def matched(order, *parts, split=None):
    """A done run of ``order`` with one Match per ``(resource, slots)`` (slots fill the machine
    minutes exactly), and optionally a split plan of ``(resource, slots, quantity)`` parts."""
    now = timezone.now()
    run = MatchRun.objects.create(
        order=order, status=MatchRun.Status.DONE, progress=100, finished_at=now, as_of=now, due_at=soon(72)
    )
    for rank, (resource, slots) in enumerate(parts, start=1):
        minutes = sum(int((b - a).total_seconds() // 60) for a, b in slots)
        price = _price(resource, order.quantity, minutes)
        Match.objects.create(
            run=run, order=order, resource=resource, provider=resource.provider, rank=rank, score=0.9 - rank / 10,
            price_total=Decimal(price["total"]), currency=resource.currency, price=price, finish_at=slots[-1][1],
            slots=_pairs(slots), free_windows=_pairs(slots),
        )  # fmt: skip
    if split:
        plan_parts = []
        for resource, slots, quantity in split:
            minutes = sum(int((b - a).total_seconds() // 60) for a, b in slots)
            plan_parts.append(
                {
                    "resource_id": resource.pk,
                    "resource_name": resource.name,
                    "provider_id": resource.provider_id,
                    "quantity": quantity,
                    "price": _price(resource, quantity, minutes),
                    "slots": _pairs(slots),
                    "finish": slots[-1][1].isoformat(),
                }
            )
        total = sum(Decimal(p["price"]["total"]) for p in plan_parts)
        run.split_plan = {
            "parts": plan_parts,
            "total": str(total),
            "currency": "CNY",
            "method": "greedy",
            "finish": max(p["finish"] for p in plan_parts),
            "explanation": {"en": [], "zh-hans": []},
        }
        run.split_providers = sorted({r.provider_id for r, _s, _q in split})
        run.save()
    return run


@pytest.fixture
def mill(provider_org):
    resource = mill_of(provider_org)
    idle(resource, soon(0), soon(12))
    return resource


@pytest.fixture
def rival_mill(db):
    resource = mill_of(OrganisationFactory(name="Ningbo Rival", kind="provider"))
    idle(resource, soon(0), soon(12))
    return resource


@pytest.fixture
def order(buyer_org):
    return order_of(buyer_org, status="matched")


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _state():
    return (
        list(Booking.objects.order_by("pk").values_list("pk", "status")),
        list(TradeBooking.objects.order_by("pk").values_list("pk", "trade")),
        Trade.objects.count(),
        list(Order.objects.order_by("pk").values_list("pk", "status")),
        RFQ.objects.count(),
    )


def test_booking_a_match_holds_its_slot_and_confirming_makes_the_trade(client_for, buyer_owner, order, mill):
    run = matched(order, (mill, [(soon(2), soon(4))]))
    match = run.matches.get()
    client = client_for(buyer_owner)

    page = client.get(reverse("order_matches", args=[order.pk]), **EN).content.decode()
    assert reverse("order_match_book", args=[order.pk, match.pk]) in page and "Book this slot" in page

    response = client.post(reverse("order_match_book", args=[order.pk, match.pk]))
    assert response.status_code == 302 and response.url == reverse("order_hold", args=[order.pk])
    link = TradeBooking.objects.select_related("booking").get()
    assert (link.booking.status, link.trade_id, link.quantity, link.resource_id) == ("held", None, 20, mill.pk)
    assert (link.booking.span.lower, link.booking.span.upper) == (soon(2), soon(4))

    hold = client.get(reverse("order_hold", args=[order.pk]), **EN)
    body = hold.content.decode()
    assert [row.price.total for row in hold.context["rows"]] == [Decimal("600.00")]  # 2 h × 180 + 240 setup
    assert hold.context["minutes_left"] in (9, 10)
    assert "(server time)" in body and "Free cancellation until" in body and "Confirm booking" in body
    assert hold.context["policy"]["free_until"] == soon(2) - timedelta(hours=48)

    response = client.post(reverse("order_hold_confirm", args=[order.pk]), {"booking": [link.booking_id]})
    trade = Trade.objects.get()
    assert response.status_code == 302 and response.url == reverse("trade_detail", args=[trade.pk])
    assert (trade.buyer_id, trade.provider_id, trade.quantity, trade.price_estimate) == (
        order.buyer_id,
        mill.provider_id,
        20,
        Decimal("600.00"),
    )
    assert Booking.objects.get().status == "confirmed"
    assert Order.objects.get(pk=order.pk).status == "awarded"


def test_release_gives_the_held_slots_back(client_for, buyer_owner, order, mill):
    match = matched(order, (mill, [(soon(2), soon(4))])).matches.get()
    client = client_for(buyer_owner)
    client.post(reverse("order_match_book", args=[order.pk, match.pk]))
    booking = Booking.objects.get()

    response = client.post(reverse("order_hold_release", args=[order.pk]), {"booking": [booking.pk]})

    assert response.status_code == 302 and response.url == reverse("order_matches", args=[order.pk])
    assert Booking.objects.get().status == "released"
    assert Trade.objects.count() == 0
    assert client.get(reverse("order_hold", args=[order.pk])).context["rows"] == []


def test_booking_again_gives_back_the_earlier_hold_of_the_order(client_for, buyer_owner, order, mill, rival_mill):
    run = matched(order, (mill, [(soon(2), soon(4))]), (rival_mill, [(soon(3), soon(5))]))
    first, second = run.matches.order_by("rank")
    client = client_for(buyer_owner)
    client.post(reverse("order_match_book", args=[order.pk, first.pk]))
    client.post(reverse("order_match_book", args=[order.pk, second.pk]))
    assert list(Booking.objects.order_by("pk").values_list("resource_id", "status")) == [
        (mill.pk, "released"),
        (rival_mill.pk, "held"),
    ]


def test_a_match_over_two_slots_shares_the_quantity_by_length(client_for, buyer_owner, order, provider_org):
    resource = mill_of(provider_org)
    idle(resource, soon(0), soon(3))
    idle(resource, soon(6), soon(8))
    match = matched(order, (resource, [(soon(1), soon(3)), (soon(6), soon(7))])).matches.get()

    client_for(buyer_owner).post(reverse("order_match_book", args=[order.pk, match.pk]))

    links = TradeBooking.objects.order_by("booking__span")
    assert [(link.quantity, link.price["machine_minutes"]) for link in links] == [(13, "120.00"), (7, "60.00")]


def test_a_taken_slot_shows_the_next_options_and_writes_nothing(client_for, buyer_owner, order, mill):
    match = matched(order, (mill, [(soon(2), soon(4))])).matches.get()
    Booking.objects.create(resource=mill, span=DateTimeTZRange(soon(3), soon(5)), status="confirmed")
    before = _state()

    response = client_for(buyer_owner).post(reverse("order_match_book", args=[order.pk, match.pk]), **EN)

    assert response.status_code == 409
    body = response.content.decode()
    assert f"That slot on {mill.name} was just taken — here are the next free options." in body
    assert response.context["slot_taken"]["alternatives"] == [
        (soon(0), soon(2)),
        (soon(5), soon(7)),
        (soon(7), soon(9)),
    ]
    assert "Run matching again to get a plan with these free times" in body
    assert _state() == before


def test_an_expired_hold_is_refused_and_writes_nothing(client_for, buyer_owner, order, mill):
    match = matched(order, (mill, [(soon(2), soon(4))])).matches.get()
    client = client_for(buyer_owner)
    client.post(reverse("order_match_book", args=[order.pk, match.pk]))
    booking = Booking.objects.get()
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    before = _state()

    response = client.post(reverse("order_hold_confirm", args=[order.pk]), {"booking": [booking.pk]}, follow=True, **EN)

    assert _messages(response) == ["The hold on this slot has expired; please book again."]
    assert "No slots are held for this order" in response.content.decode()
    assert _state() == before


def test_booking_the_whole_split_plan_makes_one_trade_per_provider(client_for, buyer_owner, order, mill, rival_mill):
    matched(order, split=[(mill, [(soon(1), soon(3))], 12), (rival_mill, [(soon(2), soon(4))], 8)])
    client = client_for(buyer_owner)
    assert "Book the whole plan" in client.get(reverse("order_matches", args=[order.pk]), **EN).content.decode()

    response = client.post(reverse("order_split_book", args=[order.pk]))
    assert response.url == reverse("order_hold", args=[order.pk])
    held = list(TradeBooking.objects.order_by("resource_id").values_list("resource_id", "quantity", "booking__status"))
    assert held == [(mill.pk, 12, "held"), (rival_mill.pk, 8, "held")]
    assert client.get(reverse("order_hold", args=[order.pk])).context["providers"] == 2

    ids = list(Booking.objects.values_list("pk", flat=True))
    client.post(reverse("order_hold_confirm", args=[order.pk]), {"booking": ids})

    trades = list(Trade.objects.order_by("provider_id").values_list("provider_id", "quantity"))
    assert trades == sorted([(mill.provider_id, 12), (rival_mill.provider_id, 8)])
    assert set(Booking.objects.values_list("status", flat=True)) == {"confirmed"}


def test_a_split_plan_with_one_taken_slice_holds_nothing(client_for, buyer_owner, order, mill, rival_mill):
    matched(order, split=[(mill, [(soon(1), soon(3))], 12), (rival_mill, [(soon(2), soon(4))], 8)])
    Booking.objects.create(resource=rival_mill, span=DateTimeTZRange(soon(2), soon(3)), status="confirmed")
    before = _state()
    response = client_for(buyer_owner).post(reverse("order_split_book", args=[order.pk]))
    assert response.status_code == 409
    assert _state() == before


def test_only_the_buyer_of_an_open_order_books(client_for, buyer_owner, provider_owner, outsider, order, mill):
    match = matched(order, (mill, [(soon(2), soon(4))])).matches.get()
    before = _state()
    for user in (outsider, provider_owner):
        assert client_for(user).post(reverse("order_match_book", args=[order.pk, match.pk])).status_code == 404
        assert client_for(user).get(reverse("order_hold", args=[order.pk])).status_code == 404
    Order.objects.filter(pk=order.pk).update(status="cancelled")
    before = _state()
    response = client_for(buyer_owner).post(reverse("order_match_book", args=[order.pk, match.pk]), follow=True, **EN)
    assert _messages(response) == ["A Cancelled order cannot be booked or awarded."]
    assert _state() == before


def test_quotes_are_requested_from_the_providers_of_chosen_matches(client_for, buyer_owner, order, mill, rival_mill):
    run = matched(order, (mill, [(soon(2), soon(4))]), (rival_mill, [(soon(3), soon(5))]))
    ids = list(run.matches.order_by("rank").values_list("pk", flat=True))
    client = client_for(buyer_owner)
    assert 'form="rfq-form"' in client.get(reverse("order_matches", args=[order.pk])).content.decode()

    response = client.post(reverse("order_match_rfq", args=[order.pk]), {"match": ids})

    assert response.status_code == 302 and response.url == reverse("order_quotes", args=[order.pk])
    rfq = RFQ.objects.get()
    assert sorted(rfq.invitations.values_list("provider_id", flat=True)) == sorted(
        [mill.provider_id, rival_mill.provider_id]
    )


def test_requesting_quotes_from_none_or_too_many_is_refused(client_for, buyer_owner, order, mill, rival_mill, settings):
    run = matched(order, (mill, [(soon(2), soon(4))]), (rival_mill, [(soon(3), soon(5))]))
    ids = list(run.matches.values_list("pk", flat=True))
    client = client_for(buyer_owner)
    before = _state()

    none = client.post(reverse("order_match_rfq", args=[order.pk]), {}, follow=True, **EN)
    assert _messages(none) == ["Choose at least one provider."]
    settings.SPINDLE_RFQ_MAX = 1
    too_many = client.post(reverse("order_match_rfq", args=[order.pk]), {"match": ids}, follow=True, **EN)
    assert _messages(too_many) == ["An RFQ goes to at most 1 providers."]
    stale = client.post(reverse("order_match_rfq", args=[order.pk]), {"match": [999999]}, follow=True, **EN)
    assert _messages(stale) == [
        "Some of the chosen matches are no longer current. Choose again from the latest matches."
    ]
    assert _state() == before
