"""Disputes resolved by a refund: the operator decides a full or partial refund (gross), the
resolved trade is invoiced for its final usage and a credit note takes the refund off that
invoice, in one transaction with the resolution; both parties hear of it and the audit trail
records decision and amount. Invoice, credit notes, payments and the ledger stay consistent
whatever is paid afterwards; a refused decision changes nothing.

The trade of tests.billing.invoice_world invoices at 694.61 = net 614.70 + VAT 79.91, commission
30.74 (5 %), provider share 583.96. A partial refund of 100.00 credits net 88.50 (100 / 1.13
HALF_UP) and VAT 11.50; the commission on the remaining 526.20 is 26.31, so 4.43 of commission and
84.07 of the provider's share are credited.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import (
    BankRefund,
    CreditNote,
    DocumentSequence,
    Invoice,
    JournalTransaction,
    Payout,
    Refund,
    StripeFee,
)
from billing.services.card_payments import pay_by_card
from billing.services.invoices import amount_due, credited_total, paid_total, returned_total
from billing.services.ledger import account_balance, ledger_account, trial_balance
from billing.services.payments import record_bank_transfer
from billing.services.payouts import record_bank_payout, refresh_connect_account, refund_invoice_payment
from capacity.models_metering import BookingUsage
from marketplace.errors import DomainError
from marketplace.models import AuditEntry, Notification, Trade, TradeEvent
from marketplace.services import ops
from marketplace.services import trades as trade_services
from tests.billing.invoice_world import ISSUED_AT, SELLER_TAX_ID
from tests.factories import ProviderProfileFactory
from tests.marketplace.trade_world import NOW, SHANGHAI, at, book, mill_of, order_of

pytestmark = [pytest.mark.django_db]

GROSS = Decimal("694.61")
SHARE = Decimal("583.96")
RESOLVED_AT = ISSUED_AT  # three days after the booking's window: usage is final once resolved


def disputed_trade(provider_org, provider_owner, buyer_org, buyer_owner, *, final_usage: bool = True) -> Trade:
    """The invoice world's trade, disputed by the buyer after inspection instead of accepted."""
    ProviderProfileFactory(organisation=provider_org, legal_name="苏州精工数控有限公司", credit_code=SELLER_TAX_ID)
    resource = mill_of(provider_org, rate=Decimal("187.35"), setup_fee=Decimal("240.00"))
    trade = book(order_of(buyer_org, quantity=20), buyer_owner, resource)
    for status in (Trade.Status.IN_PRODUCTION, Trade.Status.PRODUCED, Trade.Status.DELIVERED):
        trade_services.transition_trade(trade=trade, to=status, by=provider_owner, now=NOW)
    trade_services.record_inspection(
        trade=trade, by=buyer_owner, accepted=14, rejected=6, reasons="Bore 0.05 mm oversize.", now=NOW
    )
    trade_services.transition_trade(
        trade=trade, to=Trade.Status.DISPUTED, by=buyer_owner, note="Six flanges out of tolerance.", now=NOW
    )
    if final_usage:
        BookingUsage.objects.create(
            booking=trade.bookings.get().booking,
            run_seconds=Decimal("6421"),
            parts=Decimal("20"),
            overrun_run_seconds=Decimal("0"),
            computed_at=NOW,
            final=True,
            finalised_at=NOW,
        )
    trade.refresh_from_db()
    return trade


@pytest.fixture
def trade(provider_org, provider_owner, buyer_org, buyer_owner):
    return disputed_trade(provider_org, provider_owner, buyer_org, buyer_owner)


def _balance(code, organisation=None):
    return account_balance(ledger_account(code, currency="CNY", organisation=organisation))


def assert_consistent(invoice: Invoice, provider_org, buyer_org) -> None:
    """The issue's check: every figure of the invoice agrees with its documents and the books."""
    invoice.refresh_from_db()
    notes = list(CreditNote.objects.filter(invoice=invoice))
    credited = -sum((n.gross for n in notes), Decimal("0"))
    credited_share = -sum((n.provider_share for n in notes), Decimal("0"))
    credited_commission = -sum((n.commission for n in notes), Decimal("0"))
    credited_vat = -sum((n.vat for n in notes), Decimal("0"))
    kept = paid_total(invoice) - returned_total(invoice)
    assert credited == credited_total(invoice) <= invoice.gross
    assert amount_due(invoice) == invoice.gross - credited - kept >= 0
    for note in notes:
        assert note.gross == note.net + note.vat and note.net == note.commission + note.provider_share
    payouts = sum((p.amount - p.reversed_amount for p in Payout.objects.filter(invoice=invoice)), Decimal("0"))
    owed_back = sum(
        (r.amount for r in BankRefund.objects.filter(invoice=invoice, status=BankRefund.Status.OWED)), Decimal("0")
    )
    assert _balance("buyer_receivable", buyer_org) == amount_due(invoice)
    assert _balance("buyer_credit", buyer_org) == owed_back
    assert _balance("provider_payable", provider_org) == invoice.provider_share - credited_share - payouts
    assert _balance("commission_revenue") == invoice.commission - credited_commission
    assert _balance("vat_payable", provider_org) == invoice.vat - credited_vat
    assert trial_balance("CNY") == Decimal("0.00")
    expected = Invoice.Status.VOID if credited == invoice.gross else None
    if expected is None:
        expected = Invoice.Status.PAID if amount_due(invoice) == 0 else Invoice.Status.ISSUED
    assert invoice.status == expected


def resolve(client, trade, **data):
    return client.post(reverse("ops_dispute_resolve", args=[trade.pk]), data, HTTP_ACCEPT_LANGUAGE="en")


def test_partial_refund_on_an_uninvoiced_trade_then_paid_by_bank(
    trade,
    client_for,
    operator,
    provider_org,
    provider_owner,
    buyer_org,
    buyer_owner,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client = client_for(operator)
    page = client.get(reverse("ops_dispute", args=[trade.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "At most CN¥694.61 can be refunded." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = resolve(
            client, trade, decision="partial_refund", amount="100.00", note="Six of twenty flanges rejected."
        )
    assert response.status_code == 302
    trade.refresh_from_db()
    assert trade.status == Trade.Status.RESOLVED
    event = TradeEvent.objects.filter(trade=trade).order_by("pk").last()
    assert (event.from_status, event.to_status, event.actor) == ("disputed", "resolved", operator)
    assert event.note == "Partial refund CN¥100.00 — Six of twenty flanges rejected."

    invoice = Invoice.objects.get(trade=trade)
    note = CreditNote.objects.get(invoice=invoice)
    year = timezone.localtime(invoice.issued_at, SHANGHAI).year  # the view resolves at today's date
    number, note_number = f"SP-{year}-000001", f"SP-CN-{year}-000001"
    assert (invoice.number, invoice.gross, invoice.provider_share) == (number, GROSS, SHARE)
    assert note.number == note_number
    assert (note.gross, note.net, note.vat, note.commission, note.provider_share) == (
        Decimal("-100.00"),
        Decimal("-88.50"),
        Decimal("-11.50"),
        Decimal("-4.43"),
        Decimal("-84.07"),
    )
    assert note.reason == f"Dispute on trade #{trade.pk}: Six of twenty flanges rejected."
    assert (invoice.status, amount_due(invoice)) == ("issued", Decimal("594.61"))
    assert _balance("provider_payable", provider_org) == Decimal("499.89")
    assert _balance("commission_revenue") == Decimal("26.31")
    assert _balance("vat_payable", provider_org) == Decimal("68.41")
    assert (Refund.objects.count(), BankRefund.objects.count()) == (0, 0)  # nothing was paid yet
    assert_consistent(invoice, provider_org, buyer_org)

    # Both parties: told of the resolution and of the credit note, in the app and by email.
    parties = {provider_owner.email, buyer_owner.email}
    for kind in ("trade_resolved", "credit_note_issued"):
        assert set(Notification.objects.filter(kind=kind).values_list("user__email", flat=True)) == parties, kind
    resolution_mail = [m for m in mailoutbox if "resolved" in m.subject.lower()]
    credit_mail = [m for m in mailoutbox if note_number in m.subject]
    assert {m.to[0] for m in resolution_mail} == parties
    assert {m.to[0] for m in credit_mail} == parties
    audit = AuditEntry.objects.get(action="trade.resolve_dispute")
    assert (audit.actor, audit.subject_id, audit.reason) == (operator, trade.pk, "Six of twenty flanges rejected.")
    assert audit.changes == {
        "status": ["disputed", "resolved"],
        "decision": [None, "partial_refund"],
        "amount": [None, "100.00"],
        "credit_note": [None, note_number],
    }

    # The outcome on the dispute page.
    page = client.get(reverse("ops_dispute", args=[trade.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert note_number in page and number in page and "Resolve dispute" not in page

    # The buyer pays what is left by bank; the provider is paid its share less the credited share.
    record_bank_transfer(
        invoice=invoice, amount=Decimal("594.61"), received_on=ISSUED_AT.date(), bank_reference="ICBC-1", by=operator
    )
    assert_consistent(invoice, provider_org, buyer_org)
    assert invoice.status == Invoice.Status.PAID
    payout = record_bank_payout(invoice=invoice, bank_reference="ICBC-PAY-1", by=operator)
    assert payout.amount == Decimal("499.89")
    assert_consistent(invoice, provider_org, buyer_org)
    assert _balance("bank_clearing") == Decimal("94.72")  # 594.61 in, 499.89 out: commission + VAT remain


def test_partial_refund_then_the_rest_paid_by_card_and_paid_out_by_stripe(
    stripe_on,
    connect_server,
    trade,
    client_for,
    operator,
    provider_org,
    provider_owner,
    buyer_org,
    django_capture_on_commit_callbacks,
):
    client_for(provider_owner).post(reverse("billing:connect_onboarding"))
    refresh_connect_account(organisation=provider_org)
    ops.resolve_dispute(
        trade=trade,
        by=operator,
        decision="partial_refund",
        amount=Decimal("100.00"),
        note="Late delivery.",
        now=RESOLVED_AT,
    )
    invoice = Invoice.objects.get(trade=trade)
    with django_capture_on_commit_callbacks(execute=True):
        pay_by_card(invoice=invoice, payment_method="pm_card_visa")
    invoice.refresh_from_db()
    assert (invoice.status, paid_total(invoice), amount_due(invoice)) == ("paid", Decimal("594.61"), Decimal("0.00"))
    _, state = connect_server
    [transfer] = state.transfers.values()
    payout = Payout.objects.get(invoice=invoice)
    assert (payout.amount, transfer["amount"]) == (Decimal("499.89"), 49989)
    # The platform keeps commission + VAT (94.72); Stripe keeps its fee on the charge.
    fee = StripeFee.objects.get(payment__invoice=invoice)
    assert fee.amount == Decimal("22.02")  # 3.4 % + ¥1.80 on ¥594.61 (the test server's rate)
    assert _balance("stripe_clearing") == Decimal("94.72") - fee.amount
    assert_consistent(invoice, provider_org, buyer_org)

    # A further partial refund of the card money, after the payout: Stripe refunds it and takes
    # the credited share back from the provider's transfer.
    refund = refund_invoice_payment(
        invoice=invoice, amount=Decimal("50.00"), reason="Goodwill", by=operator, now=RESOLVED_AT
    )
    second = CreditNote.objects.filter(invoice=invoice).order_by("pk").last()
    assert second.number == "SP-CN-2030-000002"
    assert refund.credit_note == second and refund.amount == Decimal("50.00")
    assert transfer["amount_reversed"] == int(-second.provider_share * 100)
    assert_consistent(invoice, provider_org, buyer_org)


def test_full_refund_voids_the_invoice_and_leaves_nothing_owed(
    trade, operator, provider_org, buyer_org, provider_owner, buyer_owner
):
    ops.resolve_dispute(trade=trade, by=operator, decision="full_refund", note="Wrong material.", now=RESOLVED_AT)
    invoice = Invoice.objects.get(trade=trade)
    note = CreditNote.objects.get(invoice=invoice)
    assert (note.gross, note.net, note.vat, note.commission, note.provider_share) == (
        -GROSS,
        -invoice.net,
        -invoice.vat,
        -invoice.commission,
        -SHARE,
    )
    assert [line["amount"] for line in note.lines] == [str(-line.amount) for line in invoice.lines.all()]
    invoice.refresh_from_db()
    assert (invoice.status, amount_due(invoice)) == ("void", Decimal("0.00"))
    for code, organisation in [
        ("buyer_receivable", buyer_org),
        ("provider_payable", provider_org),
        ("commission_revenue", None),
        ("vat_payable", provider_org),
    ]:
        assert _balance(code, organisation) == Decimal("0.00"), code
    assert_consistent(invoice, provider_org, buyer_org)
    audit = AuditEntry.objects.get(action="trade.resolve_dispute")
    assert audit.changes["decision"] == [None, "full_refund"] and audit.changes["amount"] == [None, "694.61"]
    with pytest.raises(DomainError) as refused:
        record_bank_payout(invoice=invoice, bank_reference="ICBC-PAY-2", by=operator)
    assert refused.value.code == "not_paid"


def _state():
    return (
        list(Trade.objects.values_list("pk", "status")),
        Invoice.objects.count(),
        CreditNote.objects.count(),
        JournalTransaction.objects.count(),
        Notification.objects.filter(kind__in=["trade_resolved", "credit_note_issued", "invoice_issued"]).count(),
        AuditEntry.objects.count(),
        list(DocumentSequence.objects.values_list("kind", "last_number")),
        list(BookingUsage.objects.values_list("pk", "final")),
    )


def test_refund_above_the_priced_gross_is_refused_and_nothing_changes(trade, client_for, operator):
    before = _state()
    response = resolve(client_for(operator), trade, decision="partial_refund", amount="694.62", note="Everything.")
    assert response.status_code == 400
    assert "At most CN¥694.61 can be refunded on this trade." in response.content.decode()
    with pytest.raises(DomainError) as refused:
        ops.resolve_dispute(
            trade=trade, by=operator, decision="partial_refund", amount=Decimal("694.62"), note="x", now=RESOLVED_AT
        )
    assert refused.value.code == "over_credit"
    for amount, code in [(Decimal("0"), "amount"), (Decimal("-5.00"), "amount"), (Decimal("1.005"), "amount")]:
        with pytest.raises(DomainError) as refused:
            ops.resolve_dispute(
                trade=trade, by=operator, decision="partial_refund", amount=amount, note="x", now=RESOLVED_AT
            )
        assert refused.value.code == code
    with pytest.raises(DomainError) as refused:
        ops.resolve_dispute(trade=trade, by=operator, decision="partial_refund", note="x", now=RESOLVED_AT)
    assert refused.value.code == "amount_required"
    assert _state() == before


def test_refund_waits_for_final_usage_and_the_finality_hook_settles_it(
    provider_org, provider_owner, buyer_org, buyer_owner, operator
):
    trade = disputed_trade(provider_org, provider_owner, buyer_org, buyer_owner, final_usage=False)
    # A day after the window: its usage is not final until 48 h after the window ends.
    before = _state()
    with pytest.raises(DomainError) as refused:
        ops.resolve_dispute(
            trade=trade, by=operator, decision="partial_refund", amount=Decimal("10.00"), note="x", now=at(12, day=8)
        )
    assert refused.value.code == "usage_not_final"
    assert _state() == before
    # Past the 48 h the resolution itself makes the usage final (the hook: resolved + window end + 48 h).
    ops.resolve_dispute(
        trade=trade, by=operator, decision="partial_refund", amount=Decimal("10.00"), note="x", now=RESOLVED_AT
    )
    usage = BookingUsage.objects.get(booking=trade.bookings.get().booking)
    assert (usage.final, usage.finalised_at, usage.run_seconds) == (True, RESOLVED_AT, Decimal("0.000"))
    invoice = Invoice.objects.get(trade=trade)
    assert (invoice.net, invoice.gross) == (Decimal("240.00"), Decimal("271.20"))  # no run time measured: setup
    assert amount_due(invoice) == Decimal("261.20")
    assert_consistent(invoice, provider_org, buyer_org)
