"""The public catalogue: browse the taxonomy, filter and search listings, read one listing and
a verified provider's profile. No login; only what ``visible_to_buyers`` allows is ever shown
(anything else is a 404, never a hint that it exists)."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from capacity.filters import CatalogueFilter
from capacity.models import Category, ProviderPhoto, Resource, ResourcePhoto
from capacity.selectors import catalogue as selectors
from marketplace.selectors import reputation


@require_GET
def catalogue_browse(request):
    kind = request.GET.get("kind")
    if kind not in Category.Kind.values:
        kind = None
    return render(
        request,
        "capacity/catalogue/browse.html",
        {"tree": selectors.category_tree(kind=kind), "kind": kind, "kinds": Category.Kind.choices},
    )


@require_GET
def catalogue_list(request):
    filterset = CatalogueFilter(request.GET or None, queryset=selectors.catalogue_resources(now=timezone.now()))
    # Bad input shows its errors and no results rather than silently ignoring a filter.
    invalid = filterset.is_bound and not filterset.is_valid()
    resources = Resource.objects.none() if invalid else filterset.qs
    page = selectors.catalogue_page(resources, request.GET.get("page"))
    context = {"filter": filterset, "page": page, "form": filterset.form}
    if request.htmx and request.htmx.target == "catalogue-results":
        return render(request, "capacity/catalogue/_results.html", context)
    return render(request, "capacity/catalogue/list.html", context)


@require_GET
def resource_detail(request, pk: int):
    resource = selectors.visible_resource(pk=pk)
    now = timezone.now()
    timeline, windows, zone = selectors.free_timeline(resource, now=now)
    profile = resource.provider.provider_profile
    return render(
        request,
        "capacity/catalogue/resource.html",
        {
            "resource": resource,
            "profile": profile,
            "specs": selectors.resource_specs(resource),
            "certificates": selectors.valid_certificates(
                organisation_id=resource.provider_id, day=now.astimezone(zone).date()
            ),
            "timeline": timeline,
            "windows": windows,
            "zone": zone,
        },
    )


@require_GET
def provider_profile(request, slug: str):
    profile = selectors.public_provider(slug=slug)
    now = timezone.now()
    resources = selectors.catalogue_resources(now=now).filter(provider=profile.organisation_id).order_by("name", "pk")
    return render(
        request,
        "capacity/catalogue/provider.html",
        {
            "profile": profile,
            "organisation": profile.organisation,
            "certificates": selectors.valid_certificates(
                organisation_id=profile.organisation_id, day=timezone.localdate(now)
            ),
            "photos": profile.photos.all(),
            "resources": resources,
            "provider_reputation": reputation.provider_reputation(profile.organisation_id),
            "provider_reviews": reputation.public_reviews(profile.organisation_id),
        },
    )


def _serve(photo) -> FileResponse:
    try:
        handle = photo.image.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404 from error
    content_type = mimetypes.guess_type(photo.image.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    # Visibility can change (a provider suspended, a listing paused): no shared caches.
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_GET
def resource_photo(request, photo_id: int):
    """A listing's photo, only while the listing is visible to buyers (uploads are private)."""
    photo = ResourcePhoto.objects.filter(pk=photo_id, resource__in=Resource.objects.visible_to_buyers()).first()
    if photo is None or not photo.image:
        raise Http404
    return _serve(photo)


@require_GET
def provider_photo(request, slug: str, photo_id: int):
    """A verified provider's photo (uploads are private)."""
    profile = selectors.public_provider(slug=slug)
    photo = ProviderPhoto.objects.filter(pk=photo_id, profile=profile).first()
    if photo is None or not photo.image:
        raise Http404
    return _serve(photo)
