"""Month-end period invoices of long rentals: golden amounts across a month boundary in the
provider's time zone (Shanghai, and Berlin across a DST change), idempotent runs, and the final
invoice billing exactly what the period invoices did not."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from billing.models import Invoice, JournalTransaction, PeriodRun, PeriodRunItem
from billing.pricing import price_trade
from billing.services.invoices import issue_invoice_for_trade, trade_usage
from billing.services.ledger import trial_balance
from billing.services.periods import run_period_invoicing
from marketplace.models import Notification
from tests.billing.period_world import BERLIN, SHANGHAI, complete, daily_readings, long_rental, report

pytestmark = pytest.mark.django_db

OCT, NOV = datetime(2030, 10, 1).date(), datetime(2030, 11, 1).date()
RUN_AT = datetime(2030, 11, 1, 3, 0, tzinfo=SHANGHAI)  # the beat's pass on the 1st, 03:05 Shanghai
START = datetime(2030, 10, 20, tzinfo=SHANGHAI)
END = datetime(2030, 11, 10, tzinfo=SHANGHAI)
DAILY = 18_607  # 5 h 10 min 7 s of run time a day
CUMULATIVE = "cumulative_ceiling_15min+half_up"  # hours to date minus hours billed before


def lines(invoice):
    return list(invoice.lines.values_list("code", "quantity", "unit_price", "amount", "rule"))


@pytest.fixture
def rental(provider_org, provider_owner, buyer_org, buyer_owner):
    """Booked 20 Oct – 10 Nov (Shanghai); the machine ran 18,607 s every day: 12 days in October."""
    trade = long_rental(provider_org, provider_owner, buyer_org, buyer_owner, start=START, end=END)
    times, counters = daily_readings(START, 21, DAILY)
    report(trade, provider_owner, times, counters, now=datetime(2030, 11, 10, 1, tzinfo=SHANGHAI))
    return trade


def test_golden_period_invoice_for_october(rental, provider_org, buyer_owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_period_invoicing(now=RUN_AT)

    assert (run.period_start, run.period_end, run.status) == (OCT, NOV, PeriodRun.Status.COMPLETED)
    assert (run.items_total, run.invoiced, run.skipped, run.failed) == (1, 1, 0, 0)
    invoice = Invoice.objects.get(trade=rental)
    assert (invoice.period_start, invoice.period_end, invoice.period_seconds) == (OCT, NOV, 12 * DAILY)
    assert invoice.number == "SP-2030-000001"
    assert invoice.issued_at == RUN_AT
    # 223,284 s = 62.02 h → 62.25 h on the 15-minute grid; × 187.35 = 11,662.5375 → 11,662.54.
    assert lines(invoice) == [
        ("machine_hours", Decimal("62.2500"), Decimal("187.35"), Decimal("11662.54"), "ceiling_15min+half_up"),
        ("setup", Decimal("1.0000"), Decimal("240.00"), Decimal("240.00"), "half_up"),
    ]
    assert "2030-10-01 – 2030-11-01" in invoice.lines.get(code="machine_hours").description
    assert (invoice.net, invoice.vat, invoice.gross) == (Decimal("11902.54"), Decimal("1547.33"), Decimal("13449.87"))
    assert (invoice.commission, invoice.provider_share) == (Decimal("595.13"), Decimal("11307.41"))
    assert JournalTransaction.objects.filter(idempotency_key=f"invoice:{invoice.pk}").count() == 1
    assert trial_balance("CNY") == Decimal("0.00")
    # The buyer is notified and e-mailed the PDF, as for any invoice.
    assert Notification.objects.filter(user=buyer_owner, kind="invoice_issued").count() == 1
    [email] = [m for m in mail.outbox if m.attachments]  # the other one is the notification's
    assert email.to == [buyer_owner.email] and email.attachments[0][0] == "SP-2030-000001.pdf"


def test_running_again_issues_nothing_new(rental):
    first = run_period_invoicing(now=RUN_AT)
    invoice = Invoice.objects.get(trade=rental)

    again = run_period_invoicing(now=datetime(2030, 11, 2, 9, tzinfo=SHANGHAI))

    assert again.pk == first.pk and again.status == PeriodRun.Status.COMPLETED
    assert list(Invoice.objects.values_list("pk", "number")) == [(invoice.pk, "SP-2030-000001")]
    assert PeriodRunItem.objects.get().invoice == invoice
    assert JournalTransaction.objects.count() == 1
    # The database refuses a second period invoice for the same trade and month, whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            seller=invoice.seller, buyer=invoice.buyer, trade=rental, currency="CNY", vat_rate=invoice.vat_rate,
            payment_reference="SPDTESTDUP01", period_start=OCT, period_end=NOV, period_seconds=0,
        )  # fmt: skip


def test_final_invoice_bills_only_the_remainder(rental, provider_owner, buyer_owner):
    run_period_invoicing(now=RUN_AT)
    trade = complete(rental, provider_owner, buyer_owner, now=datetime(2030, 11, 12, tzinfo=SHANGHAI))

    final = issue_invoice_for_trade(trade=trade, now=datetime(2030, 11, 15, tzinfo=SHANGHAI))

    assert final.number == "SP-2030-000002" and final.period_start is None
    # 21 days × 18,607 s = 108.54 h → 108.75 h to date, 62.25 h billed: 46.5 h. The amount is by
    # difference too: round(108.75 × 187.35) − 11,662.54 = 20,374.31 − 11,662.54 = 8,711.77
    # (46.5 × 187.35 alone would round to 8,711.78: a cent the buyer would pay twice). No setup again.
    assert lines(final) == [
        ("machine_hours", Decimal("46.5000"), Decimal("187.35"), Decimal("8711.77"), CUMULATIVE),
    ]
    assert (final.net, final.vat, final.gross) == (Decimal("8711.77"), Decimal("1132.53"), Decimal("9844.30"))
    # Commission of the whole trade (5 % of 20,614.31 = 1,030.72) minus the period invoice's 595.13.
    assert (final.commission, final.provider_share) == (Decimal("435.59"), Decimal("8276.18"))
    # Together exactly what one invoice for the whole rental would have billed.
    whole = price_trade(trade.pricing_terms(), trade_usage(trade))
    invoices = Invoice.objects.filter(trade=trade)
    assert sum(i.net for i in invoices) == whole.net == Decimal("20614.31")
    assert sum(i.commission for i in invoices) == whole.commission
    assert issue_invoice_for_trade(trade=trade) == final
    assert trial_balance("CNY") == Decimal("0.00")


def test_minimum_charge_is_topped_up_against_the_whole_trade(provider_org, provider_owner, buyer_org, buyer_owner):
    trade = long_rental(
        provider_org, provider_owner, buyer_org, buyer_owner, start=START, end=END, minimum_charge=Decimal("25000.00")
    )
    times, counters = daily_readings(START, 21, DAILY)
    report(trade, provider_owner, times, counters, now=datetime(2030, 11, 10, 1, tzinfo=SHANGHAI))
    run_period_invoicing(now=RUN_AT)
    period = Invoice.objects.get(trade=trade)
    assert [code for code, *_rest in lines(period)] == ["machine_hours", "setup"]  # no top-up mid-rental
    trade = complete(trade, provider_owner, buyer_owner, now=datetime(2030, 11, 12, tzinfo=SHANGHAI))

    final = issue_invoice_for_trade(trade=trade, now=datetime(2030, 11, 15, tzinfo=SHANGHAI))

    # Work of the trade: 20,374.31 machine-hours + 240.00 setup = 20,614.31 → top-up 4,385.69.
    assert lines(final)[-1] == ("minimum_top_up", Decimal("1.0000"), Decimal("4385.69"), Decimal("4385.69"), "half_up")
    assert period.net + final.net == Decimal("25000.00")


def test_three_months_two_period_invoices(provider_org, provider_owner, buyer_org, buyer_owner):
    end = datetime(2030, 12, 5, tzinfo=SHANGHAI)
    trade = long_rental(provider_org, provider_owner, buyer_org, buyer_owner, start=START, end=end)
    times, counters = daily_readings(START, 46, DAILY)
    report(trade, provider_owner, times, counters, now=datetime(2030, 12, 5, 1, tzinfo=SHANGHAI))
    run_period_invoicing(now=RUN_AT)
    run_period_invoicing(now=datetime(2030, 12, 1, 3, tzinfo=SHANGHAI))

    october, november = Invoice.objects.filter(trade=trade).order_by("period_start")
    assert november.period_start == NOV and november.period_seconds == 42 * DAILY
    # 42 days to 1 Dec: 217.08 h → 217.25 h; minus October's 62.25 h = 155 h;
    # round(217.25 × 187.35) − 11,662.54 = 40,701.79 − 11,662.54 = 29,039.25. Setup only once.
    assert lines(november) == [
        ("machine_hours", Decimal("155.0000"), Decimal("187.35"), Decimal("29039.25"), CUMULATIVE),
    ]
    assert (october.number, november.number) == ("SP-2030-000001", "SP-2030-000002")


def test_berlin_provider_is_invoiced_for_its_own_month(provider_org, provider_owner, buyer_org, buyer_owner):
    """Berlin's October ends at 07:00 on 1 November in Shanghai and has 25 h on 27 October (DST)."""
    provider_org.time_zone = "Europe/Berlin"
    provider_org.save(update_fields=["time_zone"])
    start, end = datetime(2030, 10, 20, tzinfo=BERLIN), datetime(2030, 11, 10, tzinfo=BERLIN)
    trade = long_rental(
        provider_org, provider_owner, buyer_org, buyer_owner, start=start, end=end, rate=Decimal("100.00")
    )
    # The machine runs half of every hour: a reading every 6 h (UTC), +3 h of run time each.
    first = datetime(2030, 10, 19, 18, tzinfo=UTC)
    times = [first + timedelta(hours=6 * i) for i in range(90)]
    report(trade, provider_owner, times, [i * 10_800 for i in range(90)], now=datetime(2030, 11, 10, 12, tzinfo=BERLIN))

    early = run_period_invoicing(now=RUN_AT)  # 03:00 Shanghai: still 20:00 on 31 October in Berlin
    assert early.items_total == 0 and not Invoice.objects.exists()

    later = run_period_invoicing(now=datetime(2030, 11, 1, 10, tzinfo=SHANGHAI))  # 03:00 in Berlin

    assert later.pk == early.pk and (later.items_total, later.invoiced) == (1, 1)
    invoice = Invoice.objects.get(trade=trade)
    # 20 Oct 00:00 – 1 Nov 00:00 Berlin is 289 h (27 October has 25): half of it ran, 144.5 h.
    assert invoice.period_seconds == 520_200
    assert lines(invoice)[0] == (
        "machine_hours", Decimal("144.5000"), Decimal("100.00"), Decimal("14450.00"), "ceiling_15min+half_up",
    )  # fmt: skip
    assert invoice.number == "SP-2030-000001"


def test_trades_inside_one_month_are_not_period_invoiced(rental, provider_org, provider_owner, buyer_org, buyer_owner):
    inside = long_rental(
        provider_org, provider_owner, buyer_org, buyer_owner,
        start=datetime(2030, 10, 5, tzinfo=SHANGHAI), end=datetime(2030, 10, 8, tzinfo=SHANGHAI),
    )  # fmt: skip
    times, counters = daily_readings(datetime(2030, 10, 5, tzinfo=SHANGHAI), 3, DAILY)
    report(inside, provider_owner, times, counters, now=datetime(2030, 10, 9, tzinfo=SHANGHAI))

    run = run_period_invoicing(now=RUN_AT)

    assert list(run.items.values_list("trade_id", flat=True)) == [rental.pk]
    assert not Invoice.objects.filter(trade=inside).exists()


def test_operator_resumes_an_interrupted_run_and_parties_see_the_period(
    rental, operator, provider_owner, client_for, english, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from billing.services.periods import start_period_run

    run = start_period_run(period_start=OCT, now=RUN_AT)  # the worker died right after opening it
    client = client_for(operator)
    page = client.get(reverse("billing:ops_period_runs")).content.decode()
    assert "2030-10-01 – 2030-11-01" in page and "Resume run" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("billing:ops_period_runs"), {"run": run.pk})

    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.status, run.invoiced) == (PeriodRun.Status.COMPLETED, 1)
    invoice = Invoice.objects.get(trade=rental)
    client = client_for(provider_owner)
    detail = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "period 2030-10-01 – 2030-11-01" in detail
    trade_page = client.get(reverse("trade_detail", args=[rental.pk])).content.decode()
    assert invoice.number in trade_page


def test_a_failing_trade_does_not_stop_the_month(rental, provider_org, provider_owner, buyer_org, buyer_owner):
    # Terms so large the invoice overflows its columns: that trade fails, the others are invoiced.
    broken = long_rental(
        provider_org, provider_owner, buyer_org, buyer_owner, start=START, end=END, rate=Decimal("9999999999.99")
    )
    times, counters = daily_readings(START, 21, 86_000)  # 287 h × 9,999,999,999.99: 13 digits
    report(broken, provider_owner, times, counters, now=datetime(2030, 11, 10, 1, tzinfo=SHANGHAI))

    run = run_period_invoicing(now=RUN_AT)

    assert (run.status, run.invoiced, run.failed) == (PeriodRun.Status.FAILED, 1, 1)
    failed = run.items.get(trade=broken)
    assert failed.status == PeriodRunItem.Status.FAILED and failed.note.startswith("DataError")
    assert not Invoice.objects.filter(trade=broken).exists()
    assert Invoice.objects.get(trade=rental).number == "SP-2030-000001"  # no number lost to the failure

    again = run_period_invoicing(now=datetime(2030, 11, 1, 4, tzinfo=SHANGHAI))  # a resume retries it

    failed.refresh_from_db()
    assert (again.status, again.invoiced, failed.attempts) == (PeriodRun.Status.FAILED, 1, 2)
    assert Invoice.objects.count() == 1 and JournalTransaction.objects.count() == 1
