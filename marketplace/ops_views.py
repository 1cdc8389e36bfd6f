"""The operator console: queues with counts, flagged trades, disputes, suspensions, the
audit trail and the market dashboard. Every view is operator-only (MFA is enforced by
OperatorMFAMiddleware on /ops/); writes go through marketplace.services.ops."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from capacity.models import ProviderProfile, Resource
from capacity.selectors.metering import booking_usage_chart
from marketplace.access import operator_required
from marketplace.charts import bar_chart
from marketplace.errors import DomainError
from marketplace.models import (
    Organisation,
    OrganisationSuspension,
    Trade,
    TradeAttachment,
    TradeFlag,
    TradeMessage,
)
from marketplace.ops_forms import (
    AuditFilterForm,
    DisputeDecisionForm,
    LiftForm,
    NoteForm,
    OrganisationSearchForm,
    SuspensionForm,
)
from marketplace.selectors import dashboard
from marketplace.selectors.audit import audit_trail
from marketplace.services import ops


def _queue_counts() -> dict[str, int]:
    return {
        "pending_providers": ProviderProfile.objects.filter(status=ProviderProfile.Status.PENDING).count(),
        "pending_listings": Resource.objects.filter(status=Resource.Status.PENDING_REVIEW).count(),
        "open_flags": TradeFlag.objects.filter(resolved_at__isnull=True).count(),
        "open_disputes": Trade.objects.filter(status=Trade.Status.DISPUTED).count(),
        "suspended": OrganisationSuspension.objects.filter(lifted_at__isnull=True).count(),
    }


@operator_required
@require_GET
def ops_home(request):
    return render(request, "ops/home.html", _queue_counts())


# --- flagged trades --------------------------------------------------------------------------


@operator_required
@require_GET
def ops_flags(request):
    show_resolved = request.GET.get("show") == "resolved"
    flags = TradeFlag.objects.select_related("trade", "trade__buyer", "trade__provider", "resolved_by")
    flags = flags.filter(resolved_at__isnull=not show_resolved).order_by("-created_at", "-pk")[:200]
    return render(
        request,
        "ops/flags.html",
        {"flags": flags, "show_resolved": show_resolved, "form": NoteForm(), **_queue_counts()},
    )


@operator_required
@require_POST
def ops_flag_resolve(request, flag_id: int):
    flag = get_object_or_404(TradeFlag, pk=flag_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say how the flag was resolved."))
        return redirect("ops_flags")
    try:
        ops.resolve_flag(flag=flag, by=request.user, note=form.cleaned_data["note"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Flag resolved."))
    return redirect("ops_flags")


# --- disputes --------------------------------------------------------------------------------


@operator_required
@require_GET
def ops_disputes(request):
    trades = (
        Trade.objects.filter(status=Trade.Status.DISPUTED)
        .select_related("buyer", "provider", "order")
        .order_by("updated_at", "pk")
    )
    return render(request, "ops/disputes.html", {"trades": trades, **_queue_counts()})


def _dispute_context(trade: Trade) -> dict:
    from billing.models import Invoice

    thread = TradeMessage.objects.filter(trade=trade).select_related("author", "organisation")
    thread = thread.prefetch_related(Prefetch("attachments", queryset=TradeAttachment.objects.order_by("pk")))
    bookings = trade.bookings.select_related("booking", "booking__resource", "resource")
    invoices = Invoice.objects.filter(trade=trade).prefetch_related("credit_notes", "refunds", "bank_refunds")
    return {
        "trade": trade,
        "events": trade.events.select_related("actor"),
        "thread": thread,
        "charts": [booking_usage_chart(link.booking) for link in bookings],
        "order_files": trade.order.files.all(),
        "flags": trade.flags.select_related("resolved_by"),
        "invoices": invoices.order_by("pk"),
        **_queue_counts(),
    }


def _refund_ceiling(trade: Trade) -> tuple[Decimal | None, str, str]:
    """The most a refund may be, its currency, and why it is unknown (usage still open)."""
    from billing.services.payouts import refund_ceiling

    if trade.status != Trade.Status.DISPUTED:
        return None, trade.currency, ""
    try:
        ceiling, currency = refund_ceiling(trade)
    except DomainError as error:
        return None, trade.currency, error.message
    return ceiling, currency, ""


def _decision_page(request, trade: Trade, data=None, status: int = 200):
    ceiling, currency, unknown = _refund_ceiling(trade)
    form = DisputeDecisionForm(data, ceiling=ceiling, currency=currency)
    context = {**_dispute_context(trade), "form": form, "ceiling": ceiling, "ceiling_unknown": unknown}
    return form, context


@operator_required
@require_GET
def ops_dispute(request, trade_id: int):
    trade = get_object_or_404(Trade.objects.select_related("buyer", "provider", "order"), pk=trade_id)
    _form, context = _decision_page(request, trade)
    return render(request, "ops/dispute.html", context)


@operator_required
@require_POST
def ops_dispute_resolve(request, trade_id: int):
    trade = get_object_or_404(Trade.objects.select_related("buyer", "provider", "order"), pk=trade_id)
    if trade.status != Trade.Status.DISPUTED:
        # Resolved meanwhile (another tab, another operator): the page no longer shows the form.
        messages.error(request, _("This trade is no longer in dispute; nothing was changed."))
        return redirect("ops_dispute", trade.pk)
    form, context = _decision_page(request, trade, request.POST)
    if form.is_valid():
        try:
            ops.resolve_dispute(
                trade=trade,
                by=request.user,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
                amount=form.cleaned_data["amount"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Dispute resolved; both parties were notified."))
            return redirect("ops_dispute", trade_id=trade.pk)
    return render(request, "ops/dispute.html", context, status=400)


# --- organisations and suspensions -----------------------------------------------------------


@operator_required
@require_GET
def ops_organisations(request):
    form = OrganisationSearchForm(request.GET or None)
    organisations = Organisation.objects.none()
    if form.is_valid() and form.cleaned_data["q"]:
        organisations = Organisation.objects.filter(name__icontains=form.cleaned_data["q"]).order_by("name")[:50]
    suspended = OrganisationSuspension.objects.filter(lifted_at__isnull=True).select_related(
        "organisation", "suspended_by"
    )
    return render(
        request,
        "ops/organisations.html",
        {"form": form, "organisations": organisations, "suspended": suspended, **_queue_counts()},
    )


def _organisation_context(organisation: Organisation) -> dict:
    return {
        "organisation": organisation,
        "profile": ProviderProfile.objects.filter(organisation=organisation).first(),
        "suspension": ops.open_suspension(organisation),
        "history": organisation.suspensions.select_related("suspended_by", "lifted_by"),
        "suspend_form": SuspensionForm(),
        "lift_form": LiftForm(),
        **_queue_counts(),
    }


@operator_required
@require_GET
def ops_organisation(request, organisation_id: int):
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    return render(request, "ops/organisation.html", _organisation_context(organisation))


@operator_required
@require_POST
def ops_organisation_suspend(request, organisation_id: int):
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    form = SuspensionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason: the organisation will see it."))
    else:
        try:
            ops.suspend_organisation(organisation=organisation, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Organisation suspended."))
    return redirect("ops_organisation", organisation.pk)


@operator_required
@require_POST
def ops_organisation_lift(request, organisation_id: int):
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    form = LiftForm(request.POST)
    if not form.is_valid():
        # A note that cannot be kept (too long) refuses the lift rather than dropping the note.
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("ops_organisation", organisation.pk)
    try:
        ops.lift_suspension(organisation=organisation, by=request.user, reason=form.cleaned_data["reason"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Suspension lifted."))
    return redirect("ops_organisation", organisation.pk)


# --- audit trail and dashboard ---------------------------------------------------------------


@operator_required
@require_GET
def ops_audit(request):
    form = AuditFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "who": data["who"],
            "subject_type": data["subject_type"],
            "subject_id": data["subject_id"],
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "text": data["q"],
        }
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    result = audit_trail(**filters, page=page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "ops/audit.html", {"form": form, "result": result, "query": query.urlencode()})


@operator_required
@require_GET
def ops_dashboard(request):
    now = timezone.now()
    per_day = dashboard.orders_per_day(now=now)
    weeks = dashboard.weekly_volume(now=now)
    context = {
        "per_day": per_day,
        "per_day_chart": bar_chart([(f"{day:%m-%d}", n) for day, n in per_day]),
        "funnel": dashboard.order_funnel(now=now),
        "weeks": weeks,
        "volume_chart": bar_chart([(f"{week:%m-%d}", volume) for week, volume, _fee in weeks]),
        "commission_chart": bar_chart([(f"{week:%m-%d}", fee) for week, _volume, fee in weeks]),
        "by_category": dashboard.utilisation_by_category(now=now),
        "by_province": dashboard.utilisation_by_province(now=now),
        "unmet": dashboard.unmet_demand(),
        "currency": dashboard.default_currency(),
    }
    return render(request, "ops/dashboard.html", context)
