"""The provider profile: details, credit code, licence, photos, certificates, submission."""

from datetime import date

import pytest
from django.urls import reverse

from capacity.models import Certification, ProviderPhoto, ProviderProfile, ReviewEvent
from capacity.services import providers
from marketplace.errors import DomainError
from tests.capacity.uploads import OTHER_VALID_CODE, VALID_CODE, big_jpeg, exe_named_png, pdf, png
from tests.factories import ProviderProfileFactory

PROFILE_URL = reverse("capacity:workspace_profile")


def details(**overrides):
    data = {
        "legal_name": "苏州精密数控有限公司",
        "credit_code": VALID_CODE.lower(),
        "province": "JS",
        "city": "SZ",
        "address": "苏州工业园区星湖街 328 号",
        "latitude": "",
        "longitude": "",
        "contact_name": "王工",
        "contact_phone": "+86 512 6000 0000",
        "contact_email": "sales@suzhou-precision.example",
        "website": "https://suzhou-precision.example",
        "description": "5-axis machining",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_first_visit_creates_an_unverified_profile(client_for, provider_org, provider_member):
    response = client_for(provider_member).get(PROFILE_URL)
    assert response.status_code == 200
    profile = ProviderProfile.objects.get()
    assert (profile.organisation, profile.legal_name, profile.status) == (provider_org, provider_org.name, "unverified")


@pytest.mark.django_db
def test_member_saves_details_with_licence_and_coordinates_from_the_city(client_for, provider_member):
    client = client_for(provider_member)
    response = client.post(PROFILE_URL, {**details(), "business_licence_upload": pdf()})
    assert response.status_code == 302
    profile = ProviderProfile.objects.get()
    assert profile.credit_code == VALID_CODE
    assert (profile.province, profile.city) == ("JS", "SZ")
    assert (str(profile.latitude), str(profile.longitude)) == ("31.304100", "120.595400")
    assert profile.business_licence.name.startswith("licences/")
    # The licence is served through an access-checked view, by content type.
    served = client.get(reverse("capacity:workspace_file", args=["licence", profile.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == "application/pdf"


@pytest.mark.django_db
def test_invalid_credit_code_is_refused_and_nothing_is_saved(client_for, provider_member):
    client = client_for(provider_member)
    client.get(PROFILE_URL)
    wrong_check = VALID_CODE[:17] + "Q"
    response = client.post(PROFILE_URL, details(credit_code=wrong_check, legal_name="Changed"))
    assert response.status_code == 200
    assert response.context["form"].errors["credit_code"] == [
        "The check character does not match: please re-type the code from the business licence."
    ]
    profile = ProviderProfile.objects.get()
    assert (profile.credit_code, profile.legal_name) == (None, "Suzhou Precision CNC")


@pytest.mark.django_db
def test_credit_code_is_unique(client_for, provider_member):
    ProviderProfileFactory(credit_code=VALID_CODE)
    response = client_for(provider_member).post(PROFILE_URL, details())
    assert response.context["form"].errors["credit_code"] == [
        "Another provider is already registered with this unified social credit code."
    ]
    assert ProviderProfile.objects.filter(credit_code=VALID_CODE).count() == 1


@pytest.mark.django_db
def test_licence_is_checked_by_content(client_for, provider_member):
    client = client_for(provider_member)
    client.get(PROFILE_URL)
    fake = exe_named_png()
    fake.name = "licence.pdf"
    response = client.post(PROFILE_URL, {**details(), "business_licence_upload": fake})
    assert response.context["form"].errors["business_licence_upload"] == [
        "Upload a PDF, JPEG or PNG file (this file is none of these)."
    ]
    assert not ProviderProfile.objects.get().business_licence


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (exe_named_png, "Upload a JPEG, PNG or WebP photo (this file is not a readable image)."),
        (big_jpeg, "The photo is 6.0 MB; photos may be at most 5 MB."),
    ],
)
def test_bad_photos_are_refused(client_for, provider_member, upload, message):
    client = client_for(provider_member)
    client.get(PROFILE_URL)
    response = client.post(reverse("capacity:workspace_profile_photo_add"), {"image": upload()}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [message]
    assert ProviderPhoto.objects.count() == 0


@pytest.mark.django_db
def test_at_most_eight_photos(client_for, provider_org, provider_member):
    client = client_for(provider_member)
    for n in range(8):
        client.post(reverse("capacity:workspace_profile_photo_add"), {"image": png(f"p{n}.png"), "caption": str(n)})
    assert ProviderPhoto.objects.count() == 8
    response = client.post(reverse("capacity:workspace_profile_photo_add"), {"image": png()}, follow=True)
    assert [str(m) for m in response.context["messages"]][-1] == "A profile can have at most 8 photos."
    assert ProviderPhoto.objects.count() == 8
    photo = ProviderPhoto.objects.first()
    served = client.get(reverse("capacity:workspace_file", args=["provider-photo", photo.pk]))
    assert (served.status_code, served["Content-Type"]) == (200, "image/png")


@pytest.mark.django_db
def test_files_are_private(client_for, provider_org, provider_member, outsider, operator, client):
    client_for(provider_member).post(PROFILE_URL, {**details(), "business_licence_upload": pdf()})
    profile = ProviderProfile.objects.get()
    assert not profile.business_licence.url.startswith("/workspace/")  # storage URL is never linked
    client.force_login(outsider)
    assert client.get(reverse("capacity:workspace_file", args=["licence", profile.pk])).status_code == 404
    assert client.get(reverse("capacity:ops_file", args=["licence", profile.pk])).status_code == 403
    client.force_login(operator)
    response = client.get(reverse("capacity:ops_file", args=["licence", profile.pk]))
    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")


@pytest.mark.django_db
def test_certification_crud(client_for, provider_member):
    client = client_for(provider_member)
    client.get(PROFILE_URL)
    data = {
        "standard": "IATF16949",
        "number": "IATF-0412345",
        "issuer": "TÜV SÜD",
        "scope": "Machining of powertrain parts",
        "valid_from": "2025-03-01",
        "valid_until": "2028-02-28",
        "document_upload": pdf("iatf.pdf"),
    }
    assert client.post(reverse("capacity:workspace_certification_create"), data).status_code == 302
    certification = Certification.objects.get()
    assert (certification.standard, certification.valid_until) == ("IATF16949", date(2028, 2, 28))
    assert certification.document.name.startswith("certificates/")

    data.update(valid_until="2024-01-01", document_upload=png())
    response = client.post(reverse("capacity:workspace_certification_edit", args=[certification.pk]), data)
    assert response.context["form"].errors["valid_until"] == ["A certificate cannot expire before it becomes valid."]
    certification.refresh_from_db()
    assert certification.valid_until == date(2028, 2, 28)

    client.post(reverse("capacity:workspace_certification_delete", args=[certification.pk]))
    assert Certification.objects.count() == 0


@pytest.mark.django_db
def test_submit_requires_complete_details(provider_org, provider_owner):
    profile = providers.get_or_create_provider_profile(organisation=provider_org)
    with pytest.raises(DomainError) as refused:
        providers.submit_provider_for_verification(profile=profile, actor=provider_owner)
    assert refused.value.code == "incomplete"
    assert refused.value.message == (
        "Before submitting, add a valid unified social credit code, the address with province and city, "
        "the business licence."
    )
    profile.refresh_from_db()
    assert profile.status == "unverified"
    assert ReviewEvent.objects.count() == 0


@pytest.mark.django_db
def test_owner_submits_for_verification_and_details_freeze(client_for, provider_owner, provider_member):
    client = client_for(provider_owner)
    client.post(PROFILE_URL, {**details(), "business_licence_upload": pdf()})
    response = client.post(reverse("capacity:workspace_profile_submit"))
    assert response.status_code == 302
    profile = ProviderProfile.objects.get()
    assert profile.status == "pending"
    assert profile.submitted_at is not None
    event = ReviewEvent.objects.get()
    assert (event.subject_type, event.subject_id, event.from_status, event.to_status, event.actor) == (
        "provider",
        profile.pk,
        "unverified",
        "pending",
        provider_owner,
    )
    # While pending the legal name and credit code cannot be changed (the fields are disabled).
    client.post(PROFILE_URL, details(legal_name="Other Co.", credit_code=OTHER_VALID_CODE, address="New address"))
    profile.refresh_from_db()
    assert (profile.legal_name, profile.credit_code, profile.address) == (
        "苏州精密数控有限公司",
        VALID_CODE,
        "New address",
    )


@pytest.mark.django_db
def test_members_cannot_submit_for_verification(client_for, provider_org, provider_member):
    profile = ProviderProfileFactory(organisation=provider_org, status="unverified", credit_code=VALID_CODE)
    response = client_for(provider_member).post(reverse("capacity:workspace_profile_submit"))
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.status == "unverified"


@pytest.mark.django_db
def test_buyer_organisations_have_no_workspace(client_for, buyer_owner):
    assert client_for(buyer_owner).get(PROFILE_URL).status_code == 403
    assert ProviderProfile.objects.count() == 0


@pytest.mark.django_db
def test_city_options_follow_the_province(client_for, provider_member):
    response = client_for(provider_member).get(reverse("capacity:workspace_profile_cities"), {"province": "BJ"})
    assert response.status_code == 200
    assert '<option value="HD">' in response.content.decode()
    assert '<option value="SZ">' not in response.content.decode()
