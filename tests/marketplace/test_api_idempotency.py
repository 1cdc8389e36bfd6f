from marketplace.models import IdempotencyRecord, Order
from tests.marketplace.api_support import key_for

ORDERS = "/api/v1/orders/"
BODY = {"kind": "production", "category": "P0101", "title": "Aluminium flange", "quantity": 200}


def test_replayed_post_creates_once_and_returns_the_same_response(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org)
    first = client.post(ORDERS, BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc-1", **headers)
    again = client.post(ORDERS, BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc-1", **headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_same_key_different_body_is_422(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org)
    client.post(ORDERS, BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc-2", **headers)
    other = {**BODY, "quantity": 300}
    response = client.post(ORDERS, other, content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc-2", **headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Order.objects.values_list("quantity", flat=True)) == [200]


def test_refused_creation_stores_no_record(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org)
    bad = {**BODY, "kind": "testing"}  # P0101 is a production category: the service refuses
    response = client.post(ORDERS, bad, content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc-3", **headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "category_kind"
    assert (Order.objects.count(), IdempotencyRecord.objects.count()) == (0, 0)


def test_keys_are_per_principal(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org)
    _key2, headers2 = key_for(buyer_owner, buyer_org, name="Second")
    client.post(ORDERS, BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same", **headers)
    client.post(ORDERS, BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same", **headers2)
    assert Order.objects.count() == 2
