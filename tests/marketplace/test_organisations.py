import pytest
from django.core import mail
from django.urls import reverse

from marketplace import services
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import Invitation, Membership, Organisation
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory


@pytest.mark.django_db
def test_creating_an_organisation_makes_the_user_its_owner(client_for):
    user = UserFactory(email="founder@factory.example")
    client = client_for(user)
    response = client.post(reverse("organisation_create"), {"name": "Ningbo Die Casting", "kind": "provider"})
    assert response.status_code == 302
    organisation = Organisation.objects.get()
    assert (organisation.name, organisation.kind, organisation.slug) == (
        "Ningbo Die Casting",
        "provider",
        "ningbo-die-casting",
    )
    membership = Membership.objects.get()
    assert (membership.user, membership.organisation, membership.role) == (user, organisation, "owner")


@pytest.mark.django_db
def test_invalid_organisation_form_creates_nothing(client_for):
    client = client_for(UserFactory())
    response = client.post(reverse("organisation_create"), {"name": " ", "kind": "seller"})
    assert response.status_code == 200
    assert Organisation.objects.count() == 0
    assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_owner_invites_and_invitee_joins(client_for, provider_org, provider_owner, django_capture_on_commit_callbacks):
    client = client_for(provider_owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("organisation_members"), {"email": "Planner@Provider.example", "role": "member"})
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "planner@provider.example"
    assert len(mail.outbox) == 1
    assert reverse("invitation_accept", args=[invitation.token]) in mail.outbox[0].body

    invitee = UserFactory(email="planner@provider.example")
    client = client_for(invitee)
    response = client.post(reverse("invitation_accept", args=[invitation.token]))
    assert response.status_code == 302
    assert Membership.objects.get(user=invitee).organisation == provider_org
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None

    # An accepted invitation cannot be used twice.
    with pytest.raises(DomainError):
        services.accept_invitation(invitation=invitation, user=invitee)


@pytest.mark.django_db
def test_invitation_for_another_address_is_refused(client_for, provider_org, provider_owner, outsider):
    invitation = services.invite_member(
        organisation=provider_org, invited_by=provider_owner, email="someone@else.example", role="member"
    )
    response = client_for(outsider).post(reverse("invitation_accept", args=[invitation.token]))
    assert response.status_code == 403
    assert not Membership.objects.filter(user=outsider, organisation=provider_org).exists()


@pytest.mark.django_db
def test_members_cannot_invite(client_for, provider_member):
    response = client_for(provider_member).post(
        reverse("organisation_members"), {"email": "x@provider.example", "role": "owner"}
    )
    assert response.status_code == 403
    assert Invitation.objects.count() == 0


@pytest.mark.django_db
def test_duplicate_invitation_is_refused(provider_org, provider_owner):
    services.invite_member(organisation=provider_org, invited_by=provider_owner, email="a@b.example", role="member")
    with pytest.raises(DomainError) as refused:
        services.invite_member(organisation=provider_org, invited_by=provider_owner, email="A@b.example", role="member")
    assert refused.value.code == "already_invited"
    assert Invitation.objects.count() == 1


@pytest.mark.django_db
def test_last_owner_cannot_leave_or_be_demoted(provider_org, provider_owner, provider_member):
    owner_membership = Membership.objects.get(user=provider_owner)
    with pytest.raises(DomainError) as refused:
        services.change_member_role(membership=owner_membership, role="member", by=provider_owner)
    assert refused.value.code == "last_owner"
    with pytest.raises(DomainError) as refused:
        services.remove_member(membership=owner_membership, by=provider_owner)
    assert refused.value.code == "last_owner"
    assert Membership.objects.get(pk=owner_membership.pk).role == "owner"

    member_membership = Membership.objects.get(user=provider_member)
    with pytest.raises(PermissionDeniedError):
        services.change_member_role(membership=owner_membership, role="member", by=provider_member)
    services.change_member_role(membership=member_membership, role="owner", by=provider_owner)
    services.change_member_role(membership=owner_membership, role="member", by=provider_owner)
    assert Membership.objects.get(pk=owner_membership.pk).role == "member"


@pytest.mark.django_db
def test_user_switches_between_organisations(client_for, provider_org, provider_owner):
    second = OrganisationFactory(name="Second Plant", kind=Organisation.Kind.BUYER)
    MembershipFactory(user=provider_owner, organisation=second)
    client = client_for(provider_owner)
    assert client.get(reverse("home")).context["active_organisation"] == second  # alphabetical first
    client.post(reverse("organisation_switch"), {"organisation": provider_org.pk})
    assert client.get(reverse("home")).context["active_organisation"] == provider_org

    # Switching to an organisation the user does not belong to is a 404 and changes nothing.
    stranger = OrganisationFactory(name="Stranger")
    assert client.post(reverse("organisation_switch"), {"organisation": stranger.pk}).status_code == 404
    assert client.get(reverse("home")).context["active_organisation"] == provider_org
