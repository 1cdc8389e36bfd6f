"""Stripe's processing fees.

A card charge lands at Stripe as a balance transaction whose ``fee`` Stripe keeps (``net`` =
amount − fee). Once a card payment is settled we read that balance transaction through the
gateway (charge → ``balance_transaction``) and post the fee as its own journal transaction,
``stripe_fee:<balance transaction id>``: debit ``stripe_fees``, credit ``stripe_clearing``. The
key, and the unique balance transaction id on StripeFee, make it happen once however often a
webhook is replayed or the task re-run; the daily reconciliation posts any fee still missing
from the balance transaction it has in hand.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from billing import stripe_gateway as gateway
from billing.models import Deposit, Payment, StripeFee, StripePayment
from billing.money import from_minor_units
from billing.services.ledger import credit, debit, ledger_account, post_transaction


def balance_transaction_of_charge(charge_id: str) -> dict | None:
    """The charge's balance transaction from Stripe, or None while Stripe has not made it yet."""
    charge = gateway.retrieve_charge(charge_id)
    txn = charge.get("balance_transaction")
    if not txn:
        return None
    if isinstance(txn, dict) and "fee" in txn:
        return txn
    return gateway.retrieve_balance_transaction(txn["id"] if isinstance(txn, dict) else txn)


def record_stripe_fee(
    *, balance_transaction: dict, payment: Payment | None = None, deposit: Deposit | None = None
) -> StripeFee | None:
    """Post the fee of ``balance_transaction`` (the charge of ``payment``, or of a card
    ``deposit``) once. None when Stripe charged no fee."""
    existing = StripeFee.objects.filter(balance_transaction_id=balance_transaction["id"]).first()
    if existing is not None:
        return existing
    currency = balance_transaction["currency"].upper()
    fee = from_minor_units(int(balance_transaction.get("fee") or 0), currency)
    if fee <= 0:
        return None
    charge_id = balance_transaction.get("source") or ""
    if isinstance(charge_id, dict):
        charge_id = charge_id.get("id", "")
    # The fee belongs to the day Stripe took it: the charge's own timestamp.
    at = datetime.fromtimestamp(int(balance_transaction["created"]), tz=UTC)
    try:
        with transaction.atomic():
            journal = post_transaction(
                key=f"stripe_fee:{balance_transaction['id']}",
                kind="stripe_fee",
                lines=[
                    debit(ledger_account("stripe_fees", currency=currency), fee),
                    credit(ledger_account("stripe_clearing", currency=currency), fee),
                ],
                memo=f"Stripe fee {balance_transaction['id']} on {charge_id} ({_charged_for(payment, deposit)})",
                effective_at=at,
            )
            return StripeFee.objects.create(
                payment=payment,
                deposit=deposit,
                balance_transaction_id=balance_transaction["id"],
                charge_id=charge_id,
                amount=fee,
                currency=currency,
                journal=journal,
                created_at=at,
            )
    except IntegrityError:
        # A concurrent run recorded it first.
        existing = StripeFee.objects.filter(balance_transaction_id=balance_transaction["id"]).first()
        if existing is None:
            raise
        return existing


def _charged_for(payment: Payment | None, deposit: Deposit | None) -> str:
    return payment.invoice.number if payment is not None else f"deposit {deposit.payment_reference}"


def record_fee_for_deposit(*, deposit_id: int) -> StripeFee | None:
    """Fetch the balance transaction of a card deposit's charge and post its fee, once."""
    deposit = Deposit.objects.filter(pk=deposit_id, method=Deposit.Method.CARD).exclude(paid_journal=None).first()
    if deposit is None:
        return None
    existing = StripeFee.objects.filter(deposit=deposit).first()
    if existing is not None:
        return existing
    charge_id = deposit.charge_id or gateway.charge_id_of(gateway.retrieve_payment_intent(deposit.payment_intent_id))
    if not charge_id:
        return None
    txn = balance_transaction_of_charge(charge_id)
    if txn is None:
        return None
    return record_stripe_fee(deposit=deposit, balance_transaction=txn)


def record_fee_for_payment(*, payment_id: int) -> StripeFee | None:
    """Fetch the balance transaction of a card payment's charge and post its fee, once."""
    payment = Payment.objects.select_related("invoice").filter(pk=payment_id, method=Payment.Method.CARD).first()
    if payment is None:
        return None
    existing = StripeFee.objects.filter(payment=payment).first()
    if existing is not None:
        return existing
    attempt = StripePayment.objects.filter(payment_intent_id=payment.bank_reference).first()
    if attempt is None:
        return None
    charge_id = attempt.charge_id or gateway.charge_id_of(gateway.retrieve_payment_intent(attempt.payment_intent_id))
    if not charge_id:
        return None
    txn = balance_transaction_of_charge(charge_id)
    if txn is None:
        return None
    return record_stripe_fee(payment=payment, balance_transaction=txn)
