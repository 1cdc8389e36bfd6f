"""Provider profiles, their photos and certificates, and their verification by operators.

Verification is a state machine (PROVIDER_TRANSITIONS); every change goes through
``_transition`` which locks the profile, checks the map and writes a ReviewEvent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from capacity.models import Certification, ProviderPhoto, ProviderProfile, ReviewEvent
from capacity.services.review import record_review_event
from capacity.uploads import MAX_PHOTOS, validate_document, validate_photo
from capacity.validators import validate_credit_code
from marketplace.errors import DomainError
from marketplace.models import Organisation, User
from marketplace.services import notify_organisation

Status = ProviderProfile.Status

PROVIDER_TRANSITIONS: dict[str, set[str]] = {
    Status.UNVERIFIED: {Status.PENDING},
    Status.REJECTED: {Status.PENDING},
    Status.PENDING: {Status.VERIFIED, Status.REJECTED},
    Status.VERIFIED: {Status.SUSPENDED},
    Status.SUSPENDED: {Status.VERIFIED},
}

# Fields a provider edits on its profile page.
PROFILE_FIELDS = {
    "legal_name",
    "credit_code",
    "province",
    "city",
    "address",
    "latitude",
    "longitude",
    "contact_name",
    "contact_phone",
    "contact_email",
    "website",
    "description",
    # Applies to trades booked from now on: each trade snapshots it (billing.services.deposits).
    "deposit_percent",
}
# What an operator verified: frozen while the profile is pending, verified or suspended.
VERIFIED_FIELDS = {"legal_name", "credit_code"}

CERTIFICATION_FIELDS = {"standard", "number", "issuer", "scope", "valid_from", "valid_until"}


def get_or_create_provider_profile(*, organisation: Organisation) -> ProviderProfile:
    """The organisation's profile, created (unverified, named after the organisation) on first use."""
    if not organisation.is_provider:
        raise DomainError(_("Only provider organisations have a provider profile."), code="not_provider")
    profile, _created = ProviderProfile.objects.get_or_create(
        organisation=organisation, defaults={"legal_name": organisation.name}
    )
    return profile


def profile_is_frozen(profile: ProviderProfile) -> bool:
    return profile.status in (Status.PENDING, Status.VERIFIED, Status.SUSPENDED)


@transaction.atomic
def update_provider_profile(
    *, profile: ProviderProfile, fields: dict[str, Any], business_licence: UploadedFile | None = None
) -> ProviderProfile:
    """Save the provider's own details. Legal name, credit code and licence are what the operator
    checked: they cannot change while the profile is pending, verified or suspended."""
    profile = ProviderProfile.objects.select_for_update().get(pk=profile.pk)
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise DomainError(_("Unknown profile fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    frozen = profile_is_frozen(profile)
    if frozen and (
        business_licence is not None or any(getattr(profile, k) != fields[k] for k in VERIFIED_FIELDS & set(fields))
    ):
        raise DomainError(
            _("The legal name, credit code and business licence cannot change once submitted for verification."),
            code="frozen",
        )
    for key, value in fields.items():
        setattr(profile, key, value)
    if profile.credit_code:
        profile.credit_code = profile.credit_code.strip().upper()
    if business_licence is not None:
        try:
            validate_document(business_licence)
        except ValidationError as error:
            raise DomainError(error.messages[0], code="licence") from error
        profile.business_licence.save(business_licence.name, business_licence, save=False)
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError as error:
        raise DomainError(
            _("Another provider is already registered with this unified social credit code."), code="duplicate_code"
        ) from error
    return profile


@transaction.atomic
def add_provider_photo(*, profile: ProviderProfile, image: UploadedFile, caption: str = "") -> ProviderPhoto:
    # Lock the profile so two uploads at once cannot both be the eighth photo.
    profile = ProviderProfile.objects.select_for_update().get(pk=profile.pk)
    if profile.photos.count() >= MAX_PHOTOS:
        raise DomainError(_("A profile can have at most %(n)d photos.") % {"n": MAX_PHOTOS}, code="too_many")
    try:
        validate_photo(image)
    except ValidationError as error:
        raise DomainError(error.messages[0], code="photo") from error
    position = profile.photos.count()
    photo = ProviderPhoto(profile=profile, caption=caption.strip(), position=position)
    photo.image.save(image.name, image, save=False)
    photo.save()
    return photo


@transaction.atomic
def delete_provider_photo(*, photo: ProviderPhoto) -> None:
    photo.image.delete(save=False)
    photo.delete()


def _certification_values(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - CERTIFICATION_FIELDS
    if unknown:
        raise DomainError(_("Unknown certificate fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    valid_from: date | None = fields.get("valid_from")
    valid_until: date | None = fields.get("valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        raise DomainError(_("A certificate cannot expire before it becomes valid."), code="dates")
    return fields


def _attach_document(certification: Certification, document: UploadedFile | None) -> None:
    if document is None:
        return
    try:
        validate_document(document)
    except ValidationError as error:
        raise DomainError(error.messages[0], code="document") from error
    certification.document.save(document.name, document, save=False)


@transaction.atomic
def create_certification(
    *, profile: ProviderProfile, fields: dict[str, Any], document: UploadedFile | None = None
) -> Certification:
    certification = Certification(profile=profile, **_certification_values(fields))
    _attach_document(certification, document)
    certification.save()
    return certification


@transaction.atomic
def update_certification(
    *, certification: Certification, fields: dict[str, Any], document: UploadedFile | None = None
) -> Certification:
    for key, value in _certification_values(fields).items():
        setattr(certification, key, value)
    if document is not None and certification.document:
        certification.document.delete(save=False)
    _attach_document(certification, document)
    certification.save()
    return certification


@transaction.atomic
def delete_certification(*, certification: Certification) -> None:
    if certification.document:
        certification.document.delete(save=False)
    certification.delete()


def missing_for_verification(profile: ProviderProfile) -> list[str]:
    """What still stops the profile from being submitted (translated, empty when complete)."""
    missing = []
    if not profile.legal_name.strip():
        missing.append(_("the legal name"))
    try:
        validate_credit_code(profile.credit_code or "")
    except ValidationError:
        missing.append(_("a valid unified social credit code"))
    if not profile.address.strip() or not profile.province or not profile.city:
        missing.append(_("the address with province and city"))
    if not profile.business_licence:
        missing.append(_("the business licence"))
    return missing


def _transition(
    *, profile: ProviderProfile, to: str, actor: User | None, reason: str = "", now: datetime | None
) -> tuple[ProviderProfile, str]:
    """Lock, check the transition map, move, and write the event. Returns (profile, from_status)."""
    now = now or timezone.now()
    profile = ProviderProfile.objects.select_for_update().select_related("organisation").get(pk=profile.pk)
    current = profile.status
    if to not in PROVIDER_TRANSITIONS.get(current, set()):
        raise DomainError(
            _("A provider that is %(current)s cannot become %(target)s.")
            % {"current": Status(current).label, "target": Status(to).label},
            code="transition",
        )
    profile.status = to
    profile.status_reason = reason
    record_review_event(
        subject_type=ReviewEvent.SubjectType.PROVIDER,
        subject_id=profile.pk,
        from_status=current,
        to_status=to,
        actor=actor,
        reason=reason,
        now=now,
    )
    return profile, current


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason: the provider will see it."), code="reason_required")
    return reason


@transaction.atomic
def submit_provider_for_verification(
    *, profile: ProviderProfile, actor: User, now: datetime | None = None
) -> ProviderProfile:
    """unverified/rejected → pending, once the legal details and the licence are complete."""
    locked = ProviderProfile.objects.select_for_update().get(pk=profile.pk)
    if locked.status in PROVIDER_TRANSITIONS and Status.PENDING in PROVIDER_TRANSITIONS[locked.status]:
        missing = missing_for_verification(locked)
        if missing:
            raise DomainError(
                _("Before submitting, add %(missing)s.") % {"missing": _(", ").join(missing)}, code="incomplete"
            )
    profile, _from = _transition(profile=locked, to=Status.PENDING, actor=actor, now=now)
    profile.submitted_at = now or timezone.now()
    profile.save(update_fields=["status", "status_reason", "submitted_at", "updated_at"])
    return profile


def _reviewed(profile: ProviderProfile, actor: User, now: datetime | None) -> None:
    profile.reviewed_at = now or timezone.now()
    profile.reviewed_by = actor
    profile.save(update_fields=["status", "status_reason", "reviewed_at", "reviewed_by", "updated_at"])


def _notify(profile: ProviderProfile, kind: str, title: str, body: str = "") -> None:
    notify_organisation(
        organisation=profile.organisation, kind=kind, title=title, body=body, url=reverse("capacity:workspace_profile")
    )


@transaction.atomic
def approve_provider(*, profile: ProviderProfile, actor: User, now: datetime | None = None) -> ProviderProfile:
    profile, _from = _transition(profile=profile, to=Status.VERIFIED, actor=actor, now=now)
    _reviewed(profile, actor, now)
    _notify(profile, "provider_verified", _("Your provider profile is verified"))
    return profile


@transaction.atomic
def reject_provider(
    *, profile: ProviderProfile, actor: User, reason: str, now: datetime | None = None
) -> ProviderProfile:
    reason = _require_reason(reason)
    profile, _from = _transition(profile=profile, to=Status.REJECTED, actor=actor, reason=reason, now=now)
    _reviewed(profile, actor, now)
    _notify(profile, "provider_rejected", _("Your provider verification was rejected"), reason)
    return profile


@transaction.atomic
def suspend_provider(
    *, profile: ProviderProfile, actor: User, reason: str, now: datetime | None = None
) -> ProviderProfile:
    """verified → suspended. Its listings stay as they are but buyers no longer see them
    (Resource.objects.visible_to_buyers requires a verified provider)."""
    reason = _require_reason(reason)
    profile, _from = _transition(profile=profile, to=Status.SUSPENDED, actor=actor, reason=reason, now=now)
    _reviewed(profile, actor, now)
    _notify(profile, "provider_suspended", _("Your provider account is suspended"), reason)
    return profile


@transaction.atomic
def reinstate_provider(*, profile: ProviderProfile, actor: User, now: datetime | None = None) -> ProviderProfile:
    profile, _from = _transition(profile=profile, to=Status.VERIFIED, actor=actor, now=now)
    if _from != Status.SUSPENDED:
        raise DomainError(_("Only a suspended provider can be reinstated."), code="transition")
    _reviewed(profile, actor, now)
    _notify(profile, "provider_reinstated", _("Your provider account is reinstated"))
    return profile
