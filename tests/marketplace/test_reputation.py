"""Reputation is derived from trades: on-time, acceptance, quote response, cancellations."""

from datetime import timedelta

import pytest
from django.db import IntegrityError

from marketplace.errors import DomainError
from marketplace.matching.ranking import reputation_score
from marketplace.models import Review, Trade
from marketplace.selectors.reputation import buyer_reputation, provider_reputation, reputation_scores
from marketplace.services import quotes as quote_services
from marketplace.services import trades as services
from tests.marketplace.trade_world import NOW, at, book, mill_of, order_of

S = Trade.Status


def _deliver(trade, provider_owner, buyer_owner, *, delivered_at, accepted, rejected):
    for target in (S.IN_PRODUCTION, S.PRODUCED, S.DELIVERED):
        services.transition_trade(trade=trade, to=target, by=provider_owner, now=delivered_at)
    services.record_inspection(
        trade=trade, by=buyer_owner, accepted=accepted, rejected=rejected, reasons="Scratched", now=delivered_at
    )
    services.transition_trade(trade=trade, to=S.COMPLETED, by=buyer_owner, now=delivered_at)


@pytest.mark.django_db
def test_a_provider_without_history_is_neutral(provider_org):
    assert reputation_score(provider_org.pk) == 0.5
    figures = provider_reputation(provider_org.pk)
    assert (figures.trades, figures.on_time_rate, figures.acceptance_rate, figures.cancellation_rate) == (
        0,
        None,
        None,
        None,
    )


@pytest.mark.django_db
def test_figures_follow_the_trades(provider_org, provider_owner, buyer_org, buyer_owner):
    mill = mill_of(provider_org)
    on_time = book(order_of(buyer_org, quantity=10), buyer_owner, mill, at(8), at(10))
    late = book(order_of(buyer_org, quantity=10), buyer_owner, mill, at(10), at(12))
    cancelled = book(order_of(buyer_org, quantity=10), buyer_owner, mill, at(12), at(14))
    _deliver(on_time, provider_owner, buyer_owner, delivered_at=at(10) + timedelta(hours=24), accepted=10, rejected=0)
    _deliver(late, provider_owner, buyer_owner, delivered_at=at(12) + timedelta(hours=25), accepted=6, rejected=4)
    services.transition_trade(trade=cancelled, to=S.CANCELLED, by=provider_owner, now=NOW)

    figures = provider_reputation(provider_org.pk)
    assert (figures.trades, figures.delivered, figures.on_time_rate, figures.acceptance_rate) == (3, 2, 0.5, 0.8)
    assert figures.cancellation_rate == pytest.approx(1 / 3)
    # 0.4 × 0.5 + 0.4 × 0.8 + 0.2 × (1 − 1/3)
    assert reputation_scores([provider_org.pk])[provider_org.pk] == pytest.approx(0.2 + 0.32 + 0.2 * 2 / 3)
    assert reputation_score(provider_org.pk) == reputation_scores([provider_org.pk])[provider_org.pk]


@pytest.mark.django_db
def test_quote_response_time_is_the_median_and_award_rate_counts_rfqs(
    provider_org, provider_owner, buyer_org, buyer_owner
):
    mill = mill_of(provider_org)
    hours = [2, 10, 4]
    for n, delay in enumerate(hours):
        order = order_of(buyer_org)
        rfq = quote_services.create_rfq(order=order, by=buyer_owner, providers=[provider_org], now=NOW)
        quote_services.submit_quote(
            invitation=rfq.invitations.get(),
            by=provider_owner,
            resource=mill,
            lines=[{"code": "work", "label": "Work", "amount": "100.00"}],
            lead_time_days=3,
            slot_start=at(8 + 3 * n),
            slot_end=at(10 + 3 * n),
            valid_until=NOW + timedelta(days=2),
            now=NOW + timedelta(hours=delay),
        )
        if n == 0:
            quote_services.award_quote(quote=rfq.quotes.get(), by=buyer_owner, now=NOW + timedelta(hours=12))
    assert provider_reputation(provider_org.pk).quote_response_hours == 4.0
    figures = buyer_reputation(buyer_org.pk)
    assert (figures.rfqs, figures.award_rate, figures.payment_timeliness) == (3, pytest.approx(1 / 3), None)


@pytest.mark.django_db
def test_one_review_per_party_after_completion(provider_org, provider_owner, buyer_org, buyer_owner):
    trade = book(order_of(buyer_org, quantity=5), buyer_owner, mill_of(provider_org))
    with pytest.raises(DomainError):
        services.leave_review(trade=trade, by=buyer_owner, organisation=buyer_org, rating=5)
    _deliver(trade, provider_owner, buyer_owner, delivered_at=at(13), accepted=5, rejected=0)
    trade.refresh_from_db()
    services.leave_review(trade=trade, by=buyer_owner, organisation=buyer_org, rating=4, text="Good parts")
    services.leave_review(trade=trade, by=provider_owner, organisation=provider_org, rating=5)
    with pytest.raises(DomainError) as refused:
        services.leave_review(trade=trade, by=buyer_owner, organisation=buyer_org, rating=1)
    assert refused.value.code == "already_reviewed"
    assert sorted(Review.objects.values_list("author_id", "subject_id", "rating")) == sorted(
        [(buyer_org.pk, provider_org.pk, 4), (provider_org.pk, buyer_org.pk, 5)]
    )
    figures = provider_reputation(provider_org.pk)
    assert (figures.review_count, figures.review_average) == (1, 4.0)
    with pytest.raises(IntegrityError):
        Review.objects.create(trade=trade, author=buyer_org, subject=provider_org, rating=3)
