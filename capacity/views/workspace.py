"""The provider workspace: profile, certificates, resources, photos, import and export.

Every view acts for the active organisation, which must be a provider; objects are fetched
with that organisation (another organisation's object is a 404).
"""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from capacity.forms import CertificationForm, ImportForm, PhotoForm, ProviderProfileForm, ResourceForm, city_choices
from capacity.models import Certification, ProviderPhoto, ProviderProfile, Resource, ResourcePhoto
from capacity.services import imports, providers, resources
from capacity.uploads import MAX_PHOTOS, sniff
from marketplace.access import owner_required, provider_required
from marketplace.errors import DomainError

# --- Private files -------------------------------------------------------------------------

FILE_KINDS = {
    # kind: (model, file attribute, path to the owning organisation's id)
    "licence": (ProviderProfile, "business_licence", "organisation_id"),
    "provider-photo": (ProviderPhoto, "image", "profile__organisation_id"),
    "certificate": (Certification, "document", "profile__organisation_id"),
    "resource-photo": (ResourcePhoto, "image", "resource__provider_id"),
}


def serve_private_file(*, kind: str, file_id: int, organisation_id: int | None):
    """Stream an uploaded file; ``organisation_id`` None means an operator (sees every file)."""
    if kind not in FILE_KINDS:
        raise Http404
    model, attribute, owner = FILE_KINDS[kind]
    filters = {"pk": file_id}
    if organisation_id is not None:
        filters[owner] = organisation_id
    obj = get_object_or_404(model, **filters)
    field = getattr(obj, attribute)
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    head = handle.read(16)
    handle.seek(0)
    content_type = sniff(head) or mimetypes.guess_type(field.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    return response


@provider_required
@require_GET
def workspace_file(request, kind: str, file_id: int):
    return serve_private_file(kind=kind, file_id=file_id, organisation_id=request.organisation.pk)


# --- Provider profile ----------------------------------------------------------------------


def _profile(request) -> ProviderProfile:
    return providers.get_or_create_provider_profile(organisation=request.organisation)


@provider_required
def workspace_profile(request):
    profile = _profile(request)
    frozen = providers.profile_is_frozen(profile)
    form = ProviderProfileForm(request.POST or None, request.FILES or None, instance=profile, frozen=frozen)
    if request.method == "POST" and form.is_valid():
        try:
            providers.update_provider_profile(
                profile=profile,
                fields=form.profile_fields(),
                business_licence=form.cleaned_data.get("business_licence_upload"),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("capacity:workspace_profile")
    if request.method == "POST":
        profile.refresh_from_db()
    return render(
        request,
        "capacity/workspace/profile.html",
        {
            "profile": profile,
            "form": form,
            "frozen": frozen,
            "photo_form": PhotoForm(),
            "photos": profile.photos.all(),
            "max_photos": MAX_PHOTOS,
            "certifications": profile.certifications.all(),
            "missing": providers.missing_for_verification(profile),
            "can_submit": profile.status in (ProviderProfile.Status.UNVERIFIED, ProviderProfile.Status.REJECTED),
        },
    )


@provider_required
@require_GET
def workspace_profile_cities(request):
    """htmx: the <option>s of the chosen province's cities."""
    return render(
        request,
        "capacity/workspace/_city_options.html",
        {"choices": city_choices(request.GET.get("province", ""))},
    )


@owner_required
@require_POST
def workspace_profile_submit(request):
    if not request.organisation.is_provider:
        raise PermissionDenied
    profile = _profile(request)
    try:
        providers.submit_provider_for_verification(profile=profile, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Submitted for verification. We will let you know the result."))
    return redirect("capacity:workspace_profile")


@provider_required
@require_POST
def workspace_profile_photo_add(request):
    profile = _profile(request)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            providers.add_provider_photo(
                profile=profile, image=form.cleaned_data["image"], caption=form.cleaned_data["caption"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Photo added."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("capacity:workspace_profile")


@provider_required
@require_POST
def workspace_profile_photo_delete(request, photo_id: int):
    photo = get_object_or_404(ProviderPhoto, pk=photo_id, profile__organisation=request.organisation)
    providers.delete_provider_photo(photo=photo)
    messages.success(request, _("Photo removed."))
    return redirect("capacity:workspace_profile")


@provider_required
def workspace_certification_create(request):
    return _certification_form(request, None)


@provider_required
def workspace_certification_edit(request, certification_id: int):
    certification = get_object_or_404(Certification, pk=certification_id, profile__organisation=request.organisation)
    return _certification_form(request, certification)


def _certification_form(request, certification: Certification | None):
    profile = _profile(request)
    form = CertificationForm(request.POST or None, request.FILES or None, instance=certification)
    if request.method == "POST" and form.is_valid():
        document = form.cleaned_data.get("document_upload")
        try:
            if certification is None:
                providers.create_certification(profile=profile, fields=form.certification_fields(), document=document)
            else:
                providers.update_certification(
                    certification=certification, fields=form.certification_fields(), document=document
                )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Certificate saved."))
            return redirect("capacity:workspace_profile")
    return render(request, "capacity/workspace/certification_form.html", {"form": form, "certification": certification})


@provider_required
@require_POST
def workspace_certification_delete(request, certification_id: int):
    certification = get_object_or_404(Certification, pk=certification_id, profile__organisation=request.organisation)
    providers.delete_certification(certification=certification)
    messages.success(request, _("Certificate removed."))
    return redirect("capacity:workspace_profile")


# --- Resources -----------------------------------------------------------------------------


def _resource(request, resource_id: int) -> Resource:
    return get_object_or_404(
        Resource.objects.select_related("category", "category__parent"), pk=resource_id, provider=request.organisation
    )


@provider_required
def workspace_resources(request):
    mine = Resource.objects.filter(provider=request.organisation)
    counts = dict(mine.values_list("status").annotate(n=Count("pk")).order_by())
    status = request.GET.get("status", "")
    if status not in Resource.Status.values:
        status = ""
    shown = mine.select_related("category").order_by("name", "pk")
    if status:
        shown = shown.filter(status=status)
    tabs = [(value, label, counts.get(value, 0)) for value, label in Resource.Status.choices]
    return render(
        request,
        "capacity/workspace/resources.html",
        {
            "resources": shown,
            "tabs": tabs,
            "status": status,
            "total": sum(counts.values()),
            "profile": ProviderProfile.objects.filter(organisation=request.organisation).first(),
        },
    )


@provider_required
def workspace_resource_create(request):
    form = ResourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            resource = resources.create_resource(
                provider=request.organisation,
                actor=request.user,
                fields=form.resource_fields(),
                materials=form.materials_list(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Draft saved. Add photos, then submit it for review."))
            return redirect("capacity:workspace_resource_edit", resource.pk)
    return render(request, "capacity/workspace/resource_form.html", {"form": form, "resource": None})


@provider_required
def workspace_resource_edit(request, resource_id: int):
    resource = _resource(request, resource_id)
    form = ResourceForm(request.POST or None, resource=resource)
    if request.method == "POST" and form.is_valid():
        was = resource.status
        try:
            resource = resources.update_resource(
                resource=resource, actor=request.user, fields=form.resource_fields(), materials=form.materials_list()
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            if was != resource.status:
                messages.warning(request, _("Saved. The changes need a new review before buyers see them."))
            else:
                messages.success(request, _("Saved."))
            return redirect("capacity:workspace_resource_edit", resource.pk)
    return render(
        request,
        "capacity/workspace/resource_form.html",
        {
            "form": form,
            "resource": resource,
            "photos": resource.photos.all(),
            "photo_form": PhotoForm(),
            "max_photos": MAX_PHOTOS,
            "actions": _allowed_actions(resource, request.membership.is_owner),
        },
    )


def _allowed_actions(resource: Resource, is_owner: bool) -> list[tuple[str, str, str]]:
    """(route, label, button class) for the state changes the resource allows now."""
    actions = []
    allowed = resources.RESOURCE_TRANSITIONS[resource.status]
    if resource.status == Resource.Status.DRAFT:
        actions.append(("capacity:workspace_resource_submit", _("Submit for review"), ""))
    if resource.status == Resource.Status.LISTED:
        actions.append(("capacity:workspace_resource_pause", _("Pause"), "secondary"))
    if resource.status == Resource.Status.PAUSED:
        actions.append(("capacity:workspace_resource_resume", _("Resume"), ""))
    if Resource.Status.RETIRED in allowed and is_owner:
        actions.append(("capacity:workspace_resource_retire", _("Retire"), "danger"))
    return actions


@provider_required
@require_GET
def workspace_resource_spec_fields(request):
    """htmx: the spec fieldset for the chosen category."""
    form = ResourceForm(initial={"category": request.GET.get("category", "")})
    return render(request, "capacity/workspace/_spec_fields.html", {"form": form})


def _transition(request, resource_id: int, service, done: str):
    resource = _resource(request, resource_id)
    try:
        service(resource=resource, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("capacity:workspace_resource_edit", resource.pk)


@provider_required
@require_POST
def workspace_resource_submit(request, resource_id: int):
    return _transition(request, resource_id, resources.submit_resource_for_review, _("Submitted for review."))


@provider_required
@require_POST
def workspace_resource_pause(request, resource_id: int):
    return _transition(request, resource_id, resources.pause_resource, _("Paused: buyers no longer see it."))


@provider_required
@require_POST
def workspace_resource_resume(request, resource_id: int):
    return _transition(request, resource_id, resources.resume_resource, _("Listed again."))


@owner_required
@require_POST
def workspace_resource_retire(request, resource_id: int):
    if not request.organisation.is_provider:
        raise PermissionDenied
    return _transition(request, resource_id, resources.retire_resource, _("Retired."))


@provider_required
@require_POST
def workspace_resource_photo_add(request, resource_id: int):
    resource = _resource(request, resource_id)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            resources.add_resource_photo(
                resource=resource, image=form.cleaned_data["image"], caption=form.cleaned_data["caption"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Photo added."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("capacity:workspace_resource_edit", resource.pk)


@provider_required
@require_POST
def workspace_resource_photo_delete(request, resource_id: int, photo_id: int):
    resource = _resource(request, resource_id)
    photo = get_object_or_404(ResourcePhoto, pk=photo_id, resource=resource)
    resources.delete_resource_photo(photo=photo)
    messages.success(request, _("Photo removed."))
    return redirect("capacity:workspace_resource_edit", resource.pk)


# --- Import and export ---------------------------------------------------------------------


@provider_required
def workspace_resource_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            result = imports.import_resources(
                organisation=request.organisation, actor=request.user, upload=form.cleaned_data["file"]
            )
        except DomainError as error:
            form.add_error("file", error.message)
        else:
            if not result.errors:
                messages.success(
                    request,
                    _("Imported %(n)d resources as drafts.") % {"n": len(result.created)},
                )
                return redirect("capacity:workspace_resources")
            errors = result.errors
    return render(
        request,
        "capacity/workspace/import.html",
        {"form": form, "errors": errors, "columns": imports.COLUMNS, "required": imports.REQUIRED},
    )


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@provider_required
@require_GET
def workspace_import_template_csv(request):
    return _download(imports.write_csv([]), "text/csv; charset=utf-8", "spindle-resources-template.csv")


@provider_required
@require_GET
def workspace_import_template_xlsx(request):
    return _download(imports.write_xlsx([]), XLSX, "spindle-resources-template.xlsx")


@provider_required
@require_GET
def workspace_export_csv(request):
    rows = imports.export_queryset(request.organisation)
    return _download(imports.write_csv(rows), "text/csv; charset=utf-8", "spindle-resources.csv")


@provider_required
@require_GET
def workspace_export_xlsx(request):
    rows = imports.export_queryset(request.organisation)
    return _download(imports.write_xlsx(rows), XLSX, "spindle-resources.xlsx")
