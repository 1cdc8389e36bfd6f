"""Device pages under /workspace/devices/ and the booking usage page.

Members of the provider see devices, their health and usage; only owners create devices, see a
secret (once, in the response that created or rotated it), rotate, revoke or re-bind.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from capacity.forms_metering import BindResourcesForm, DeviceForm
from capacity.models import Booking, Device
from capacity.selectors import metering as selectors
from capacity.services import metering as services
from marketplace.access import organisation_required, owner_required
from marketplace.errors import DomainError

HEALTH_WINDOW = timedelta(hours=24)
DETAIL_GAPS_WINDOW = timedelta(days=7)


def _require_provider(request) -> None:
    if not request.organisation.is_provider:
        raise PermissionDenied


def _device(request, device_id: int) -> Device:
    _require_provider(request)
    return get_object_or_404(Device, pk=device_id, provider=request.organisation)


def _secret_response(request, device: Device, secret: str):
    response = render(request, "capacity/devices/secret.html", {"device": device, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@organisation_required
def device_list(request):
    _require_provider(request)
    now = timezone.now()
    devices = list(Device.objects.filter(provider=request.organisation).prefetch_related("resources"))
    gaps = selectors.device_gaps(devices, since=now - HEALTH_WINDOW, now=now)
    rows = [{"device": d, "gaps": gaps[d.pk]} for d in devices]
    return render(request, "capacity/devices/list.html", {"rows": rows})


@owner_required
def device_create(request):
    _require_provider(request)
    form = DeviceForm(request.POST or None, organisation=request.organisation)
    if request.method == "POST" and form.is_valid():
        try:
            device, secret = services.register_device(
                organisation=request.organisation,
                user=request.user,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                resources=form.cleaned_data["resources"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return _secret_response(request, device, secret)
    return render(request, "capacity/devices/create.html", {"form": form})


@organisation_required
def device_detail(request, device_id: int):
    device = _device(request, device_id)
    now = timezone.now()
    gaps = selectors.device_gaps([device], since=now - DETAIL_GAPS_WINDOW, now=now)[device.pk]
    resources = list(device.resources.select_related("provider"))
    context = {
        "device": device,
        "gaps": gaps,
        "readings": selectors.recent_readings(device),
        "resources": resources,
        "utilisation": [selectors.resource_daily_utilisation(r, now=now) for r in resources],
        "bind_form": BindResourcesForm(organisation=request.organisation, initial={"resources": resources}),
    }
    return render(request, "capacity/devices/detail.html", context)


@owner_required
@require_POST
def device_rotate(request, device_id: int):
    device = _device(request, device_id)
    try:
        secret = services.rotate_device_secret(device=device, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("capacity:device_detail", device_id=device.pk)
    device.refresh_from_db()
    return _secret_response(request, device, secret)


@owner_required
@require_POST
def device_revoke(request, device_id: int):
    device = _device(request, device_id)
    try:
        services.revoke_device(device=device, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Device %(name)s revoked: it can no longer send readings.") % {"name": device.name})
    return redirect("capacity:device_detail", device_id=device.pk)


@owner_required
def device_resources(request, device_id: int):
    device = _device(request, device_id)
    form = BindResourcesForm(
        request.POST or None, organisation=request.organisation, initial={"resources": list(device.resources.all())}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.bind_device_resources(device=device, user=request.user, resources=form.cleaned_data["resources"])
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Resources saved."))
            return redirect("capacity:device_detail", device_id=device.pk)
    return render(request, "capacity/devices/resources.html", {"device": device, "form": form})


@organisation_required
def booking_usage(request, booking_id: int):
    """Measured against booked time for one booking of the provider's (the trade page reuses the fragment)."""
    booking = get_object_or_404(
        Booking.objects.select_related("resource"), pk=booking_id, resource__provider=request.organisation
    )
    return render(request, "capacity/usage/booking.html", {"chart": selectors.booking_usage_chart(booking)})
