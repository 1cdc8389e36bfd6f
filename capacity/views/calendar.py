"""The availability calendar of one resource and the utilisation charts (provider workspace).

Every view fetches the resource *with* the active organisation: another organisation's
resource is a 404. Times are shown and entered in the provider's time zone.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from capacity.availability_forms import AvailabilityExceptionForm, WeeklyPatternForm
from capacity.models import AvailabilityException, Resource
from capacity.selectors.availability import WeekUtilisation, resource_timeline, week_start, weekly_utilisation
from capacity.services.availability import (
    PATTERN_PRESETS,
    SLOT_MINUTES,
    SLOTS_PER_DAY,
    add_availability_exception,
    blocks_from_cells,
    cells_from_rules,
    delete_availability_exception,
    set_weekly_pattern,
)
from marketplace.access import organisation_required, provider_required
from marketplace.errors import DomainError

TIMELINE_DAYS = 14
# Utilisation: the current ISO week counts among the last eight; then five weeks ahead.
WEEKS_BACK = 7
WEEKS_AHEAD = 5


def _resource_for(request, resource_id: int) -> Resource:
    return get_object_or_404(Resource.objects.select_related("provider"), pk=resource_id, provider=request.organisation)


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _hours(minutes: int) -> str:
    """``13.5`` for 810 minutes: no trailing zeros, at most two decimals."""
    return format((Decimal(minutes) / 60).quantize(Decimal("0.01")).normalize(), "f")


def _preset_labels() -> list[tuple[str, str]]:
    labels = {
        "weeknights": _("Weeknights 18:00–08:00"),
        "weekends": _("Weekends all day"),
        "always": _("Around the clock"),
        "clear": _("Clear"),
    }
    return [(key, labels[key]) for key in PATTERN_PRESETS]


def _pattern_context(resource: Resource) -> dict:
    rules = list(resource.availability_rules.values_list("weekday", "start_minute", "end_minute"))
    cells = cells_from_rules(rules)
    rows = []
    for slot in range(SLOTS_PER_DAY):
        start, end = slot * SLOT_MINUTES, (slot + 1) * SLOT_MINUTES
        rows.append(
            {
                "slot": slot,
                "label": clock(start),
                "on_the_hour": start % 60 == 0,
                "cells": [
                    {
                        "value": f"{weekday}-{slot}",
                        "checked": (weekday, slot) in cells,
                        "label": f"{WEEKDAYS[weekday]} {clock(start)}–{clock(end)}",
                    }
                    for weekday in range(7)
                ],
            }
        )
    days = []
    for weekday in range(7):
        ranges = [f"{clock(s)}–{clock(e)}" for d, s, e in rules if d == weekday]
        days.append({"name": WEEKDAYS[weekday], "abbr": WEEKDAYS_ABBR[weekday], "ranges": ranges})
    return {
        "rows": rows,
        "days": days,
        "weekly_idle_hours": _hours(sum(e - s for _d, s, e in rules)),
        "off_grid": any(s % SLOT_MINUTES or e % SLOT_MINUTES for _d, s, e in rules),
        "presets": _preset_labels(),
    }


def _timeline_context(resource: Resource, tz: ZoneInfo) -> dict:
    today = timezone.now().astimezone(tz).date()
    return {
        "timeline": resource_timeline(resource, first_day=today, days=TIMELINE_DAYS),
        "timeline_hours": range(0, 25, 6),
    }


def _render_calendar(request, resource: Resource, tz: ZoneInfo, *, status: int = 200, fragment: bool = False, **extra):
    now = timezone.now()
    context = {
        "resource": resource,
        "time_zone": resource.provider.time_zone,
        "exceptions": resource.availability_exceptions.filter(span__endswith__gt=now).order_by("span"),
        "exception_form": AvailabilityExceptionForm(),
        **_pattern_context(resource),
        **_timeline_context(resource, tz),
        **extra,
    }
    template = "capacity/_calendar_update.html" if fragment else "capacity/calendar.html"
    return render(request, template, context, status=status)


@organisation_required
@require_http_methods(["GET", "POST"])
def resource_calendar(request, resource_id: int):
    """The weekly grid (GET), saving a painted pattern or a preset (POST; htmx gets the fragment)."""
    resource = _resource_for(request, resource_id)
    tz = ZoneInfo(resource.provider.time_zone)
    with timezone.override(tz):
        fragment = bool(request.htmx)
        if request.method != "POST":
            return _render_calendar(request, resource, tz)
        form = WeeklyPatternForm(request.POST)
        if not form.is_valid():
            errors = [error for field_errors in form.errors.values() for error in field_errors]
            return _render_calendar(request, resource, tz, status=400, fragment=fragment, pattern_errors=errors)
        try:
            set_weekly_pattern(resource=resource, blocks=blocks_from_cells(form.cells()))
        except DomainError as error:
            errors = [error.message]
            return _render_calendar(request, resource, tz, status=400, fragment=fragment, pattern_errors=errors)
        saved = _("Weekly idle hours saved.")
        if fragment:
            return _render_calendar(request, resource, tz, fragment=True, pattern_saved=saved)
        messages.success(request, saved)
        return redirect("capacity:resource_calendar", resource_id=resource.pk)


@organisation_required
@require_POST
def resource_exception_add(request, resource_id: int):
    resource = _resource_for(request, resource_id)
    tz = ZoneInfo(resource.provider.time_zone)
    with timezone.override(tz):
        form = AvailabilityExceptionForm(request.POST)
        if form.is_valid():
            try:
                add_availability_exception(
                    resource=resource,
                    kind=form.cleaned_data["kind"],
                    start=form.cleaned_data["start"],
                    end=form.cleaned_data["end"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Exception added; the idle windows are updated."))
                return redirect(reverse("capacity:resource_calendar", args=[resource.pk]) + "#exceptions")
        return _render_calendar(request, resource, tz, status=400, exception_form=form)


@organisation_required
@require_POST
def resource_exception_delete(request, resource_id: int, exception_id: int):
    resource = _resource_for(request, resource_id)
    exception = get_object_or_404(AvailabilityException, pk=exception_id, resource=resource)
    try:
        delete_availability_exception(exception=exception)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Exception removed; the idle windows are updated."))
    return redirect(reverse("capacity:resource_calendar", args=[resource.pk]) + "#exceptions")


# --- Utilisation ---------------------------------------------------------------------------

CHART_HEIGHT = 140
GROUP_WIDTH = 44
BAR_WIDTH = 16


def _chart(weeks: list[WeekUtilisation], current: date) -> dict:
    """Bar geometry for one resource's weeks (SVG user units; bars grow up from the baseline)."""
    top = max([w.idle_hours for w in weeks] + [w.booked_hours for w in weeks] + [Decimal(1)])

    def height(hours: Decimal) -> int:
        return round(hours / top * CHART_HEIGHT)

    groups = []
    for index, week in enumerate(weeks):
        x = index * GROUP_WIDTH + 4
        idle, booked = height(week.idle_hours), height(week.booked_hours)
        groups.append(
            {
                "week": week,
                "x_idle": x,
                "x_booked": x + BAR_WIDTH + 2,
                "x_label": x + BAR_WIDTH + 1,
                "idle_height": idle,
                "idle_y": CHART_HEIGHT - idle,
                "booked_height": booked,
                "booked_y": CHART_HEIGHT - booked,
                "is_current": week.week_start == current,
                "is_future": week.week_start > current,
            }
        )
    totals = {
        "idle_hours": sum((w.idle_hours for w in weeks), Decimal(0)),
        "booked_hours": sum((w.booked_hours for w in weeks), Decimal(0)),
    }
    capacity = weeks[0].capacity if weeks else 1
    available = totals["idle_hours"] * capacity
    totals["percent"] = round(totals["booked_hours"] * 100 / available) if available else None
    return {
        "groups": groups,
        "top": top,
        "width": len(weeks) * GROUP_WIDTH + 8,
        "height": CHART_HEIGHT,
        "baseline": CHART_HEIGHT,
        "totals": totals,
    }


def _utilisation_context(organisation, resources: list[Resource], resource: Resource | None = None) -> dict:
    tz = ZoneInfo(organisation.time_zone)
    current = week_start(timezone.now(), tz)
    first = current - timedelta(weeks=WEEKS_BACK)
    data = weekly_utilisation(
        organisation=organisation, first_week=first, weeks=WEEKS_BACK + 1 + WEEKS_AHEAD, resource=resource
    )
    charts = [{"resource": r, **_chart(data.get(r.pk, []), current)} for r in resources]
    return {
        "charts": charts,
        "first_week": first,
        "last_week": current + timedelta(weeks=WEEKS_AHEAD),
        "time_zone": organisation.time_zone,
    }


@provider_required
def utilisation(request):
    """Idle vs booked hours per week for every resource of the active provider organisation."""
    resources = list(Resource.objects.filter(provider=request.organisation).order_by("name", "pk"))
    context = _utilisation_context(request.organisation, resources)
    return render(request, "capacity/utilisation.html", {**context, "resource": None})


@organisation_required
def resource_utilisation(request, resource_id: int):
    resource = _resource_for(request, resource_id)
    context = _utilisation_context(request.organisation, [resource], resource=resource)
    return render(request, "capacity/utilisation.html", {**context, "resource": resource})
