"""Shared steps of the Stripe tests: an issued invoice, webhook delivery, ledger checks."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from billing.models import Invoice
from billing.services.invoices import issue_invoice_for_trade
from tests.billing.invoice_world import ISSUED_AT, completed_trade

GROSS = Decimal("694.61")  # the invoice of tests.billing.invoice_world
# Stripe's fee on charging GROSS at the test server: 3.4 % (2361.67 → 2362 fen) + 180 fen.
FEE = Decimal("25.42")


def issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner) -> Invoice:
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    assert invoice.gross == GROSS
    return invoice


def deliver(client, body: bytes, signature: str, capture):
    """POST one webhook delivery to our endpoint; its Celery task runs on commit (eagerly)."""
    with capture(execute=True):
        return client.post(
            reverse("billing:stripe_webhook"),
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )


def onboard(provider_org):
    """The provider's Connect account, created and onboarded at the test server."""
    from billing.services.payouts import refresh_connect_account, start_connect_onboarding

    start_connect_onboarding(
        organisation=provider_org, email="owner@provider.example", refresh_url="http://x/", return_url="http://x/"
    )
    account = refresh_connect_account(organisation=provider_org)
    assert account.payouts_enabled
    return account


def stripe_client(base_url: str):
    """The official SDK pointed at one of the local servers, for the tests' own look-ups."""
    import stripe

    return stripe.StripeClient("sk_test_spindle", base_addresses={"api": base_url}, max_network_retries=0)
