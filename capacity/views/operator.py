"""Minimal operator queues: provider verification and listing review (the full console comes later)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from capacity.forms import ReasonForm
from capacity.models import ProviderProfile, Resource, ReviewEvent
from capacity.services import providers, resources
from capacity.validators import validate_credit_code
from capacity.views.workspace import serve_private_file
from marketplace.access import operator_required
from marketplace.errors import DomainError


def _counts() -> dict[str, int]:
    return {
        "pending_providers": ProviderProfile.objects.filter(status=ProviderProfile.Status.PENDING).count(),
        "pending_listings": Resource.objects.filter(status=Resource.Status.PENDING_REVIEW).count(),
    }


@operator_required
@require_GET
def ops_file(request, kind: str, file_id: int):
    return serve_private_file(kind=kind, file_id=file_id, organisation_id=None)


@operator_required
@require_GET
def ops_providers(request):
    pending = (
        ProviderProfile.objects.filter(status=ProviderProfile.Status.PENDING)
        .select_related("organisation")
        .order_by("submitted_at", "pk")
    )
    return render(request, "capacity/ops/providers.html", {"profiles": pending, **_counts()})


def _credit_code_check(code: str | None) -> str:
    try:
        validate_credit_code(code or "")
    except ValidationError as error:
        return error.messages[0]
    return ""


@operator_required
def ops_provider(request, profile_id: int):
    profile = get_object_or_404(ProviderProfile.objects.select_related("organisation"), pk=profile_id)
    today = timezone.localdate()
    certifications = [(c, c.is_valid_on(today)) for c in profile.certifications.all()]
    events = ReviewEvent.objects.filter(
        subject_type=ReviewEvent.SubjectType.PROVIDER, subject_id=profile.pk
    ).select_related("actor")
    return render(
        request,
        "capacity/ops/provider.html",
        {
            "profile": profile,
            "credit_code_problem": _credit_code_check(profile.credit_code),
            "certifications": certifications,
            "photos": profile.photos.all(),
            "events": events,
            "reason_form": ReasonForm(),
            **_counts(),
        },
    )


def _act(request, service, done: str, redirect_to: str, *, needs_reason: bool, **subject):
    reason_kwargs = {}
    if needs_reason:
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give a reason: the provider will see it."))
            return None
        reason_kwargs["reason"] = form.cleaned_data["reason"]
    try:
        service(actor=request.user, **subject, **reason_kwargs)
    except DomainError as error:
        messages.error(request, error.message)
        return None
    messages.success(request, done)
    return redirect(redirect_to)


@operator_required
@require_POST
def ops_provider_approve(request, profile_id: int):
    profile = get_object_or_404(ProviderProfile, pk=profile_id)
    done = _act(
        request,
        providers.approve_provider,
        _("Provider verified."),
        "capacity:ops_providers",
        needs_reason=False,
        profile=profile,
    )
    return done or redirect("capacity:ops_provider", profile.pk)


@operator_required
@require_POST
def ops_provider_reject(request, profile_id: int):
    profile = get_object_or_404(ProviderProfile, pk=profile_id)
    done = _act(
        request,
        providers.reject_provider,
        _("Provider rejected."),
        "capacity:ops_providers",
        needs_reason=True,
        profile=profile,
    )
    return done or redirect("capacity:ops_provider", profile.pk)


@operator_required
@require_POST
def ops_provider_suspend(request, profile_id: int):
    profile = get_object_or_404(ProviderProfile, pk=profile_id)
    _act(
        request,
        providers.suspend_provider,
        _("Provider suspended."),
        "capacity:ops_providers",
        needs_reason=True,
        profile=profile,
    )
    return redirect("capacity:ops_provider", profile.pk)


@operator_required
@require_POST
def ops_provider_reinstate(request, profile_id: int):
    profile = get_object_or_404(ProviderProfile, pk=profile_id)
    _act(
        request,
        providers.reinstate_provider,
        _("Provider reinstated."),
        "capacity:ops_providers",
        needs_reason=False,
        profile=profile,
    )
    return redirect("capacity:ops_provider", profile.pk)


@operator_required
@require_GET
def ops_listings(request):
    pending = (
        Resource.objects.filter(status=Resource.Status.PENDING_REVIEW)
        .select_related("category", "provider", "provider__provider_profile")
        .order_by("updated_at", "pk")
    )
    return render(request, "capacity/ops/listings.html", {"resources": pending, **_counts()})


@operator_required
def ops_listing(request, resource_id: int):
    resource = get_object_or_404(Resource.objects.select_related("category", "provider", "measurand"), pk=resource_id)
    current = resources.buyer_snapshot(resource)
    approved = resources.last_approved_snapshot(resource)
    changes = resources.diff_snapshots(approved, current) if approved is not None else None
    profile = ProviderProfile.objects.filter(organisation=resource.provider).first()
    events = ReviewEvent.objects.filter(
        subject_type=ReviewEvent.SubjectType.RESOURCE, subject_id=resource.pk
    ).select_related("actor")
    return render(
        request,
        "capacity/ops/listing.html",
        {
            "resource": resource,
            "profile": profile,
            "snapshot": current,
            "changes": changes,
            "photos": resource.photos.all(),
            "events": events,
            "reason_form": ReasonForm(),
            **_counts(),
        },
    )


@operator_required
@require_POST
def ops_listing_approve(request, resource_id: int):
    resource = get_object_or_404(Resource, pk=resource_id)
    done = _act(
        request,
        resources.approve_listing,
        _("Listing approved."),
        "capacity:ops_listings",
        needs_reason=False,
        resource=resource,
    )
    return done or redirect("capacity:ops_listing", resource.pk)


@operator_required
@require_POST
def ops_listing_reject(request, resource_id: int):
    resource = get_object_or_404(Resource, pk=resource_id)
    done = _act(
        request,
        resources.reject_listing,
        _("Listing sent back to the provider."),
        "capacity:ops_listings",
        needs_reason=True,
        resource=resource,
    )
    return done or redirect("capacity:ops_listing", resource.pk)
