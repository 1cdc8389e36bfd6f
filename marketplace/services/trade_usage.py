"""Writes about the usage of a trade's bookings, for its two parties: the buyer approves run
time measured outside a booked window (overrun); for machines without telemetry the provider
reports run time and parts (a job report with evidence) and the buyer confirms or disputes it.

Metering keeps its rules (capacity.services.metering); this module checks who may act on a
trade, content-checks the evidence like any trade file, and writes a TradeEvent note so the
trade's timeline shows what happened to its usage.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import PurePath

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from capacity.models import BookingUsage, JobReport
from capacity.services import metering
from marketplace import drawings
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import Organisation, Trade, TradeBooking, TradeEvent, User
from marketplace.models.trades import BUYER, PROVIDER
from marketplace.services.trades import _notify_party, roles_of


def _usage_event(trade: Trade, by: User, note: str, now: datetime) -> None:
    TradeEvent.objects.create(
        trade=trade,
        kind=TradeEvent.Kind.USAGE,
        actor=by,
        from_status=trade.status,
        to_status=trade.status,
        note=note,
        at=now,
    )


def _slot(link: TradeBooking) -> str:
    span = link.booking.span
    return (
        f"{link.resource.name} {timezone.localtime(span.lower):%Y-%m-%d %H:%M}–{timezone.localtime(span.upper):%H:%M}"
    )


@transaction.atomic
def approve_overrun(*, link: TradeBooking, by: User, now: datetime | None = None) -> TradeBooking:
    """The buyer accepts the run time measured outside the booked window; recorded once."""
    now = now or timezone.now()
    link = (
        TradeBooking.objects.select_for_update(of=("self",))
        .select_related("trade", "booking", "resource")
        .get(pk=link.pk)
    )
    trade = link.trade
    if BUYER not in roles_of(trade, by):
        raise PermissionDeniedError(_("Only the buyer can approve an overrun."))
    if link.overrun_approved_at is not None:
        raise DomainError(_("The overrun of this booking is already approved."), code="already")
    usage = BookingUsage.objects.filter(booking_id=link.booking_id).first()
    if usage is None or usage.overrun_run_seconds <= 0:
        raise DomainError(_("No run time was measured outside this booking's window."), code="no_overrun")
    link.overrun_approved_at, link.overrun_approved_by = now, by
    link.save(update_fields=["overrun_approved_at", "overrun_approved_by"])
    hours = (usage.overrun_run_seconds / 3600).quantize(Decimal("0.01"))
    note = _("Overrun of %(hours)s h approved on %(slot)s.") % {"hours": hours, "slot": _slot(link)}
    _usage_event(trade, by, note, now)
    _notify_party(trade, trade.provider_id, kind="trade_overrun_approved", title=note)
    return link


def _provider_member(trade: Trade, by: User) -> None:
    if PROVIDER not in roles_of(trade, by):
        raise PermissionDeniedError(_("Only the provider reports usage for its bookings."))


def submit_trade_job_report(
    *,
    link: TradeBooking,
    by: User,
    run_seconds: int,
    parts: int,
    evidence=None,
    note: str = "",
    now: datetime | None = None,
) -> JobReport:
    """The provider reports a booking's usage for a machine without telemetry. The evidence is
    checked by content like every trade file; a refusal leaves no report and no stored file."""
    now = now or timezone.now()
    trade = link.trade
    _provider_member(trade, by)
    if evidence is not None:
        drawings.check_upload(evidence)
        evidence.name = PurePath(evidence.name).name[:255]
    stored = None
    try:
        with transaction.atomic():
            report = metering.submit_job_report(
                booking=link.booking, user=by, run_seconds=run_seconds, parts=parts, evidence=evidence, note=note,
                now=now,
            )  # fmt: skip
            stored = report.evidence.name or None
            _usage_event(
                trade,
                by,
                _("Job report for %(slot)s: %(hours)s h, %(parts)s parts.")
                % {"slot": _slot(link), "hours": round(run_seconds / 3600, 2), "parts": parts},
                now,
            )
            _notify_party(
                trade,
                trade.buyer_id,
                kind="trade_job_report",
                title=_("Job report to confirm on trade #%(id)s") % {"id": trade.pk},
            )
    except Exception:
        if stored:
            JobReport.evidence.field.storage.delete(stored)
        raise
    return report


def _buyer(trade: Trade, report: JobReport, by: User) -> Organisation:
    if not TradeBooking.objects.filter(trade=trade, booking_id=report.booking_id).exists():
        raise PermissionDeniedError(_("This job report is not about this trade."))
    if BUYER not in roles_of(trade, by):
        raise PermissionDeniedError(_("Only the buyer can confirm or dispute a job report."))
    return trade.buyer


@transaction.atomic
def confirm_trade_job_report(*, trade: Trade, report: JobReport, by: User, now: datetime | None = None) -> JobReport:
    now = now or timezone.now()
    buyer = _buyer(trade, report, by)
    report = metering.confirm_job_report(report=report, user=by, organisation=buyer, now=now)
    _usage_event(trade, by, _("Job report confirmed."), now)
    title = _("Job report confirmed on trade #%(id)s") % {"id": trade.pk}
    _notify_party(trade, trade.provider_id, kind="trade_job_report", title=title)
    return report


@transaction.atomic
def dispute_trade_job_report(
    *, trade: Trade, report: JobReport, by: User, reason: str, now: datetime | None = None
) -> JobReport:
    now = now or timezone.now()
    buyer = _buyer(trade, report, by)
    report = metering.dispute_job_report(report=report, user=by, organisation=buyer, reason=reason, now=now)
    _usage_event(trade, by, _("Job report disputed: %(reason)s") % {"reason": reason.strip()}, now)
    title = _("Job report disputed on trade #%(id)s") % {"id": trade.pk}
    _notify_party(trade, trade.provider_id, kind="trade_job_report", title=title)
    return report
