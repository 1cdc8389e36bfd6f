"""The nightly reconciliation task on a real Celery worker (Redis), which talks to the local
Stripe servers through the official SDK with its settings taken from the environment."""

import pytest
from celery import Celery
from django.utils import timezone

from billing.models import ReconciliationItem, ReconciliationRun, StripeFee
from billing.services.card_payments import pay_by_card
from billing.tasks import reconcile_stripe
from marketplace.celery import app
from tests.billing.stripe_world import FEE, GROSS, issued_invoice
from tests.stripe_servers import SECRET_KEY
from tests.test_celery_worker import broker_url, worker_process  # noqa: F401 - broker_url is a fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_nightly_task_reconciles_on_a_real_worker(
    broker_url,  # noqa: F811
    stripe_on,
    connect_server,
    provider_org,
    provider_owner,
    buyer_org,
    buyer_owner,
):
    invoice = issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner)
    pay_by_card(invoice=invoice, payment_method="pm_card_visa")  # its fee is posted on commit
    assert StripeFee.objects.get().amount == FEE
    day = timezone.localdate(StripeFee.objects.get().created_at)
    connect_url, _ = connect_server
    stripe_env = {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_API_BASE": stripe_on.url,
        "STRIPE_CONNECT_API_BASE": connect_url,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
    }
    with worker_process(broker_url, **stripe_env) as worker:
        # As the beat sends it; the result comes back through Redis.
        client = Celery(broker=app.conf.broker_url, backend=app.conf.broker_url, set_as_current=False)
        result = client.send_task(reconcile_stripe.name, args=[day.isoformat()], queue=app.conf.task_default_queue)
        try:
            outcome = result.get(timeout=60)
        except Exception:
            worker.terminate()
            pytest.fail("the worker did not reconcile:\n" + worker.communicate(timeout=15)[0].decode())
        finally:
            client.close()
    assert outcome == f"{day.isoformat()}: clean (0)"
    run = ReconciliationRun.objects.get()
    assert (run.day, run.status, run.stripe_transactions) == (day, "clean", 1)
    assert sorted(run.items.values_list("kind", "stripe_amount", "ledger_amount")) == sorted(
        [
            (ReconciliationItem.Kind.CHARGE, GROSS, GROSS),
            (ReconciliationItem.Kind.FEE, FEE, FEE),
            (ReconciliationItem.Kind.CLEARING, GROSS - FEE, GROSS - FEE),
        ]
    )
