"""Ranking of the resources that can do a job.

Rule (tested in tests/marketplace/test_ranking.py). Each match gets five terms in ``[0, 1]``,
higher is better:

- ``price``: the estimated total, min–max normalised over the matches: the cheapest gets 1, the
  dearest 0 (all equal: 1 each);
- ``finish``: the finish moment, min–max normalised the same way (earliest 1, latest 0);
- ``distance``: haversine km from the delivery point to the provider, min–max normalised (nearest
  1, farthest 0); a provider without coordinates gets 0; without a delivery point every match gets 1;
- ``reputation``: :func:`reputation_score` of the provider (derived from trades; neutral 0.5 without history);
- ``idle``: ``1 − booked share`` of the next four weeks (booked time / (capacity × idle time)),
  so idle machines are preferred.

``score = Σ weightᵢ × termᵢ / Σ weightᵢ`` with the operator's :class:`MatchingWeights` (all-zero
weights count equally). Matches are ordered by score (highest first), then price, finish time
and resource id, so the order is total and stable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from marketplace.matching.candidates import Candidate
from marketplace.matching.pricing import PriceBreakdown

TERMS = ("price", "finish", "distance", "reputation", "idle")
EARTH_RADIUS_KM = 6371.0088
NEUTRAL_REPUTATION = 0.5


def reputation_score(provider_id: int) -> float:
    """A provider's reputation in ``[0, 1]``, derived from its trades (on-time delivery,
    accepted parts, cancellations; marketplace.selectors.reputation). Neutral 0.5 without
    history."""
    from marketplace.selectors.reputation import reputation_scores

    return reputation_scores([provider_id])[provider_id]


def reputation_scores(provider_ids, using: str = "default") -> dict[int, float]:
    """:func:`reputation_score` of many providers at once (two queries)."""
    from marketplace.selectors.reputation import reputation_scores as derived

    return derived(provider_ids, using)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a if a < 1.0 else 1.0))


@dataclass
class Match:
    """One resource that can do the job, priced, timed, scored and explained."""

    candidate: Candidate
    price: PriceBreakdown
    finish: datetime
    slots: list[tuple[datetime, datetime]]
    distance_km: float | None
    reputation: float
    terms: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    explanation: list[str] = field(default_factory=list)

    @property
    def resource_id(self) -> int:
        return self.candidate.resource_id

    @property
    def provider_id(self) -> int:
        return self.candidate.provider_id

    @property
    def free_hours(self) -> Decimal:
        return Decimal(self.candidate.free_seconds) / 3600

    @property
    def booked_share(self) -> float:
        return self.candidate.booked_share

    @property
    def summary(self) -> str:
        return "; ".join(self.explanation)


def lower_is_better(values: list[float | None]) -> list[float]:
    """Min–max normalise so the lowest value scores 1 and the highest 0; ``None`` scores 0."""
    known = [v for v in values if v is not None]
    if not known:
        return [0.0 for _ in values]
    low, high = min(known), max(known)
    if high == low:
        return [0.0 if v is None else 1.0 for v in values]
    return [0.0 if v is None else (high - v) / (high - low) for v in values]


def weighted_score(terms: dict[str, float], weights: dict[str, float]) -> float:
    total = sum(weights.get(t, 0.0) for t in TERMS)
    if total <= 0:
        weights, total = dict.fromkeys(TERMS, 1.0), float(len(TERMS))
    return sum(weights.get(t, 0.0) * terms[t] for t in TERMS) / total


def rank(matches: list[Match], weights: dict[str, float], *, has_delivery_point: bool) -> list[Match]:
    """Fill in ``terms`` and ``score`` of every match and return them best first."""
    prices = lower_is_better([float(m.price.total) for m in matches])
    finishes = lower_is_better([m.finish.timestamp() for m in matches])
    distances = lower_is_better([m.distance_km for m in matches]) if has_delivery_point else [1.0] * len(matches)
    for i, match in enumerate(matches):
        match.terms = {
            "price": prices[i],
            "finish": finishes[i],
            "distance": distances[i],
            "reputation": match.reputation,
            "idle": 1.0 - match.booked_share,
        }
        match.score = weighted_score(match.terms, weights)
    return sorted(matches, key=lambda m: (-round(m.score, 12), m.price.total, m.finish, m.resource_id))
