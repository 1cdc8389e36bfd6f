"""A real Celery worker is killed (SIGKILL) in the middle of the month-end invoicing run; running
it again issues each period invoice exactly once: gapless numbers, one journal entry each, a
balanced ledger."""

import os
import signal
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from billing.models import Invoice, JournalTransaction, PeriodRun, PeriodRunItem
from billing.services.ledger import trial_balance
from billing.services.periods import run_period_invoicing
from billing.tasks import run_period_invoices
from tests.billing.period_world import SHANGHAI, daily_readings, long_rental, report
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.test_celery_worker import broker_url, worker_process  # noqa: F401 — broker_url is a fixture

ROOT = Path(__file__).resolve().parent.parent.parent
OCT = datetime(2030, 10, 1).date()
RUN_AT = datetime(2030, 11, 1, 3, 5, tzinfo=SHANGHAI)
TRADES = 5
ITEM_DELAY_S = "1.0"  # each batch holds its transaction open this long in the worker
BATCH = "2"  # trades per transaction: batches [1, 2], [3, 4], [5]


@pytest.fixture
def slow_worker(broker_url):  # noqa: F811
    """A real worker whose batches hold their transaction open a while, so it can be killed mid-run."""
    with worker_process(broker_url, SPINDLE_PERIOD_RUN_ITEM_DELAY_S=ITEM_DELAY_S, PERIOD_RUN_BATCH=BATCH) as process:
        yield process


def _wait(condition, *, seconds: float, process=None, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited while waiting for {what}:\n" + process.stdout.read().decode())
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _open_transactions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state LIKE 'idle in transaction%%'"
        )
        return cursor.fetchone()[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_run_then_rerun_issues_each_invoice_once(slow_worker, provider_org, provider_owner):
    start, end = datetime(2030, 10, 20, tzinfo=SHANGHAI), datetime(2030, 11, 10, tzinfo=SHANGHAI)
    trades = []
    for n in range(TRADES):
        buyer = OrganisationFactory(name=f"Buyer {n}", slug=f"buyer-{n}", kind="buyer")
        buyer_user = UserFactory(email=f"buyer{n}@example.com")
        MembershipFactory(user=buyer_user, organisation=buyer, role="owner")
        trade = long_rental(provider_org, provider_owner, buyer, buyer_user, start=start, end=end)
        times, counters = daily_readings(start, 21, 18_000 + 600 * n)
        report(trade, provider_owner, times, counters, now=datetime(2030, 11, 10, 1, tzinfo=SHANGHAI))
        trades.append(trade)

    run_period_invoices.apply_async(args=[OCT.isoformat(), RUN_AT.isoformat()])
    # The first batch committed (two invoices): the worker now sleeps inside the second one.
    _wait(lambda: Invoice.objects.count() >= 2, seconds=60, process=slow_worker, what="the first invoices")
    os.kill(slow_worker.pid, signal.SIGKILL)
    slow_worker.wait(timeout=15)
    # PostgreSQL rolls the killed worker's open transaction back once it notices the dead socket.
    _wait(lambda: _open_transactions() == 0, seconds=30, what="the killed worker's transaction to end")

    run = PeriodRun.objects.get(period_start=OCT)
    assert run.status == PeriodRun.Status.RUNNING
    assert Invoice.objects.count() == 2  # the second batch was rolled back with its items
    assert list(run.items.values_list("status", flat=True).order_by("pk")) == ["invoiced"] * 2 + ["pending"] * 3

    run = run_period_invoicing(period_start=OCT, now=datetime(2030, 11, 1, 4, tzinfo=SHANGHAI))

    assert (run.status, run.items_total, run.invoiced, run.failed) == (PeriodRun.Status.COMPLETED, TRADES, TRADES, 0)
    for trade in trades:
        assert Invoice.objects.filter(trade=trade, period_start=OCT).count() == 1
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"SP-2030-{n:06d}" for n in range(1, TRADES + 1)]
    for invoice in Invoice.objects.all():
        assert JournalTransaction.objects.filter(idempotency_key=f"invoice:{invoice.pk}").count() == 1
        assert PeriodRunItem.objects.get(invoice=invoice).status == PeriodRunItem.Status.INVOICED
    assert JournalTransaction.objects.count() == TRADES
    assert trial_balance("CNY") == Decimal("0.00")
