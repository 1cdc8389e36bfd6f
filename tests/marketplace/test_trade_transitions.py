"""The trade state machine: one map, a role per move, one event per change, nothing written
on a refusal."""

from datetime import timedelta
from decimal import Decimal

import pytest

from capacity.models import Booking
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import TRADE_TRANSITIONS, TRANSITION_ROLES, Notification, Order, Trade, TradeEvent
from marketplace.models.trades import BUYER, OPERATOR, PROVIDER
from marketplace.services import trades as services
from tests.marketplace.trade_world import NOW, at, book, mill_of, order_of

S = Trade.Status


@pytest.fixture
def trade(provider_org, buyer_org, buyer_owner, provider_owner):
    return book(order_of(buyer_org), buyer_owner, mill_of(provider_org))


@pytest.fixture
def actors(buyer_owner, provider_owner, operator):
    return {BUYER: buyer_owner, PROVIDER: provider_owner, OPERATOR: operator}


def _state(trade):
    return (
        Trade.objects.filter(pk=trade.pk).values().get(),
        list(TradeEvent.objects.order_by("pk").values_list("pk", flat=True)),
        list(Booking.objects.order_by("pk").values_list("pk", "status")),
        Notification.objects.count(),
    )


def _prepare(trade, status):
    fields = {"status": status}
    if status in (S.INSPECTED, S.COMPLETED, S.DELIVERED):
        fields.update(accepted_quantity=trade.quantity, rejected_quantity=0)
    Trade.objects.filter(pk=trade.pk).update(**fields)
    trade.refresh_from_db()


@pytest.mark.django_db
def test_every_disallowed_transition_raises_and_writes_nothing(trade, actors):
    for current in S.values:
        for target in S.values:
            if target in TRADE_TRANSITIONS[current]:
                continue
            _prepare(trade, current)
            before = _state(trade)
            for user in actors.values():
                with pytest.raises(DomainError) as refused:
                    services.transition_trade(trade=trade, to=target, by=user, note="x", now=NOW)
                assert refused.value.code == "transition"
            assert _state(trade) == before, (current, target)


@pytest.mark.django_db
def test_every_allowed_transition_writes_exactly_one_event_and_only_its_roles_may_make_it(trade, actors):
    for (current, target), roles in TRANSITION_ROLES.items():
        for role, user in actors.items():
            _prepare(trade, current)
            before = _state(trade)
            if role not in roles:
                with pytest.raises(PermissionDeniedError):
                    services.transition_trade(trade=trade, to=target, by=user, note="because", now=NOW)
                assert _state(trade) == before, (current, target, role)
                continue
            events = TradeEvent.objects.count()
            services.transition_trade(trade=trade, to=target, by=user, note="because", now=NOW)
            trade.refresh_from_db()
            assert trade.status == target
            assert TradeEvent.objects.count() == events + 1
            event = TradeEvent.objects.latest("pk")
            assert (event.actor, event.from_status, event.to_status, event.note, event.at) == (
                user,
                current,
                target,
                "because",
                NOW,
            )


@pytest.mark.django_db
def test_the_happy_path_notifies_the_other_side_and_closes_the_order(trade, buyer_owner, provider_owner):
    run = [
        (S.IN_PRODUCTION, provider_owner),
        (S.PRODUCED, provider_owner),
        (S.DELIVERED, provider_owner),
    ]
    for target, user in run:
        services.transition_trade(trade=trade, to=target, by=user, now=at(13))
    trade.refresh_from_db()
    assert trade.delivered_at == at(13)
    services.record_inspection(trade=trade, by=buyer_owner, accepted=18, rejected=2, reasons="Burrs", now=at(14))
    services.transition_trade(trade=trade, to=S.COMPLETED, by=buyer_owner, now=at(15))
    trade.refresh_from_db()
    assert (trade.status, trade.accepted_quantity, trade.rejected_quantity) == ("completed", 18, 2)
    assert list(trade.events.values_list("to_status", flat=True)) == [
        "confirmed",
        "in_production",
        "produced",
        "delivered",
        "inspected",
        "completed",
    ]
    assert Booking.objects.get().status == "completed"
    assert trade.order.__class__.objects.get(pk=trade.order_id).status == Order.Status.CLOSED
    assert buyer_owner.notifications.filter(kind__startswith="trade_").count() == 3
    assert provider_owner.notifications.filter(kind__in=["trade_inspected", "trade_completed"]).count() == 2


@pytest.mark.django_db
def test_inspection_counts_must_add_up_and_rejections_need_reasons(trade, buyer_owner):
    _prepare(trade, S.DELIVERED)
    Trade.objects.filter(pk=trade.pk).update(accepted_quantity=None, rejected_quantity=None)
    before = _state(trade)
    for accepted, rejected, reasons in ((10, 5, "x"), (18, 2, "")):
        with pytest.raises(DomainError):
            services.record_inspection(
                trade=trade, by=buyer_owner, accepted=accepted, rejected=rejected, reasons=reasons
            )
    with pytest.raises(DomainError) as refused:
        services.transition_trade(trade=trade, to=S.INSPECTED, by=buyer_owner)
    assert refused.value.code == "not_inspected"
    assert _state(trade) == before


@pytest.mark.django_db
def test_a_late_buyer_cancellation_records_the_fee_and_frees_the_slot(trade, buyer_owner):
    late = trade.free_cancellation_until + timedelta(minutes=1)
    services.transition_trade(trade=trade, to=S.CANCELLED, by=buyer_owner, note="Plans changed", now=late)
    trade.refresh_from_db()
    # 20 % of the 600.00 estimate.
    assert (trade.cancellation_fee, trade.cancelled_by_id) == (Decimal("120.00"), trade.buyer_id)
    assert Booking.objects.get().status == "released"
    assert Order.objects.get(pk=trade.order_id).status == Order.Status.CANCELLED


@pytest.mark.django_db
def test_an_early_or_provider_cancellation_is_free(trade, provider_owner):
    services.transition_trade(trade=trade, to=S.CANCELLED, by=provider_owner, now=at(12) + timedelta(hours=1))
    trade.refresh_from_db()
    assert (trade.cancellation_fee, trade.cancelled_by_id) == (Decimal("0.00"), trade.provider_id)


@pytest.mark.django_db
def test_disputes_need_a_note(trade, buyer_owner):
    _prepare(trade, S.DELIVERED)
    before = _state(trade)
    with pytest.raises(DomainError) as refused:
        services.transition_trade(trade=trade, to=S.DISPUTED, by=buyer_owner, note="  ")
    assert refused.value.code == "note_required"
    assert _state(trade) == before


@pytest.mark.django_db
def test_outsiders_cannot_move_a_trade(trade, outsider):
    before = _state(trade)
    with pytest.raises(PermissionDeniedError):
        services.transition_trade(trade=trade, to=S.CANCELLED, by=outsider)
    assert _state(trade) == before
