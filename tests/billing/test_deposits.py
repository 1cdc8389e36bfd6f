"""Deposits: a provider asks for a share of the estimated total at booking; the buyer pays it by
card (Stripe, charged once despite retries) or by bank transfer matched by an operator;
production waits for it; it is applied to the trade's invoice (excess refunded) or, on a
cancellation before production, refunded minus the cancellation fee. Refusals change nothing.

The mill of tests.billing.invoice_world: 2 h at 187.35 CNY + 240.00 setup → estimated net
614.70, VAT 13 % 79.91, estimated gross 694.61 (the invoice's gross when 2 h are billed).
"""

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
import stripe
from django.urls import reverse

from billing.models import Deposit, DepositRefund, Invoice, JournalTransaction, Payment, StripeEvent
from billing.services import deposits
from billing.services.invoices import amount_due, issue_invoice_for_trade
from billing.services.ledger import account_balance, ledger_account, trial_balance
from billing.services.payments import record_bank_transfer
from billing.services.payouts import record_bank_payout
from capacity.models import ProviderProfile
from capacity.models_metering import BookingUsage
from marketplace.errors import DomainError
from marketplace.models import Trade, TradeEvent
from marketplace.services import trades as trade_services
from tests.billing.invoice_world import ISSUED_AT, SELLER_TAX_ID
from tests.billing.stripe_world import GROSS, deliver
from tests.factories import ProviderProfileFactory
from tests.marketplace.trade_world import NOW, SHANGHAI, at, book, mill_of, order_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

DEPOSIT_30 = Decimal("208.38")  # 694.61 × 30 % = 208.383 → HALF_UP
PAID_AT = datetime(2030, 12, 2, 10, tzinfo=SHANGHAI)


def _policy(provider_org, percent: str) -> None:
    if ProviderProfile.objects.filter(organisation=provider_org).exists():
        ProviderProfile.objects.filter(organisation=provider_org).update(deposit_percent=Decimal(percent))
    else:
        ProviderProfileFactory(
            organisation=provider_org,
            legal_name="苏州精工数控有限公司",
            credit_code=SELLER_TAX_ID,
            deposit_percent=Decimal(percent),
        )


def booked(provider_org, buyer_org, buyer_owner, percent="30") -> Trade:
    _policy(provider_org, percent)
    resource = mill_of(provider_org, rate=Decimal("187.35"), setup_fee=Decimal("240.00"))
    return book(order_of(buyer_org, quantity=20), buyer_owner, resource)


def complete(trade: Trade, provider_owner, buyer_owner, *, run_seconds="6421") -> Trade:
    """Produce, deliver, inspect and complete ``trade``; its usage final (as invoice_world)."""
    for status in (Trade.Status.IN_PRODUCTION, Trade.Status.PRODUCED, Trade.Status.DELIVERED):
        trade_services.transition_trade(trade=trade, to=status, by=provider_owner, now=NOW)
    trade_services.record_inspection(trade=trade, by=buyer_owner, accepted=20, rejected=0, now=NOW)
    trade_services.transition_trade(trade=trade, to=Trade.Status.COMPLETED, by=buyer_owner, now=NOW)
    BookingUsage.objects.create(
        booking=trade.bookings.get().booking,
        run_seconds=Decimal(run_seconds),
        parts=Decimal("20"),
        overrun_run_seconds=Decimal("600"),
        computed_at=NOW,
        final=True,
        finalised_at=NOW,
    )
    trade.refresh_from_db()
    return trade


def pay_by_bank(deposit: Deposit, operator, reference="CMB-DEP-1") -> Deposit:
    return deposits.record_deposit_transfer(
        deposit=deposit,
        amount=deposit.amount,
        received_on=date(2030, 12, 2),
        bank_reference=reference,
        by=operator,
        now=PAID_AT,
    )


def _balance(code: str, organisation=None) -> Decimal:
    return account_balance(ledger_account(code, currency="CNY", organisation=organisation))


def _postings(journal) -> list:
    return [(p.side, p.account.code, p.amount) for p in journal.postings.order_by("side", "account__code")]


def _intents_for(stripe_on, deposit) -> list:
    client = stripe.StripeClient("sk_test_spindle", base_addresses={"api": stripe_on.url}, max_network_retries=0)
    return [
        pi
        for pi in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if pi.metadata.to_dict().get("deposit_id") == str(deposit.pk)
    ]


# --- amounts and the request -------------------------------------------------------------------


def test_the_amount_is_rounded_once_half_up():
    assert deposits.deposit_amount(gross=Decimal("10.01"), percent=Decimal("50"), currency="CNY") == Decimal("5.01")
    assert deposits.deposit_amount(gross=Decimal("694.61"), percent=Decimal("12.5"), currency="CNY") == Decimal("86.83")
    assert deposits.deposit_amount(gross=Decimal("694.61"), percent=Decimal("30"), currency="CNY") == DEPOSIT_30
    assert deposits.deposit_amount(gross=Decimal("1001"), percent=Decimal("33.33"), currency="JPY") == Decimal("334")


def test_a_booking_snapshots_the_policy_and_requests_the_deposit(provider_org, buyer_org, buyer_owner):
    trade = booked(provider_org, buyer_org, buyer_owner)
    assert trade.terms["deposit"] == {"percent": "30.00", "rule": "half_up"}
    deposit = Deposit.objects.get(trade=trade)
    assert (deposit.status, deposit.percent, deposit.estimated_gross, deposit.amount, deposit.currency) == (
        "requested",
        Decimal("30.00"),
        GROSS,
        DEPOSIT_30,
        "CNY",
    )
    assert (deposit.buyer_id, deposit.provider_id, deposit.rule) == (buyer_org.pk, provider_org.pk, "half_up")
    assert deposit.payment_reference.startswith("DEP") and len(deposit.payment_reference) == 12
    assert JournalTransaction.objects.count() == 0  # a request moves no money

    # The provider changes its policy later: the trade keeps what was agreed.
    ProviderProfile.objects.filter(organisation=provider_org).update(deposit_percent=Decimal("80"))
    trade.refresh_from_db()
    deposit.refresh_from_db()
    assert (trade.terms["deposit"]["percent"], deposit.amount) == ("30.00", DEPOSIT_30)


def test_the_provider_sets_its_policy_on_its_profile_within_0_to_100(client_for, provider_member):
    from tests.capacity.test_provider_profile import PROFILE_URL, details

    client = client_for(provider_member)
    assert client.post(PROFILE_URL, details(deposit_percent="25")).status_code == 302
    assert ProviderProfile.objects.get().deposit_percent == Decimal("25.00")
    for wrong in ("-1", "100.01"):
        response = client.post(PROFILE_URL, details(deposit_percent=wrong))
        assert response.status_code == 200 and "deposit_percent" in response.context["form"].errors
        assert ProviderProfile.objects.get().deposit_percent == Decimal("25.00")
    # Left blank: no deposit.
    assert client.post(PROFILE_URL, details(deposit_percent="")).status_code == 302
    assert ProviderProfile.objects.get().deposit_percent == Decimal("0.00")


def test_no_policy_no_deposit(provider_org, provider_owner, buyer_org, buyer_owner):
    trade = booked(provider_org, buyer_org, buyer_owner, percent="0")
    assert "deposit" not in trade.terms
    assert not Deposit.objects.exists()
    trade_services.transition_trade(trade=trade, to=Trade.Status.IN_PRODUCTION, by=provider_owner, now=NOW)


# --- production waits ------------------------------------------------------------------------


def test_production_waits_for_the_deposit(provider_org, provider_owner, buyer_org, buyer_owner, operator, client_for):
    trade = booked(provider_org, buyer_org, buyer_owner)
    page = client_for(provider_owner).get(reverse("trade_detail", args=[trade.pk])).content.decode()
    assert "Production can start once the buyer has paid the deposit." in page
    assert "Pay the deposit" not in page
    events = TradeEvent.objects.count()
    with pytest.raises(DomainError) as refused:
        trade_services.transition_trade(trade=trade, to=Trade.Status.IN_PRODUCTION, by=provider_owner, now=NOW)
    assert refused.value.code == "deposit_unpaid"
    assert "once the buyer has paid the deposit of" in str(refused.value.message)
    trade.refresh_from_db()
    assert (trade.status, TradeEvent.objects.count()) == ("confirmed", events)

    pay_by_bank(trade.deposit, operator)
    trade_services.transition_trade(trade=trade, to=Trade.Status.IN_PRODUCTION, by=provider_owner, now=NOW)
    trade.refresh_from_db()
    assert trade.status == Trade.Status.IN_PRODUCTION


# --- paying ------------------------------------------------------------------------------------


def test_card_deposit_is_charged_once_despite_a_retry(
    stripe_on, webhook_inbox, provider_org, buyer_org, buyer_owner, client_for, django_capture_on_commit_callbacks
):
    trade = booked(provider_org, buyer_org, buyer_owner)
    deposit = trade.deposit
    client = client_for(buyer_owner)
    page = client.get(reverse("trade_detail", args=[trade.pk])).content.decode()
    assert "Pay the deposit of" in page and deposit.payment_reference in page
    pay_page = client.get(reverse("billing:deposit_pay", args=[deposit.pk])).content.decode()
    assert f'src="{stripe_on.url}/js.stripe.com/v3/"' in pay_page and deposit.payment_reference in pay_page

    # The PaymentIntent is created and stored first; then Stripe goes away mid-payment.
    opened = deposits.open_deposit_intent(deposit=deposit)
    assert opened.payment_intent_id.startswith("pi_") and opened.card_status == "requires_payment_method"
    stripe_on.stop()
    response = client.post(reverse("billing:deposit_pay", args=[deposit.pk]), {"payment_method": "pm_card_visa"})
    assert response.status_code == 400
    assert "could not be reached, so nothing was charged" in response.content.decode()
    deposit.refresh_from_db()
    assert (deposit.status, deposit.paid_journal) == ("requested", None)
    assert JournalTransaction.objects.count() == 0

    assert stripe_on.start()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("billing:deposit_pay", args=[deposit.pk]), {"payment_method": "pm_card_visa"})
    assert response.status_code == 302
    deposit.refresh_from_db()
    assert (deposit.status, deposit.method, deposit.payment_intent_id) == ("paid", "card", opened.payment_intent_id)
    assert deposit.charge_id.startswith("ch_")
    [intent] = _intents_for(stripe_on, deposit)
    assert (intent.id, intent.amount, intent.currency, intent.status) == (
        opened.payment_intent_id,
        20838,
        "cny",
        "succeeded",
    )
    assert deposit.paid_journal.idempotency_key == f"deposit_payment:{deposit.pk}"
    assert _postings(deposit.paid_journal) == [
        ("credit", "customer_deposits", DEPOSIT_30),
        ("debit", "stripe_clearing", DEPOSIT_30),
    ]

    # Stripe's webhook arrives afterwards and a second payment is tried: nothing twice.
    [(body, signature)] = webhook_inbox.wait_for("payment_intent.succeeded", object_id=deposit.payment_intent_id)
    assert deliver(client, body, signature, django_capture_on_commit_callbacks).status_code == 200
    assert StripeEvent.objects.get(event_id=json.loads(body)["id"]).status == "processed"
    again = client.post(reverse("billing:deposit_pay", args=[deposit.pk]), {"payment_method": "pm_card_visa"})
    assert again.status_code == 400
    assert JournalTransaction.objects.filter(kind="deposit_card_payment").count() == 1
    assert len(_intents_for(stripe_on, deposit)) == 1
    assert _balance("customer_deposits", buyer_org) == DEPOSIT_30
    assert trial_balance("CNY") == Decimal("0.00")


def test_a_declined_card_pays_nothing(stripe_on, provider_org, buyer_org, buyer_owner, client_for):
    trade = booked(provider_org, buyer_org, buyer_owner)
    response = client_for(buyer_owner).post(
        reverse("billing:deposit_pay", args=[trade.deposit.pk]), {"payment_method": "pm_card_chargeCustomerFail"}
    )
    assert response.status_code == 400
    assert "The card was declined" in response.content.decode()
    trade.deposit.refresh_from_db()
    assert trade.deposit.status == "requested"
    assert JournalTransaction.objects.count() == 0


def test_operator_matches_a_bank_deposit_on_the_payments_page(
    client, provider_org, buyer_org, buyer_owner, operator, provider_owner
):
    trade = booked(provider_org, buyer_org, buyer_owner)
    deposit = trade.deposit
    client.force_login(operator)
    page = client.get(reverse("billing:ops_payments")).content.decode()
    assert "Deposits awaiting a transfer" in page and deposit.payment_reference in page

    def post(amount, bank_reference="CMB-DEP-1"):
        return client.post(
            reverse("billing:ops_payments"),
            {
                "reference": deposit.payment_reference.lower(),
                "amount": amount,
                "received_on": "2030-12-02",
                "bank_reference": bank_reference,
            },
        )

    # The wrong amount is refused and changes nothing.
    response = post("200.00")
    assert response.status_code == 400
    assert "cannot be matched to it" in response.content.decode()
    deposit.refresh_from_db()
    assert (deposit.status, JournalTransaction.objects.count()) == ("requested", 0)

    assert post(str(DEPOSIT_30)).status_code == 302
    deposit.refresh_from_db()
    assert (deposit.status, deposit.method, deposit.bank_reference, deposit.recorded_by) == (
        "paid",
        "bank_transfer",
        "CMB-DEP-1",
        operator,
    )
    assert _postings(deposit.paid_journal) == [
        ("credit", "customer_deposits", DEPOSIT_30),
        ("debit", "bank_clearing", DEPOSIT_30),
    ]
    assert deposit.payment_reference not in client.get(reverse("billing:ops_payments")).content.decode()

    # Matching again, or reusing the bank reference, is refused and changes nothing.
    journals = JournalTransaction.objects.count()
    assert post(str(DEPOSIT_30), "CMB-DEP-2").status_code == 400
    with pytest.raises(DomainError) as refused:
        pay_by_bank(deposit, operator, reference="CMB-DEP-1")
    assert refused.value.code == "not_requested"
    assert JournalTransaction.objects.count() == journals
    assert trial_balance("CNY") == Decimal("0.00")

    # The provider cannot use the buyer's payment page.
    client.force_login(provider_owner)
    assert client.get(reverse("billing:deposit_pay", args=[deposit.pk])).status_code == 404


# --- applied to the invoice --------------------------------------------------------------------


def test_a_paid_deposit_is_applied_to_the_invoice_and_the_payout_is_unchanged(
    provider_org, provider_owner, buyer_org, buyer_owner, operator, client_for
):
    trade = booked(provider_org, buyer_org, buyer_owner)
    pay_by_bank(trade.deposit, operator)
    complete(trade, provider_owner, buyer_owner)
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    assert invoice.gross == GROSS

    deposit = Deposit.objects.get(trade=trade)
    payment = Payment.objects.get(invoice=invoice)
    assert (deposit.status, deposit.invoice, deposit.applied_payment) == ("applied", invoice, payment)
    assert (payment.method, payment.amount, payment.bank_reference, payment.received_on) == (
        "deposit",
        DEPOSIT_30,
        f"deposit:{deposit.payment_reference}",
        date(2030, 12, 2),
    )
    assert payment.journal.idempotency_key == f"deposit_applied:{deposit.pk}"
    assert _postings(payment.journal) == [
        ("credit", "buyer_receivable", DEPOSIT_30),
        ("debit", "customer_deposits", DEPOSIT_30),
    ]
    invoice.refresh_from_db()
    assert (invoice.status, amount_due(invoice)) == ("issued", Decimal("486.23"))
    page = client_for(provider_owner).get(reverse("trade_detail", args=[trade.pk])).content.decode()
    assert "Applied to the invoice" in page and invoice.number in page and "Pay the deposit" not in page
    assert _balance("customer_deposits", buyer_org) == Decimal("0.00")
    assert _balance("buyer_receivable", buyer_org) == Decimal("486.23")
    assert trial_balance("CNY") == Decimal("0.00")
    # Issuing again changes nothing.
    assert issue_invoice_for_trade(trade=trade, now=ISSUED_AT) == invoice
    assert Payment.objects.filter(invoice=invoice).count() == 1

    record_bank_transfer(
        invoice=invoice, amount=Decimal("486.23"), received_on=date(2030, 12, 12), bank_reference="CMB-9", by=operator
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    payout = record_bank_payout(invoice=invoice, bank_reference="PAYOUT-1", by=operator)
    # The provider's share is what it would be without a deposit: net − commission.
    assert payout.amount == invoice.provider_share == invoice.net - invoice.commission
    assert _balance("provider_payable", provider_org) == Decimal("0.00")
    assert _balance("bank_clearing") == GROSS - payout.amount
    assert _balance("commission_revenue") == invoice.commission
    assert trial_balance("CNY") == Decimal("0.00")


def test_excess_card_deposit_is_refunded_through_stripe(
    stripe_on, provider_org, provider_owner, buyer_org, buyer_owner, operator, django_capture_on_commit_callbacks
):
    trade = booked(provider_org, buyer_org, buyer_owner, percent="100")
    deposit = deposits.pay_deposit_by_card(deposit=trade.deposit, payment_method="pm_card_visa", now=PAID_AT)
    assert (deposit.status, deposit.amount) == ("paid", GROSS)
    complete(trade, provider_owner, buyer_owner, run_seconds="3600")  # 1 h billed, not 2
    with django_capture_on_commit_callbacks(execute=False):
        invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    assert invoice.gross == Decimal("482.91")  # (187.35 + 240.00) × 1.13
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_at, amount_due(invoice)) == ("paid", ISSUED_AT, Decimal("0.00"))
    assert Payment.objects.get(invoice=invoice).amount == Decimal("482.91")

    refund = DepositRefund.objects.get(deposit=deposit)
    assert (refund.kind, refund.method, refund.status, refund.amount) == ("excess", "card", "sent", Decimal("211.70"))
    client = stripe.StripeClient("sk_test_spindle", base_addresses={"api": stripe_on.url}, max_network_retries=0)
    remote = client.v1.refunds.retrieve(refund.refund_id)
    assert (remote.amount, remote.payment_intent) == (21170, deposit.payment_intent_id)
    assert _postings(refund.journal) == [
        ("credit", "stripe_clearing", Decimal("211.70")),
        ("debit", "customer_deposits", Decimal("211.70")),
    ]
    assert _balance("customer_deposits", buyer_org) == Decimal("0.00")
    assert _balance("buyer_receivable", buyer_org) == Decimal("0.00")
    assert _balance("stripe_clearing") == Decimal("482.91")
    payout = record_bank_payout(invoice=invoice, bank_reference="PAYOUT-1", by=operator)
    assert payout.amount == invoice.provider_share
    assert trial_balance("CNY") == Decimal("0.00")


def test_excess_bank_deposit_is_owed_then_sent_by_an_operator(
    client, provider_org, provider_owner, buyer_org, buyer_owner, operator
):
    trade = booked(provider_org, buyer_org, buyer_owner, percent="100")
    pay_by_bank(trade.deposit, operator)
    complete(trade, provider_owner, buyer_owner, run_seconds="3600")
    invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    refund = DepositRefund.objects.get(deposit__trade=trade)
    assert (refund.kind, refund.method, refund.status, refund.amount) == (
        "excess",
        "bank_transfer",
        "owed",
        Decimal("211.70"),
    )
    assert _balance("buyer_credit", buyer_org) == Decimal("211.70")

    client.force_login(operator)
    page = client.get(reverse("billing:ops_payments")).content.decode()
    assert "Deposit refunds owed to buyers" in page and trade.deposit.payment_reference in page
    url = reverse("billing:ops_deposit_refund_sent", args=[refund.pk])
    assert client.post(url, {f"depositrefund-{refund.pk}-bank_reference": "  "}).status_code == 302
    refund.refresh_from_db()
    assert refund.status == "owed"
    assert client.post(url, {f"depositrefund-{refund.pk}-bank_reference": "CMB-OUT-7"}).status_code == 302
    refund.refresh_from_db()
    assert (refund.status, refund.bank_reference, refund.executed_by) == ("sent", "CMB-OUT-7", operator)
    journals = JournalTransaction.objects.count()
    client.post(url, {f"depositrefund-{refund.pk}-bank_reference": "CMB-OUT-8"})
    assert JournalTransaction.objects.count() == journals
    assert _balance("buyer_credit", buyer_org) == Decimal("0.00")
    assert _balance("bank_clearing") == invoice.gross
    assert trial_balance("CNY") == Decimal("0.00")


# --- cancellation ------------------------------------------------------------------------------


def test_a_late_cancellation_refunds_the_card_deposit_minus_the_fee(stripe_on, provider_org, buyer_org, buyer_owner):
    trade = booked(provider_org, buyer_org, buyer_owner)
    deposit = deposits.pay_deposit_by_card(deposit=trade.deposit, payment_method="pm_card_visa", now=PAID_AT)
    late = at(9)  # within 48 h of the 10:00 start
    trade_services.transition_trade(trade=trade, to=Trade.Status.CANCELLED, by=buyer_owner, now=late)
    trade.refresh_from_db()
    assert trade.cancellation_fee == Decimal("122.94")  # 20 % of the 614.70 estimate
    deposit.refresh_from_db()
    assert (deposit.status, deposit.retained_amount) == ("refunded", Decimal("122.94"))
    refund = deposit.refunds.get()
    assert (refund.kind, refund.method, refund.amount) == ("cancellation", "card", Decimal("85.44"))
    client = stripe.StripeClient("sk_test_spindle", base_addresses={"api": stripe_on.url}, max_network_retries=0)
    assert client.v1.refunds.retrieve(refund.refund_id).amount == 8544
    # The fee stays held for the buyer until it is invoiced.
    assert _balance("customer_deposits", buyer_org) == Decimal("122.94")
    assert _balance("stripe_clearing") == Decimal("122.94")
    assert trial_balance("CNY") == Decimal("0.00")


def test_an_early_cancellation_owes_the_whole_bank_deposit_back(
    provider_org, provider_owner, buyer_org, buyer_owner, operator
):
    trade = booked(provider_org, buyer_org, buyer_owner)
    pay_by_bank(trade.deposit, operator)
    trade_services.transition_trade(trade=trade, to=Trade.Status.CANCELLED, by=provider_owner, now=NOW)
    deposit = Deposit.objects.get(trade=trade)
    assert (deposit.status, deposit.retained_amount) == ("refunded", Decimal("0.00"))
    refund = deposit.refunds.get()
    assert (refund.kind, refund.method, refund.status, refund.amount) == (
        "cancellation",
        "bank_transfer",
        "owed",
        DEPOSIT_30,
    )
    assert _balance("customer_deposits", buyer_org) == Decimal("0.00")
    assert _balance("buyer_credit", buyer_org) == DEPOSIT_30
    assert trial_balance("CNY") == Decimal("0.00")


def test_an_unpaid_deposit_lapses_on_cancellation(provider_org, buyer_org, buyer_owner):
    trade = booked(provider_org, buyer_org, buyer_owner)
    trade_services.transition_trade(trade=trade, to=Trade.Status.CANCELLED, by=buyer_owner, now=NOW)
    assert Deposit.objects.get(trade=trade).status == "cancelled"
    assert not DepositRefund.objects.exists()
    assert JournalTransaction.objects.count() == 0


def test_a_cancellation_stripe_refuses_changes_nothing(stripe_on, provider_org, buyer_org, buyer_owner):
    trade = booked(provider_org, buyer_org, buyer_owner)
    deposits.pay_deposit_by_card(deposit=trade.deposit, payment_method="pm_card_visa", now=PAID_AT)
    journals, events = JournalTransaction.objects.count(), TradeEvent.objects.count()
    bookings = list(trade.bookings.values_list("booking__status", flat=True))
    stripe_on.stop()
    try:
        with pytest.raises(DomainError) as refused:
            trade_services.transition_trade(trade=trade, to=Trade.Status.CANCELLED, by=buyer_owner, now=NOW)
    finally:
        assert stripe_on.start()
    assert refused.value.code == "stripe_unreachable"
    trade.refresh_from_db()
    deposit = Deposit.objects.get(trade=trade)
    assert (trade.status, trade.cancellation_fee, deposit.status) == ("confirmed", None, "paid")
    assert (JournalTransaction.objects.count(), TradeEvent.objects.count()) == (journals, events)
    assert list(trade.bookings.values_list("booking__status", flat=True)) == bookings
    assert not DepositRefund.objects.exists()


# --- Stripe fees and the daily reconciliation ----------------------------------------------------


def test_card_deposits_carry_their_stripe_fee_and_reconcile(
    stripe_on, provider_org, provider_owner, buyer_org, buyer_owner, django_capture_on_commit_callbacks
):
    from billing.models import ReconciliationItem, StripeFee
    from billing.services.reconciliation import reconcile_stripe_day

    trade = booked(provider_org, buyer_org, buyer_owner)
    with django_capture_on_commit_callbacks(execute=True):
        deposit = deposits.pay_deposit_by_card(deposit=trade.deposit, payment_method="pm_card_visa")
    fee = StripeFee.objects.get(deposit=deposit)
    # 3.4 % of 20,838 fen (708.49 → 708) + 180 fen.
    assert (fee.amount, fee.payment, fee.charge_id) == (Decimal("8.88"), None, deposit.charge_id)
    assert _postings(fee.journal) == [("credit", "stripe_clearing", fee.amount), ("debit", "stripe_fees", fee.amount)]

    trade_services.transition_trade(trade=trade, to=Trade.Status.CANCELLED, by=provider_owner)
    refund = DepositRefund.objects.get(deposit=deposit)
    assert (refund.amount, refund.method) == (DEPOSIT_30, "card")
    assert _balance("stripe_clearing") == -fee.amount
    assert trial_balance("CNY") == Decimal("0.00")

    from django.utils import timezone

    run = reconcile_stripe_day(day=timezone.localdate(refund.created_at))
    kinds = ReconciliationItem.Kind
    assert sorted((i.kind, i.status, i.stripe_amount, i.ledger_amount) for i in run.items.all()) == sorted(
        [
            (kinds.CHARGE, "matched", DEPOSIT_30, DEPOSIT_30),
            (kinds.FEE, "matched", fee.amount, fee.amount),
            (kinds.REFUND, "matched", -DEPOSIT_30, -DEPOSIT_30),
            (kinds.CLEARING, "matched", -fee.amount, -fee.amount),
        ]
    )
    assert run.status == "clean"


def test_card_money_arriving_after_the_trade_was_cancelled_goes_straight_back(
    stripe_on, provider_org, buyer_org, buyer_owner
):
    from billing import stripe_gateway as gateway

    trade = booked(provider_org, buyer_org, buyer_owner)
    opened = deposits.open_deposit_intent(deposit=trade.deposit)
    trade_services.transition_trade(trade=trade, to=Trade.Status.CANCELLED, by=buyer_owner, now=NOW)
    assert Deposit.objects.get(trade=trade).status == "cancelled"
    with pytest.raises(DomainError) as refused:
        deposits.pay_deposit_by_card(deposit=opened, payment_method="pm_card_visa")
    assert refused.value.code == "not_requested"
    assert JournalTransaction.objects.count() == 0

    # The buyer's browser had confirmed it meanwhile; Stripe's webhook makes us look at it.
    gateway.attach_payment_method(opened.payment_intent_id, "pm_card_visa")
    intent = gateway.confirm_payment_intent(opened.payment_intent_id)
    assert intent["status"] == "succeeded"
    deposits.settle_deposit_intent(gateway.retrieve_payment_intent(opened.payment_intent_id), now=PAID_AT)
    deposits.settle_deposit_intent(gateway.retrieve_payment_intent(opened.payment_intent_id), now=PAID_AT)

    deposit = Deposit.objects.get(trade=trade)
    refund = deposit.refunds.get()
    assert (deposit.status, refund.kind, refund.method, refund.amount) == (
        "refunded",
        "cancellation",
        "card",
        DEPOSIT_30,
    )
    assert JournalTransaction.objects.filter(kind__in=["deposit_card_payment", "deposit_card_refund"]).count() == 2
    assert _balance("customer_deposits", buyer_org) == Decimal("0.00")
    assert _balance("stripe_clearing") == Decimal("0.00")
    assert trial_balance("CNY") == Decimal("0.00")
