from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from marketplace.models import ApiKey, Order
from marketplace.models.api import hash_key
from tests.marketplace.api_support import key_for

ORDERS = "/api/v1/orders/"


def test_owner_creates_a_key_shown_once_and_stored_hashed(client, buyer_owner, buyer_org):
    client.force_login(buyer_owner)
    response = client.post(reverse("api_keys"), {"name": "ERP sync", "scope": "read"})
    assert response.status_code == 200
    raw = response.context["created"]
    key = ApiKey.objects.get()
    assert raw.startswith(f"spk_{key.prefix}_")
    assert len(key.prefix) == 8
    assert key.hashed_key == hash_key(raw)
    assert raw not in str(ApiKey.objects.values_list().get())
    assert (key.organisation, key.created_by, key.scope) == (buyer_org, buyer_owner, "read")
    listing = client.get(reverse("api_keys"))
    assert raw not in listing.content.decode()


def test_plain_member_cannot_create_keys(client, provider_member):
    client.force_login(provider_member)
    assert client.post(reverse("api_keys"), {"name": "x", "scope": "read"}).status_code == 403
    assert ApiKey.objects.count() == 0


def test_key_authenticates_as_creator_for_its_organisation(client, buyer_owner, buyer_org):
    key, headers = key_for(buyer_owner, buyer_org)
    response = client.get(ORDERS, **headers)
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": []}
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_read_only_key_refused_on_post(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org, scope="read")
    response = client.post(ORDERS, {"kind": "production", "category": "P0101", "title": "Flange"}, **headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "read_only_key"
    assert Order.objects.count() == 0


def test_revoked_key_is_401(client, buyer_owner, buyer_org):
    key, headers = key_for(buyer_owner, buyer_org)
    client.force_login(buyer_owner)
    assert client.post(reverse("api_key_revoke", args=[key.pk])).status_code == 302
    client.logout()
    response = client.get(ORDERS, **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Bearer"


def test_unknown_key_is_401(client, db):
    response = client.get(ORDERS, HTTP_AUTHORIZATION="Bearer spk_abcdefgh_nope")
    assert response.status_code == 401


def test_anonymous_is_401(client, db):
    response = client.get(ORDERS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@override_settings(SPINDLE_API_KEY_RATE="2/min")
def test_throttled_per_key_with_retry_after(client, buyer_owner, buyer_org):
    from django.core.cache import cache

    cache.clear()
    _key, headers = key_for(buyer_owner, buyer_org)
    assert [client.get(ORDERS, **headers).status_code for _ in range(2)] == [200, 200]
    response = client.get(ORDERS, **headers)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    cache.clear()


def test_revoking_twice_changes_nothing(client, buyer_owner, buyer_org):
    key, _headers = key_for(buyer_owner, buyer_org)
    key.revoked_at = timezone.now()
    key.save()
    client.force_login(buyer_owner)
    client.post(reverse("api_key_revoke", args=[key.pk]))
    assert ApiKey.objects.get().revoked_at == key.revoked_at
