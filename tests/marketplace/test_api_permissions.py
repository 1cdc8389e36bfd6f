"""Who may use which endpoint: owner key of the owning organisation, a key of another
organisation, anonymous, and an operator's session (operators act for no organisation here)."""

import pytest

from capacity.models import Resource
from marketplace.models import Order, WebhookDelivery, WebhookSubscription
from marketplace.services.webhooks import create_subscription
from tests.factories import OrderFactory, ResourceFactory
from tests.marketplace.api_support import key_for


@pytest.fixture
def keys(buyer_owner, buyer_org, outsider, other_org):
    return {"owner": key_for(buyer_owner, buyer_org)[1], "other": key_for(outsider, other_org)[1], "anonymous": {}}


ENDPOINTS = [
    # (method, path template, expected for owner key, other organisation's key, anonymous, operator session)
    ("get", "/api/v1/orders/", 200, 200, 401, 403),
    ("get", "/api/v1/orders/{order}/", 200, 404, 401, 403),
    ("patch", "/api/v1/orders/{order}/", 200, 404, 401, 403),
    ("post", "/api/v1/orders/{order}/submit/", 400, 404, 401, 403),
    ("get", "/api/v1/orders/{order}/matches/", 200, 404, 401, 403),
    ("get", "/api/v1/trades/", 200, 200, 401, 403),
    ("get", "/api/v1/bookings/", 200, 200, 401, 403),
    ("get", "/api/v1/usage/", 200, 200, 401, 403),
    ("get", "/api/v1/invoices/", 200, 200, 401, 403),
    ("get", "/api/v1/quotes/", 403, 200, 401, 403),
    ("get", "/api/v1/devices/", 403, 200, 401, 403),
    ("get", "/api/v1/resources/", 200, 200, 200, 200),
    ("get", "/api/v1/resources/{resource}/", 200, 200, 200, 200),
    ("patch", "/api/v1/resources/{resource}/", 403, 404, 401, 403),
    ("get", "/api/v1/webhooks/", 200, 200, 401, 403),
    ("post", "/api/v1/webhooks/", 400, 400, 401, 403),
    ("get", "/api/v1/webhooks/{webhook}/", 200, 404, 401, 403),
    ("patch", "/api/v1/webhooks/{webhook}/", 200, 404, 401, 403),
    ("get", "/api/v1/webhooks/{webhook}/deliveries/", 200, 404, 401, 403),
    ("get", "/api/v1/webhook-deliveries/", 200, 200, 401, 403),
    ("get", "/api/v1/webhook-deliveries/{delivery}/", 200, 404, 401, 403),
    ("post", "/api/v1/webhook-deliveries/{delivery}/replay/", 400, 404, 401, 403),
]


@pytest.mark.parametrize(("method", "template", "owner", "other", "anonymous", "operator_session"), ENDPOINTS)
def test_permission_matrix(
    client, keys, operator, buyer_org, buyer_owner, method, template, owner, other, anonymous, operator_session
):
    order = OrderFactory(buyer=buyer_org, status="draft", due_at=None)
    resource = ResourceFactory()
    # A paused webhook: the owner's replay is refused (400) and nothing is sent.
    webhook, _secret = create_subscription(
        organisation=buyer_org, by=buyer_owner, url="https://erp.example.com/hooks", event_types=["trade.created"]
    )
    WebhookSubscription.objects.filter(pk=webhook.pk).update(active=False)
    delivery = WebhookDelivery.objects.create(
        subscription=webhook, event_type="trade.created", payload={}, status="failed", attempts=6
    )
    path = template.format(order=order.pk, resource=resource.pk, webhook=webhook.pk, delivery=delivery.pk)
    before = (
        list(Order.objects.values_list("pk", "status", "quantity")),
        list(Resource.objects.values_list("pk", "rate")),
        list(WebhookSubscription.objects.values_list("pk", "url", "event_types", "active")),
        list(WebhookDelivery.objects.values_list("pk", "status", "attempts", "next_attempt_at")),
    )
    for who, expected in (("owner", owner), ("other", other), ("anonymous", anonymous)):
        response = getattr(client, method)(path, {}, content_type="application/json", **keys[who])
        assert response.status_code == expected, (who, response.status_code, response.content[:200])
    client.force_login(operator)
    response = getattr(client, method)(path, {}, content_type="application/json")
    assert response.status_code == operator_session, ("operator", response.status_code)
    if method != "get":
        assert (
            list(Order.objects.values_list("pk", "status", "quantity")),
            list(Resource.objects.values_list("pk", "rate")),
            list(WebhookSubscription.objects.values_list("pk", "url", "event_types", "active")),
            list(WebhookDelivery.objects.values_list("pk", "status", "attempts", "next_attempt_at")),
        ) == before
