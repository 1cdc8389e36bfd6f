"""Each provider numbers its invoices in one gapless series per year, also under concurrency and
after a rolled-back issue; credit notes have their own series."""

import threading
from datetime import datetime

import pytest
from django.db import connection, transaction

from billing.models import DocumentSequence, Invoice
from billing.services.invoices import issue_invoice_for_trade, series_prefix
from tests.billing.invoice_world import ISSUED_AT, SHANGHAI, completed_trade


def trades(count, provider_org, provider_owner, buyer_org, buyer_owner):
    return [completed_trade(provider_org, provider_owner, buyer_org, buyer_owner) for _ in range(count)]


@pytest.mark.django_db
def test_prefix_is_the_initials_of_the_slug(provider_org, other_org):
    assert series_prefix(provider_org) == "SP"
    other_org.slug = "wuxi"
    assert series_prefix(other_org) == "WUXI"


@pytest.mark.django_db
def test_rolled_back_issue_leaves_no_gap(provider_org, provider_owner, buyer_org, buyer_owner):
    first, second = trades(2, provider_org, provider_owner, buyer_org, buyer_owner)
    with pytest.raises(RuntimeError), transaction.atomic():
        issue_invoice_for_trade(trade=first, now=ISSUED_AT)
        raise RuntimeError("the mail server was down and the caller gave up")
    assert Invoice.objects.count() == 0
    assert issue_invoice_for_trade(trade=second, now=ISSUED_AT).number == "SP-2030-000001"
    assert issue_invoice_for_trade(trade=first, now=ISSUED_AT).number == "SP-2030-000002"


@pytest.mark.django_db
def test_a_new_year_starts_a_new_series(provider_org, provider_owner, buyer_org, buyer_owner):
    december, january = trades(2, provider_org, provider_owner, buyer_org, buyer_owner)
    assert issue_invoice_for_trade(trade=december, now=ISSUED_AT).number == "SP-2030-000001"
    # 2031-01-01 00:30 in Shanghai is still 2030 in UTC: the seller's year counts.
    new_year = datetime(2031, 1, 1, 0, 30, tzinfo=SHANGHAI)
    assert issue_invoice_for_trade(trade=january, now=new_year).number == "SP-2031-000001"
    assert list(DocumentSequence.objects.order_by("year").values_list("year", "last_number")) == [(2030, 1), (2031, 1)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_get_consecutive_numbers(provider_org, provider_owner, buyer_org, buyer_owner):
    batch = trades(6, provider_org, provider_owner, buyer_org, buyer_owner)
    barrier = threading.Barrier(len(batch))
    numbers, errors = [], []

    def issue(trade):
        try:
            barrier.wait(timeout=10)
            numbers.append(issue_invoice_for_trade(trade=trade, now=ISSUED_AT).number)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(trade,)) for trade in batch]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(numbers) == [f"SP-2030-{n:06d}" for n in range(1, 7)]
    assert DocumentSequence.objects.get(seller=provider_org, year=2030, kind="invoice").last_number == 6
