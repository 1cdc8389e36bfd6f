"""The daily reconciliation of Stripe clearing with Stripe's balance transactions.

For one day (midnight to midnight in TIME_ZONE) we list Stripe's balance transactions page by
page and compare each with the ledger by its Stripe id: a charge with its card Payment, the
charge's fee with its StripeFee, a refund with its Refund, a transfer with its Payout, a
transfer reversal with the reversal part of its refund's journal transaction. Ledger entries of
the day whose Stripe object Stripe did not list are flagged too, and so is any difference
between the day's net at Stripe and the movement of ``stripe_clearing`` in the ledger.

Stripe is listed an hour either side of the day so that an entry settled a few seconds after
midnight still finds its charge from the day before (it is compared on Stripe's day).

One ReconciliationRun per day: a re-run replaces its items in one transaction and keeps an
operator's explanation of a difference that is still exactly the same. Operators are notified
of differences that were not flagged before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, F, Sum, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_gateway as gateway
from billing.models import (
    Deposit,
    DepositRefund,
    Payment,
    Payout,
    Posting,
    ReconciliationItem,
    ReconciliationRun,
    Refund,
    StripeFee,
    StripePayment,
)
from billing.money import from_minor_units
from billing.services.fees import record_stripe_fee
from marketplace.errors import DomainError
from marketplace.models import User
from marketplace.services.accounts import notify
from marketplace.services.ops import record_audit

Kind = ReconciliationItem.Kind
Status = ReconciliationItem.Status
MARGIN = timedelta(hours=1)
CHARGE_TYPES = {"charge", "payment"}
REFUND_TYPES = {"refund", "payment_refund"}
TRANSFER_TYPES = {"transfer"}
REVERSAL_TYPES = {"transfer_refund", "transfer_reversal"}


@dataclass
class Found:
    kind: str
    ref: str
    currency: str
    stripe_amount: Decimal | None
    ledger_amount: Decimal | None
    at: datetime | None
    balance_transaction_id: str = ""
    stripe_type: str = ""

    @property
    def status(self) -> str:
        if self.ledger_amount is None:
            return Status.MISSING_IN_LEDGER
        if self.stripe_amount is None:
            return Status.MISSING_AT_STRIPE
        return Status.MATCHED if self.stripe_amount == self.ledger_amount else Status.AMOUNT_MISMATCH


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of ``day`` in the site's time zone."""
    tz = timezone.get_default_timezone()
    return datetime.combine(day, time.min, tzinfo=tz), datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def _source(txn: dict) -> str:
    source = txn.get("source") or ""
    return source.get("id", "") if isinstance(source, dict) else source


def _reversal_amount(refund: Refund) -> Decimal:
    """The part of a refund's journal transaction that came back from the provider's transfer."""
    total = refund.journal.postings.filter(account__code="stripe_clearing", side=Posting.Side.DEBIT).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal("0.00")


def _compare(txn: dict) -> list[Found]:
    """What the ledger says about one Stripe balance transaction."""
    currency = txn["currency"].upper()
    amount = from_minor_units(int(txn["amount"]), currency)
    fee = from_minor_units(int(txn.get("fee") or 0), currency)
    source = _source(txn)
    at = datetime.fromtimestamp(int(txn["created"]), tz=UTC)
    kind_of = txn["type"]

    def found(kind: str, ref: str, ledger: Decimal | None, stripe: Decimal = amount) -> Found:
        return Found(kind, ref, currency, stripe, ledger, at, txn["id"], kind_of)

    if kind_of in CHARGE_TYPES:
        attempt = StripePayment.objects.filter(charge_id=source).first() if source else None
        payment = (
            Payment.objects.select_related("invoice").filter(bank_reference=attempt.payment_intent_id).first()
            if attempt
            else None
        )
        # Or the charge of a trade's card deposit (billing.services.deposits).
        deposit = (
            Deposit.objects.filter(charge_id=source, method=Deposit.Method.CARD).exclude(paid_journal=None).first()
            if source and attempt is None
            else None
        )
        ledger = payment.amount if payment else deposit.amount if deposit else None
        # A charge settled in another currency than it was made in shows as an amount mismatch.
        items = [found(Kind.CHARGE, source or txn["id"], ledger)]
        fee_row = StripeFee.objects.filter(balance_transaction_id=txn["id"]).first()
        if fee_row is None and (payment is not None or deposit is not None) and fee > 0:
            # The fee task did not get to it (Stripe was unreachable): post it from what we hold.
            fee_row = record_stripe_fee(payment=payment, deposit=deposit, balance_transaction=txn)
        if fee > 0 or fee_row is not None:
            items.append(found(Kind.FEE, txn["id"], fee_row.amount if fee_row else None, stripe=fee))
        return items
    if kind_of in REFUND_TYPES:
        refund = Refund.objects.filter(refund_id=source).first() if source else None
        if refund is None and source:
            refund = DepositRefund.objects.filter(refund_id=source).first()
        return [found(Kind.REFUND, source or txn["id"], -refund.amount if refund else None)]
    if kind_of in TRANSFER_TYPES:
        payout = Payout.objects.filter(transfer_id=source).first() if source else None
        return [found(Kind.TRANSFER, source or txn["id"], -payout.amount if payout else None)]
    if kind_of in REVERSAL_TYPES:
        refund = Refund.objects.filter(transfer_reversal_id=source).first() if source else None
        return [found(Kind.TRANSFER_REVERSAL, source or txn["id"], _reversal_amount(refund) if refund else None)]
    return [found(Kind.OTHER, txn["id"], None)]


def _ledger_only(start: datetime, end: datetime, listed: set[str]) -> list[Found]:
    """Ledger entries of the day that carry a Stripe id Stripe did not list."""
    window = {"journal__effective_at__gte": start, "journal__effective_at__lt": end}
    out: list[Found] = []
    payments = list(Payment.objects.filter(method=Payment.Method.CARD, **window).select_related("journal"))
    charges = dict(
        StripePayment.objects.filter(payment_intent_id__in=[p.bank_reference for p in payments]).values_list(
            "payment_intent_id", "charge_id"
        )
    )
    for payment in payments:
        ref = charges.get(payment.bank_reference) or payment.bank_reference
        if ref not in listed:
            out.append(Found(Kind.CHARGE, ref, payment.currency, None, payment.amount, payment.journal.effective_at))
    for fee in StripeFee.objects.filter(**window).select_related("journal"):
        if fee.balance_transaction_id not in listed:
            out.append(
                Found(Kind.FEE, fee.balance_transaction_id, fee.currency, None, fee.amount, fee.journal.effective_at)
            )
    for refund in Refund.objects.filter(**window).select_related("journal"):
        if refund.refund_id not in listed:
            out.append(
                Found(Kind.REFUND, refund.refund_id, refund.currency, None, -refund.amount, refund.journal.effective_at)
            )
        if refund.transfer_reversal_id and refund.transfer_reversal_id not in listed:
            out.append(
                Found(
                    Kind.TRANSFER_REVERSAL,
                    refund.transfer_reversal_id,
                    refund.currency,
                    None,
                    _reversal_amount(refund),
                    refund.journal.effective_at,
                )
            )
    paid = {"paid_journal__effective_at__gte": start, "paid_journal__effective_at__lt": end}
    for deposit in Deposit.objects.filter(method=Deposit.Method.CARD, **paid).select_related("paid_journal"):
        ref = deposit.charge_id or deposit.payment_intent_id
        if ref not in listed:
            at = deposit.paid_journal.effective_at
            out.append(Found(Kind.CHARGE, ref, deposit.currency, None, deposit.amount, at))
    for refund in DepositRefund.objects.filter(method=Deposit.Method.CARD, **window).select_related("journal"):
        if refund.refund_id not in listed:
            out.append(
                Found(Kind.REFUND, refund.refund_id, refund.currency, None, -refund.amount, refund.journal.effective_at)
            )
    for payout in Payout.objects.filter(method=Payout.Method.STRIPE, **window).select_related("journal"):
        if payout.transfer_id not in listed:
            out.append(Found(Kind.TRANSFER, payout.transfer_id, payout.currency, None, -payout.amount, payout.paid_at))
    return out


def clearing_movement(*, start: datetime, end: datetime) -> dict[str, Decimal]:
    """Debits − credits on ``stripe_clearing`` per currency over [start, end)."""
    rows = (
        Posting.objects.filter(
            account__code="stripe_clearing",
            transaction__effective_at__gte=start,
            transaction__effective_at__lt=end,
        )
        .values("currency")
        .annotate(
            total=Sum(
                Case(
                    When(side=Posting.Side.DEBIT, then=F("amount")),
                    default=-F("amount"),
                    output_field=DecimalField(max_digits=20, decimal_places=2),
                )
            )
        )
    )
    return {row["currency"]: row["total"] for row in rows}


def reconcile_stripe_day(*, day: date, now: datetime | None = None) -> ReconciliationRun:
    """Reconcile ``day``; re-running it replaces the day's items (see the module docstring).
    Raises the gateway's errors when Stripe cannot be reached (the task retries)."""
    started = now or timezone.now()
    start, end = day_bounds(day)
    lo, hi = int(start.timestamp()), int(end.timestamp())
    fetched = list(
        gateway.list_balance_transactions(
            created_gte=int((start - MARGIN).timestamp()), created_lt=int((end + MARGIN).timestamp())
        )
    )
    in_day = [txn for txn in fetched if lo <= int(txn["created"]) < hi]
    listed = {txn["id"] for txn in fetched} | {_source(txn) for txn in fetched}
    found: list[Found] = []
    for txn in in_day:
        found += _compare(txn)
    found += _ledger_only(start, end, listed)

    stripe_net: dict[str, Decimal] = defaultdict(Decimal)
    for txn in in_day:
        currency = txn["currency"].upper()
        stripe_net[currency] += from_minor_units(int(txn["net"]), currency)
    movement = clearing_movement(start=start, end=end)
    totals = {}
    for currency in sorted(set(stripe_net) | set(movement)):
        net, moved = stripe_net.get(currency, Decimal("0.00")), movement.get(currency, Decimal("0.00"))
        totals[currency] = {"stripe_net": str(net), "ledger_movement": str(moved)}
        found.append(Found(Kind.CLEARING, currency, currency, net, moved, None))
    return _store(day=day, found=found, stripe_count=len(in_day), totals=totals, started=started)


def _key(kind: str, ref: str, status: str, stripe_amount, ledger_amount) -> tuple:
    def norm(value):
        return None if value is None else Decimal(value).quantize(Decimal("0.01"))

    return (kind, ref, status, norm(stripe_amount), norm(ledger_amount))


def _item_key(item: ReconciliationItem) -> tuple:
    return _key(item.kind, item.ref, item.status, item.stripe_amount, item.ledger_amount)


def _store(*, day: date, found: list[Found], stripe_count: int, totals: dict, started: datetime) -> ReconciliationRun:
    finished = timezone.now()
    with transaction.atomic():
        run, _created = ReconciliationRun.objects.get_or_create(
            day=day,
            defaults={
                "status": ReconciliationRun.Status.CLEAN,
                "started_at": started,
                "finished_at": finished,
                "runs": 0,
            },
        )
        # The run row serialises re-runs of one day and operators explaining its items.
        run = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        before = list(run.items.all())
        explained = {_item_key(i): i for i in before if i.explained_at}
        flagged_before = {_item_key(i) for i in before if i.is_difference}
        run.items.all().delete()
        items, used = [], set()
        for f in found:
            ref = f.ref if (f.kind, f.ref) not in used else f.balance_transaction_id or f.ref
            used.add((f.kind, ref))
            key = _key(f.kind, ref, f.status, f.stripe_amount, f.ledger_amount)
            old = explained.get(key)
            items.append(
                ReconciliationItem(
                    run=run,
                    kind=f.kind,
                    ref=ref,
                    balance_transaction_id=f.balance_transaction_id,
                    stripe_type=f.stripe_type,
                    currency=f.currency,
                    stripe_amount=f.stripe_amount,
                    ledger_amount=f.ledger_amount,
                    status=f.status,
                    at=f.at,
                    explanation=old.explanation if old else "",
                    explained_by_id=old.explained_by_id if old else None,
                    explained_at=old.explained_at if old else None,
                )
            )
        ReconciliationItem.objects.bulk_create(items)
        differences = [i for i in items if i.is_difference]
        run.status = ReconciliationRun.Status.DIFFERENCES if differences else ReconciliationRun.Status.CLEAN
        run.stripe_transactions = stripe_count
        run.matched = len(items) - len(differences)
        run.differences = len(differences)
        run.totals = totals
        run.runs += 1
        run.started_at = started
        run.finished_at = finished
        run.save()
        new = [i for i in differences if not i.explained_at and _item_key(i) not in flagged_before]
        if new:
            _notify_operators(run, len(new))
    return run


def _notify_operators(run: ReconciliationRun, count: int) -> None:
    url = reverse("billing:ops_reconciliation_run", args=[run.pk])
    for user in User.objects.filter(is_staff=True, is_active=True).order_by("pk"):
        notify(
            user=user,
            kind="stripe_reconciliation",
            title=_("Stripe reconciliation of %(day)s: %(count)s new differences")
            % {"day": run.day.isoformat(), "count": count},
            body=_("Compare them with Stripe's dashboard and explain each one on the reconciliation page."),
            url=url,
        )


def explain_difference(
    *, item: ReconciliationItem, by: User, note: str, now: datetime | None = None
) -> ReconciliationItem:
    """An operator explains a flagged difference (audited); the run keeps the note on re-runs."""
    if not by.is_operator:
        raise DomainError(_("Only operators may do this."), code="not_operator")
    note = note.strip()
    if not note:
        raise DomainError(_("Say why the difference is in order."), code="note_required")
    now = now or timezone.now()
    with transaction.atomic():
        ReconciliationRun.objects.select_for_update().get(pk=item.run_id)
        item = ReconciliationItem.objects.filter(pk=item.pk).first()
        if item is None:
            raise DomainError(_("The day was reconciled again meanwhile; look at it afresh."), code="stale")
        if not item.is_difference:
            raise DomainError(_("Matched entries need no explanation."), code="matched")
        old = item.explanation
        item.explanation = note[:500]
        item.explained_by = by
        item.explained_at = now
        item.save(update_fields=["explanation", "explained_by", "explained_at"])
        # The run is the subject: its items are replaced when the day is reconciled again.
        record_audit(
            actor=by,
            action="reconciliation.explain",
            subject=item.run,
            changes={f"{item.kind}:{item.ref}": [old or None, item.explanation]},
            reason=item.explanation,
            now=now,
        )
    return item
