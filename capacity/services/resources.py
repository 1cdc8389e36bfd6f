"""Resources (listings): creating and editing them, and their review by operators.

Listing status is a state machine (RESOURCE_TRANSITIONS). An edit that changes what a buyer
relies on (category, specs, materials, rate card, capacity) sends a listed or paused resource
back to review; names, descriptions and photos do not.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from capacity.models import Category, Material, ProviderProfile, Resource, ResourcePhoto, ReviewEvent
from capacity.search import refresh_search_text
from capacity.services.review import record_review_event
from capacity.uploads import MAX_PHOTOS, validate_photo
from marketplace.errors import DomainError
from marketplace.models import Organisation, User
from marketplace.services import notify_organisation

Status = Resource.Status

RESOURCE_TRANSITIONS: dict[str, set[str]] = {
    Status.DRAFT: {Status.PENDING_REVIEW, Status.RETIRED},
    Status.PENDING_REVIEW: {Status.LISTED, Status.DRAFT, Status.RETIRED},
    Status.LISTED: {Status.PAUSED, Status.PENDING_REVIEW, Status.RETIRED},
    Status.PAUSED: {Status.LISTED, Status.PENDING_REVIEW, Status.RETIRED},
    Status.RETIRED: set(),
}

# Typed spec columns a category's attributes may name (materials and standards are separate).
SPEC_COLUMNS = [
    "envelope_x_mm",
    "envelope_y_mm",
    "envelope_z_mm",
    "max_part_weight_kg",
    "tolerance_mm",
    "surface_finish_ra_um",
    "axes",
    "spindle_speed_rpm",
    "max_force_kn",
    "temperature_min_c",
    "temperature_max_c",
    "measurand",
    "range_min",
    "range_max",
    "range_unit",
    "uncertainty",
    "accreditation_ref",
]
RATE_FIELDS = [
    "billing_unit",
    "rate",
    "setup_fee",
    "minimum_charge",
    "currency",
    "billing_increment_minutes",
    "cycle_time_minutes",
    "lead_time_buffer_hours",
    "capacity",
]
IDENTITY_FIELDS = ["name", "make", "model_name", "year", "description"]
EDITABLE_FIELDS = {*IDENTITY_FIELDS, "category", "standards", "extra_specs", *SPEC_COLUMNS, *RATE_FIELDS}

# What a buyer relies on: changing any of these on a listed resource needs a new review.
BUYER_RELEVANT = [
    "category",
    *SPEC_COLUMNS,
    "extra_specs",
    "standards",
    "materials",
    "billing_unit",
    "rate",
    "setup_fee",
    "minimum_charge",
    "currency",
    "billing_increment_minutes",
    "cycle_time_minutes",
    "capacity",
]


def _plain(value: Any) -> Any:
    """A JSON-friendly, comparable form of a field value."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Category):
        return value.code
    if hasattr(value, "code"):
        return value.code
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    return value


def buyer_snapshot(resource: Resource) -> dict[str, Any]:
    """The buyer-relevant fields of a saved resource, as plain values."""
    snapshot = {}
    for name in BUYER_RELEVANT:
        if name == "materials":
            snapshot[name] = sorted(resource.materials.values_list("code", flat=True)) if resource.pk else []
        elif name == "category":
            snapshot[name] = resource.category.code
        elif name == "measurand":
            snapshot[name] = resource.measurand.code if resource.measurand_id else None
        else:
            snapshot[name] = _plain(getattr(resource, name))
    return snapshot


def diff_snapshots(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def _check_values(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise DomainError(_("Unknown resource fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    category = fields.get("category")
    if category is not None and category.parent_id is None:
        raise DomainError(_("Choose a specific category, not a group."), code="category")
    currency = fields.get("currency")
    if currency is not None and currency not in settings.SPINDLE_CURRENCIES:
        raise DomainError(_("%(currency)s is not a supported currency.") % {"currency": currency}, code="currency")


def _save(resource: Resource, materials: list[Material] | None) -> Resource:
    resource.kind = resource.category.kind
    try:
        # Ordered ranges are checked by the form and, as a last resort, by the database.
        resource.full_clean(exclude=["provider", "category", "materials", "search_text"], validate_constraints=False)
    except ValidationError as error:
        messages = [m for field_messages in error.message_dict.values() for m in field_messages]
        raise DomainError(" ".join(messages), code="invalid") from error
    try:
        with transaction.atomic():
            resource.save()
    except IntegrityError as error:
        raise DomainError(_("The ranges are inconsistent: a minimum exceeds its maximum."), code="ranges") from error
    if materials is not None:
        resource.materials.set(materials)
    refresh_search_text(resource)
    return resource


@transaction.atomic
def create_resource(
    *,
    provider: Organisation,
    actor: User | None,
    fields: dict[str, Any],
    materials: list[Material] | None = None,
) -> Resource:
    """A new draft resource of ``provider``."""
    if not provider.is_provider:
        raise DomainError(_("Only provider organisations can list resources."), code="not_provider")
    _check_values(fields)
    if "category" not in fields or "rate" not in fields or not fields.get("name"):
        raise DomainError(_("A resource needs a name, a category and a rate."), code="incomplete")
    fields = {"currency": provider.currency, **fields}
    resource = Resource(provider=provider, status=Status.DRAFT, **fields)
    return _save(resource, materials or [])


@transaction.atomic
def update_resource(
    *,
    resource: Resource,
    actor: User | None,
    fields: dict[str, Any],
    materials: list[Material] | None = None,
    now: datetime | None = None,
) -> Resource:
    """Edit a resource; a listed or paused one whose buyer-relevant fields change goes back to
    pending_review (with a ReviewEvent listing what changed)."""
    resource = Resource.objects.select_for_update().select_related("category", "provider").get(pk=resource.pk)
    if resource.status == Status.RETIRED:
        raise DomainError(_("A retired resource cannot be edited."), code="retired")
    _check_values(fields)
    before = buyer_snapshot(resource)
    for key, value in fields.items():
        setattr(resource, key, value)
    _save(resource, materials)
    changes = diff_snapshots(before, buyer_snapshot(resource))
    if changes and resource.status in (Status.LISTED, Status.PAUSED):
        _move(
            resource,
            to=Status.PENDING_REVIEW,
            actor=actor,
            reason=_("Buyer-relevant details changed."),
            details={"changes": changes},
            now=now,
        )
        resource.save(update_fields=["status", "updated_at"])
    return resource


def _move(
    resource: Resource, *, to: str, actor: User | None, reason: str = "", details: dict | None = None, now=None
) -> str:
    """Check the transition map, change the status in memory and write the event."""
    current = resource.status
    if to not in RESOURCE_TRANSITIONS[current]:
        raise DomainError(
            _("A resource that is %(current)s cannot become %(target)s.")
            % {"current": Status(current).label, "target": Status(to).label},
            code="transition",
        )
    resource.status = to
    record_review_event(
        subject_type=ReviewEvent.SubjectType.RESOURCE,
        subject_id=resource.pk,
        from_status=current,
        to_status=to,
        actor=actor,
        reason=reason,
        details=details,
        now=now or timezone.now(),
    )
    return current


def _lock(resource: Resource) -> Resource:
    return Resource.objects.select_for_update().select_related("provider", "category").get(pk=resource.pk)


def _provider_status(resource: Resource) -> str:
    profile = ProviderProfile.objects.filter(organisation_id=resource.provider_id).first()
    return profile.status if profile else ProviderProfile.Status.UNVERIFIED


def rate_card_problems(resource: Resource) -> list[str]:
    """What is missing from the rate card (translated; empty when complete)."""
    problems = []
    if resource.rate is None or resource.rate <= 0:
        problems.append(_("a rate above zero"))
    if resource.currency not in settings.SPINDLE_CURRENCIES:
        problems.append(_("a supported currency"))
    if not resource.billing_increment_minutes:
        problems.append(_("a billing increment"))
    if not resource.capacity:
        problems.append(_("a capacity of at least one"))
    if resource.billing_unit == Resource.BillingUnit.PART and not resource.cycle_time_minutes:
        problems.append(_("a cycle time per part (billed per part)"))
    return problems


@transaction.atomic
def submit_resource_for_review(*, resource: Resource, actor: User, now: datetime | None = None) -> Resource:
    """draft → pending_review; the provider must be verified or awaiting verification."""
    resource = _lock(resource)
    if resource.status == Status.DRAFT:
        if _provider_status(resource) not in (ProviderProfile.Status.VERIFIED, ProviderProfile.Status.PENDING):
            raise DomainError(
                _("Submit your provider profile for verification before submitting resources."),
                code="provider_unverified",
            )
        problems = rate_card_problems(resource)
        if problems:
            raise DomainError(
                _("The rate card is incomplete: add %(missing)s.") % {"missing": _(", ").join(problems)},
                code="rate_card",
            )
    _move(resource, to=Status.PENDING_REVIEW, actor=actor, now=now)
    if resource.status == Status.PENDING_REVIEW and resource.review_note:
        resource.review_note = ""
    resource.save(update_fields=["status", "review_note", "updated_at"])
    return resource


def _require_verified_provider(resource: Resource) -> None:
    if _provider_status(resource) != ProviderProfile.Status.VERIFIED:
        raise DomainError(
            _("Only resources of verified providers can be listed."),
            code="provider_unverified",
        )


def _notify(resource: Resource, kind: str, title: str, body: str = "") -> None:
    notify_organisation(
        organisation=resource.provider,
        kind=kind,
        title=title,
        body=body,
        url=reverse("capacity:workspace_resource_edit", args=[resource.pk]),
    )


@transaction.atomic
def approve_listing(*, resource: Resource, actor: User, now: datetime | None = None) -> Resource:
    """pending_review → listed; records what was approved so later edits can be compared."""
    now = now or timezone.now()
    resource = _lock(resource)
    if resource.status == Status.PENDING_REVIEW:
        _require_verified_provider(resource)
    _move(resource, to=Status.LISTED, actor=actor, details={"snapshot": buyer_snapshot(resource)}, now=now)
    resource.listed_at = now
    resource.review_note = ""
    resource.save(update_fields=["status", "listed_at", "review_note", "updated_at"])
    _notify(resource, "listing_approved", _("%(name)s is now listed") % {"name": resource.name})
    return resource


@transaction.atomic
def reject_listing(*, resource: Resource, actor: User, reason: str, now: datetime | None = None) -> Resource:
    """pending_review → draft with the operator's reason, which the provider sees."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason: the provider will see it."), code="reason_required")
    resource = _lock(resource)
    if resource.status != Status.PENDING_REVIEW:
        raise DomainError(_("Only a resource pending review can be rejected."), code="transition")
    _move(resource, to=Status.DRAFT, actor=actor, reason=reason, now=now)
    resource.review_note = reason
    resource.save(update_fields=["status", "review_note", "updated_at"])
    _notify(resource, "listing_rejected", _("%(name)s was not approved") % {"name": resource.name}, reason)
    return resource


@transaction.atomic
def pause_resource(*, resource: Resource, actor: User, now: datetime | None = None) -> Resource:
    resource = _lock(resource)
    _move(resource, to=Status.PAUSED, actor=actor, now=now)
    resource.save(update_fields=["status", "updated_at"])
    return resource


@transaction.atomic
def resume_resource(*, resource: Resource, actor: User, now: datetime | None = None) -> Resource:
    """paused → listed, for a verified provider only."""
    resource = _lock(resource)
    if resource.status != Status.PAUSED:
        raise DomainError(_("Only a paused resource can be resumed."), code="transition")
    _require_verified_provider(resource)
    _move(resource, to=Status.LISTED, actor=actor, now=now)
    resource.save(update_fields=["status", "updated_at"])
    return resource


@transaction.atomic
def retire_resource(*, resource: Resource, actor: User, now: datetime | None = None) -> Resource:
    resource = _lock(resource)
    _move(resource, to=Status.RETIRED, actor=actor, now=now)
    resource.save(update_fields=["status", "updated_at"])
    return resource


@transaction.atomic
def add_resource_photo(*, resource: Resource, image: UploadedFile, caption: str = "") -> ResourcePhoto:
    resource = _lock(resource)
    if resource.photos.count() >= MAX_PHOTOS:
        raise DomainError(_("A resource can have at most %(n)d photos.") % {"n": MAX_PHOTOS}, code="too_many")
    try:
        validate_photo(image)
    except ValidationError as error:
        raise DomainError(error.messages[0], code="photo") from error
    photo = ResourcePhoto(resource=resource, caption=caption.strip(), position=resource.photos.count())
    photo.image.save(image.name, image, save=False)
    photo.save()
    return photo


@transaction.atomic
def delete_resource_photo(*, photo: ResourcePhoto) -> None:
    photo.image.delete(save=False)
    photo.delete()


def last_approved_snapshot(resource: Resource) -> dict[str, Any] | None:
    event = (
        ReviewEvent.objects.filter(
            subject_type=ReviewEvent.SubjectType.RESOURCE,
            subject_id=resource.pk,
            to_status=Status.LISTED,
            details__has_key="snapshot",
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    return event.details["snapshot"] if event else None
