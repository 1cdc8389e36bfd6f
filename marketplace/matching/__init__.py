"""The matching engine: which resources can make a job before its due date, ranked and explained.

``find_matches(request)`` takes a plain :class:`MatchRequest` (the order service adapts an order
to it) and returns a :class:`MatchResult`: the ranked matches, each with price breakdown, finish
time, the free windows it would use and a readable explanation — or, when nothing matches, which
constraint removed most candidates and the earliest finish anyone could offer.
``plan_split(request)`` shares the quantity over several resources when no single one is in time.

Modules: ``request`` (the input), ``candidates`` (hard constraints in SQL), ``pricing`` (rate card
estimates), ``ranking`` (score rule), ``explain`` (texts), ``split`` (MILP/greedy split plans),
``models`` (operator-tunable ranking weights).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marketplace.matching.request import MatchRequest
from marketplace.matching.split import SplitPlan, plan_split

__all__ = ["MatchRequest", "MatchResult", "SplitPlan", "find_matches", "plan_split"]


@dataclass
class MatchResult:
    request: MatchRequest
    matches: list = field(default_factory=list)
    no_match: object | None = None  # explain.NoMatch when ``matches`` is empty

    def __bool__(self) -> bool:
        return bool(self.matches)


def find_matches(
    request: MatchRequest, *, weights: dict[str, float] | None = None, limit: int | None = 20, using: str = "default"
) -> MatchResult:
    """Ranked matches for ``request`` (the best ``limit``; None for all), or the reason there are none.

    Normalisation needs every match's price, finish and distance: a lean query gives those for
    all of them (``match_summaries``); ``ranking.prune`` drops the matches that cannot reach the
    best ``limit`` whatever their reputation and idle share, scores the rest exactly and keeps the
    best ``limit``; only those get their free slots, price breakdown and explanation — the same
    result as ranking all of them, at a fraction of the cost when a broad category has thousands
    of matches. ``limit=None`` ranks every match in full."""
    from marketplace.matching import explain, ranking
    from marketplace.matching.candidates import booked_shares, find_candidates, funnel, match_summaries
    from marketplace.matching.pricing import estimate
    from marketplace.matching.split import take_slots
    from marketplace.models.matching import MatchingWeights

    if weights is None:
        weights = MatchingWeights.load(using).as_dict()
    has_point = request.delivery_lat is not None
    spans = None
    if limit is None or limit < 1:
        candidates = find_candidates(request, using=using)
    else:
        summaries = match_summaries(request, using=using)
        if summaries:
            delivery = (float(request.delivery_lat), float(request.delivery_lon)) if has_point else None
            survivors, spans = ranking.prune(
                summaries,
                weights,
                limit=limit,
                delivery=delivery,
                reputations=lambda ids: ranking.reputation_scores(ids, using),
                shares=lambda ids: booked_shares(request, ids, using=using),
            )
            candidates = find_candidates(request, using=using, ids=survivors)
            if len(candidates) != len(survivors):
                # A booking or window changed between the two statements: rank everything afresh.
                candidates, spans = find_candidates(request, using=using), None
        else:
            candidates = []
    if not candidates:
        return MatchResult(request, [], explain.no_match(funnel(request, using=using, matches=0), request))
    reputations = ranking.reputation_scores({c.provider_id for c in candidates}, using)
    matches = []
    for candidate in candidates:
        distance = None
        if has_point and candidate.latitude is not None and candidate.longitude is not None:
            distance = ranking.haversine_km(
                float(request.delivery_lat), float(request.delivery_lon),
                float(candidate.latitude), float(candidate.longitude),
            )  # fmt: skip
        minutes = candidate.machine_minutes(request.quantity)
        matches.append(
            ranking.Match(
                candidate=candidate,
                price=estimate(candidate.card, quantity=request.quantity, machine_minutes=minutes),
                finish=candidate.finish,
                slots=take_slots(candidate.slots, minutes),
                distance_km=distance,
                reputation=reputations[candidate.provider_id],
            )
        )
    ranked = ranking.rank(matches, weights, has_delivery_point=has_point, spans=spans)
    if limit is not None:
        ranked = ranked[:limit]
    for match in ranked:
        match.explanation = explain.match_reasons(match, request)
    return MatchResult(request, ranked, None)
