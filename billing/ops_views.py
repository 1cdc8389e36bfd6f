"""Operator pages of billing beyond payments and payouts: the daily Stripe reconciliation (runs,
a run's differences, explaining one) and every refund with filters. Operator-only (with MFA,
enforced on /ops/ by OperatorMFAMiddleware); writes go through billing.services."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import selectors, stripe_gateway
from billing.forms import ExplanationForm, RefundFilterForm
from billing.models import ReconciliationItem, ReconciliationRun
from billing.services import reconciliation
from marketplace.access import operator_required
from marketplace.errors import DomainError


@operator_required
@require_http_methods(["GET", "POST"])
def ops_reconciliation(request):
    """The list of daily runs; POST a day to reconcile it (again) in the background."""
    if request.method == "POST":
        try:
            day = date.fromisoformat(request.POST.get("day", ""))
        except ValueError:
            messages.error(request, _("Give the day to reconcile as YYYY-MM-DD."))
            return redirect("billing:ops_reconciliation")
        if day >= timezone.localdate():
            messages.error(request, _("Only days that are over can be reconciled."))
            return redirect("billing:ops_reconciliation")
        from billing.tasks import reconcile_stripe

        transaction.on_commit(lambda: reconcile_stripe.delay(day.isoformat()))
        messages.success(request, _("Reconciling %(day)s; reload in a minute.") % {"day": day.isoformat()})
        return redirect("billing:ops_reconciliation")
    context = {
        "runs": selectors.reconciliation_runs(),
        "stripe_on": stripe_gateway.is_configured(),
        "yesterday": timezone.localdate() - timedelta(days=1),
    }
    return render(request, "billing/ops_reconciliation.html", context)


@operator_required
@require_GET
def ops_reconciliation_run(request, reconciliation_id: int):
    run = get_object_or_404(ReconciliationRun, pk=reconciliation_id)
    items = list(run.items.select_related("explained_by").order_by("kind", "ref"))
    context = {
        "run": run,
        "differences": [i for i in items if i.is_difference],
        "matched": [i for i in items if not i.is_difference],
        "totals": sorted(run.totals.items()),
        "form": ExplanationForm(),
    }
    return render(request, "billing/ops_reconciliation_run.html", context)


@operator_required
@require_POST
def ops_reconciliation_explain(request, item_id: int):
    item = get_object_or_404(ReconciliationItem, pk=item_id)
    form = ExplanationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the difference is in order."))
        return redirect("billing:ops_reconciliation_run", reconciliation_id=item.run_id)
    try:
        reconciliation.explain_difference(item=item, by=request.user, note=form.cleaned_data["note"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Explanation recorded."))
    return redirect("billing:ops_reconciliation_run", reconciliation_id=item.run_id)


@operator_required
@require_GET
def ops_refunds(request):
    form = RefundFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    refunds = selectors.all_refunds(
        query=(filters.get("q") or "").strip(),
        since=filters.get("since"),
        until=filters.get("until"),
        kind=filters.get("kind") or "",
        currency=filters.get("currency") or "",
    )[:200]
    return render(request, "billing/ops_refunds.html", {"form": form, "refunds": list(refunds)})
