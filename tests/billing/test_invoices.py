"""Issuing the invoice of a completed trade: golden totals, ledger, idempotency, refusals,
immutability of issued invoices and credit notes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.models import BuyerBillingProfile, CreditNote, Invoice, InvoiceEvent, InvoiceLine, JournalTransaction
from billing.services.invoices import amount_due, issue_credit_note, issue_invoice_for_trade, mark_overdue
from billing.services.ledger import account_balance, ledger_account, trial_balance
from marketplace.errors import DomainError
from marketplace.models import Notification
from tests.billing.invoice_world import BUYER_TAX_ID, ISSUED_AT, SELLER_TAX_ID, completed_trade

pytestmark = pytest.mark.django_db


@pytest.fixture
def trade(provider_org, provider_owner, buyer_org, buyer_owner):
    BuyerBillingProfile.objects.create(
        organisation=buyer_org,
        legal_name="杭州机器人科技有限公司",
        tax_id=BUYER_TAX_ID,
        address="杭州市西湖区文三路 1 号",
        phone="0571-88888888",
        bank_name="工商银行杭州分行",
        bank_account="1202 0000 0000 0000",
    )
    return completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)


def test_golden_invoice_of_a_completed_trade(trade, provider_org, buyer_org):
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)

    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.number == "SP-2030-000001"
    assert (invoice.seller, invoice.buyer, invoice.trade) == (provider_org, buyer_org, trade)
    assert invoice.issued_at == ISSUED_AT
    assert invoice.due_at == ISSUED_AT + timedelta(days=30)
    lines = list(invoice.lines.values_list("code", "quantity", "unit", "unit_price", "amount", "rule"))
    assert lines == [
        ("machine_hours", Decimal("2.0000"), "h", Decimal("187.35"), Decimal("374.70"), "ceiling_15min+half_up"),
        ("setup", Decimal("1.0000"), "", Decimal("240.00"), Decimal("240.00"), "half_up"),
    ]
    assert (invoice.net, invoice.vat_rate, invoice.vat, invoice.gross) == (
        Decimal("614.70"),
        Decimal("0.1300"),
        Decimal("79.91"),
        Decimal("694.61"),
    )
    assert (invoice.commission, invoice.provider_share) == (Decimal("30.74"), Decimal("583.96"))
    assert invoice.provider_share + invoice.commission + invoice.vat == invoice.gross
    # 600 s outside the window were not approved: shown, not billed.
    # (Issued in the site language, zh-hans.)
    assert invoice.notes == ["预约时段以外的 0.17 小时运行时间未获确认，不予计费。"]
    # Parties snapshotted.
    assert (invoice.seller_legal_name, invoice.seller_tax_id) == ("苏州精工数控有限公司", SELLER_TAX_ID)
    assert (invoice.buyer_legal_name, invoice.buyer_tax_id) == ("杭州机器人科技有限公司", BUYER_TAX_ID)
    assert invoice.buyer_bank_account == "1202 0000 0000 0000"
    assert list(invoice.events.values_list("from_status", "to_status")) == [("", "draft"), ("draft", "issued")]

    journal = JournalTransaction.objects.get(idempotency_key=f"invoice:{invoice.pk}")
    postings = sorted(
        (p.account.code, p.side, p.amount, p.account.organisation_id)
        for p in journal.postings.select_related("account")
    )
    assert postings == [
        ("buyer_receivable", "debit", Decimal("694.61"), buyer_org.pk),
        ("commission_revenue", "credit", Decimal("30.74"), None),
        ("provider_payable", "credit", Decimal("583.96"), provider_org.pk),
        ("vat_payable", "credit", Decimal("79.91"), provider_org.pk),
    ]
    assert trial_balance("CNY") == Decimal("0.00")
    assert account_balance(ledger_account("buyer_receivable", currency="CNY", organisation=buyer_org)) == Decimal(
        "694.61"
    )
    assert amount_due(invoice) == Decimal("694.61")
    assert Notification.objects.filter(kind="invoice_issued", organisation=buyer_org).count() == 1


def test_issuing_twice_returns_the_same_invoice(trade):
    first = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    second = issue_invoice_for_trade(trade=trade, now=ISSUED_AT + timedelta(days=1))
    assert second.pk == first.pk
    assert Invoice.objects.count() == 1
    assert JournalTransaction.objects.filter(kind="invoice").count() == 1


def test_approved_overrun_is_billed(trade):
    # The buyer approved the overrun of the trade's booking on the trade page.
    trade.bookings.update(overrun_approved_at=ISSUED_AT)
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    assert list(invoice.lines.values_list("code", "quantity", "amount")) == [
        ("machine_hours", Decimal("2.0000"), Decimal("374.70")),
        ("overrun", Decimal("0.2500"), Decimal("46.84")),
        ("setup", Decimal("1.0000"), Decimal("240.00")),
    ]
    assert invoice.net == Decimal("661.54")
    assert invoice.notes == []


def test_only_completed_trades_are_invoiced(provider_org, provider_owner, buyer_org, buyer_owner):
    from tests.marketplace.trade_world import book, mill_of, order_of

    trade = book(order_of(buyer_org), buyer_owner, mill_of(provider_org))
    with pytest.raises(DomainError) as refused:
        issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    assert refused.value.code == "not_completed"
    assert Invoice.objects.count() == 0
    assert JournalTransaction.objects.count() == 0


def test_usage_must_be_final(trade):
    from capacity.models_metering import BookingUsage

    BookingUsage.objects.filter(booking__trade_link__trade=trade).update(final=False)
    with pytest.raises(DomainError) as refused:
        issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    assert refused.value.code == "usage_not_final"
    assert (Invoice.objects.count(), InvoiceLine.objects.count(), JournalTransaction.objects.count()) == (0, 0, 0)


def test_issued_invoice_cannot_be_edited(trade):
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    for change in (
        {"gross": Decimal("1.00"), "net": Decimal("1.00"), "vat": 0, "commission": 0, "provider_share": 1},
        {"buyer_legal_name": "Someone else"},
        {"number": "SP-2030-000099"},
        {"status": "draft"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(**change)
    line = invoice.lines.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(pk=line.pk).update(amount=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(
            invoice=invoice, position=9, code="x", description="x", quantity=1, unit_price=1, amount=1, rule="x"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).delete()
    invoice.refresh_from_db()
    assert (invoice.number, invoice.gross, invoice.buyer_legal_name) == (
        "SP-2030-000001",
        Decimal("694.61"),
        "杭州机器人科技有限公司",
    )
    assert list(invoice.lines.values_list("amount", flat=True)) == [Decimal("374.70"), Decimal("240.00")]


def test_credit_note_reverses_exactly(trade, provider_org, buyer_org, provider_owner):
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    note = issue_credit_note(invoice=invoice, reason="Wrong machine billed", by=provider_owner, now=ISSUED_AT)

    assert note.number == "SP-CN-2030-000001"
    assert (note.net, note.vat, note.gross, note.commission, note.provider_share) == (
        Decimal("-614.70"),
        Decimal("-79.91"),
        Decimal("-694.61"),
        Decimal("-30.74"),
        Decimal("-583.96"),
    )
    assert [line["amount"] for line in note.lines] == ["-374.70", "-240.00"]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    assert amount_due(invoice) == Decimal("0.00")
    for code, organisation in (
        ("buyer_receivable", buyer_org),
        ("provider_payable", provider_org),
        ("vat_payable", provider_org),
        ("commission_revenue", None),
    ):
        assert account_balance(ledger_account(code, currency="CNY", organisation=organisation)) == Decimal("0.00")
    assert trial_balance("CNY") == Decimal("0.00")
    # Credit notes are immutable, and a void invoice is not credited twice.
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditNote.objects.filter(pk=note.pk).update(reason="changed")
    with pytest.raises(DomainError):
        issue_credit_note(invoice=invoice, reason="again", by=provider_owner, now=ISSUED_AT)
    assert CreditNote.objects.count() == 1


def test_overdue_invoices_are_marked_and_reminded_once(trade, buyer_org, buyer_owner):
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    assert mark_overdue(now=ISSUED_AT + timedelta(days=30)) == 0  # due_at is not past yet
    later = ISSUED_AT + timedelta(days=31)
    assert mark_overdue(now=later) == 1
    assert mark_overdue(now=later + timedelta(days=1)) == 0
    invoice.refresh_from_db()
    assert (invoice.status, invoice.reminder_sent_at) == (Invoice.Status.OVERDUE, later)
    assert Notification.objects.filter(kind="invoice_overdue", user=buyer_owner).count() == 1
    assert InvoiceEvent.objects.filter(invoice=invoice, to_status="overdue").count() == 1
