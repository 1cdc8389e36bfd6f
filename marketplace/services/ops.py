"""Operator work: the audit trail, automatic trade flags, dispute resolution (a refund decision
moves its money through the billing services), suspension of organisations and the
certificate-expiry job.

Every operator action here writes an AuditEntry (``record_audit``) in the same transaction
as the change it records.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Model, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from capacity.models import Certification, ProviderProfile, Resource
from capacity.services import providers as provider_services
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import (
    AuditEntry,
    CertificateNotice,
    Organisation,
    OrganisationSuspension,
    Trade,
    TradeFlag,
    User,
)
from marketplace.services.accounts import notify_organisation

# Trades looked at by the hourly flag job: created in this window, or still running.
FLAG_LOOKBACK = timedelta(days=30)
PRICE_FACTOR_HIGH = Decimal("2")
PRICE_FACTOR_LOW = Decimal("0.5")
PRICE_MIN_SAMPLES = 5
CANCELLATIONS_LIMIT = 3
CANCELLATIONS_WINDOW = timedelta(days=30)
USAGE_FACTOR = Decimal("1.25")
OVERRUN_LIMIT_SECONDS = 2 * 3600
CERTIFICATE_WARNING = timedelta(days=30)


# --- audit -----------------------------------------------------------------------------------


def record_audit(
    *,
    actor: User | None,
    action: str,
    subject: Model,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> AuditEntry:
    """One audit row for ``action`` on ``subject``; ``changes`` maps field → [old, new]."""
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        changes=changes or {},
        reason=reason,
        at=now or timezone.now(),
    )


def _require_operator(user: User) -> None:
    if not user.is_operator:
        raise PermissionDeniedError(_("Only operators may do this."))


def _require_note(note: str, message: str) -> str:
    note = (note or "").strip()
    if not note:
        raise DomainError(message, code="note_required")
    return note


# --- trade flags -----------------------------------------------------------------------------


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _price_outliers(since: datetime) -> list[tuple[int, dict]]:
    """Trades whose estimated price per booked machine-hour is more than twice, or less than
    half, the median of all non-cancelled trades of the same category (the trade itself
    included), when that category has at least PRICE_MIN_SAMPLES trades."""
    rows = _fetch(
        """
        WITH hours AS (
            SELECT tb.trade_id, SUM(EXTRACT(EPOCH FROM upper(b.span) - lower(b.span))) / 3600.0 AS hours
            FROM marketplace_tradebooking tb JOIN capacity_booking b ON b.id = tb.booking_id
            WHERE tb.trade_id IS NOT NULL GROUP BY tb.trade_id
        ), per_hour AS (
            SELECT t.id, t.created_at, o.category_id, t.price_estimate / h.hours AS rate
            FROM marketplace_trade t
            JOIN marketplace_order o ON o.id = t.order_id
            JOIN hours h ON h.trade_id = t.id
            WHERE t.status <> 'cancelled' AND h.hours > 0
        ), medians AS (
            SELECT category_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY rate) AS median, COUNT(*) AS n
            FROM per_hour GROUP BY category_id
        )
        SELECT p.id, p.rate, m.median, m.n FROM per_hour p JOIN medians m USING (category_id)
        WHERE m.n >= %(min)s AND p.created_at >= %(since)s
          AND (p.rate > m.median * %(high)s OR p.rate < m.median * %(low)s)
        """,
        {"min": PRICE_MIN_SAMPLES, "since": since, "high": PRICE_FACTOR_HIGH, "low": PRICE_FACTOR_LOW},
    )
    return [
        (pk, {"rate_per_hour": str(round(Decimal(rate), 2)), "median": str(round(Decimal(median), 2)), "samples": n})
        for pk, rate, median, n in rows
    ]


def _large_first_orders(since: datetime) -> list[tuple[int, dict]]:
    threshold = Decimal(str(settings.SPINDLE_FLAG_FIRST_TRADE_AMOUNT))
    currency = settings.SPINDLE_DEFAULT_CURRENCY
    rows = _fetch(
        """
        SELECT t.id, t.price_estimate FROM marketplace_trade t
        WHERE t.created_at >= %(since)s AND t.currency = %(currency)s AND t.price_estimate > %(threshold)s
          AND NOT EXISTS (
            SELECT 1 FROM marketplace_trade e WHERE e.buyer_id = t.buyer_id
              AND (e.created_at < t.created_at OR (e.created_at = t.created_at AND e.id < t.id)))
        """,
        {"since": since, "currency": currency, "threshold": threshold},
    )
    return [(pk, {"estimate": str(amount), "threshold": str(threshold), "currency": currency}) for pk, amount in rows]


def _repeated_cancellations(now: datetime) -> list[tuple[int, dict]]:
    """The latest trade cancelled by a party that cancelled CANCELLATIONS_LIMIT or more trades
    in the last CANCELLATIONS_WINDOW (by the cancellation event's time)."""
    rows = _fetch(
        """
        WITH cancels AS (
            SELECT t.id, t.cancelled_by_id AS party, MAX(e.at) AS at
            FROM marketplace_trade t JOIN marketplace_tradeevent e ON e.trade_id = t.id
            WHERE t.status = 'cancelled' AND t.cancelled_by_id IS NOT NULL AND e.to_status = 'cancelled'
              AND e.at >= %(since)s AND e.at < %(now)s
            GROUP BY t.id, t.cancelled_by_id
        )
        SELECT DISTINCT ON (party) id, party, COUNT(*) OVER (PARTITION BY party) AS n
        FROM cancels ORDER BY party, at DESC, id DESC
        """,
        {"since": now - CANCELLATIONS_WINDOW, "now": now},
    )
    return [(pk, {"organisation": party, "cancellations": n}) for pk, party, n in rows if n >= CANCELLATIONS_LIMIT]


def _usage_overruns(since: datetime) -> list[tuple[int, dict]]:
    rows = _fetch(
        """
        SELECT tb.trade_id, b.id, u.run_seconds, u.overrun_run_seconds,
               EXTRACT(EPOCH FROM upper(b.span) - lower(b.span)) AS booked
        FROM marketplace_tradebooking tb
        JOIN capacity_booking b ON b.id = tb.booking_id
        JOIN capacity_bookingusage u ON u.booking_id = b.id
        JOIN marketplace_trade t ON t.id = tb.trade_id
        WHERE upper(b.span) >= %(since)s
          AND (u.run_seconds > %(factor)s * EXTRACT(EPOCH FROM upper(b.span) - lower(b.span))
               OR u.overrun_run_seconds > %(overrun)s)
        ORDER BY tb.trade_id, b.id
        """,
        {"since": since, "factor": USAGE_FACTOR, "overrun": OVERRUN_LIMIT_SECONDS},
    )
    found: dict[int, dict] = {}
    for trade_id, booking_id, run, overrun, booked in rows:
        found.setdefault(trade_id, {"bookings": []})["bookings"].append(
            {
                "booking": booking_id,
                "booked_hours": str(round(Decimal(booked) / 3600, 2)),
                "run_hours": str(round(Decimal(run) / 3600, 2)),
                "overrun_hours": str(round(Decimal(overrun) / 3600, 2)),
            }
        )
    return list(found.items())


def _expired_certificates(today) -> list[tuple[int, dict]]:
    """Running trades of providers with a listed resource and an expired certificate of a
    standard they no longer hold any valid certificate of."""
    rows = _fetch(
        """
        SELECT t.id, array_agg(DISTINCT c.standard ORDER BY c.standard)
        FROM marketplace_trade t
        JOIN capacity_providerprofile p ON p.organisation_id = t.provider_id
        JOIN capacity_certification c ON c.profile_id = p.id AND c.valid_until < %(today)s
        WHERE t.status NOT IN ('completed', 'cancelled', 'resolved')
          AND EXISTS (SELECT 1 FROM capacity_resource r WHERE r.provider_id = t.provider_id AND r.status = 'listed')
          AND NOT EXISTS (
            SELECT 1 FROM capacity_certification v WHERE v.profile_id = p.id AND v.standard = c.standard
              AND v.valid_from <= %(today)s AND v.valid_until >= %(today)s)
        GROUP BY t.id
        """,
        {"today": today},
    )
    return [(pk, {"standards": standards}) for pk, standards in rows]


def _raise_flags(kind: str, found: list[tuple[int, dict]], now: datetime) -> list[TradeFlag]:
    """Create a flag for each (trade, details) unless that trade already has one of this kind
    (open or resolved: a resolved flag is an operator's decision, not re-raised hourly)."""
    if not found:
        return []
    existing = set(
        TradeFlag.objects.filter(kind=kind, trade_id__in=[pk for pk, _d in found]).values_list("trade_id", flat=True)
    )
    new = [TradeFlag(trade_id=pk, kind=kind, details=d, created_at=now) for pk, d in found if pk not in existing]
    # ignore_conflicts: a concurrent run raising the same open flag is stopped by the constraint.
    # (With ignore_conflicts PostgreSQL returns no ids, so the raised rows are read back.)
    TradeFlag.objects.bulk_create(new, ignore_conflicts=True)
    return list(
        TradeFlag.objects.filter(kind=kind, trade_id__in=[f.trade_id for f in new], created_at=now).order_by("pk")
    )


@transaction.atomic
def flag_trades(*, now: datetime | None = None) -> list[TradeFlag]:
    """Run every flag rule over recent and running trades; returns the flags raised."""
    now = now or timezone.now()
    since = now - FLAG_LOOKBACK
    K = TradeFlag.Kind
    raised = []
    raised += _raise_flags(K.PRICE_OUTLIER, _price_outliers(since), now)
    raised += _raise_flags(K.LARGE_FIRST_ORDER, _large_first_orders(since), now)
    raised += _raise_flags(K.REPEATED_CANCELLATIONS, _repeated_cancellations(now), now)
    raised += _raise_flags(K.USAGE_OVERRUN, _usage_overruns(since), now)
    raised += _raise_flags(K.EXPIRED_CERTIFICATE, _expired_certificates(timezone.localdate(now)), now)
    return raised


@transaction.atomic
def resolve_flag(*, flag: TradeFlag, by: User, note: str, now: datetime | None = None) -> TradeFlag:
    _require_operator(by)
    note = _require_note(note, _("Say how the flag was resolved."))
    now = now or timezone.now()
    locked = TradeFlag.objects.select_for_update().get(pk=flag.pk)
    if locked.resolved_at is not None:
        raise DomainError(_("This flag is already resolved."), code="resolved")
    locked.resolved_at, locked.resolved_by, locked.resolution_note = now, by, note
    locked.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
    record_audit(
        actor=by,
        action="flag.resolve",
        subject=locked.trade,
        changes={"flag": [locked.kind, None]},
        reason=note,
        now=now,
    )
    return locked


# --- disputes --------------------------------------------------------------------------------

FULL_REFUND, PARTIAL_REFUND, REDO, REJECTED = "full_refund", "partial_refund", "redo", "rejected"
DECISIONS = (FULL_REFUND, PARTIAL_REFUND, REDO, REJECTED)
REFUNDS = (FULL_REFUND, PARTIAL_REFUND)


def decision_label(decision: str) -> str:
    labels = {
        FULL_REFUND: _("Full refund"),
        PARTIAL_REFUND: _("Partial refund"),
        REDO: _("Redo: the provider makes the rejected parts again"),
        REJECTED: _("Claim rejected"),
    }
    return labels[decision]


@transaction.atomic
def resolve_dispute(
    *,
    trade: Trade,
    by: User,
    decision: str,
    note: str,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> Trade:
    """disputed → resolved by an operator with a decision: redo, claim rejected, or a full or
    partial refund (``amount``, gross). A refund is settled by billing in the same transaction
    (billing.services.payouts.refund_dispute): the trade's invoice is issued if it has none,
    a credit note takes the amount off it, and money already paid goes back to the buyer. Both
    parties are notified by transition_trade; the audit row records decision and amount. Any
    refusal (usage still open, amount above the invoice, Stripe unreachable) changes nothing."""
    from billing.money import format_money
    from billing.services.payouts import refund_dispute
    from marketplace.services.trades import transition_trade

    _require_operator(by)
    if decision not in DECISIONS:
        raise DomainError(_("Choose a decision."), code="decision")
    if decision == PARTIAL_REFUND:
        if amount is None:
            raise DomainError(_("Enter the amount to refund."), code="amount_required")
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise DomainError(_("Enter a positive amount in whole cents."), code="amount")
    else:
        amount = None
    note = _require_note(note, _("Explain the decision: both parties will see it."))
    now = now or timezone.now()
    label = decision_label(decision)
    if amount is not None:
        label = f"{label} {format_money(amount, trade.currency)}"
    before = trade.status
    trade = transition_trade(
        trade=trade, to=Trade.Status.RESOLVED, by=by, note=f"{label} — {note}", as_role="operator", now=now
    )
    changes: dict[str, Any] = {"status": [before, Trade.Status.RESOLVED], "decision": [None, decision]}
    if decision in REFUNDS:
        outcome = refund_dispute(
            trade=trade,
            amount=amount,
            reason=_("Dispute on trade #%(id)s: %(note)s") % {"id": trade.pk, "note": note},
            by=by,
            now=now,
        )
        changes["amount"] = [None, str(-outcome.credit_note.gross)]
        changes["credit_note"] = [None, outcome.credit_note.number]
        if outcome.refund is not None:
            changes["card_refund"] = [None, str(outcome.refund.amount)]
        if outcome.bank_refund is not None:
            changes["bank_refund_owed"] = [None, str(outcome.bank_refund.amount)]
    record_audit(actor=by, action="trade.resolve_dispute", subject=trade, changes=changes, reason=note, now=now)
    return trade


# --- suspensions -----------------------------------------------------------------------------


def open_suspension(organisation: Organisation) -> OrganisationSuspension | None:
    return OrganisationSuspension.objects.filter(organisation=organisation, lifted_at__isnull=True).first()


def is_suspended(organisation: Organisation | int) -> bool:
    """Whether the organisation is under an open suspension (it may not order or book)."""
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    return OrganisationSuspension.objects.filter(organisation_id=org_id, lifted_at__isnull=True).exists()


def check_not_suspended(organisation: Organisation | int) -> None:
    if is_suspended(organisation):
        raise PermissionDeniedError(
            _("Your organisation is suspended and cannot place orders or bookings. Contact Spindle support."),
            code="suspended",
        )


def _ops_url() -> str:
    return reverse("notifications")


@transaction.atomic
def suspend_organisation(
    *, organisation: Organisation, by: User, reason: str, now: datetime | None = None
) -> OrganisationSuspension:
    """Suspend a provider (its verification is suspended, so its listings are hidden, and its
    running trades are flagged) or a buyer (no new orders or bookings). Members are notified."""
    _require_operator(by)
    reason = _require_note(reason, _("Give a reason: the organisation will see it."))
    now = now or timezone.now()
    Organisation.objects.select_for_update().get(pk=organisation.pk)
    if is_suspended(organisation):
        raise DomainError(_("This organisation is already suspended."), code="suspended")
    suspension = OrganisationSuspension.objects.create(
        organisation=organisation, reason=reason, suspended_by=by, at=now
    )
    profile = ProviderProfile.objects.filter(organisation=organisation).first()
    if profile is not None and profile.status == ProviderProfile.Status.VERIFIED:
        # Reuses capacity's state machine (ReviewEvent + its own notice to the provider).
        provider_services.suspend_provider(profile=profile, actor=by, reason=reason, now=now)
    running = Trade.objects.filter(Q(provider=organisation) | Q(buyer=organisation)).exclude(status__in=Trade.FINAL)
    _raise_flags(
        TradeFlag.Kind.SUSPENDED_PARTY,
        [
            (pk, {"organisation": organisation.pk, "reason": reason})
            for pk in running.order_by("pk").values_list("pk", flat=True)
        ],
        now,
    )
    record_audit(
        actor=by,
        action="organisation.suspend",
        subject=organisation,
        changes={"suspended": [False, True]},
        reason=reason,
        now=now,
    )
    notify_organisation(
        organisation=organisation,
        kind="organisation_suspended",
        title=_("Your organisation is suspended on Spindle"),
        body=reason,
        url=_ops_url(),
    )
    return suspension


@transaction.atomic
def lift_suspension(
    *, organisation: Organisation, by: User, reason: str = "", now: datetime | None = None
) -> OrganisationSuspension:
    """Reverse a suspension: a provider suspended by it is reinstated (listings show again)."""
    _require_operator(by)
    now = now or timezone.now()
    suspension = (
        OrganisationSuspension.objects.select_for_update()
        .filter(organisation=organisation, lifted_at__isnull=True)
        .first()
    )
    if suspension is None:
        raise DomainError(_("This organisation is not suspended."), code="not_suspended")
    suspension.lifted_at, suspension.lifted_by = now, by
    suspension.save(update_fields=["lifted_at", "lifted_by"])
    profile = ProviderProfile.objects.filter(organisation=organisation).first()
    if profile is not None and profile.status == ProviderProfile.Status.SUSPENDED:
        provider_services.reinstate_provider(profile=profile, actor=by, now=now)
    record_audit(
        actor=by,
        action="organisation.lift_suspension",
        subject=organisation,
        changes={"suspended": [True, False]},
        reason=reason.strip(),
        now=now,
    )
    notify_organisation(
        organisation=organisation,
        kind="organisation_reinstated",
        title=_("Your organisation's suspension on Spindle is lifted"),
        body=reason.strip(),
        url=_ops_url(),
    )
    return suspension


# --- certificate expiry ----------------------------------------------------------------------


def _has_valid(profile_id: int, standard: str, day) -> bool:
    return Certification.objects.filter(
        profile_id=profile_id, standard=standard, valid_from__lte=day, valid_until__gte=day
    ).exists()


@transaction.atomic
def process_certificate_expiry(*, now: datetime | None = None) -> dict[str, int]:
    """Daily: warn providers of certificates expiring within 30 days (once per certificate);
    after expiry, with no valid certificate of the same standard, withdraw the listings'
    claims of that standard (``Resource.standards``), record it and tell the provider.
    Matching already ignores expired certificates; this makes the listings say so too."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    warned = withdrawn = 0
    soon = (
        Certification.objects.filter(valid_until__gte=today, valid_until__lte=today + CERTIFICATE_WARNING)
        .exclude(notices__kind=CertificateNotice.Kind.WARNED)
        .select_related("profile__organisation")
    )
    for cert in soon:
        CertificateNotice.objects.create(certification=cert, kind=CertificateNotice.Kind.WARNED, at=now)
        notify_organisation(
            organisation=cert.profile.organisation,
            kind="certificate_expiring",
            title=_("Your %(standard)s certificate %(number)s expires on %(date)s")
            % {"standard": cert.get_standard_display(), "number": cert.number, "date": cert.valid_until.isoformat()},
            body=_("Upload the renewed certificate before then, or matching stops relying on it."),
            url=reverse("capacity:workspace_profile"),
        )
        warned += 1
    expired = (
        Certification.objects.filter(valid_until__lt=today)
        .exclude(notices__kind=CertificateNotice.Kind.WITHDRAWN)
        .select_related("profile__organisation")
    )
    for cert in expired:
        if _has_valid(cert.profile_id, cert.standard, today):
            continue
        claims = list(
            Resource.objects.filter(provider=cert.profile.organisation, standards__contains=[cert.standard]).order_by(
                "pk"
            )
        )
        for resource in claims:
            resource.standards = [s for s in resource.standards if s != cert.standard]
            Resource.objects.filter(pk=resource.pk).update(standards=resource.standards)
            record_audit(
                actor=None,
                action="resource.withdraw_claim",
                subject=resource,
                changes={"standards": [cert.standard, None]},
                reason=_("Certificate %(number)s expired") % {"number": cert.number},
                now=now,
            )
        CertificateNotice.objects.create(
            certification=cert,
            kind=CertificateNotice.Kind.WITHDRAWN,
            details={"resources": [r.pk for r in claims], "standard": cert.standard},
            at=now,
        )
        notify_organisation(
            organisation=cert.profile.organisation,
            kind="certificate_expired",
            title=_("Your %(standard)s certificate %(number)s has expired")
            % {"standard": cert.get_standard_display(), "number": cert.number},
            body=_("Buyers no longer see this certification on your listings until you upload a valid one."),
            url=reverse("capacity:workspace_profile"),
        )
        withdrawn += 1
    return {"warned": warned, "withdrawn": withdrawn}
