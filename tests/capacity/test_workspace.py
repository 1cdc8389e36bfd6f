"""The factory workspace: resources, category-driven specs, re-review on buyer-relevant edits, scoping."""

from decimal import Decimal

import pytest
from django.urls import reverse

from capacity.models import Category, Material, Resource, ResourcePhoto, ReviewEvent
from capacity.services import resources as resource_services
from marketplace.errors import DomainError
from tests.capacity.uploads import exe_named_png, png
from tests.factories import ProviderProfileFactory, ResourceFactory


def form_data(category_code="P0101", **overrides):
    category = Category.objects.get(code=category_code)
    data = {
        "category": category.pk,
        "name": "DMG MORI DMU 50",
        "make": "DMG MORI",
        "model_name": "DMU 50",
        "year": "2019",
        "description": "5-axis",
        "materials": [Material.objects.get(code="AL6061").pk],
        "standards": "GB/T 1804\nISO 2768",
        "spec_envelope_x_mm": "650",
        "spec_envelope_y_mm": "520",
        "spec_envelope_z_mm": "475",
        "spec_axes": "5",
        "spec_spindle_speed_rpm": "14000",
        "spec_max_part_weight_kg": "300",
        "spec_tolerance_mm": "0.005",
        "spec_surface_finish_ra_um": "0.8",
        "billing_unit": "machine_hour",
        "rate": "380.00",
        "setup_fee": "500",
        "minimum_charge": "800",
        "currency": "CNY",
        "billing_increment_minutes": "15",
        "cycle_time_minutes": "",
        "lead_time_buffer_hours": "24",
        "capacity": "1",
    }
    data.update(overrides)
    return data


@pytest.fixture
def verified(provider_org):
    return ProviderProfileFactory(organisation=provider_org, status="verified")


@pytest.mark.django_db
def test_create_a_draft_with_category_specs(client_for, provider_org, provider_member):
    response = client_for(provider_member).post(reverse("capacity:workspace_resource_create"), form_data())
    assert response.status_code == 302
    resource = Resource.objects.get()
    assert (resource.provider, resource.status, resource.kind, resource.axes) == (
        provider_org,
        "draft",
        "production",
        5,
    )
    assert resource.envelope == (Decimal("650.00"), Decimal("520.00"), Decimal("475.00"))
    assert resource.standards == ["GB/T 1804", "ISO 2768"]
    assert list(resource.materials.values_list("code", flat=True)) == ["AL6061"]
    assert resource.extra_specs == {}
    assert "Aluminium alloy 6061" in resource.search_text


@pytest.mark.django_db
def test_untyped_specs_go_to_extra_specs_with_number_validation(client_for, provider_member):
    client = client_for(provider_member)
    data = form_data("P0102", spec_swing_diameter_mm="four hundred")
    response = client.post(reverse("capacity:workspace_resource_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["spec_swing_diameter_mm"] == ["Enter a number."]
    assert Resource.objects.count() == 0

    data["spec_swing_diameter_mm"] = "400"
    assert client.post(reverse("capacity:workspace_resource_create"), data).status_code == 302
    resource = Resource.objects.get()
    assert resource.extra_specs == {"swing_diameter_mm": 400}
    # P0102 has no Y envelope: the value posted for it is not stored.
    assert resource.envelope_y_mm is None


@pytest.mark.django_db
def test_spec_fieldset_follows_the_category(client_for, provider_member):
    client = client_for(provider_member)
    cmm = Category.objects.get(code="M0101")
    response = client.get(reverse("capacity:workspace_resource_spec_fields"), {"category": cmm.pk})
    html = response.content.decode()
    assert 'id="spec-fields"' in html
    assert "Measurand" in html and "Uncertainty / accuracy" in html
    assert "Spindle speed" not in html


@pytest.mark.django_db
def test_a_spec_change_sends_a_listed_resource_back_to_review(client_for, provider_org, provider_member, verified):
    resource = ResourceFactory(provider=provider_org, status="listed")
    client = client_for(provider_member)
    data = form_data(name=resource.name, spec_tolerance_mm="0.002")
    response = client.post(reverse("capacity:workspace_resource_edit", args=[resource.pk]), data)
    assert response.status_code == 302
    resource.refresh_from_db()
    assert (resource.status, resource.tolerance_mm) == ("pending_review", Decimal("0.0020"))
    event = ReviewEvent.objects.get()
    assert (event.from_status, event.to_status, event.actor) == ("listed", "pending_review", provider_member)
    assert event.details["changes"]["tolerance_mm"] == ["0.01", "0.002"]
    assert event.details["changes"]["rate"] == ["180", "380"]


@pytest.mark.django_db
def test_name_description_and_photos_do_not_need_review(client_for, provider_org, provider_member, verified):
    resource = ResourceFactory(provider=provider_org, status="listed")
    client = client_for(provider_member)
    data = client.get(reverse("capacity:workspace_resource_edit", args=[resource.pk])).context["form"].initial
    assert resource_services.update_resource(
        resource=resource, actor=provider_member, fields={"name": "Renamed mill", "description": "Quiet shift"}
    ).status == ("listed")
    assert data["rate"] == Decimal("180.00")
    client.post(reverse("capacity:workspace_resource_photo_add", args=[resource.pk]), {"image": png()})
    resource.refresh_from_db()
    assert (resource.status, resource.name, resource.photos.count()) == ("listed", "Renamed mill", 1)
    assert ReviewEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_non_image_photo_is_refused(client_for, provider_org, provider_member):
    resource = ResourceFactory(provider=provider_org, status="draft")
    response = client_for(provider_member).post(
        reverse("capacity:workspace_resource_photo_add", args=[resource.pk]), {"image": exe_named_png()}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Upload a JPEG, PNG or WebP photo (this file is not a readable image)."
    ]
    assert ResourcePhoto.objects.count() == 0


@pytest.mark.django_db
def test_submit_pause_resume_retire(client_for, provider_org, provider_owner, operator, verified):
    resource = ResourceFactory(provider=provider_org, status="draft")
    client = client_for(provider_owner)
    client.post(reverse("capacity:workspace_resource_submit", args=[resource.pk]))
    resource.refresh_from_db()
    assert resource.status == "pending_review"
    resource_services.approve_listing(resource=resource, actor=operator)
    client.post(reverse("capacity:workspace_resource_pause", args=[resource.pk]))
    resource.refresh_from_db()
    assert resource.status == "paused"
    client.post(reverse("capacity:workspace_resource_resume", args=[resource.pk]))
    resource.refresh_from_db()
    assert resource.status == "listed"
    client.post(reverse("capacity:workspace_resource_retire", args=[resource.pk]))
    resource.refresh_from_db()
    assert resource.status == "retired"
    assert list(ReviewEvent.objects.values_list("from_status", "to_status")) == [
        ("draft", "pending_review"),
        ("pending_review", "listed"),
        ("listed", "paused"),
        ("paused", "listed"),
        ("listed", "retired"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["unverified", "rejected", "suspended"])
def test_resources_of_unverified_or_suspended_providers_cannot_be_submitted(provider_org, provider_owner, status):
    ProviderProfileFactory(organisation=provider_org, status=status)
    resource = ResourceFactory(provider=provider_org, status="draft")
    with pytest.raises(DomainError) as refused:
        resource_services.submit_resource_for_review(resource=resource, actor=provider_owner)
    assert refused.value.code == "provider_unverified"
    resource.refresh_from_db()
    assert resource.status == "draft"
    assert ReviewEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_suspended_providers_paused_resource_cannot_resume(provider_org, provider_owner):
    ProviderProfileFactory(organisation=provider_org, status="suspended")
    resource = ResourceFactory(provider=provider_org, status="paused")
    with pytest.raises(DomainError) as refused:
        resource_services.resume_resource(resource=resource, actor=provider_owner)
    assert refused.value.message == "Only resources of verified providers can be listed."
    resource.refresh_from_db()
    assert resource.status == "paused"


@pytest.mark.django_db
def test_rate_card_must_be_complete(provider_org, provider_owner, verified):
    resource = ResourceFactory(provider=provider_org, status="draft", billing_unit="part", cycle_time_minutes=None)
    with pytest.raises(DomainError) as refused:
        resource_services.submit_resource_for_review(resource=resource, actor=provider_owner)
    assert refused.value.message == "The rate card is incomplete: add a cycle time per part (billed per part)."
    resource.refresh_from_db()
    assert resource.status == "draft"


@pytest.mark.django_db
def test_members_cannot_retire(client_for, provider_org, provider_member):
    resource = ResourceFactory(provider=provider_org, status="draft")
    response = client_for(provider_member).post(reverse("capacity:workspace_resource_retire", args=[resource.pk]))
    assert response.status_code == 403
    resource.refresh_from_db()
    assert resource.status == "draft"


@pytest.mark.django_db
def test_other_organisations_get_404(client_for, provider_org, outsider):
    resource = ResourceFactory(provider=provider_org, status="listed")
    client = client_for(outsider)
    assert client.get(reverse("capacity:workspace_resource_edit", args=[resource.pk])).status_code == 404
    response = client.post(reverse("capacity:workspace_resource_edit", args=[resource.pk]), form_data(name="Stolen"))
    assert response.status_code == 404
    assert client.post(reverse("capacity:workspace_resource_pause", args=[resource.pk])).status_code == 404
    resource.refresh_from_db()
    assert (resource.name.startswith("Vertical machining centre"), resource.status) == (True, "listed")
    listing = client.get(reverse("capacity:workspace_resources"))
    assert list(listing.context["resources"]) == []


@pytest.mark.django_db
def test_list_filters_by_status_with_counts(client_for, provider_org, provider_member):
    ResourceFactory(provider=provider_org, status="draft", name="A")
    ResourceFactory(provider=provider_org, status="listed", name="B")
    ResourceFactory(provider=provider_org, status="listed", name="C")
    response = client_for(provider_member).get(reverse("capacity:workspace_resources"), {"status": "listed"})
    assert [r.name for r in response.context["resources"]] == ["B", "C"]
    assert [(value, count) for value, _label, count in response.context["tabs"]] == [
        ("draft", 1),
        ("pending_review", 0),
        ("listed", 2),
        ("paused", 0),
        ("retired", 0),
    ]
