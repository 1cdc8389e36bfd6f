"""Writes for accounts and organisations. Views call these; they never write models directly."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import Invitation, Membership, Notification, Organisation, User


def _unique_slug(name: str) -> str:
    base = slugify(name, allow_unicode=False)[:60] or "org"
    slug, n = base, 1
    while Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def create_organisation(*, user: User, name: str, kind: str) -> Organisation:
    """Create an organisation with ``user`` as its first owner."""
    organisation = Organisation.objects.create(name=name.strip(), slug=_unique_slug(name), kind=kind)
    Membership.objects.create(user=user, organisation=organisation, role=Membership.Role.OWNER)
    return organisation


def _require_owner(organisation: Organisation, user: User) -> None:
    if not Membership.objects.filter(organisation=organisation, user=user, role=Membership.Role.OWNER).exists():
        raise PermissionDeniedError(_("Only an owner of the organisation can do that."))


def invite_member(*, organisation: Organisation, invited_by: User, email: str, role: str) -> Invitation:
    """Invite ``email`` to join; the email goes out once the invitation is committed."""
    from marketplace.tasks import send_invitation_email

    _require_owner(organisation, invited_by)
    email = email.strip().lower()
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise DomainError(_("%(email)s is already a member.") % {"email": email}, code="already_member")
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                organisation=organisation, email=email, role=role, invited_by=invited_by
            )
            transaction.on_commit(lambda: send_invitation_email.delay(invitation.pk))
    except IntegrityError as error:
        raise DomainError(
            _("%(email)s has already been invited.") % {"email": email}, code="already_invited"
        ) from error
    return invitation


@transaction.atomic
def accept_invitation(*, invitation: Invitation, user: User) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise DomainError(_("This invitation has expired or was already used."), code="invitation_closed")
    if invitation.email.lower() != user.email.lower():
        raise PermissionDeniedError(_("This invitation was sent to another email address."))
    membership, _created = Membership.objects.get_or_create(
        user=user, organisation=invitation.organisation, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return membership


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, by: User) -> None:
    _require_owner(invitation.organisation, by)
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(revoked_at=timezone.now())


def _lock_owners(organisation: Organisation) -> list[Membership]:
    # Lock the organisation's memberships so two owners cannot demote each other at once
    # and leave it ownerless.
    return list(Membership.objects.select_for_update().filter(organisation=organisation).order_by("pk"))


@transaction.atomic
def change_member_role(*, membership: Membership, role: str, by: User) -> Membership:
    _require_owner(membership.organisation, by)
    members = _lock_owners(membership.organisation)
    owners = [m for m in members if m.role == Membership.Role.OWNER]
    if role != Membership.Role.OWNER and membership.is_owner and len(owners) == 1:
        raise DomainError(_("An organisation needs at least one owner."), code="last_owner")
    Membership.objects.filter(pk=membership.pk).update(role=role)
    membership.role = role
    return membership


@transaction.atomic
def remove_member(*, membership: Membership, by: User) -> None:
    if membership.user_id != by.pk:
        _require_owner(membership.organisation, by)
    members = _lock_owners(membership.organisation)
    owners = [m for m in members if m.role == Membership.Role.OWNER]
    if membership.is_owner and len(owners) == 1:
        raise DomainError(_("An organisation needs at least one owner."), code="last_owner")
    Membership.objects.filter(pk=membership.pk).delete()


def notify(*, user: User, kind: str, title: str, body: str = "", url: str = "", organisation=None) -> Notification:
    """Record an in-app notification and email it once the surrounding transaction commits."""
    from marketplace.tasks import deliver_notification

    notification = Notification.objects.create(
        user=user, organisation=organisation, kind=kind, title=title, body=body, url=url
    )
    transaction.on_commit(lambda: deliver_notification.delay(notification.pk))
    return notification


def notify_organisation(*, organisation: Organisation, kind: str, title: str, body: str = "", url: str = "") -> None:
    for membership in organisation.memberships.select_related("user"):
        notify(user=membership.user, organisation=organisation, kind=kind, title=title, body=body, url=url)


def mark_notifications_read(*, user: User, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
