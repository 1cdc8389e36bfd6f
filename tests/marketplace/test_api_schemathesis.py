"""Schemathesis against the published OpenAPI schema, in process (the Django WSGI app, no network).

Every operation of /api/schema/ is called with generated requests (a few deterministic examples
per operation) as the owner of an organisation that is both buyer and provider, in a small world
where it has a listed mill with idle time, a draft order, trades on both sides, an issued invoice,
an RFQ invitation, a device and a webhook with one delivery. Each response must not be a 5xx and
must conform to the schema: a documented status code, the documented content type and a body
that validates against the documented schema.

Left out, and only this: POST /api/v1/devices/readings/, which devices sign with an HMAC of the
body (the DeviceHmac scheme) rather than an API key; tests/capacity cover its signing and checks.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing.services.invoices import issue_invoice_for_trade
from capacity.services.metering import register_device
from marketplace.models import Organisation, WebhookDelivery
from marketplace.services import quotes as quote_services
from marketplace.services.webhooks import create_subscription
from tests.billing.invoice_world import ISSUED_AT, completed_trade
from tests.conftest import IN_CI
from tests.factories import MembershipFactory, OrganisationFactory, ProviderProfileFactory
from tests.marketplace.api_support import key_for
from tests.marketplace.trade_world import NOW, at, book, idle, mill_of, order_of

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Bounded and reproducible: the schema's examples, then a few generated requests per operation (valid
# and invalid ones), the same on every run; ~40 s for the 42 operations on 2 cores in CI.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20301201,
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "generation": {"max-examples": 10 if IN_CI else 5, "deterministic": True, "database": "none"},
    }
)


@pytest.fixture
def world(db, buyer_org, buyer_owner, provider_org, provider_owner):
    hub = OrganisationFactory(name="Ningbo Both Ways", slug="ningbo-both", kind=Organisation.Kind.BOTH)
    owner = MembershipFactory(organisation=hub, user__email="owner@both.example", role="owner").user
    ProviderProfileFactory(organisation=hub)
    # As provider: a listed mill with idle time, a completed trade with usage and an issued invoice,
    # an RFQ invitation and a metering device.
    sold = completed_trade(hub, owner, buyer_org, buyer_owner)
    invoice = issue_invoice_for_trade(trade=sold, now=ISSUED_AT)
    mill = sold.bookings.get().resource
    idle(mill, at(8, day=8), at(20, day=8))
    rfq = quote_services.create_rfq(
        order=order_of(buyer_org, title="Bracket"), by=buyer_owner, providers=[hub], message="Hi", now=NOW
    )
    device, _secret = register_device(organisation=hub, user=owner, name="Meter 1", kind="gateway", resources=[mill])
    # As buyer: a confirmed trade on another provider's mill, and a draft order.
    bought = book(order_of(hub, title="Flange"), owner, mill_of(provider_org))
    draft = order_of(hub, title="Shaft", status="draft", due_at=None)
    webhook, _secret = create_subscription(
        organisation=hub, by=owner, url="https://erp.example.com/hooks", event_types=["trade.created"]
    )
    delivery = WebhookDelivery.objects.create(
        subscription=webhook, event_type="trade.created", payload={}, status="failed", attempts=6
    )
    _key, auth = key_for(owner, hub)
    ids = {
        "/api/v1/resources/": mill.pk,
        "/api/v1/orders/": draft.pk,
        "/api/v1/trades/": bought.pk,
        "/api/v1/bookings/": bought.bookings.get().pk,
        "/api/v1/quotes/": rfq.invitations.get().pk,
        "/api/v1/devices/": device.pk,
        "/api/v1/usage/": sold.bookings.get().booking.usage.pk,
        "/api/v1/invoices/": invoice.pk,
        "/api/v1/webhooks/": webhook.pk,
        "/api/v1/webhook-deliveries/": delivery.pk,
    }
    return {"headers": {"Authorization": auth["HTTP_AUTHORIZATION"]}, "ids": ids}


def load_schema():
    """The schema as /api/schema/ serves it, generated in process (no request, no database)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)), config=CONFIG)
    schema.app = get_wsgi_application()
    return schema.exclude(path="/api/v1/devices/readings/")


schema = load_schema()


@pytest.fixture
def wsgi_calls(db, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # the host of schemathesis' WSGI client
    # Like Django's test client: keep the test's connection (and its transaction) open across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
def test_every_operation_answers_as_documented(case, world, wsgi_calls):
    for prefix, pk in world["ids"].items():
        # Even generated ids address the world's own object; odd ones stay as generated (mostly 404s).
        generated = (case.path_parameters or {}).get("id")
        if case.path.startswith(prefix) and isinstance(generated, int) and generated % 2 == 0:
            case.path_parameters["id"] = pk
    case.call_and_validate(headers=world["headers"], checks=CHECKS)
