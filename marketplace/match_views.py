"""Match pages: the buyer's ranked matches of an order (run, poll, compare), the provider's list
of orders that fit its machines, and the owner's choice of how to hear about them.

The matches pages admit the buyer's organisation and operators only; anyone else (a provider
the order matched included) gets a 404. Runs are queued here and executed by a Celery task
enqueued on commit (eagerly in development and tests).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from marketplace.access import organisation_required, owner_required, provider_required
from marketplace.errors import DomainError
from marketplace.matching.candidates import CONSTRAINT_LABELS
from marketplace.models import MatchNotificationPreference, MatchRun
from marketplace.order_views import _access, _org_zone, _signed_in
from marketplace.selectors import matching as selectors
from marketplace.selectors.orders import OrderAccess
from marketplace.services import matching as services
from marketplace.services.quotes import rfq_max
from marketplace.services.trades import AWARDABLE

TERM_LABELS = {
    "price": gettext_lazy("price"),
    "finish": gettext_lazy("finish time"),
    "distance": gettext_lazy("distance"),
    "reputation": gettext_lazy("reputation"),
    "idle": gettext_lazy("idle machine"),
}
METHOD_LABELS = {
    "milp": gettext_lazy("optimised (MILP solver)"),
    "greedy": gettext_lazy("greedy (cheapest parts first)"),
}


def _match_access(request, order_id: int) -> OrderAccess:
    """The buyer's organisation and operators; everybody else gets a 404."""
    access = _access(request, order_id)
    if not (access.is_buyer or access.is_operator):
        raise Http404
    return access


def _results_context(access: OrderAccess, run: MatchRun | None) -> dict:
    order = access.order
    done = run if run is not None and run.status == MatchRun.Status.DONE else selectors.latest_done_run(order)
    context = {
        "access": access,
        "order": order,
        "run": run,
        "done_run": done,
        "cards": [],
        "split": None,
        "no_match": None,
        "funnel": [],
        "run_error": selectors.language_text(run.error) if run is not None and run.error else "",
        "max_compare": selectors.MAX_COMPARE,
        "term_labels": TERM_LABELS,
        "zone": _org_zone(order),
        # Booking and quotes from the matches: the buyer's organisation, while the order is open.
        "can_book": access.is_buyer and order.status in AWARDABLE,
        "rfq_max": rfq_max(),
    }
    if done is not None:
        context["cards"] = selectors.match_cards(done)
        context["split"] = selectors.split_view(done)
        if done.split_plan:
            context["split_method"] = METHOD_LABELS.get(done.split_plan["method"], done.split_plan["method"])
        if done.no_match:
            context["no_match"] = selectors.language_text(done.no_match.get("message"))
            context["funnel"] = [
                (CONSTRAINT_LABELS.get(key, key), count) for key, count in done.no_match.get("steps", [])
            ]
    return context


@_signed_in
@require_GET
def order_matches(request, order_id: int):
    access = _match_access(request, order_id)
    run = selectors.latest_run(access.order)
    context = _results_context(access, run)
    context["can_run"] = access.is_buyer and access.order.status in services.MATCHABLE
    return render(request, "orders/matches.html", context)


@organisation_required
@require_POST
def order_match_run(request, order_id: int):
    """Queue a new run; the task runs once the run is committed."""
    from marketplace.tasks import run_match_run

    access = _match_access(request, order_id)
    if not access.is_buyer:
        raise Http404
    try:
        with transaction.atomic():
            run = services.queue_match_run(order=access.order, by=request.user)
            transaction.on_commit(lambda: run_match_run.delay(run.pk))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Matching started."))
    return redirect("order_matches", order_id=access.order.pk)


@_signed_in
@require_GET
def order_match_run_status(request, order_id: int, run_id: int):
    """htmx poll: the progress while the run is queued or running, the results once it ends."""
    access = _match_access(request, order_id)
    run = MatchRun.objects.filter(order=access.order, pk=run_id).first()
    if run is None:
        raise Http404
    return render(request, "orders/matches_results.html", _results_context(access, run))


@_signed_in
@require_GET
def order_match_compare(request, order_id: int):
    access = _match_access(request, order_id)
    order = access.order
    run = selectors.latest_done_run(order)
    raw = request.GET.getlist("m")
    error, cards = "", []
    try:
        ids = list(dict.fromkeys(int(value) for value in raw))
    except ValueError:
        ids, error = [], _("Choose matches from the list to compare.")
    if not error:
        if len(ids) > selectors.MAX_COMPARE:
            error = _("You can compare at most %(count)s matches at a time; you chose %(chosen)s.") % {
                "count": selectors.MAX_COMPARE,
                "chosen": len(ids),
            }
        elif len(ids) < 2:
            error = _("Choose two or three matches to compare.")
        elif run is None:
            error = _("This order has no matches yet.")
        else:
            cards = selectors.match_cards(run, selectors.compare_matches(run=run, ids=ids))
            if len(cards) != len(ids):
                error = _("Some of the chosen matches are no longer current. Choose again from the latest matches.")
                cards = []
    context = {
        "access": access,
        "order": order,
        "cards": cards,
        "error": error,
        "term_labels": TERM_LABELS,
        "zone": _org_zone(order),
    }
    return render(request, "orders/matches_compare.html", context, status=400 if error else 200)


@provider_required
@require_GET
def matched_order_list(request):
    rows = selectors.matched_orders(organisation=request.organisation)
    return render(request, "orders/matched_list.html", {"rows": rows})


class MatchNotificationForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("Tell us about orders that match our machines"),
        choices=MatchNotificationPreference.Mode.choices,
        widget=forms.RadioSelect,
    )


@owner_required
def match_notification_settings(request):
    current = services.match_mode(request.organisation.pk)
    form = MatchNotificationForm(request.POST or None, initial={"mode": current})
    if request.method == "POST" and form.is_valid():
        try:
            services.set_match_notification_mode(
                organisation=request.organisation, by=request.user, mode=form.cleaned_data["mode"]
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Notification settings saved."))
            return redirect("match_notification_settings")
    return render(request, "organisations/match_notifications.html", {"form": form})
