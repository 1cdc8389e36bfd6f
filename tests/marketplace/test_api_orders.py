from marketplace.models import Order, OrderEvent
from tests.factories import OrderFactory
from tests.marketplace.api_support import key_for

ORDERS = "/api/v1/orders/"


def test_create_draft_then_edit_and_cancel(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org)
    response = client.post(
        ORDERS,
        {"kind": "production", "category": "P0101", "title": "Aluminium flange", "quantity": 200},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert (order.buyer, order.created_by, order.status, order.quantity) == (buyer_org, buyer_owner, "draft", 200)
    assert response.json()["id"] == order.pk
    patched = client.patch(f"{ORDERS}{order.pk}/", {"quantity": 250}, content_type="application/json", **headers)
    assert patched.status_code == 200
    assert patched.json()["quantity"] == 250
    cancelled = client.post(
        f"{ORDERS}{order.pk}/cancel/", {"note": "postponed"}, content_type="application/json", **headers
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


def test_validation_error_format(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org)
    response = client.post(ORDERS, {"kind": "production"}, content_type="application/json", **headers)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    assert set(body["error"]["details"]) == {"category", "title"}
    assert Order.objects.count() == 0


def test_domain_error_format_on_incomplete_submit(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org)
    order = OrderFactory(buyer=buyer_org, status="draft", due_at=None)
    events = OrderEvent.objects.count()
    response = client.post(f"{ORDERS}{order.pk}/submit/", **headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "incomplete"
    assert error["details"]["problems"]
    order.refresh_from_db()
    assert order.status == "draft"
    assert OrderEvent.objects.count() == events


def test_another_organisations_order_is_404(client, outsider, other_org, buyer_org):
    order = OrderFactory(buyer=buyer_org)
    _key, headers = key_for(outsider, other_org)
    response = client.get(f"{ORDERS}{order.pk}/", **headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_is_cursor_paginated_and_filtered(client, buyer_owner, buyer_org):
    _key, headers = key_for(buyer_owner, buyer_org)
    orders = [OrderFactory(buyer=buyer_org, status=status) for status in ("draft", "open", "open")]
    response = client.get(ORDERS, {"page_size": 1, "status": "open"}, **headers)
    body = response.json()
    assert [o["id"] for o in body["results"]] == [orders[2].pk]
    assert "cursor=" in body["next"]
    second = client.get(body["next"], **headers).json()
    assert [o["id"] for o in second["results"]] == [orders[1].pk]
