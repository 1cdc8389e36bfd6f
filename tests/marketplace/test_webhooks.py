"""Outgoing webhooks: a real local receiver gets signed events, failures are retried with
backoff, replays keep the event id, and nothing crosses organisations."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.crypto import decrypt
from marketplace.errors import PermissionDeniedError
from marketplace.models import Membership, Trade, WebhookDelivery, WebhookSubscription
from marketplace.services import trades as trade_services
from marketplace.services import webhooks as services
from marketplace.tasks import deliver_webhook
from tests.factories import MembershipFactory
from tests.marketplace.api_support import key_for
from tests.marketplace.trade_world import NOW, book, mill_of, order_of

S = Trade.Status


class Receiver:
    """An HTTP server on 127.0.0.1 (free port) that records each POST and answers ``status``."""

    def __init__(self):
        self.status = 200
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]


@pytest.fixture
def receiver(settings):
    settings.SPINDLE_WEBHOOK_ALLOW_LOCAL_HTTP = True
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def trade(provider_org, buyer_org, buyer_owner, provider_owner):
    return book(order_of(buyer_org), buyer_owner, mill_of(provider_org))


def subscribe(organisation, owner, url, events=("trade.status_changed",)):
    return services.create_subscription(organisation=organisation, by=owner, url=url, event_types=list(events))


def verify(secret: str, headers: dict, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in headers["Spindle-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return parts["t"] == headers["Spindle-Timestamp"] and hmac.compare_digest(parts["v1"], expected)


def test_a_trade_state_change_reaches_the_receiver_signed(
    receiver, trade, buyer_org, buyer_owner, provider_owner, django_capture_on_commit_callbacks
):
    subscription, secret = subscribe(buyer_org, buyer_owner, receiver.url)
    assert decrypt(subscription.secret_encrypted) == secret and secret.startswith("whsec_")

    with django_capture_on_commit_callbacks(execute=True):
        trade_services.transition_trade(trade=trade, to=S.IN_PRODUCTION, by=provider_owner, now=NOW)

    delivery = WebhookDelivery.objects.get()
    [request] = receiver.requests
    headers = request["headers"]
    assert headers["Spindle-Event"] == "trade.status_changed"
    assert headers["Spindle-Delivery"] == str(delivery.pk)
    assert headers["Content-Type"] == "application/json"
    assert verify(secret, headers, request["body"])
    assert not verify("whsec_wrong", headers, request["body"])
    body = json.loads(request["body"])
    assert body == {
        "id": str(delivery.event_id),
        "type": "trade.status_changed",
        "created": NOW.isoformat(),
        "organisation": "hangzhou-robotics",
        "data": {
            "trade": {
                "id": trade.pk,
                "order": trade.order_id,
                "buyer_id": trade.buyer_id,
                "provider_id": trade.provider_id,
                "status": "in_production",
                "currency": trade.currency,
                "price_estimate": str(trade.price_estimate),
            },
            "from": "confirmed",
            "to": "in_production",
        },
    }
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        WebhookDelivery.Status.SUCCEEDED,
        1,
        200,
        "",
    )
    assert delivery.next_attempt_at is None and delivery.delivered_at is not None
    assert [(entry["attempt"], entry["status_code"], entry["error"]) for entry in delivery.attempt_log] == [
        (1, 200, "")
    ]


def test_a_new_trade_is_published_to_both_parties(
    receiver,
    provider_org,
    buyer_org,
    buyer_owner,
    provider_owner,
    django_capture_on_commit_callbacks,
):
    subscribe(buyer_org, buyer_owner, receiver.url, events=["trade.created"])
    subscribe(provider_org, provider_owner, receiver.url, events=["trade.created", "invoice.issued"])
    with django_capture_on_commit_callbacks(execute=True):
        trade = book(order_of(buyer_org), buyer_owner, mill_of(provider_org))

    bodies = receiver.bodies()
    assert sorted((body["type"], body["organisation"], body["data"]["trade"]["id"]) for body in bodies) == sorted(
        [("trade.created", "hangzhou-robotics", trade.pk), ("trade.created", provider_org.slug, trade.pk)]
    )
    assert bodies[0]["id"] != bodies[1]["id"]  # one event per organisation
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(
    receiver, trade, buyer_org, buyer_owner, provider_owner, django_capture_on_commit_callbacks
):
    receiver.status = 500
    subscribe(buyer_org, buyer_owner, receiver.url)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        trade_services.transition_trade(trade=trade, to=S.IN_PRODUCTION, by=provider_owner, now=NOW)
    after = timezone.now()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "pending",
        1,
        500,
        "HTTP 500",
    )
    # The retry was enqueued with a countdown; run eagerly it finds the delivery not yet due.
    assert before + timedelta(minutes=1) <= delivery.next_attempt_at <= after + timedelta(minutes=1)
    assert len(receiver.requests) == 1
    assert deliver_webhook.apply(args=(delivery.pk,)).get() is False
    assert WebhookDelivery.objects.get().attempts == 1

    waits = []
    for _attempt in range(2, 7):
        due = delivery.next_attempt_at
        assert services.attempt_delivery(delivery_id=delivery.pk, now=due) is True
        delivery.refresh_from_db()
        waits.append(delivery.next_attempt_at - due if delivery.next_attempt_at else None)
    assert waits == [
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
        None,
    ]
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("failed", 6, None)
    assert [entry["attempt"] for entry in delivery.attempt_log] == [1, 2, 3, 4, 5, 6]
    assert len(receiver.requests) == 6
    assert {body["id"] for body in receiver.bodies()} == {str(delivery.event_id)}
    assert services.attempt_delivery(delivery_id=delivery.pk, now=due + timedelta(days=1)) is False


def test_replay_resends_the_same_event(
    client, receiver, trade, buyer_org, buyer_owner, provider_owner, django_capture_on_commit_callbacks
):
    _subscription, secret = subscribe(buyer_org, buyer_owner, receiver.url)
    receiver.status = 404
    with django_capture_on_commit_callbacks(execute=True):
        trade_services.transition_trade(trade=trade, to=S.IN_PRODUCTION, by=provider_owner, now=NOW)
    delivery = WebhookDelivery.objects.get()
    receiver.status = 200
    _key, auth = key_for(buyer_owner, buyer_org)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/", **auth)

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 200)
    first, second = receiver.requests
    assert json.loads(first["body"])["id"] == json.loads(second["body"])["id"] == str(delivery.event_id)
    assert second["headers"]["Spindle-Delivery"] == str(delivery.pk)
    assert verify(secret, second["headers"], second["body"])
    assert WebhookDelivery.objects.count() == 1


def test_another_organisations_subscription_never_receives_our_events(
    receiver,
    trade,
    buyer_org,
    buyer_owner,
    provider_owner,
    other_org,
    outsider,
    django_capture_on_commit_callbacks,
):
    everything = [choice for choice, _label in WebhookSubscription._meta.get_field("event_types").base_field.choices]
    theirs, _secret = subscribe(other_org, outsider, receiver.url, events=everything)
    with django_capture_on_commit_callbacks(execute=True):
        trade_services.transition_trade(trade=trade, to=S.IN_PRODUCTION, by=provider_owner, now=NOW)
        trade_services.transition_trade(trade=trade, to=S.PRODUCED, by=provider_owner, now=NOW)
    assert WebhookDelivery.objects.filter(subscription=theirs).count() == 0
    assert receiver.requests == []

    ours, _secret = subscribe(buyer_org, buyer_owner, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        trade_services.transition_trade(trade=trade, to=S.DELIVERED, by=provider_owner, now=NOW)
    assert list(WebhookDelivery.objects.values_list("subscription", flat=True)) == [ours.pk]
    assert [body["organisation"] for body in receiver.bodies()] == ["hangzhou-robotics"]


def test_paused_subscriptions_get_nothing(receiver, trade, buyer_org, buyer_owner, provider_owner):
    subscription, _secret = subscribe(buyer_org, buyer_owner, receiver.url)
    services.update_subscription(subscription=subscription, by=buyer_owner, active=False)
    trade_services.transition_trade(trade=trade, to=S.IN_PRODUCTION, by=provider_owner, now=NOW)
    assert WebhookDelivery.objects.count() == 0


def test_api_creates_a_webhook_and_shows_the_secret_once(client, buyer_org, buyer_owner):
    _key, auth = key_for(buyer_owner, buyer_org)
    response = client.post(
        "/api/v1/webhooks/",
        {"url": "https://erp.example.com/hooks", "event_types": ["trade.created", "invoice.issued"]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201
    data = response.json()
    subscription = WebhookSubscription.objects.get()
    assert data["secret"] == decrypt(subscription.secret_encrypted)
    assert (subscription.organisation, subscription.url, subscription.event_types) == (
        buyer_org,
        "https://erp.example.com/hooks",
        ["trade.created", "invoice.issued"],
    )
    detail = client.get(f"/api/v1/webhooks/{subscription.pk}/", **auth).json()
    assert "secret" not in detail
    assert detail["event_types"] == ["trade.created", "invoice.issued"]
    listed = client.get("/api/v1/webhooks/", **auth).json()["results"]
    assert [(item["id"], "secret" in item) for item in listed] == [(subscription.pk, False)]


@pytest.mark.parametrize(
    ("url", "events"),
    [
        ("http://erp.example.com/hooks", ["trade.created"]),
        ("http://127.0.0.1:8000/hooks", ["trade.created"]),  # local http only when allowed (DEBUG)
        ("https://erp.example.com/hooks", ["order.shipped"]),
        ("https://erp.example.com/hooks", []),
        ("not a url", ["trade.created"]),
    ],
)
def test_api_refuses_bad_webhooks_and_creates_nothing(client, buyer_org, buyer_owner, url, events):
    _key, auth = key_for(buyer_owner, buyer_org)
    response = client.post(
        "/api/v1/webhooks/", {"url": url, "event_types": events}, content_type="application/json", **auth
    )
    assert response.status_code == 400
    assert WebhookSubscription.objects.count() == 0


def test_members_may_read_but_only_owners_write(client, buyer_org, buyer_owner, django_capture_on_commit_callbacks):
    member = MembershipFactory(organisation=buyer_org, role=Membership.Role.MEMBER).user
    subscription, _secret = subscribe(buyer_org, buyer_owner, "https://erp.example.com/hooks")
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_type="trade.created", payload={}, status="failed", attempts=6
    )
    # A key made by an owner who is a plain member now acts with member rights.
    _key, auth = key_for(buyer_owner, buyer_org)
    Membership.objects.filter(user=buyer_owner).update(role=Membership.Role.MEMBER)
    assert client.get("/api/v1/webhooks/", **auth).status_code == 200
    assert client.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/", **auth).json()["results"][0]["id"] == (
        delivery.pk
    )
    with django_capture_on_commit_callbacks(execute=True):
        refused = [
            client.post(
                "/api/v1/webhooks/",
                {"url": "https://x.example/h", "event_types": ["trade.created"]},
                content_type="application/json",
                **auth,
            ),
            client.patch(
                f"/api/v1/webhooks/{subscription.pk}/", {"active": False}, content_type="application/json", **auth
            ),
            client.delete(f"/api/v1/webhooks/{subscription.pk}/", **auth),
            client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/", **auth),
        ]
    assert [response.status_code for response in refused] == [403, 403, 403, 403]
    assert list(WebhookSubscription.objects.values_list("pk", "active")) == [(subscription.pk, True)]
    assert list(WebhookDelivery.objects.values_list("status", "attempts")) == [("failed", 6)]
    with pytest.raises(PermissionDeniedError):
        services.replay_delivery(delivery=delivery, by=member)


def test_owner_page_creates_deletes_and_replays(
    client, receiver, buyer_org, buyer_owner, trade, provider_owner, django_capture_on_commit_callbacks
):
    client.force_login(buyer_owner)
    response = client.post(reverse("webhooks"), {"url": receiver.url, "event_types": ["trade.status_changed"]})
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    secret = decrypt(subscription.secret_encrypted)
    assert secret in response.content.decode()
    assert secret not in client.get(reverse("webhooks")).content.decode()

    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        trade_services.transition_trade(trade=trade, to=S.IN_PRODUCTION, by=provider_owner, now=NOW)
    delivery = WebhookDelivery.objects.get()
    page = client.get(reverse("webhooks")).content.decode()
    assert "HTTP 500" in page and reverse("webhook_delivery_replay", args=[delivery.pk]) in page

    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhook_delivery_replay", args=[delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)

    response = client.post(reverse("webhook_delete", args=[subscription.pk]))
    assert response.status_code == 302
    assert WebhookSubscription.objects.count() == WebhookDelivery.objects.count() == 0


def test_page_refuses_plain_http_to_other_hosts(client, buyer_owner, settings):
    settings.SPINDLE_WEBHOOK_ALLOW_LOCAL_HTTP = False
    client.force_login(buyer_owner)
    response = client.post(
        reverse("webhooks"),
        {"url": "http://127.0.0.1:9/hooks", "event_types": ["trade.created"]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Webhook URLs must use https." in response.content.decode()
    assert WebhookSubscription.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["https://10.1.2.3/hooks", "https://127.0.0.1/hooks", "https://[::1]/hooks", "https://169.254.169.254/latest"],
)
def test_internal_addresses_are_refused_when_subscribing(buyer_org, buyer_owner, settings, url):
    settings.SPINDLE_WEBHOOK_ALLOW_LOCAL_HTTP = False
    with pytest.raises(services.DomainError) as refused:
        subscribe(buyer_org, buyer_owner, url)
    assert refused.value.code == "url"
    assert WebhookSubscription.objects.count() == 0


def test_a_name_that_resolves_to_an_internal_address_is_never_called(
    receiver, trade, buyer_org, buyer_owner, provider_owner, settings, django_capture_on_commit_callbacks
):
    # DNS can point a public-looking name at the platform's own network: checked at every delivery.
    settings.SPINDLE_WEBHOOK_ALLOW_LOCAL_HTTP = False
    subscription, _secret = subscribe(buyer_org, buyer_owner, "https://erp.example.com/hooks")
    # As if the name now resolved to loopback (DNS rebinding): stored URLs are re-checked when sent.
    WebhookSubscription.objects.filter(pk=subscription.pk).update(url="https://localhost:9/hooks")
    with django_capture_on_commit_callbacks(execute=True):
        trade_services.transition_trade(trade=trade, to=S.IN_PRODUCTION, by=provider_owner, now=NOW)
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code is None
    assert "internal address" in delivery.last_error
    assert receiver.requests == []
