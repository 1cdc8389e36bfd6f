"""The refunds page: the buyer sees the refunds of its card payments, the provider the refunds
on its invoices, anyone else nothing of them; operators see every refund and filter them. Each
refund links to its invoice and, for a full refund, to its credit note."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.services.card_payments import pay_by_card
from billing.services.payouts import refund_invoice_payment
from tests.billing.stripe_world import GROSS, issued_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def refunds(
    stripe_on, provider_org, provider_owner, buyer_org, buyer_owner, operator, django_capture_on_commit_callbacks
):
    """Two card-paid invoices: one refunded in full (credit note), one in part."""
    full_invoice = issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner)
    part_invoice = issued_invoice(provider_org, provider_owner, buyer_org, buyer_owner)
    with django_capture_on_commit_callbacks(execute=True):
        for invoice in (full_invoice, part_invoice):
            pay_by_card(invoice=invoice, payment_method="pm_card_visa")
    full = refund_invoice_payment(invoice=full_invoice, amount=GROSS, reason="Parts out of tolerance", by=operator)
    part = refund_invoice_payment(invoice=part_invoice, amount=Decimal("50.00"), reason="Late delivery", by=operator)
    return full, part


def test_buyer_sees_refunds_received_with_links(refunds, buyer_owner, client_for, django_assert_max_num_queries):
    full, part = refunds
    client = client_for(buyer_owner)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("billing:refunds"))
    assert page.status_code == 200
    assert page.context["received"] == [part, full]  # newest first
    assert page.context["issued"] == []  # a buyer-only organisation issues no invoices
    html = page.content.decode()
    full_url = reverse("billing:invoice_detail", args=[full.invoice_id])
    assert f'href="{full_url}">{full.invoice.number}</a>' in html
    assert f'href="{full_url}#credit-note-{full.credit_note.pk}">{full.credit_note.number}</a>' in html
    part_url = reverse("billing:invoice_detail", args=[part.invoice_id])
    assert f'href="{part_url}#credit-note-{part.credit_note.pk}">{part.credit_note.number}</a>' in html
    assert "¥694.61" in html and "¥50.00" in html
    assert part.refund_id not in html  # Stripe ids are for operators
    # The anchor the link points at exists on the invoice page.
    invoice_page = client.get(full_url).content.decode()
    assert f'id="credit-note-{full.credit_note.pk}"' in invoice_page


def test_provider_sees_refunds_on_its_invoices(refunds, provider_owner, client_for):
    full, part = refunds
    page = client_for(provider_owner).get(reverse("billing:refunds"))
    assert page.status_code == 200
    assert (page.context["issued"], page.context["received"]) == ([part, full], [])
    html = page.content.decode()
    assert full.invoice.buyer_legal_name in html and "Parts out of tolerance" in html


def test_other_organisations_see_none_of_them(refunds, outsider, client_for):
    page = client_for(outsider).get(reverse("billing:refunds"))
    assert page.status_code == 200
    assert (page.context["received"], page.context["issued"]) == ([], [])
    assert "No refunds received." in page.content.decode()


def test_operator_sees_all_refunds_and_filters_them(refunds, operator, client_for):
    full, part = refunds
    client = client_for(operator)
    url = reverse("billing:ops_refunds")
    assert client.get(url).context["refunds"] == [part, full]
    assert client.get(url, {"kind": "full"}).context["refunds"] == [full]
    assert client.get(url, {"kind": "partial"}).context["refunds"] == [part]
    assert client.get(url, {"q": full.invoice.number}).context["refunds"] == [full]
    assert client.get(url, {"q": part.refund_id}).context["refunds"] == [part]
    assert client.get(url, {"q": "Nobody Ltd"}).context["refunds"] == []
    today = timezone.localdate()
    assert client.get(url, {"since": today.isoformat(), "until": today.isoformat()}).context["refunds"] == [part, full]
    tomorrow = today + timezone.timedelta(days=1)
    assert client.get(url, {"since": tomorrow.isoformat()}).context["refunds"] == []
    assert client.get(url, {"currency": "USD"}).context["refunds"] == []
    html = client.get(url).content.decode()
    assert full.refund_id in html and part.refund_id in html
