"""Deposits: money a buyer pays when a trade is booked, held until the trade's invoice.

Where the percentage lives: on the provider's profile (``ProviderProfile.deposit_percent``),
not on each resource's rate card — a trade has exactly one provider but may span several of
its resources, and asking for money up front is a policy of the business, not of a machine.
It is snapshotted into the trade's terms (``terms["deposit"]``) when the trade is created, and
the Deposit row keeps percent, base and amount, so editing the profile later changes nothing
agreed.

The amount: ``percent`` of the trade's estimated gross — its estimated net (work estimate +
material + freight) plus VAT on it at the trade's rate, VAT rounded HALF_UP as an invoice
would — rounded ONCE by ``DEPOSIT_RULE`` (HALF_UP to the currency's minor unit), in the
trade's currency.

Paying: by card (one PaymentIntent per deposit under the idempotency key ``deposit:<id>``,
its id stored and committed *before* it is confirmed, through billing.stripe_gateway like
invoices) or by bank transfer quoting the deposit's own payment reference, which an operator
matches on /ops/payments/. Either posts one transaction: stripe_clearing or bank_clearing ←
``customer_deposits`` (a liability per buyer organisation).

Production waits for it: the provider cannot move a trade from confirmed to in production
while its deposit is only requested (marketplace.services.trades.transition_trade asks
``check_production_allowed``). That is the point of a deposit in a capacity marketplace —
the provider commits machine time and material only once the buyer has committed money.

Applying: when the trade's (primary) invoice is issued, ``apply_deposit`` runs in the issuing
transaction: customer_deposits → buyer_receivable for min(deposit, gross), recorded as a
Payment of method "deposit", so amount due, paid/overdue status and payouts see it like any
payment (the provider's share is unchanged: the invoice posting is untouched). An excess
goes back to the buyer (card: a Stripe refund on the deposit's charge; bank: owed, then sent
by an operator). A deposit still unpaid at invoicing is no longer requested: the invoice
asks for everything.

Cancelling before production: the deposit, minus the cancellation fee the trade's policy
computes, goes back the same way, inside the cancelling transaction (a Stripe failure rolls
the cancellation back: nothing half-written). The part kept for the fee stays on
customer_deposits (``retained_amount``) — the cancellation fee is not invoiced by billing yet,
and it is the provider's to invoice, so it is not turned into revenue here.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_gateway as gateway
from billing.models import Deposit, DepositRefund, Invoice, InvoiceEvent, Payment
from billing.money import HALF_UP, format_money, from_minor_units, quantize, to_minor_units
from billing.services.ledger import credit, debit, ledger_account, post_transaction
from marketplace.errors import DomainError
from marketplace.models import Trade, User

ZERO = Decimal("0.00")
# The named rounding rule of a deposit amount: percent × estimated gross, HALF_UP to the minor
# unit (GB/T 8170 四舍五入, the rule of invoices), applied once.
DEPOSIT_RULE = "half_up"
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as invoices: no 0/O, 1/I
LOCK_TIMEOUT = "5s"


# --- amounts -----------------------------------------------------------------------------------


def estimated_gross(trade: Trade) -> Decimal:
    """The trade's estimated net (work + material + freight) plus VAT on it at its rate."""
    net = trade.price_estimate + trade.material_amount + trade.freight_amount
    return net + quantize(net * trade.vat_rate, trade.currency, HALF_UP)


def deposit_amount(*, gross: Decimal, percent: Decimal, currency: str) -> Decimal:
    """``percent`` of ``gross``, rounded once by DEPOSIT_RULE."""
    return quantize(gross * percent / 100, currency, HALF_UP)


def deposit_terms(provider_id: int) -> dict | None:
    """The provider's deposit policy as it stands now, for the trade's terms snapshot."""
    from capacity.models import ProviderProfile

    percent = (
        ProviderProfile.objects.filter(organisation_id=provider_id).values_list("deposit_percent", flat=True).first()
    )
    if not percent:
        return None
    return {"percent": str(percent), "rule": DEPOSIT_RULE}


def _reference() -> str:
    while True:
        reference = "DEP" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(9))
        if not Deposit.objects.filter(payment_reference=reference).exists():
            return reference


# --- requesting --------------------------------------------------------------------------------


def request_deposit(*, trade: Trade, now: datetime) -> Deposit | None:
    """Raise the deposit request of a trade just created (in its creating transaction), from
    the policy snapshotted in its terms. None when the provider asks for no deposit."""
    policy = (trade.terms or {}).get("deposit")
    if not policy:
        return None
    percent = Decimal(policy["percent"])
    gross = estimated_gross(trade)
    amount = deposit_amount(gross=gross, percent=percent, currency=trade.currency)
    if amount <= 0:
        return None
    deposit = Deposit.objects.create(
        trade=trade,
        buyer_id=trade.buyer_id,
        provider_id=trade.provider_id,
        percent=percent,
        estimated_gross=gross,
        amount=amount,
        currency=trade.currency,
        rule=DEPOSIT_RULE,
        payment_reference=_reference(),
        created_at=now,
    )
    from marketplace.services.accounts import notify_organisation

    notify_organisation(
        organisation=trade.buyer,
        kind="deposit_requested",
        title=_("Trade #%(id)s: a deposit of %(amount)s is due before production starts")
        % {"id": trade.pk, "amount": format_money(amount, trade.currency)},
        url=reverse("trade_detail", args=[trade.pk]),
    )
    return deposit


def check_production_allowed(trade: Trade) -> None:
    """Refuse production while the trade's deposit is requested and unpaid."""
    deposit = Deposit.objects.filter(trade_id=trade.pk).first()
    if deposit is not None and deposit.status == Deposit.Status.REQUESTED:
        raise DomainError(
            _("Production can start once the buyer has paid the deposit of %(amount)s.")
            % {"amount": format_money(deposit.amount, deposit.currency)},
            code="deposit_unpaid",
        )


def _check_payable(deposit: Deposit) -> None:
    if deposit.status != Deposit.Status.REQUESTED:
        raise DomainError(
            _("This deposit is %(status)s: it takes no payment.") % {"status": Deposit.Status(deposit.status).label},
            code="not_requested",
        )


# --- paying by card ----------------------------------------------------------------------------


def _unreachable() -> DomainError:
    return DomainError(
        _("The card payment service could not be reached, so nothing was charged. Please try again in a minute."),
        code="stripe_unreachable",
    )


def open_deposit_intent(*, deposit: Deposit) -> Deposit:
    """The deposit's PaymentIntent, created once under ``deposit:<id>`` and committed before
    anything is confirmed: a retry after a failure finds and confirms the same one."""
    if not gateway.is_configured():
        raise DomainError(_("Card payments are switched off; please pay by bank transfer."), code="cards_off")
    with transaction.atomic():
        # The deposit row serialises payers: two tabs never create two PaymentIntents.
        locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
        _check_payable(locked)
        if locked.payment_intent_id:
            return locked
        try:
            intent = gateway.create_payment_intent(
                amount_minor=to_minor_units(locked.amount, locked.currency),
                currency=locked.currency,
                idempotency_key=f"deposit:{locked.pk}",
                metadata={"deposit_id": str(locked.pk), "trade_id": str(locked.trade_id)},
            )
        except gateway.ConnectionError as error:
            raise _unreachable() from error
        locked.payment_intent_id = intent["id"]
        locked.client_secret = intent.get("client_secret") or ""
        locked.card_status = intent["status"]
        locked.save(update_fields=["payment_intent_id", "client_secret", "card_status", "updated_at"])
    return locked


def pay_deposit_by_card(
    *, deposit: Deposit, payment_method: str, by: User | None = None, now: datetime | None = None
) -> Deposit:
    """Confirm the deposit's PaymentIntent with ``payment_method`` (a PaymentMethod id made by
    Stripe.js in the browser); the deposit is paid if the card was charged."""
    deposit = open_deposit_intent(deposit=deposit)
    intent_id = deposit.payment_intent_id
    try:
        intent = gateway.retrieve_payment_intent(intent_id)
        if intent["status"] == "requires_payment_method":
            intent = gateway.attach_payment_method(intent_id, payment_method)
        if intent["status"] == "requires_confirmation":
            intent = gateway.confirm_payment_intent(intent_id)
    except gateway.ConnectionError as error:
        raise _unreachable() from error
    except gateway.CardError as error:
        raise DomainError(
            _("The card was declined: %(reason)s") % {"reason": (error.user_message or str(error))[:300]},
            code="card_declined",
        ) from error
    settle_deposit_intent(intent, now=now)
    deposit.refresh_from_db()
    return deposit


def settle_deposit_intent(intent: dict, *, now: datetime | None = None) -> Deposit | None:
    """Record a succeeded deposit PaymentIntent once (customer_deposits ← stripe_clearing).
    ``intent`` must come from Stripe's API (re-fetched); None when it is not a deposit's."""
    now = now or timezone.now()
    deposit = Deposit.objects.filter(payment_intent_id=intent["id"]).first()
    if deposit is None:
        return None
    Deposit.objects.filter(pk=deposit.pk).update(
        card_status=intent["status"], charge_id=gateway.charge_id_of(intent) or deposit.charge_id
    )
    if intent["status"] != "succeeded":
        return deposit
    amount = from_minor_units(int(intent["amount"]), deposit.currency)
    with transaction.atomic():
        with transaction.get_connection().cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        locked = Deposit.objects.select_for_update(of=("self",)).select_related("buyer").get(pk=deposit.pk)
        if locked.paid_journal_id is not None:
            return locked
        # Card money that arrives after the request lapsed (trade cancelled or invoiced while
        # the card was processing) is recorded and sent straight back.
        lapsed = locked.status == Deposit.Status.CANCELLED
        journal = post_transaction(
            key=f"deposit_payment:{locked.pk}",
            kind="deposit_card_payment",
            lines=[
                debit(ledger_account("stripe_clearing", currency=locked.currency), amount),
                credit(
                    ledger_account("customer_deposits", currency=locked.currency, organisation=locked.buyer), amount
                ),
            ],
            memo=f"Card deposit {intent['id']} for trade #{locked.trade_id}",
            effective_at=now,
        )
        _mark_paid(locked, method=Deposit.Method.CARD, journal=journal, by=None, now=now)
        deposit_id = locked.pk

        def _fee() -> None:
            from billing.tasks import record_deposit_stripe_fee

            # Stripe's fee on the charge is read from its balance transaction and posted on its own.
            record_deposit_stripe_fee.delay(deposit_id)

        transaction.on_commit(_fee)
        if lapsed:
            cancelled = Trade.objects.filter(pk=locked.trade_id, status=Trade.Status.CANCELLED).exists()
            kind = DepositRefund.Kind.CANCELLATION if cancelled else DepositRefund.Kind.EXCESS
            _give_back(locked, amount=amount, kind=kind, memo="no longer requested", now=now)
            locked.status = Deposit.Status.REFUNDED
            locked.save(update_fields=["status", "updated_at"])
    return locked


def _mark_paid(deposit: Deposit, *, method: str, journal, by: User | None, now: datetime) -> None:
    from marketplace.services.accounts import notify_organisation

    deposit.status = Deposit.Status.PAID
    deposit.method, deposit.paid_at, deposit.paid_journal, deposit.recorded_by = method, now, journal, by
    deposit.save(update_fields=["status", "method", "paid_at", "paid_journal", "recorded_by", "updated_at"])
    notify_organisation(
        organisation=deposit.provider,
        kind="deposit_paid",
        title=_("Trade #%(id)s: the buyer paid the deposit; production can start") % {"id": deposit.trade_id},
        url=reverse("trade_detail", args=[deposit.trade_id]),
    )


# --- paying by bank transfer -------------------------------------------------------------------


def find_deposit_by_reference(reference: str) -> Deposit | None:
    return Deposit.objects.filter(payment_reference=reference.strip().upper()).first()


def record_deposit_transfer(
    *,
    deposit: Deposit,
    amount: Decimal,
    received_on: date,
    bank_reference: str,
    by: User,
    now: datetime | None = None,
) -> Deposit:
    """An operator matched a bank transfer to the deposit's payment reference. Only the exact
    deposit amount is accepted: a deposit is paid once, in full (anything else goes back to
    the buyer from the bank, outside the ledger)."""
    now = now or timezone.now()
    bank_reference = bank_reference.strip()
    if not bank_reference:
        raise DomainError(_("Give the bank's reference of the transfer."), code="reference_required")
    if amount <= 0 or quantize(amount, deposit.currency) != amount:
        raise DomainError(_("Enter a positive amount in whole cents."), code="amount")
    try:
        with transaction.atomic():
            locked = Deposit.objects.select_for_update(of=("self",)).select_related("buyer").get(pk=deposit.pk)
            _check_payable(locked)
            if locked.card_status in ("processing", "succeeded"):
                raise DomainError(_("A card payment of this deposit is under way."), code="card_under_way")
            if amount != locked.amount:
                raise DomainError(
                    _("The deposit is %(deposit)s; a transfer of %(amount)s cannot be matched to it.")
                    % {
                        "deposit": format_money(locked.amount, locked.currency),
                        "amount": format_money(amount, locked.currency),
                    },
                    code="amount_mismatch",
                )
            if (
                Payment.objects.filter(bank_reference=bank_reference).exists()
                or Deposit.objects.filter(bank_reference=bank_reference).exists()
            ):
                raise _duplicate(bank_reference)
            # The same key space as invoice transfers: one bank transfer is recorded once.
            journal = post_transaction(
                key=f"bank_transfer:{bank_reference}",
                kind="deposit_bank_transfer",
                lines=[
                    debit(ledger_account("bank_clearing", currency=locked.currency), amount),
                    credit(
                        ledger_account("customer_deposits", currency=locked.currency, organisation=locked.buyer),
                        amount,
                    ),
                ],
                memo=f"Bank transfer {bank_reference} for deposit {locked.payment_reference}",
                effective_at=now,
                created_by=by,
            )
            if journal.kind != "deposit_bank_transfer" or Deposit.objects.filter(paid_journal=journal).exists():
                raise _duplicate(bank_reference)
            locked.bank_reference = bank_reference[:100]
            locked.save(update_fields=["bank_reference"])
            _mark_paid(locked, method=Deposit.Method.BANK_TRANSFER, journal=journal, by=by, now=now)
    except IntegrityError as error:
        raise _duplicate(bank_reference) from error
    return locked


def _duplicate(bank_reference: str) -> DomainError:
    return DomainError(
        _("A transfer with the bank reference %(reference)s is already recorded.") % {"reference": bank_reference},
        code="duplicate",
    )


# --- giving money back -------------------------------------------------------------------------


def _give_back(deposit: Deposit, *, amount: Decimal, kind: str, memo: str, now: datetime) -> DepositRefund:
    """Return ``amount`` of a paid deposit to the buyer the way it came: a Stripe refund on its
    charge (key ``deposit:<id>:refund``, so a retry returns the same refund), or a bank refund
    owed. Runs inside the caller's transaction with the deposit locked."""
    currency = deposit.currency
    held = ledger_account("customer_deposits", currency=currency, organisation=deposit.buyer)
    if deposit.method == Deposit.Method.CARD:
        try:
            refund = gateway.create_refund(
                payment_intent_id=deposit.payment_intent_id,
                amount_minor=to_minor_units(amount, currency),
                idempotency_key=f"deposit:{deposit.pk}:refund",
                metadata={"deposit_id": str(deposit.pk), "trade_id": str(deposit.trade_id)},
            )
        except gateway.ConnectionError as error:
            raise DomainError(
                _("Stripe could not be reached; nothing was refunded. Try again."), code="stripe_unreachable"
            ) from error
        journal = post_transaction(
            key=f"deposit_refund:{deposit.pk}",
            kind="deposit_card_refund",
            lines=[debit(held, amount), credit(ledger_account("stripe_clearing", currency=currency), amount)],
            memo=f"Refund {refund['id']} of deposit {deposit.payment_reference}: {memo}",
            effective_at=now,
        )
        return DepositRefund.objects.create(
            deposit=deposit,
            kind=kind,
            method=Deposit.Method.CARD,
            amount=amount,
            currency=currency,
            status=DepositRefund.Status.SENT,
            refund_id=refund["id"],
            journal=journal,
            executed_at=now,
            created_at=now,
        )
    journal = post_transaction(
        key=f"deposit_refund:{deposit.pk}",
        kind="deposit_refund_owed",
        lines=[
            debit(held, amount),
            credit(ledger_account("buyer_credit", currency=currency, organisation=deposit.buyer), amount),
        ],
        memo=f"Owed back to the buyer from deposit {deposit.payment_reference}: {memo}",
        effective_at=now,
    )
    return DepositRefund.objects.create(
        deposit=deposit,
        kind=kind,
        method=Deposit.Method.BANK_TRANSFER,
        amount=amount,
        currency=currency,
        status=DepositRefund.Status.OWED,
        journal=journal,
        created_at=now,
    )


def record_deposit_refund_sent(
    *, refund: DepositRefund, bank_reference: str, by: User, now: datetime | None = None
) -> DepositRefund:
    """An operator sent a deposit refund owed to the buyer by bank: record it once (buyer
    credit → bank clearing)."""
    now = now or timezone.now()
    bank_reference = bank_reference.strip()
    if not bank_reference:
        raise DomainError(_("Give the bank's reference of the transfer."), code="reference_required")
    with transaction.atomic():
        locked = (
            DepositRefund.objects.select_for_update(of=("self",)).select_related("deposit__buyer").get(pk=refund.pk)
        )
        if locked.status != DepositRefund.Status.OWED:
            raise DomainError(_("This refund is recorded as sent already."), code="sent")
        currency = locked.currency
        journal = post_transaction(
            key=f"deposit_refund:{locked.deposit_id}:sent",
            kind="deposit_bank_refund",
            lines=[
                debit(
                    ledger_account("buyer_credit", currency=currency, organisation=locked.deposit.buyer), locked.amount
                ),
                credit(ledger_account("bank_clearing", currency=currency), locked.amount),
            ],
            memo=f"Bank refund {bank_reference} of deposit {locked.deposit.payment_reference}",
            effective_at=now,
            created_by=by,
        )
        locked.status = DepositRefund.Status.SENT
        locked.bank_reference = bank_reference[:100]
        locked.executed_journal, locked.executed_by, locked.executed_at = journal, by, now
        locked.save(update_fields=["status", "bank_reference", "executed_journal", "executed_by", "executed_at"])
    return locked


# --- applying to the invoice -------------------------------------------------------------------


def apply_deposit(*, invoice: Invoice, now: datetime, by: User | None = None) -> Payment | None:
    """Apply the trade's paid deposit to its just-issued primary invoice, inside the issuing
    transaction: one balanced transaction (buyer receivable ← customer deposits) and a Payment
    of method "deposit"; the invoice is paid when that covers it, and any excess goes back to
    the buyer. An unpaid deposit request lapses (the invoice asks for everything)."""
    deposit = (
        Deposit.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .filter(trade_id=invoice.trade_id)
        .first()
    )
    if deposit is None or invoice.supplements_id is not None:
        return None
    if deposit.status == Deposit.Status.REQUESTED:
        deposit.status = Deposit.Status.CANCELLED
        deposit.save(update_fields=["status", "updated_at"])
        return None
    if deposit.status != Deposit.Status.PAID:
        return None
    currency = invoice.currency
    applied = min(deposit.amount, invoice.gross)
    payment = None
    if applied > 0:
        journal = post_transaction(
            key=f"deposit_applied:{deposit.pk}",
            kind="deposit_applied",
            lines=[
                debit(ledger_account("customer_deposits", currency=currency, organisation=deposit.buyer), applied),
                credit(ledger_account("buyer_receivable", currency=currency, organisation=invoice.buyer), applied),
            ],
            memo=f"Deposit {deposit.payment_reference} applied to {invoice.number}",
            effective_at=now,
            created_by=by,
        )
        payment = Payment.objects.create(
            invoice=invoice,
            method=Payment.Method.DEPOSIT,
            amount=applied,
            currency=currency,
            received_on=timezone.localdate(deposit.paid_at),
            bank_reference=f"deposit:{deposit.payment_reference}",
            journal=journal,
            recorded_by=by,
            recorded_at=now,
        )
        from marketplace.services.webhooks import publish_payment_received

        publish_payment_received(payment)
        if applied == invoice.gross:
            InvoiceEvent.objects.create(
                invoice=invoice,
                from_status=invoice.status,
                to_status=Invoice.Status.PAID,
                actor=by,
                note=_("Paid by the deposit %(reference)s") % {"reference": deposit.payment_reference},
                at=now,
            )
            Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID, paid_at=now)
            invoice.status, invoice.paid_at = Invoice.Status.PAID, now
            invoice_id = invoice.pk

            def _pay_out() -> None:
                from billing.tasks import pay_out_invoice

                pay_out_invoice.delay(invoice_id)

            transaction.on_commit(_pay_out)
    excess = deposit.amount - applied
    if excess > 0:
        _give_back(
            deposit,
            amount=excess,
            kind=DepositRefund.Kind.EXCESS,
            memo=f"excess over invoice {invoice.number}",
            now=now,
        )
    deposit.status = Deposit.Status.APPLIED
    deposit.invoice, deposit.applied_payment = invoice, payment
    deposit.save(update_fields=["status", "invoice", "applied_payment", "updated_at"])
    return payment


# --- cancellation ------------------------------------------------------------------------------


def settle_deposit_on_cancel(*, trade: Trade, fee: Decimal, now: datetime) -> DepositRefund | None:
    """The trade was cancelled before production (inside the cancelling transaction): an unpaid
    request lapses; a paid deposit goes back to the buyer minus ``fee`` (the cancellation fee
    the trade's policy computed), which stays on customer deposits until it is invoiced."""
    deposit = Deposit.objects.select_for_update(of=("self",)).select_related("buyer").filter(trade_id=trade.pk).first()
    if deposit is None:
        return None
    if deposit.status == Deposit.Status.REQUESTED:
        deposit.status = Deposit.Status.CANCELLED
        deposit.save(update_fields=["status", "updated_at"])
        return None
    if deposit.status != Deposit.Status.PAID:
        return None
    kept = min(fee, deposit.amount)
    back = deposit.amount - kept
    refund = None
    if back > 0:
        refund = _give_back(
            deposit,
            amount=back,
            kind=DepositRefund.Kind.CANCELLATION,
            memo=f"trade #{trade.pk} cancelled, fee {kept}",
            now=now,
        )
    deposit.status = Deposit.Status.REFUNDED
    deposit.retained_amount = kept
    deposit.save(update_fields=["status", "retained_amount", "updated_at"])
    return refund
