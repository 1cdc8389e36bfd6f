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
from collections.abc import Callable
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


Bounds = tuple[float, float] | None  # (lowest, highest) known value of a term; None: no known value


def bounds(values: list[float | None]) -> Bounds:
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else None


def lower_is_better(values: list[float | None], span: Bounds | bool = False) -> list[float]:
    """Min–max normalise so the lowest value scores 1 and the highest 0; ``None`` scores 0.

    ``span``: the (lowest, highest) to normalise by when ``values`` are only part of the set
    (see :func:`prune`); by default the values' own."""
    if span is False:
        span = bounds(values)
    if span is None:
        return [0.0 for _ in values]
    low, high = span
    if high == low:
        return [0.0 if v is None else 1.0 for v in values]
    return [0.0 if v is None else (high - v) / (high - low) for v in values]


def weighted_score(terms: dict[str, float], weights: dict[str, float]) -> float:
    total = sum(weights.get(t, 0.0) for t in TERMS)
    if total <= 0:
        weights, total = dict.fromkeys(TERMS, 1.0), float(len(TERMS))
    return sum(weights.get(t, 0.0) * terms[t] for t in TERMS) / total


@dataclass(frozen=True)
class Spans:
    """The (lowest, highest) price, finish and distance over *every* match of a request."""

    price: Bounds
    finish: Bounds
    distance: Bounds


def rank(
    matches: list[Match], weights: dict[str, float], *, has_delivery_point: bool, spans: Spans | None = None
) -> list[Match]:
    """Fill in ``terms`` and ``score`` of every match and return them best first.

    ``spans``: normalise over these bounds instead of the matches' own, when ``matches`` are the
    survivors of :func:`prune` and the bounds were taken over all of them."""
    price_span = spans.price if spans else False
    finish_span = spans.finish if spans else False
    distance_span = spans.distance if spans else False
    prices = lower_is_better([float(m.price.total) for m in matches], price_span)
    finishes = lower_is_better([m.finish.timestamp() for m in matches], finish_span)
    distances = (
        lower_is_better([m.distance_km for m in matches], distance_span) if has_delivery_point else [1.0] * len(matches)
    )
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


# Scores are sums of a few floats: a bound nearer than this to the threshold is kept, never pruned.
PRUNE_MARGIN = 1e-9


def prune(
    summaries: list,
    weights: dict[str, float],
    *,
    limit: int,
    delivery: tuple[float, float] | None,
    reputations: Callable[[list[int]], dict[int, float]],
    shares: Callable[[list[int]], dict[int, float]],
) -> tuple[list[int], Spans]:
    """The resources that make the best ``limit`` of ``summaries`` (every match of a request:
    :class:`marketplace.matching.candidates.Summary`), and the spans to normalise by.

    Price, finish and distance are known for every match, so their terms are exact. Reputation and
    idle share are not fetched yet; each lies in ``[0, 1]``, so a match's score lies between its
    score with both at 0 (lower bound) and at 1 (upper bound). A match whose upper bound is below
    the ``limit``-th best lower bound cannot be in the top ``limit`` and is dropped. The others get
    their reputation (``reputations``: provider id → score) and booked share (``shares``: resource
    id → share), hence their exact score, and the best ``limit`` by :func:`rank`'s order are kept.
    Ranking those with the returned spans gives the same top ``limit``, in the same order and with
    the same scores, as ranking all of them (tests/marketplace/test_matching_prune.py)."""
    prices = [float(s.total) for s in summaries]
    finishes = [s.finish.timestamp() for s in summaries]
    distances: list[float | None] = []
    if delivery is not None:
        for s in summaries:
            known = s.latitude is not None and s.longitude is not None
            distances.append(
                haversine_km(delivery[0], delivery[1], float(s.latitude), float(s.longitude)) if known else None
            )
    spans = Spans(bounds(prices), bounds(finishes), bounds(distances) if delivery is not None else None)
    if len(summaries) <= limit:
        return [s.resource_id for s in summaries], spans
    price_terms = lower_is_better(prices, spans.price)
    finish_terms = lower_is_better(finishes, spans.finish)
    distance_terms = lower_is_better(distances, spans.distance) if delivery is not None else [1.0] * len(summaries)
    terms = [
        {"price": price_terms[i], "finish": finish_terms[i], "distance": distance_terms[i]}
        for i in range(len(summaries))
    ]
    lows = [weighted_score({**t, "reputation": 0.0, "idle": 0.0}, weights) for t in terms]
    threshold = sorted(lows, reverse=True)[limit - 1] - PRUNE_MARGIN
    kept = [
        i for i, t in enumerate(terms) if weighted_score({**t, "reputation": 1.0, "idle": 1.0}, weights) >= threshold
    ]
    reputation = reputations([summaries[i].provider_id for i in kept])
    share = shares([summaries[i].resource_id for i in kept])
    scored = []
    for i in kept:
        s = summaries[i]
        exact = {**terms[i], "reputation": reputation[s.provider_id], "idle": 1.0 - share[s.resource_id]}
        scored.append(((-round(weighted_score(exact, weights), 12), s.total, s.finish, s.resource_id), s.resource_id))
    scored.sort()
    return [resource_id for _key, resource_id in scored[:limit]], spans
