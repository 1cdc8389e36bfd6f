"""The one module that talks to Stripe, through the official SDK.

Everything else calls these functions with our own ids; they return plain dicts (``to_dict()``:
SDK objects are not dicts in stripe ≥ 15). Every create call carries an idempotency key derived
from our ids, so a retry after a timeout returns the object Stripe already made. Connect calls
(accounts, account links, transfers, reversals) and balance transactions may go to another base
address (``STRIPE_CONNECT_API_BASE``): in tests that is a small Stripe-compatible server, because
the local Stripe we test against has no Connect and no ``/v1/balance_transactions``. In
production both are api.stripe.com.
"""

from __future__ import annotations

import stripe
from django.conf import settings

# Errors callers translate for people: Stripe unreachable, card declined, anything else.
ConnectionError = stripe.APIConnectionError
CardError = stripe.CardError
StripeError = stripe.StripeError


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client(*, connect: bool = False) -> stripe.StripeClient:
    base = (settings.STRIPE_CONNECT_API_BASE or settings.STRIPE_API_BASE) if connect else settings.STRIPE_API_BASE
    kwargs = {"base_addresses": {"api": base}} if base else {}
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES, **kwargs
    )


def _plain(obj) -> dict:
    return obj.to_dict(recursive=True) if hasattr(obj, "to_dict") else dict(obj)


# --- payments ---------------------------------------------------------------------------------


def create_payment_intent(
    *, amount_minor: int, currency: str, idempotency_key: str, metadata: dict, payment_method: str = ""
) -> dict:
    params = {
        "amount": amount_minor,
        "currency": currency.lower(),
        "metadata": metadata,
        "payment_method_types": ["card"],
    }
    if payment_method:
        params["payment_method"] = payment_method
    return _plain(_client().v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key}))


def attach_payment_method(payment_intent_id: str, payment_method: str) -> dict:
    return _plain(_client().v1.payment_intents.update(payment_intent_id, params={"payment_method": payment_method}))


def confirm_payment_intent(payment_intent_id: str) -> dict:
    return _plain(_client().v1.payment_intents.confirm(payment_intent_id))


def retrieve_payment_intent(payment_intent_id: str) -> dict:
    return _plain(_client().v1.payment_intents.retrieve(payment_intent_id))


def charge_id_of(payment_intent: dict) -> str:
    """The id of the PaymentIntent's charge (a string, or an expanded charge object)."""
    charge = payment_intent.get("latest_charge")
    if isinstance(charge, dict):
        return charge.get("id", "")
    return charge or ""


def create_refund(*, payment_intent_id: str, amount_minor: int, idempotency_key: str, metadata: dict) -> dict:
    params = {"payment_intent": payment_intent_id, "amount": amount_minor, "metadata": metadata}
    return _plain(_client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key}))


def retrieve_charge(charge_id: str) -> dict:
    return _plain(_client().v1.charges.retrieve(charge_id))


# --- balance transactions (fees, reconciliation) ----------------------------------------------


def retrieve_balance_transaction(balance_transaction_id: str) -> dict:
    return _plain(_client(connect=True).v1.balance_transactions.retrieve(balance_transaction_id))


def list_balance_transactions(*, created_gte: int, created_lt: int, page_size: int = 100):
    """Every balance transaction created in [created_gte, created_lt) (Unix seconds), newest
    first, fetched page by page with ``starting_after``."""
    client = _client(connect=True)
    starting_after = ""
    while True:
        params: dict = {"created": {"gte": created_gte, "lt": created_lt}, "limit": page_size}
        if starting_after:
            params["starting_after"] = starting_after
        page = client.v1.balance_transactions.list(params=params)
        rows = [_plain(row) for row in page.data]
        yield from rows
        if not page.has_more or not rows:
            return
        starting_after = rows[-1]["id"]


def construct_event(payload: bytes, signature: str) -> dict:
    """Verify the webhook signature on the raw body; raises ValueError or SignatureVerificationError."""
    event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    return _plain(event)


SignatureVerificationError = stripe.SignatureVerificationError


# --- Connect ----------------------------------------------------------------------------------


def create_express_account(*, email: str, country: str, idempotency_key: str, metadata: dict) -> dict:
    params = {
        "type": "express",
        "country": country,
        "email": email,
        "capabilities": {"transfers": {"requested": True}},
        "metadata": metadata,
    }
    return _plain(_client(connect=True).v1.accounts.create(params=params, options={"idempotency_key": idempotency_key}))


def retrieve_account(account_id: str) -> dict:
    return _plain(_client(connect=True).v1.accounts.retrieve(account_id))


def create_account_link(*, account_id: str, refresh_url: str, return_url: str) -> dict:
    params = {"account": account_id, "refresh_url": refresh_url, "return_url": return_url, "type": "account_onboarding"}
    return _plain(_client(connect=True).v1.account_links.create(params=params))


def create_transfer(
    *,
    amount_minor: int,
    currency: str,
    destination: str,
    idempotency_key: str,
    source_transaction: str = "",
    transfer_group: str = "",
    metadata: dict,
) -> dict:
    params = {"amount": amount_minor, "currency": currency.lower(), "destination": destination, "metadata": metadata}
    if source_transaction:
        params["source_transaction"] = source_transaction
    if transfer_group:
        params["transfer_group"] = transfer_group
    return _plain(
        _client(connect=True).v1.transfers.create(params=params, options={"idempotency_key": idempotency_key})
    )


def reverse_transfer(*, transfer_id: str, amount_minor: int, idempotency_key: str, metadata: dict) -> dict:
    return _plain(
        _client(connect=True).v1.transfers.reversals.create(
            transfer_id,
            params={"amount": amount_minor, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    )
