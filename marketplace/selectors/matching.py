"""Reads for matching: an order's runs and current matches, the pictures and texts the match
pages show, and the orders that fit a provider's machines.

An order's current matches are those of its latest *done* run; a newer queued, running or
failed run does not hide them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language

from marketplace.models import Match, MatchRun, Order, Organisation

MAX_COMPARE = 3


def latest_done_runs() -> QuerySet:
    """A subquery: the pk of the latest done run of the outer query's order."""
    return (
        MatchRun.objects.filter(order=OuterRef("order"), status=MatchRun.Status.DONE)
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )


def latest_run(order: Order) -> MatchRun | None:
    return MatchRun.objects.filter(order=order).order_by("-created_at", "-pk").first()


def latest_done_run(order: Order) -> MatchRun | None:
    return MatchRun.objects.filter(order=order, status=MatchRun.Status.DONE).order_by("-finished_at", "-pk").first()


def run_matches(run: MatchRun) -> QuerySet:
    return (
        Match.objects.filter(run=run)
        .select_related("resource", "resource__category", "provider")
        .order_by("rank", "pk")
    )


def is_matched_provider(*, order: Order, organisation: Organisation) -> bool:
    """Whether ``organisation`` has a resource in the order's latest done run (a single match
    or a part of its split plan)."""
    run = latest_done_run(order)
    if run is None:
        return False
    return organisation.pk in run.split_providers or Match.objects.filter(run=run, provider=organisation).exists()


def language_text(texts: dict[str, Any] | None, default: Any = "") -> Any:
    """The entry of a bilingual dict for the active language (English as the fallback)."""
    if not texts:
        return default
    language = (get_language() or "zh-hans").lower()
    return texts.get(language) or texts.get("en") or next(iter(texts.values()))


# --- pictures -------------------------------------------------------------------------------

TIMELINE_WIDTH = 1000


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    x: float
    width: float


@dataclass(frozen=True)
class Timeline:
    """Where the work would sit (``slots``) in the machine's free windows (``free``), on an axis
    from the run's moment to the due date, in SVG units of ``TIMELINE_WIDTH``."""

    start: datetime
    end: datetime
    free: list[Span]
    slots: list[Span]
    ticks: list[tuple[float, datetime]]


def _parse(pairs) -> list[tuple[datetime, datetime]]:
    return [(parse_datetime(lo), parse_datetime(hi)) for lo, hi in pairs or []]


def timeline(*, start: datetime | None, end: datetime | None, free, slots) -> Timeline | None:
    if start is None or end is None or end <= start:
        return None
    total = (end - start).total_seconds()

    def spans(pairs):
        result = []
        for lo, hi in _parse(pairs):
            lo, hi = max(lo, start), min(hi, end)
            if hi <= lo:
                continue
            x = (lo - start).total_seconds() / total * TIMELINE_WIDTH
            width = max((hi - lo).total_seconds() / total * TIMELINE_WIDTH, 1.5)
            result.append(Span(lo, hi, round(x, 2), round(width, 2)))
        return result

    ticks = []
    steps = 4
    for i in range(1, steps):
        moment = start + (end - start) * i / steps
        ticks.append((round(TIMELINE_WIDTH * i / steps, 2), moment))
    return Timeline(start, end, spans(free), spans(slots), ticks)


# --- what the pages show ----------------------------------------------------------------------


@dataclass
class MatchCard:
    match: Match
    explanation: list[str]
    price: dict[str, Any]
    timeline: Timeline | None

    @property
    def billed_hours(self) -> Decimal:
        return Decimal(self.price.get("billed_hours", "0"))

    @property
    def score_percent(self) -> int:
        return round(self.match.score * 100)

    @property
    def terms(self) -> list[tuple[str, int]]:
        return [(key, round(value * 100)) for key, value in self.match.terms.items()]


def match_cards(run: MatchRun, matches=None) -> list[MatchCard]:
    matches = list(run_matches(run) if matches is None else matches)
    return [
        MatchCard(
            match=m,
            explanation=language_text(m.explanation, []),
            price=m.price,
            timeline=timeline(start=run.as_of, end=run.due_at, free=m.free_windows, slots=m.slots),
        )
        for m in matches
    ]


def split_view(run: MatchRun) -> dict[str, Any] | None:
    """The split plan with its resources loaded (one query) and texts in the reader's language."""
    plan = run.split_plan
    if not plan:
        return None
    from capacity.models import Resource

    resources = Resource.objects.select_related("provider").in_bulk([p["resource_id"] for p in plan["parts"]])
    parts = []
    for part in plan["parts"]:
        parts.append(
            {
                **part,
                "resource": resources.get(part["resource_id"]),
                "total": Decimal(part["price"]["total"]),
                "finish_at": parse_datetime(part["finish"]),
                "timeline": timeline(start=run.as_of, end=run.due_at, free=[], slots=part["slots"]),
            }
        )
    return {
        "parts": parts,
        "total": Decimal(plan["total"]),
        "currency": plan["currency"],
        "method": plan["method"],
        "finish_at": parse_datetime(plan["finish"]),
        "explanation": language_text(plan.get("explanation"), []),
    }


def compare_matches(*, run: MatchRun, ids: list[int]) -> list[Match]:
    return list(run_matches(run).filter(pk__in=ids))


# --- providers --------------------------------------------------------------------------------


def provider_matches(*, organisation: Organisation) -> QuerySet:
    """The provider's Match rows in their orders' latest done runs (best rank first per order),
    orders still looking for capacity first."""
    return (
        Match.objects.filter(provider=organisation)
        .annotate(latest=Subquery(latest_done_runs()))
        .filter(run_id=F("latest"))
        .select_related("order", "order__category", "order__buyer", "resource")
        .order_by("-order__created_at", "order_id", "rank")
    )


def provider_split_runs(*, organisation: Organisation) -> QuerySet:
    """Latest done runs whose split plan uses one of the provider's resources."""
    latest = MatchRun.objects.filter(order=OuterRef("order"), status=MatchRun.Status.DONE).order_by(
        "-finished_at", "-pk"
    )
    return (
        MatchRun.objects.filter(split_providers__contains=[organisation.pk], status=MatchRun.Status.DONE)
        .filter(pk=Subquery(latest.values("pk")[:1]))
        .select_related("order", "order__category", "order__buyer")
    )


def matched_orders(*, organisation: Organisation) -> list[dict[str, Any]]:
    """Rows of "Orders that fit your machines": per order, which resources fit, rank and price."""
    rows: dict[int, dict[str, Any]] = {}
    for m in provider_matches(organisation=organisation):
        row = rows.setdefault(m.order_id, {"order": m.order, "items": []})
        row["items"].append(
            {"resource": m.resource, "rank": m.rank, "price": m.price_total, "currency": m.currency, "split": None}
        )
    split_runs = list(provider_split_runs(organisation=organisation))
    if split_runs:
        from capacity.models import Resource

        ids = [
            p["resource_id"] for r in split_runs for p in r.split_plan["parts"] if p["provider_id"] == organisation.pk
        ]
        resources = Resource.objects.in_bulk(ids)
        for run in split_runs:
            row = rows.setdefault(run.order_id, {"order": run.order, "items": []})
            for part in run.split_plan["parts"]:
                if part["provider_id"] != organisation.pk:
                    continue
                row["items"].append(
                    {
                        "resource": resources.get(part["resource_id"]),
                        "rank": None,
                        "price": Decimal(part["price"]["total"]),
                        "currency": part["price"]["currency"],
                        "split": part["quantity"],
                    }
                )
    return sorted(rows.values(), key=lambda r: (-r["order"].created_at.timestamp(), -r["order"].pk))
