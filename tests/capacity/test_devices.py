"""Device registry pages: owners register, rotate, revoke and bind; the secret is shown once and
stored encrypted; members see devices, their last contact, gaps and clock skew."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from capacity.models import Device
from capacity.services.metering import record_readings, register_device
from marketplace.crypto import decrypt
from marketplace.errors import DomainError, PermissionDeniedError
from tests.capacity.metering_support import T0, booking, device_for, reading
from tests.factories import ResourceFactory


@pytest.fixture(autouse=True)
def english(client):
    """Reasons and pages are asserted in English (the site's default language is Chinese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def machine(provider_org):
    return ResourceFactory(provider=provider_org, name="DMG Mori DMU 50")


def test_an_owner_registers_a_device_and_sees_the_secret_once(client_for, provider_owner, machine):
    client = client_for(provider_owner)

    response = client.post(
        reverse("capacity:device_create"), {"name": "Gateway hall 2", "kind": "gateway", "resources": [machine.pk]}
    )

    device = Device.objects.get()
    secret = response.context["secret"]
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert secret in response.content.decode()
    assert len(secret) == 43
    assert secret not in device.secret_encrypted
    assert decrypt(device.secret_encrypted) == secret
    assert device.secret_hint == secret[-4:]
    assert (device.name, device.kind, list(device.resources.all())) == ("Gateway hall 2", "gateway", [machine])
    detail = client.get(reverse("capacity:device_detail", args=[device.pk]))
    assert detail.status_code == 200
    assert secret not in detail.content.decode()
    assert f"…{secret[-4:]}" in detail.content.decode()


def test_another_providers_resource_cannot_be_bound(client_for, provider_owner, provider_org, machine, other_org):
    theirs = ResourceFactory(provider=other_org)
    client = client_for(provider_owner)

    response = client.post(
        reverse("capacity:device_create"), {"name": "GW", "kind": "gateway", "resources": [theirs.pk]}
    )

    assert response.status_code == 200
    assert "resources" in response.context["form"].errors
    assert not Device.objects.exists()
    with pytest.raises(DomainError, match="only be bound to your own resources"):
        register_device(organisation=provider_org, user=provider_owner, name="GW", kind="gateway", resources=[theirs])
    assert not Device.objects.exists()


def test_rotation_shows_a_new_secret_and_the_old_one_stops(client_for, provider_owner, provider_org, machine):
    device, old_secret = device_for(provider_org, provider_owner, [machine])
    client = client_for(provider_owner)

    response = client.post(reverse("capacity:device_rotate", args=[device.pk]))

    device.refresh_from_db()
    new_secret = response.context["secret"]
    assert new_secret != old_secret
    assert device.secret == new_secret
    assert device.rotated_at is not None


def test_revoke_then_nothing_more_can_be_done(client_for, provider_owner, provider_org, machine):
    device, _ = device_for(provider_org, provider_owner, [machine])
    client = client_for(provider_owner)

    client.post(reverse("capacity:device_revoke", args=[device.pk]))
    device.refresh_from_db()
    revoked_at, encrypted = device.revoked_at, device.secret_encrypted
    again = client.post(reverse("capacity:device_rotate", args=[device.pk]), follow=True)

    assert revoked_at is not None
    assert "This device is revoked." in again.content.decode()
    device.refresh_from_db()
    assert (device.revoked_at, device.secret_encrypted) == (revoked_at, encrypted)


def test_binding_resources(client_for, provider_owner, provider_org, machine):
    device, _ = device_for(provider_org, provider_owner, [])
    other_machine = ResourceFactory(provider=provider_org)
    client = client_for(provider_owner)

    response = client.post(
        reverse("capacity:device_resources", args=[device.pk]), {"resources": [machine.pk, other_machine.pk]}
    )

    assert response.status_code == 302
    assert set(device.resources.all()) == {machine, other_machine}


def test_members_see_devices_but_cannot_manage_them(client_for, provider_owner, provider_member, provider_org, machine):
    device, _ = device_for(provider_org, provider_owner, [machine])
    client = client_for(provider_member)

    assert client.get(reverse("capacity:device_list")).status_code == 200
    detail = client.get(reverse("capacity:device_detail", args=[device.pk]))
    assert detail.status_code == 200
    assert "Rotate secret" not in detail.content.decode()
    assert client.get(reverse("capacity:device_create")).status_code == 403
    assert client.post(reverse("capacity:device_rotate", args=[device.pk])).status_code == 403
    assert client.post(reverse("capacity:device_revoke", args=[device.pk])).status_code == 403
    with pytest.raises(PermissionDeniedError):
        register_device(organisation=provider_org, user=provider_member, name="x", kind="gateway")
    device.refresh_from_db()
    assert (device.revoked_at, device.rotated_at, Device.objects.count()) == (None, None, 1)


def test_buyers_have_no_device_pages(client_for, buyer_owner):
    assert client_for(buyer_owner).get(reverse("capacity:device_list")).status_code == 403


def test_the_list_shows_last_seen_gaps_and_clock_skew(client_for, provider_owner, provider_org, machine, settings):
    settings.LANGUAGE_CODE = "en"
    device, _ = device_for(provider_org, provider_owner, [machine])
    now = timezone.now().replace(microsecond=0)
    # Two readings an hour apart (a gap), the newest stamped 10 minutes before it arrived.
    record_readings(
        device=device,
        readings=[
            reading(machine, 1, now - timedelta(minutes=70), 0),
            reading(machine, 2, now - timedelta(minutes=10), 60),
        ],
        now=now,
    )

    response = client_for(provider_owner).get(reverse("capacity:device_list"), HTTP_ACCEPT_LANGUAGE="en")

    row = response.context["rows"][0]
    assert row["gaps"] == [(now - timedelta(minutes=70), now - timedelta(minutes=10))]
    page = response.content.decode()
    assert "1 gap" in page
    assert "clock off by 600 s" in page


def test_the_detail_page_draws_utilisation_by_day(client_for, provider_owner, provider_org, machine):
    device, _ = device_for(provider_org, provider_owner, [machine])
    now = timezone.now().replace(microsecond=0)
    record_readings(
        device=device,
        readings=[
            reading(machine, 1, now - timedelta(hours=3), 0),
            reading(machine, 2, now - timedelta(hours=1), 3600),
        ],
        now=now,
    )

    response = client_for(provider_owner).get(reverse("capacity:device_detail", args=[device.pk]))

    bars = response.context["utilisation"][0]["bars"]
    assert len(bars) == 7
    assert sum(bar["hours"] for bar in bars) == 1.0
    assert response.content.decode().count('<rect class="bar"') == 7


def test_the_booking_usage_page_is_the_providers_only(client_for, provider_owner, outsider, provider_org, machine):
    slot = booking(machine, T0, T0 + timedelta(hours=2))
    url = reverse("capacity:booking_usage", args=[slot.pk])

    mine = client_for(provider_owner).get(url)

    assert mine.status_code == 200
    assert "<polyline" in mine.content.decode()
    assert client_for(outsider).get(url).status_code == 404


def test_the_device_list_query_count_does_not_grow_with_devices(
    client_for, provider_owner, provider_org, machine, django_assert_max_num_queries
):
    for n in range(5):
        device_for(provider_org, provider_owner, [machine], name=f"GW {n}")
    client = client_for(provider_owner)
    client.get(reverse("capacity:device_list"))  # session set-up
    with django_assert_max_num_queries(9):
        response = client.get(reverse("capacity:device_list"))
    assert len(response.context["rows"]) == 5
