"""Writes for matching: queue a run for an order, execute it, store what the engine found, move
the order open → matched, and tell the matched providers (at once or in a daily digest).

The engine (``marketplace.matching``) computes; this module persists. A run is computed outside
any transaction (the engine only reads) and stored in one transaction: its Match rows, the
split plan or the reason nothing matched, the order's transition and the notices.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from marketplace.errors import DomainError
from marketplace.matching import explain as texts
from marketplace.matching import find_matches, plan_split
from marketplace.matching.adapter import match_request_for_order
from marketplace.matching.candidates import Funnel, free_slots
from marketplace.matching.pricing import PriceBreakdown
from marketplace.models import (
    Match,
    MatchNotice,
    MatchNotificationPreference,
    MatchRun,
    Order,
    Organisation,
    User,
)
from marketplace.services.accounts import notify_organisation
from marketplace.services.orders import transition_order

# Orders matching may run for.
MATCHABLE = (Order.Status.OPEN, Order.Status.MATCHED)
MATCH_LIMIT = 20


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def in_every_language(render, *, zone: ZoneInfo | None = None) -> dict[str, Any]:
    """``{"zh-hans": render(), "en": render()}``, each rendered in its language (and ``zone``)."""
    result = {}
    for language in languages():
        with translation.override(language), timezone.override(zone or timezone.get_current_timezone()):
            result[language] = render()
    return result


def order_zone(order: Order) -> ZoneInfo:
    try:
        return ZoneInfo(order.buyer.time_zone)
    except (ValueError, KeyError):
        return ZoneInfo(settings.TIME_ZONE)


def _check_matchable(order: Order) -> None:
    if order.status not in MATCHABLE:
        raise DomainError(
            _("Only open or matched orders can be matched; this one is %(status)s.")
            % {"status": order.get_status_display()},
            code="not_matchable",
        )


# --- queue and execute ----------------------------------------------------------------------


def queue_match_run(*, order: Order, by: User | None = None, now: datetime | None = None) -> MatchRun:
    """Check that ``order`` can be matched and create a queued run for a worker to execute.

    An order missing what matching needs is refused here (DomainError, nothing written)."""
    now = now or timezone.now()
    _check_matchable(order)
    match_request_for_order(order, now=now)
    return MatchRun.objects.create(order=order, requested_by=by, status=MatchRun.Status.QUEUED, created_at=now)


def run_matching(*, order: Order, by: User | None = None, now: datetime | None = None) -> MatchRun:
    """Match ``order`` now, synchronously: queue a run and execute it. Returns the finished run
    (done, or failed with its error)."""
    run = queue_match_run(order=order, by=by, now=now)
    MatchRun.objects.filter(pk=run.pk).update(status=MatchRun.Status.RUNNING, started_at=now or timezone.now())
    run.refresh_from_db()
    return execute_match_run(run=run, now=now)


def claim_match_run(*, run_id: int, now: datetime | None = None) -> bool:
    """queued → running, once: a worker acts only when this returns True."""
    claimed = MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.QUEUED).update(
        status=MatchRun.Status.RUNNING, started_at=now or timezone.now(), progress=5
    )
    return claimed == 1


def _progress(run: MatchRun, value: int) -> None:
    MatchRun.objects.filter(pk=run.pk, status=MatchRun.Status.RUNNING).update(progress=value)


def execute_match_run(*, run: MatchRun, now: datetime | None = None) -> MatchRun:
    """Compute a claimed (running) run and store its outcome."""
    now = now or timezone.now()
    order = Order.objects.select_related("buyer", "category", "material", "measurand").get(pk=run.order_id)
    zone = order_zone(order)
    try:
        _check_matchable(order)
        request = match_request_for_order(order, now=now)
        result = find_matches(request, limit=MATCH_LIMIT)
        _progress(run, 50)
        plan = None
        if not result.matches:
            plan = plan_split(request)
            _progress(run, 80)
        free = {m.resource_id: free_slots(m.candidate, due=request.due) for m in result.matches}
    except DomainError as error:
        return _fail(run, order=order, now=now, zone=zone, error=error)
    return _store(run, order=order, request=request, result=result, plan=plan, free=free, now=now, zone=zone)


def _fail(run: MatchRun, *, order: Order, now: datetime, zone: ZoneInfo, error: DomainError) -> MatchRun:
    # Re-raise under each language so the stored message is bilingual like everything else.
    def message():
        try:
            _check_matchable(order)
            match_request_for_order(order, now=now)
        except DomainError as again:
            return str(again.message)
        return str(error.message)

    MatchRun.objects.filter(pk=run.pk).update(
        status=MatchRun.Status.FAILED, progress=100, finished_at=now, error=in_every_language(message, zone=zone)
    )
    run.refresh_from_db()
    return run


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC: one spelling for every stored moment."""
    return moment.astimezone(UTC).isoformat()


def _pairs(intervals) -> list[list[str]]:
    return [[_iso(lo), _iso(hi)] for lo, hi in intervals]


def price_json(price: PriceBreakdown) -> dict[str, Any]:
    """Every line of an estimate, Decimals as strings (exact)."""
    return {
        "currency": price.currency,
        "billing_unit": price.billing_unit,
        "quantity": price.quantity,
        "rate": str(price.rate),
        "machine_minutes": str(price.machine_minutes),
        "billed_minutes": str(price.billed_minutes),
        "billed_hours": format(price.billed_hours.normalize(), "f"),
        "work_amount": str(price.work_amount),
        "setup_fee": str(price.setup_fee),
        "minimum_charge": str(price.minimum_charge),
        "minimum_topup": str(price.minimum_topup),
        "total": str(price.total),
        "rounding": price.rounding,
    }


def _no_match_json(no_match, request, zone: ZoneInfo) -> dict[str, Any]:
    funnel = Funnel(steps=list(no_match.steps), earliest_finish=no_match.earliest_finish)
    return {
        "steps": [[key, count] for key, count in no_match.steps],
        "constraint": no_match.constraint,
        "removed": no_match.removed,
        "earliest_finish": _iso(no_match.earliest_finish) if no_match.earliest_finish else None,
        "message": in_every_language(lambda: str(texts.no_match(funnel, request).message), zone=zone),
    }


def split_part_line(part) -> str:
    return _("%(quantity)s on %(resource)s, finishes %(when)s: %(price)s") % {
        "quantity": part.quantity,
        "resource": part.candidate.name,
        "when": texts.moment(part.finish),
        "price": texts.price_text(part.price),
    }


def _split_json(plan, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "parts": [
            {
                "resource_id": part.candidate.resource_id,
                "resource_name": part.candidate.name,
                "provider_id": part.candidate.provider_id,
                "quantity": part.quantity,
                "price": price_json(part.price),
                "slots": _pairs(part.slots),
                "finish": _iso(part.finish),
            }
            for part in plan.parts
        ],
        "total": str(plan.total),
        "currency": plan.currency,
        "method": plan.method,
        "finish": _iso(plan.finish),
        "explanation": in_every_language(lambda: [split_part_line(p) for p in plan.parts], zone=zone),
    }


def _store(run, *, order, request, result, plan, free, now, zone) -> MatchRun:
    rows = [
        Match(
            run=run,
            order=order,
            resource_id=m.resource_id,
            provider_id=m.provider_id,
            rank=rank,
            score=m.score,
            price_total=m.price.total,
            currency=m.price.currency,
            price=price_json(m.price),
            finish_at=m.finish,
            slots=_pairs(m.slots),
            free_windows=_pairs(free[m.resource_id]),
            distance_km=m.distance_km,
            terms=m.terms,
            explanation=in_every_language(
                lambda m=m: [str(line) for line in texts.match_reasons(m, request)], zone=zone
            ),
        )
        for rank, m in enumerate(result.matches, start=1)
    ]
    no_match = _no_match_json(result.no_match, request, zone) if result.no_match is not None else None
    split = _split_json(plan, zone) if plan is not None else None
    split_providers = sorted({p.candidate.provider_id for p in plan.parts}) if plan is not None else []
    with transaction.atomic():
        # Lock the order so two runs finishing together transition it once.
        locked = Order.objects.select_for_update().get(pk=order.pk)
        Match.objects.bulk_create(rows)
        MatchRun.objects.filter(pk=run.pk).update(
            status=MatchRun.Status.DONE,
            progress=100,
            finished_at=now,
            as_of=request.now,
            due_at=request.due,
            no_match=no_match,
            split_plan=split,
            split_providers=split_providers,
            error={},
        )
        found = bool(rows) or split is not None
        if found and locked.status == Order.Status.OPEN:
            transition_order(order=locked, to=Order.Status.MATCHED, by=run.requested_by, now=now,
                             note=_("Matching found candidates."))  # fmt: skip
        elif not found and locked.status == Order.Status.MATCHED:
            transition_order(order=locked, to=Order.Status.OPEN, by=run.requested_by, now=now,
                             note=_("No resource matches any more."))  # fmt: skip
        providers = sorted({r.provider_id for r in rows} | set(split_providers))
        if providers:
            _notice_providers(order=locked, provider_ids=providers, now=now)
    order.status = locked.status
    run.refresh_from_db()
    return run


# --- provider notices -----------------------------------------------------------------------


def match_mode(organisation_id: int, preferences: dict[int, str] | None = None) -> str:
    if preferences is not None:
        return preferences.get(organisation_id, MatchNotificationPreference.Mode.IMMEDIATE)
    preference = MatchNotificationPreference.objects.filter(organisation_id=organisation_id).first()
    return preference.mode if preference else MatchNotificationPreference.Mode.IMMEDIATE


def _notice_providers(*, order: Order, provider_ids: list[int], now: datetime) -> None:
    """Once per order and provider: a notification at once, or a pending notice for the digest."""
    known = set(
        MatchNotice.objects.filter(order=order, provider_id__in=provider_ids).values_list("provider_id", flat=True)
    )
    new = [pid for pid in provider_ids if pid not in known]
    if not new:
        return
    preferences = dict(
        MatchNotificationPreference.objects.filter(organisation_id__in=new).values_list("organisation_id", "mode")
    )
    immediate = MatchNotificationPreference.Mode.IMMEDIATE
    # The order row is locked (see _store), so no concurrent run of this order inserts these too.
    notices = MatchNotice.objects.bulk_create(
        [
            MatchNotice(
                order=order,
                provider_id=pid,
                mode=match_mode(pid, preferences),
                created_at=now,
                sent_at=now if match_mode(pid, preferences) == immediate else None,
            )
            for pid in new
        ]
    )
    providers = {o.pk: o for o in Organisation.objects.filter(pk__in=[n.provider_id for n in notices if n.sent_at])}
    zone = order_zone(order)
    for provider_id in sorted(providers):
        with translation.override(settings.LANGUAGE_CODE):
            notify_organisation(
                organisation=providers[provider_id],
                kind="order_matched",
                title=_("An order matches your machines: %(title)s") % {"title": order.title},
                body=_("%(quantity)s × %(category)s, due %(due)s. Open the order to see its specification.")
                % {
                    "quantity": order.quantity,
                    "category": order.category.name,
                    "due": timezone.localtime(order.due_at, zone).strftime("%Y-%m-%d") if order.due_at else "—",
                },
                url=reverse("order_detail", args=[order.pk]),
            )


def send_match_digest(*, provider: Organisation, now: datetime | None = None) -> int:
    """Send ``provider`` one digest of the orders that matched it since its last digest.

    The pending notices are claimed (sent_at set) in the same transaction that writes the
    notification, under row locks, so a second call (or a concurrent one) sends nothing.
    Returns the number of orders in the digest."""
    now = now or timezone.now()
    with transaction.atomic():
        pending = list(
            MatchNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(provider=provider, sent_at__isnull=True)
            .select_related("order", "order__category", "order__buyer")
            .order_by("created_at", "pk")
        )
        if not pending:
            return 0
        MatchNotice.objects.filter(pk__in=[n.pk for n in pending]).update(sent_at=now)
        with translation.override(settings.LANGUAGE_CODE):
            lines = [
                f"#{n.order_id} {n.order.title} — {n.order.quantity} × {n.order.category.name}, "
                + (
                    _("due %(due)s")
                    % {"due": timezone.localtime(n.order.due_at, order_zone(n.order)).strftime("%Y-%m-%d")}
                )
                for n in pending
                if n.order.due_at
            ] + [f"#{n.order_id} {n.order.title}" for n in pending if not n.order.due_at]
            notify_organisation(
                organisation=provider,
                kind="order_matched_digest",
                title=ngettext(
                    "%(count)s order matched your machines",
                    "%(count)s orders matched your machines",
                    len(pending),
                )
                % {"count": len(pending)},
                body="\n".join(lines),
                url=reverse("matched_order_list"),
            )
    return len(pending)


def send_match_digests(*, now: datetime | None = None) -> int:
    """A digest for every provider waiting for one. Returns how many digests went out."""
    provider_ids = (
        MatchNotice.objects.filter(sent_at__isnull=True).values_list("provider_id", flat=True).distinct().order_by()
    )
    sent = 0
    for provider in Organisation.objects.filter(pk__in=list(provider_ids)).order_by("pk"):
        if send_match_digest(provider=provider, now=now):
            sent += 1
    return sent


@transaction.atomic
def set_match_notification_mode(*, organisation: Organisation, by: User, mode: str) -> MatchNotificationPreference:
    """An owner chooses how the organisation hears about matched orders."""
    from marketplace.services.accounts import _require_owner

    _require_owner(organisation, by)
    if mode not in MatchNotificationPreference.Mode.values:
        raise DomainError(_("Choose how to be told about matched orders."), code="mode")
    preference, _created = MatchNotificationPreference.objects.update_or_create(
        organisation=organisation, defaults={"mode": mode}
    )
    return preference
