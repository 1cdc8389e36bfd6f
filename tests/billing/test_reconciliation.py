"""The daily reconciliation of Stripe clearing with Stripe's balance transactions, run through
the official SDK against localstripe and the Stripe-compatible test server: a clean day matches
every charge, fee, transfer, refund and reversal and the clearing movement; a transaction the
ledger lacks, an amount that differs and a refund Stripe does not know are flagged; re-running
the day replaces its items, keeps the operators' explanations and notifies only of new
differences."""

from decimal import Decimal

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from billing import stripe_gateway
from billing.models import Payout, ReconciliationItem, ReconciliationRun, Refund, StripeFee, StripePayment
from billing.services.card_payments import pay_by_card
from billing.services.payouts import refund_invoice_payment
from billing.services.reconciliation import explain_difference, reconcile_stripe_day
from billing.tasks import reconcile_stripe
from marketplace.errors import DomainError
from marketplace.models import AuditEntry, Notification
from tests.billing.stripe_world import FEE, GROSS, issued_invoice, onboard

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

D = Decimal
S, M = ReconciliationItem.Status, ReconciliationItem.Kind


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner):
    return issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner)


@pytest.fixture
def traded_day(stripe_on, connect_server, invoice, provider_org, operator, django_capture_on_commit_callbacks):
    """A day of card business: a charge (with Stripe's fee), the provider's transfer, and a
    partial refund after payout (a refund and a transfer reversal)."""
    onboard(provider_org)
    with django_capture_on_commit_callbacks(execute=True):
        pay_by_card(invoice=invoice, payment_method="pm_card_visa")
    refund = refund_invoice_payment(invoice=invoice, amount=D("100.00"), reason="Late delivery", by=operator)
    return timezone.localdate(refund.created_at)


def _items(run):
    return sorted((i.kind, i.status, i.stripe_amount, i.ledger_amount) for i in run.items.all())


def test_a_clean_day_reconciles_to_zero_differences(traded_day, invoice, operator):
    payout = Payout.objects.get()
    run = reconcile_stripe_day(day=traded_day)

    # A partial refund of 100.00 reverses the provider's credited share of it (84.07).
    net = GROSS - FEE - payout.amount - D("100.00") + D("84.07")
    assert _items(run) == sorted(
        [
            (M.CHARGE, S.MATCHED, GROSS, GROSS),
            (M.FEE, S.MATCHED, FEE, FEE),
            (M.TRANSFER, S.MATCHED, -payout.amount, -payout.amount),
            (M.REFUND, S.MATCHED, D("-100.00"), D("-100.00")),
            (M.TRANSFER_REVERSAL, S.MATCHED, D("84.07"), D("84.07")),
            (M.CLEARING, S.MATCHED, net, net),
        ]
    )
    refund = Refund.objects.get()
    assert set(run.items.values_list("ref", flat=True)) == {
        StripePayment.objects.get().charge_id,
        StripeFee.objects.get().balance_transaction_id,
        payout.transfer_id,
        refund.refund_id,
        refund.transfer_reversal_id,
        "CNY",
    }
    assert (run.status, run.stripe_transactions, run.matched, run.differences, run.runs) == ("clean", 4, 6, 0, 1)
    assert run.totals == {"CNY": {"stripe_net": str(net), "ledger_movement": str(net)}}
    assert Notification.objects.filter(kind="stripe_reconciliation").count() == 0

    # The day before and the day after hold nothing of it.
    for other in (traded_day - timezone.timedelta(days=1), traded_day + timezone.timedelta(days=1)):
        quiet = reconcile_stripe_day(day=other)
        assert (quiet.status, quiet.stripe_transactions, quiet.items.count()) == ("clean", 0, 0)


def test_discrepancies_are_flagged_and_operators_notified(traded_day, connect_server, operator):
    _, state = connect_server
    charge_id = StripePayment.objects.get().charge_id
    refund = Refund.objects.get()
    # Stripe holds a transaction our ledger never saw, settled a different amount for the
    # charge, and knows nothing of the refund we booked.
    stray = state.add_balance_transaction(type="adjustment", amount=-500, currency="cny", source="adj_1")
    state.tampered[charge_id] = {"amount": 69000}
    state.hidden.add(refund.refund_id)

    run = reconcile_stripe_day(day=traded_day)
    differences = sorted(
        (i.kind, i.ref, i.status, i.stripe_amount, i.ledger_amount) for i in run.items.exclude(status=S.MATCHED)
    )
    payout = Payout.objects.get()
    stripe_net = D("690.00") - FEE - payout.amount + D("84.07") - D("5.00")
    ledger_net = GROSS - FEE - payout.amount - D("100.00") + D("84.07")
    assert differences == [
        (M.CHARGE, charge_id, S.AMOUNT_MISMATCH, D("690.00"), GROSS),
        (M.CLEARING, "CNY", S.AMOUNT_MISMATCH, stripe_net, ledger_net),
        (M.OTHER, stray["id"], S.MISSING_IN_LEDGER, D("-5.00"), None),
        (M.REFUND, refund.refund_id, S.MISSING_AT_STRIPE, None, D("-100.00")),
    ]
    assert (run.status, run.differences, run.matched) == ("differences", 4, 3)
    [note] = Notification.objects.filter(kind="stripe_reconciliation")
    assert (note.user, note.url) == (operator, reverse("billing:ops_reconciliation_run", args=[run.pk]))
    assert note.title == f"Stripe reconciliation of {traded_day.isoformat()}: 4 new differences"


def test_rerun_is_idempotent_and_keeps_explanations(traded_day, connect_server, operator):
    _, state = connect_server
    stray = state.add_balance_transaction(type="adjustment", amount=-500, currency="cny", source="adj_1")
    first = reconcile_stripe_day(day=traded_day)
    other = first.items.get(kind=M.OTHER)
    explain_difference(item=other, by=operator, note="Chargeback fee, booked by finance by hand")
    assert AuditEntry.objects.filter(action="reconciliation.explain", subject_id=first.pk).count() == 1

    again = reconcile_stripe_day(day=traded_day)
    assert ReconciliationRun.objects.count() == 1 and again.pk == first.pk
    assert again.runs == 2
    assert _items(again) == _items(first)
    assert ReconciliationItem.objects.filter(run=again).count() == 7
    kept = again.items.get(kind=M.OTHER, ref=stray["id"])
    assert (kept.explanation, kept.explained_by) == ("Chargeback fee, booked by finance by hand", operator)
    # The clearing difference stays unexplained; nothing new, so nobody is told again.
    assert again.items.get(kind=M.CLEARING).explained_at is None
    assert Notification.objects.filter(kind="stripe_reconciliation").count() == 1

    # The stray transaction turns out to be of another amount: a new difference, told anew.
    state.extra.clear()
    state.balance_transactions[stray["id"]]["amount"] = -700
    third = reconcile_stripe_day(day=traded_day)
    changed = third.items.get(kind=M.OTHER)
    assert (changed.stripe_amount, changed.explained_at) == (D("-7.00"), None)
    latest = Notification.objects.filter(kind="stripe_reconciliation").order_by("pk")
    assert [n.title for n in latest] == [
        f"Stripe reconciliation of {traded_day.isoformat()}: 2 new differences",  # the stray + clearing
        f"Stripe reconciliation of {traded_day.isoformat()}: 2 new differences",  # both changed amounts
    ]


def test_listing_pages_with_starting_after(traded_day, stripe_on, connect_server):
    _, state = connect_server
    start = int(timezone.now().timestamp()) - 3600
    end = start + 7200
    whole = [txn["id"] for txn in stripe_gateway.list_balance_transactions(created_gte=start, created_lt=end)]
    paged = [
        txn["id"] for txn in stripe_gateway.list_balance_transactions(created_gte=start, created_lt=end, page_size=2)
    ]
    # A charge (its fee is on the same transaction), a transfer, a refund, a reversal.
    assert len(whole) == 4 and paged == whole
    pages = [path for method, path in state.requests if path.startswith("/v1/balance_transactions?")]
    assert len(pages) == 1 + 2 and sum("starting_after" in path for path in pages) == 1


def test_a_fee_the_task_missed_is_posted_by_the_reconciliation(stripe_on, invoice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():  # the fee task never runs
        pay_by_card(invoice=invoice, payment_method="pm_card_visa")
    assert StripeFee.objects.count() == 0
    run = reconcile_stripe_day(day=timezone.localdate())
    assert StripeFee.objects.get().amount == FEE
    assert (run.status, _items(run)) == (
        "clean",
        sorted(
            [
                (M.CHARGE, S.MATCHED, GROSS, GROSS),
                (M.FEE, S.MATCHED, FEE, FEE),
                (M.CLEARING, S.MATCHED, GROSS - FEE, GROSS - FEE),
            ]
        ),
    )


def test_explaining_needs_a_note_and_a_difference(traded_day, operator, provider_owner):
    run = reconcile_stripe_day(day=traded_day)
    matched = run.items.get(kind=M.CHARGE)
    with pytest.raises(DomainError) as refused:
        explain_difference(item=matched, by=operator, note="fine")
    assert refused.value.code == "matched"
    with pytest.raises(DomainError):
        explain_difference(item=matched, by=operator, note="   ")
    with pytest.raises(DomainError):
        explain_difference(item=matched, by=provider_owner, note="mine")
    matched.refresh_from_db()
    assert (matched.explanation, matched.explained_at) == ("", None)
    assert AuditEntry.objects.filter(action="reconciliation.explain").count() == 0


def test_operator_pages_and_explaining_a_difference(
    traded_day, connect_server, operator, client_for, django_assert_max_num_queries
):
    _, state = connect_server
    state.add_balance_transaction(type="adjustment", amount=-500, currency="cny", source="adj_1")
    run = reconcile_stripe_day(day=traded_day)
    client = client_for(operator)
    page = client.get(reverse("billing:ops_reconciliation"))
    assert page.status_code == 200
    assert [(r.day, r.differences, r.unexplained) for r in page.context["runs"]] == [(traded_day, 2, 2)]

    with django_assert_max_num_queries(12):
        page = client.get(reverse("billing:ops_reconciliation_run", args=[run.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Missing in the ledger" in html and "Amount mismatch" in html
    assert [i.kind for i in page.context["differences"]] == [M.CLEARING, M.OTHER]
    assert len(page.context["matched"]) == 5

    other = run.items.get(kind=M.OTHER)
    empty = client.post(reverse("billing:ops_reconciliation_explain", args=[other.pk]), {"note": ""})
    assert empty.status_code == 302
    other.refresh_from_db()
    assert other.explained_at is None
    response = client.post(
        reverse("billing:ops_reconciliation_explain", args=[other.pk]), {"note": "Dispute fee, see ticket 17"}
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.explanation, other.explained_by) == ("Dispute fee, see ticket 17", operator)
    entry = AuditEntry.objects.get(action="reconciliation.explain")
    assert (entry.actor, entry.subject_id, entry.changes) == (
        operator,
        run.pk,
        {f"other:{other.ref}": [None, "Dispute fee, see ticket 17"]},
    )
    page = client.get(reverse("billing:ops_reconciliation"))
    assert [(r.differences, r.unexplained) for r in page.context["runs"]] == [(2, 1)]


def test_operator_reconciles_a_day_again_through_the_task(
    traded_day, operator, client_for, django_capture_on_commit_callbacks
):
    client = client_for(operator)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(reverse("billing:ops_reconciliation"), {"day": today.isoformat()})
        garbled = client.post(reverse("billing:ops_reconciliation"), {"day": "yesterday"})
    assert (refused.status_code, garbled.status_code) == (302, 302)
    assert ReconciliationRun.objects.count() == 0  # a day that is not over is not reconciled

    yesterday = today - timezone.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("billing:ops_reconciliation"), {"day": yesterday.isoformat()})
    assert response.status_code == 302
    run = ReconciliationRun.objects.get()
    assert (run.day, run.status, run.runs) == (yesterday, "clean", 1)
    # The beat's task takes the same path; run for the traded day it finds it clean.
    assert reconcile_stripe.delay(traded_day.isoformat()).get() == f"{traded_day.isoformat()}: clean (0)"


def test_beat_reconciles_yesterday_at_half_past_three():
    entry = settings.CELERY_BEAT_SCHEDULE["billing-reconcile-stripe"]
    assert entry["task"] == "billing.tasks.reconcile_stripe"
    assert entry["schedule"] == crontab(hour=3, minute=30)
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE
