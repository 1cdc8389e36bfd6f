"""Which domain changes publish which webhook events, to whom (deliveries are recorded in the
same transaction; sending is covered in test_webhooks)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing.services.invoices import issue_invoice_for_trade
from billing.services.payments import record_bank_transfer
from marketplace.errors import DomainError
from marketplace.models import WebhookDelivery
from marketplace.services import quotes as quote_services
from marketplace.services import webhooks as services
from tests.billing.invoice_world import ISSUED_AT, completed_trade
from tests.marketplace.trade_world import NOW, at, mill_of, order_of

EVERYTHING = ["trade.created", "trade.status_changed", "quote.received", "invoice.issued", "payment.received"]


@pytest.fixture
def hooks(provider_org, provider_owner, buyer_org, buyer_owner):
    """Both parties subscribe to every event."""
    url = "https://erp.example.com/hooks"
    return {
        "buyer": services.create_subscription(organisation=buyer_org, by=buyer_owner, url=url, event_types=EVERYTHING)[
            0
        ],
        "provider": services.create_subscription(
            organisation=provider_org, by=provider_owner, url=url, event_types=EVERYTHING
        )[0],
    }


def events_of(subscription):
    return list(
        WebhookDelivery.objects.filter(subscription=subscription).order_by("pk").values_list("event_type", flat=True)
    )


def test_a_quote_is_published_to_the_buyer_only(hooks, provider_org, provider_owner, buyer_org, buyer_owner):
    mill = mill_of(provider_org)
    rfq = quote_services.create_rfq(
        order=order_of(buyer_org), by=buyer_owner, providers=[provider_org], message="Hi", now=NOW
    )
    quote = quote_services.submit_quote(
        invitation=rfq.invitations.get(),
        by=provider_owner,
        resource=mill,
        lines=[{"code": "work", "label": "Milling", "amount": "3600.00"}],
        lead_time_days=5,
        slot_start=at(10),
        slot_end=at(12),
        valid_until=NOW + timedelta(days=3),
        now=NOW,
    )
    assert events_of(hooks["buyer"]) == ["quote.received"]
    assert events_of(hooks["provider"]) == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload["data"] == {
        "quote": {
            "id": quote.pk,
            "order": rfq.order_id,
            "provider_id": provider_org.pk,
            "resource": mill.pk,
            "total": "3600.00",
            "currency": "CNY",
            "valid_until": (NOW + timedelta(days=3)).isoformat(),
        }
    }

    quote_services.award_quote(quote=quote, by=buyer_owner, now=NOW + timedelta(hours=1))
    assert events_of(hooks["buyer"]) == ["quote.received", "trade.created"]
    assert events_of(hooks["provider"]) == ["trade.created"]


def test_invoice_and_payment_are_published_to_both_parties(
    hooks, provider_org, provider_owner, buyer_org, buyer_owner, operator
):
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    WebhookDelivery.objects.all().delete()  # the trade's own events

    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    payment = record_bank_transfer(
        invoice=invoice,
        amount=Decimal("400.00"),
        received_on=date(2030, 12, 14),
        bank_reference="CMB-1",
        by=operator,
        now=ISSUED_AT + timedelta(days=5),
    )

    for side in ("buyer", "provider"):
        assert events_of(hooks[side]) == ["invoice.issued", "payment.received"]
    issued, paid = WebhookDelivery.objects.filter(subscription=hooks["buyer"]).order_by("pk")
    assert (issued.payload["data"]["invoice"]["id"], issued.payload["data"]["invoice"]["number"]) == (
        invoice.pk,
        invoice.number,
    )
    assert paid.payload["data"] == {
        "payment": {
            "id": payment.pk,
            "invoice": invoice.pk,
            "amount": "400.00",
            "currency": "CNY",
            "received_on": "2030-12-14",
        },
        "invoice": {"id": invoice.pk, "number": invoice.number},
    }


def test_a_refused_payment_publishes_nothing(hooks, provider_org, provider_owner, buyer_org, buyer_owner, operator):
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    before = list(WebhookDelivery.objects.order_by("pk").values_list("pk", "event_type"))
    with pytest.raises(DomainError):
        record_bank_transfer(
            invoice=invoice,
            amount=Decimal("100000.00"),
            received_on=date(2030, 12, 14),
            bank_reference="CMB-1",
            by=operator,
        )
    assert list(WebhookDelivery.objects.order_by("pk").values_list("pk", "event_type")) == before
