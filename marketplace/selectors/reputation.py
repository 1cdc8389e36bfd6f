"""Reputation, derived from trades — never typed in.

Provider figures (``None`` when there is nothing to measure yet):
- on-time rate: delivered trades whose ``delivered_at`` ≤ the last booked slot's end +
  SPINDLE_ON_TIME_TOLERANCE_HOURS, over delivered trades;
- acceptance rate: accepted parts / (accepted + rejected) parts over inspected trades;
- quote response time: median hours from RFQ invitation to the provider's quote;
- cancellation rate: trades the provider cancelled / all its trades;
- no-shows: bookings recorded as no-shows;
- reviews: count and mean rating given by buyers.
Buyer figures: award rate (RFQs awarded / RFQs sent) and payment timeliness (payments are
not built yet: ``None``).

``reputation_score`` folds them into ``[0, 1]`` for ranking:
``0.4 × on-time + 0.4 × acceptance + 0.2 × (1 − cancellation)``, each missing figure
replaced by the neutral 0.5; a provider with no trade history is exactly 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from django.conf import settings
from django.db.models import Avg, Count, ExpressionWrapper, F, Max, Q
from django.db.models import DurationField as DurationFieldType
from django.db.models.functions import Upper

from marketplace.models import RFQ, Quote, Review, Trade, TradeBooking

NEUTRAL = 0.5
WEIGHTS = {"on_time": 0.4, "acceptance": 0.4, "reliability": 0.2}


@dataclass(frozen=True)
class ProviderReputation:
    trades: int
    delivered: int
    on_time_rate: float | None
    acceptance_rate: float | None
    quote_response_hours: float | None
    cancellation_rate: float | None
    no_shows: int
    review_count: int
    review_average: float | None

    @property
    def has_history(self) -> bool:
        return self.trades > 0


@dataclass(frozen=True)
class BuyerReputation:
    rfqs: int
    award_rate: float | None
    payment_timeliness: float | None  # arrives with payments


def _tolerance() -> timedelta:
    return timedelta(hours=settings.SPINDLE_ON_TIME_TOLERANCE_HOURS)


def _trade_figures(provider_ids: list[int], using: str = "default") -> dict[int, dict]:
    """Per provider: trades, delivered, on time, accepted/rejected parts, cancelled by it."""
    ends = {
        row["trade"]: row["end"]
        for row in TradeBooking.objects.using(using)
        .filter(trade__provider_id__in=provider_ids)
        .values("trade")
        .annotate(end=Max(Upper("booking__span")))
    }
    figures = {pid: {"trades": 0, "delivered": 0, "on_time": 0, "accepted": 0, "rejected": 0, "cancelled": 0}
               for pid in provider_ids}  # fmt: skip
    rows = (
        Trade.objects.using(using)
        .filter(provider_id__in=provider_ids)
        .values(
            "pk", "provider_id", "delivered_at", "accepted_quantity", "rejected_quantity", "status", "cancelled_by_id"
        )
    )
    tolerance = _tolerance()
    for row in rows:
        f = figures[row["provider_id"]]
        f["trades"] += 1
        if row["delivered_at"] is not None:
            f["delivered"] += 1
            end = ends.get(row["pk"])
            if end is not None and row["delivered_at"] <= end + tolerance:
                f["on_time"] += 1
        if row["accepted_quantity"] is not None:
            f["accepted"] += row["accepted_quantity"]
            f["rejected"] += row["rejected_quantity"] or 0
        if row["status"] == Trade.Status.CANCELLED and row["cancelled_by_id"] == row["provider_id"]:
            f["cancelled"] += 1
    return figures


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def provider_reputation(provider_id: int) -> ProviderReputation:
    f = _trade_figures([provider_id])[provider_id]
    delays = (
        Quote.objects.filter(provider_id=provider_id)
        .annotate(delay=ExpressionWrapper(F("created_at") - F("invitation__invited_at"), DurationFieldType()))
        .values_list("delay", flat=True)
    )
    hours = [d.total_seconds() / 3600 for d in delays]
    no_shows = TradeBooking.objects.filter(trade__provider_id=provider_id, no_show_at__isnull=False).count()
    reviews = Review.objects.filter(subject_id=provider_id, trade__provider_id=provider_id).aggregate(
        n=Count("pk"), avg=Avg("rating")
    )
    return ProviderReputation(
        trades=f["trades"],
        delivered=f["delivered"],
        on_time_rate=_ratio(f["on_time"], f["delivered"]),
        acceptance_rate=_ratio(f["accepted"], f["accepted"] + f["rejected"]),
        quote_response_hours=round(median(hours), 1) if hours else None,
        cancellation_rate=_ratio(f["cancelled"], f["trades"]),
        no_shows=no_shows,
        review_count=reviews["n"],
        review_average=round(float(reviews["avg"]), 1) if reviews["avg"] is not None else None,
    )


def buyer_reputation(buyer_id: int) -> BuyerReputation:
    counts = RFQ.objects.filter(order__buyer_id=buyer_id).aggregate(
        total=Count("pk"), awarded=Count("pk", filter=Q(status=RFQ.Status.AWARDED))
    )
    return BuyerReputation(
        rfqs=counts["total"], award_rate=_ratio(counts["awarded"], counts["total"]), payment_timeliness=None
    )


def _score(f: dict) -> float:
    if not f["trades"]:
        return NEUTRAL
    on_time = _ratio(f["on_time"], f["delivered"])
    acceptance = _ratio(f["accepted"], f["accepted"] + f["rejected"])
    cancellation = _ratio(f["cancelled"], f["trades"])
    terms = {
        "on_time": NEUTRAL if on_time is None else on_time,
        "acceptance": NEUTRAL if acceptance is None else acceptance,
        "reliability": NEUTRAL if cancellation is None else 1 - cancellation,
    }
    return sum(WEIGHTS[k] * v for k, v in terms.items())


def reputation_scores(provider_ids, using: str = "default") -> dict[int, float]:
    """Scores of many providers in two queries (matching ranks hundreds at once)."""
    ids = sorted(set(provider_ids))
    if not ids:
        return {}
    figures = _trade_figures(ids, using)
    return {pid: _score(figures[pid]) for pid in ids}


def public_reviews(provider_id: int, *, limit: int = 5):
    return Review.objects.filter(subject_id=provider_id, trade__provider_id=provider_id).select_related("author")[
        :limit
    ]


__all__ = [
    "BuyerReputation",
    "ProviderReputation",
    "buyer_reputation",
    "provider_reputation",
    "public_reviews",
    "reputation_scores",
]
