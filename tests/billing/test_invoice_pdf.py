"""The invoice PDF (bilingual, both parties), its download, the fapiao upload, the invoice email,
the billing pages, and who may see what."""

from decimal import Decimal
from io import BytesIO

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from billing.models import BuyerBillingProfile, Invoice
from billing.pdf import render_invoice_pdf
from billing.services.invoices import issue_invoice_for_trade
from tests import samples
from tests.billing.invoice_world import BUYER_TAX_ID, ISSUED_AT, SELLER_TAX_ID, completed_trade

PNG = samples.image("PNG")

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner, private_media):
    BuyerBillingProfile.objects.create(organisation=buyer_org, legal_name="杭州机器人科技有限公司", tax_id=BUYER_TAX_ID)
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    return issue_invoice_for_trade(trade=trade, now=ISSUED_AT)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def test_pdf_names_both_parties_and_the_amounts(invoice):
    text = pdf_text(render_invoice_pdf(invoice))
    for expected in (
        "苏州精工数控有限公司",
        "杭州机器人科技有限公司",
        SELLER_TAX_ID,
        BUYER_TAX_ID,
        "SP-2030-000001",
        invoice.payment_reference,
        "694.61",
        "79.91",
        "2031-01-09",
    ):
        assert expected in text, expected


def test_invoice_is_emailed_with_the_pdf_on_issue(mailoutbox, provider_org, provider_owner, buyer_org, buyer_owner):
    from django.test import TestCase

    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        invoice = issue_invoice_for_trade(trade=trade, now=ISSUED_AT)
    [message] = [m for m in mail.outbox if m.attachments]
    assert message.to == ["owner@buyer.example"]
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert invoice.payment_reference in message.body
    assert "Hangzhou Robotics" in pdf_text(content)  # no invoicing details: the organisation's name


def test_parties_open_the_invoice_and_pdf(client, invoice, provider_owner, buyer_owner):
    for user in (provider_owner, buyer_owner):
        client.force_login(user)
        page = client.get(reverse("billing:invoice_detail", args=[invoice.pk]))
        assert page.status_code == 200
        assert "SP-2030-000001" in page.content.decode()
        response = client.get(reverse("billing:invoice_pdf", args=[invoice.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert "杭州机器人科技有限公司" in pdf_text(response.content)
    # The buyer sees the payment instructions, not the provider's commission.
    client.force_login(buyer_owner)
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert invoice.payment_reference in page
    assert "30.74" not in page


def test_outsiders_see_nothing(client, invoice, outsider, provider_owner):
    client.force_login(provider_owner)
    client.post(
        reverse("billing:invoice_fapiao_upload", args=[invoice.pk]),
        {"file": samples.upload("fapiao.pdf", samples.pdf())},
    )
    client.force_login(outsider)
    for name in ("invoice_detail", "invoice_pdf", "invoice_fapiao"):
        assert client.get(reverse(f"billing:{name}", args=[invoice.pk])).status_code == 404, name
    response = client.post(
        reverse("billing:invoice_fapiao_upload", args=[invoice.pk]), {"file": samples.upload("x.pdf", samples.pdf())}
    )
    assert response.status_code == 404
    invoice.refresh_from_db()
    assert invoice.fapiao_name == "fapiao.pdf"


def test_provider_uploads_the_fapiao_and_the_buyer_opens_it(client, invoice, provider_owner, buyer_owner):
    client.force_login(provider_owner)
    response = client.post(
        reverse("billing:invoice_fapiao_upload", args=[invoice.pk]), {"file": samples.upload("fapiao.png", PNG)}
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.fapiao_name, invoice.fapiao_type) == ("fapiao.png", "image/png")
    client.force_login(buyer_owner)
    opened = client.get(reverse("billing:invoice_fapiao", args=[invoice.pk]))
    assert opened.status_code == 200
    assert b"".join(opened.streaming_content) == PNG
    # The buyer cannot replace it.
    refused = client.post(
        reverse("billing:invoice_fapiao_upload", args=[invoice.pk]),
        {"file": samples.upload("other.pdf", samples.pdf())},
    )
    assert refused.status_code == 404


def test_fapiao_content_is_checked(client, invoice, provider_owner, private_media):
    client.force_login(provider_owner)
    client.post(
        reverse("billing:invoice_fapiao_upload", args=[invoice.pk]),
        {"file": samples.upload("fapiao.pdf", b"not a pdf at all")},
    )
    invoice.refresh_from_db()
    assert (invoice.fapiao.name, invoice.fapiao_name) == ("", "")
    assert [p for p in private_media.rglob("*") if p.is_file()] == []


def test_billing_pages_and_statement(client, invoice, provider_owner, buyer_owner):
    client.force_login(buyer_owner)
    page = client.get(reverse("billing:home")).content.decode()
    assert "SP-2030-000001" in page
    client.force_login(provider_owner)
    page = client.get(reverse("billing:home")).content.decode()
    assert "SP-2030-000001" in page
    csv_text = client.get(reverse("billing:statement_csv")).content.decode("utf-8-sig")
    rows = [line.split(",") for line in csv_text.strip().splitlines()]
    assert rows[1][0] == "SP-2030-000001"
    assert rows[1][5:10] == ["614.70", "79.91", "694.61", "30.74", "583.96"]


def test_owner_saves_invoicing_details(client, buyer_owner, buyer_org):
    client.force_login(buyer_owner)
    url = reverse("billing:details")
    bad = client.post(url, {"legal_name": "杭州机器人科技有限公司", "tax_id": "123"})
    assert bad.status_code == 200
    assert not BuyerBillingProfile.objects.exists()
    good = client.post(url, {"legal_name": "杭州机器人科技有限公司", "tax_id": BUYER_TAX_ID.lower()})
    assert good.status_code == 302
    profile = BuyerBillingProfile.objects.get(organisation=buyer_org)
    assert (profile.legal_name, profile.tax_id) == ("杭州机器人科技有限公司", BUYER_TAX_ID)


def test_provider_issues_from_the_trade_page(
    client, provider_org, provider_owner, buyer_org, buyer_owner, private_media
):
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    client.force_login(buyer_owner)
    assert client.post(reverse("billing:trade_invoice_issue", args=[trade.pk])).status_code == 404
    assert Invoice.objects.count() == 0
    client.force_login(provider_owner)
    page = client.get(reverse("trade_detail", args=[trade.pk])).content.decode()
    assert reverse("billing:trade_invoice_issue", args=[trade.pk]) in page
    response = client.post(reverse("billing:trade_invoice_issue", args=[trade.pk]))
    invoice = Invoice.objects.get()
    assert response.url == reverse("billing:invoice_detail", args=[invoice.pk])
    assert invoice.gross == Decimal("694.61")
