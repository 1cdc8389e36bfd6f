"""Operator queues: verifying providers and reviewing listings, with events and notifications."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from capacity.models import ProviderProfile, Resource, ReviewEvent
from capacity.services import providers
from capacity.services import resources as resource_services
from marketplace.errors import DomainError
from marketplace.models import Notification
from tests.capacity.uploads import VALID_CODE
from tests.factories import ProviderProfileFactory, ResourceFactory

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def pending_profile(provider_org, provider_owner, provider_member):
    return ProviderProfileFactory(
        organisation=provider_org,
        status="pending",
        credit_code=VALID_CODE,
        address="星湖街 328 号",
        business_licence="licences/2026/12/licence.pdf",
    )


@pytest.mark.django_db
def test_queues_show_counts(client_for, operator, pending_profile):
    ResourceFactory(provider=pending_profile.organisation, status="pending_review")
    response = client_for(operator).get(reverse("capacity:ops_providers"))
    assert (response.context["pending_providers"], response.context["pending_listings"]) == (1, 1)
    assert list(response.context["profiles"]) == [pending_profile]
    detail = client_for(operator).get(reverse("capacity:ops_provider", args=[pending_profile.pk]))
    assert detail.context["credit_code_problem"] == ""


@pytest.mark.django_db
def test_operator_approves_a_provider_and_its_members_are_told(client_for, operator, pending_profile):
    response = client_for(operator).post(reverse("capacity:ops_provider_approve", args=[pending_profile.pk]))
    assert response.status_code == 302
    pending_profile.refresh_from_db()
    assert (pending_profile.status, pending_profile.reviewed_by) == ("verified", operator)
    event = ReviewEvent.objects.get()
    assert (event.subject_type, event.from_status, event.to_status, event.actor) == (
        "provider",
        "pending",
        "verified",
        operator,
    )
    assert sorted(Notification.objects.values_list("user__email", "kind", "title")) == [
        ("member@provider.example", "provider_verified", "Your provider profile is verified"),
        ("owner@provider.example", "provider_verified", "Your provider profile is verified"),
    ]


@pytest.mark.django_db
def test_reject_needs_a_reason_the_provider_sees(client_for, operator, pending_profile, provider_owner):
    client = client_for(operator)
    client.post(reverse("capacity:ops_provider_reject", args=[pending_profile.pk]), {"reason": ""})
    pending_profile.refresh_from_db()
    assert pending_profile.status == "pending"
    assert (ReviewEvent.objects.count(), Notification.objects.count()) == (0, 0)

    reason = "The licence photo is unreadable; please upload a clearer scan."
    client.post(reverse("capacity:ops_provider_reject", args=[pending_profile.pk]), {"reason": reason})
    pending_profile.refresh_from_db()
    assert (pending_profile.status, pending_profile.status_reason) == ("rejected", reason)
    assert Notification.objects.filter(kind="provider_rejected", body=reason).count() == 2
    page = client_for(provider_owner).get(reverse("capacity:workspace_profile"))
    assert reason in page.content.decode()


@pytest.mark.django_db
def test_suspend_and_reinstate(operator, pending_profile):
    providers.approve_provider(profile=pending_profile, actor=operator, now=NOW)
    with pytest.raises(DomainError):
        providers.suspend_provider(profile=pending_profile, actor=operator, reason=" ")
    providers.suspend_provider(profile=pending_profile, actor=operator, reason="Expired certificate", now=NOW)
    resource = ResourceFactory(provider=pending_profile.organisation, status="listed")
    assert list(Resource.objects.visible_to_buyers()) == []
    providers.reinstate_provider(profile=pending_profile, actor=operator, now=NOW)
    assert list(Resource.objects.visible_to_buyers()) == [resource]
    assert list(ReviewEvent.objects.values_list("from_status", "to_status")) == [
        ("pending", "verified"),
        ("verified", "suspended"),
        ("suspended", "verified"),
    ]
    assert Notification.objects.filter(kind="provider_suspended", body="Expired certificate").count() == 2


@pytest.mark.django_db
def test_approve_listing_sets_listed_at_and_notifies(operator, provider_org, provider_owner):
    ProviderProfileFactory(organisation=provider_org, status="verified")
    resource = ResourceFactory(provider=provider_org, status="pending_review", listed_at=None)
    resource_services.approve_listing(resource=resource, actor=operator, now=NOW)
    resource.refresh_from_db()
    assert (resource.status, resource.listed_at) == ("listed", NOW)
    event = ReviewEvent.objects.get()
    assert event.details["snapshot"]["rate"] == "180"
    assert list(Notification.objects.values_list("kind", "title")) == [
        ("listing_approved", f"{resource.name} is now listed")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["pending", "unverified", "suspended"])
def test_listings_of_unverified_providers_cannot_be_approved(client_for, operator, provider_org, status):
    ProviderProfileFactory(organisation=provider_org, status=status)
    resource = ResourceFactory(provider=provider_org, status="pending_review", listed_at=None)
    response = client_for(operator).post(reverse("capacity:ops_listing_approve", args=[resource.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Only resources of verified providers can be listed."]
    resource.refresh_from_db()
    assert (resource.status, resource.listed_at) == ("pending_review", None)
    assert (ReviewEvent.objects.count(), Notification.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_reject_listing_returns_it_to_draft_with_the_reason(client_for, operator, provider_org, provider_owner):
    ProviderProfileFactory(organisation=provider_org, status="verified")
    resource = ResourceFactory(provider=provider_org, status="pending_review")
    reason = "Tolerance of ±0.001 mm needs a calibration certificate."
    client_for(operator).post(reverse("capacity:ops_listing_reject", args=[resource.pk]), {"reason": reason})
    resource.refresh_from_db()
    assert (resource.status, resource.review_note) == ("draft", reason)
    assert list(Notification.objects.values_list("kind", "body")) == [("listing_rejected", reason)]


@pytest.mark.django_db
def test_listing_review_shows_what_changed_since_approval(client_for, operator, provider_org, provider_owner):
    ProviderProfileFactory(organisation=provider_org, status="verified")
    resource = ResourceFactory(provider=provider_org, status="pending_review")
    resource_services.approve_listing(resource=resource, actor=operator, now=NOW)
    resource_services.update_resource(
        resource=resource, actor=provider_owner, fields={"rate": "200.00"}, now=NOW + timedelta(hours=1)
    )
    resource.refresh_from_db()
    assert resource.status == "pending_review"
    response = client_for(operator).get(reverse("capacity:ops_listing", args=[resource.pk]))
    assert response.context["changes"] == {"rate": ["180", "200"]}
    assert list(response.context["events"].values_list("to_status", flat=True)) == ["listed", "pending_review"]


@pytest.mark.django_db
def test_operator_queues_are_operator_only(client_for, provider_owner, pending_profile):
    client = client_for(provider_owner)
    assert client.get(reverse("capacity:ops_providers")).status_code == 403
    assert client.post(reverse("capacity:ops_provider_approve", args=[pending_profile.pk])).status_code == 403
    pending_profile.refresh_from_db()
    assert pending_profile.status == ProviderProfile.Status.PENDING
