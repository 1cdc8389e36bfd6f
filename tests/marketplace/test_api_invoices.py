"""Invoices over the API: both parties read them and download the PDF; nobody else does."""

import io

import pytest
from pypdf import PdfReader

from billing.services.invoices import issue_invoice_for_trade
from tests.billing.invoice_world import ISSUED_AT, completed_trade
from tests.marketplace.api_support import key_for


@pytest.fixture
def invoice(provider_org, provider_owner, buyer_org, buyer_owner):
    trade = completed_trade(provider_org, provider_owner, buyer_org, buyer_owner)
    return issue_invoice_for_trade(trade=trade, now=ISSUED_AT)


@pytest.mark.django_db
def test_buyer_and_seller_read_the_invoice_and_its_pdf(client, invoice, buyer_owner, buyer_org, provider_owner):
    for user, organisation in ((buyer_owner, buyer_org), (provider_owner, invoice.seller)):
        _key, auth = key_for(user, organisation)
        listing = client.get("/api/v1/invoices/", **auth)
        assert listing.status_code == 200
        assert [row["number"] for row in listing.json()["results"]] == [invoice.number]
        detail = client.get(f"/api/v1/invoices/{invoice.pk}/", **auth).json()
        assert (detail["gross"], detail["currency"], len(detail["lines"])) == (
            f"{invoice.gross:.2f}",
            "CNY",
            invoice.lines.count(),
        )
        pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf/", **auth)
        assert pdf["Content-Type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert invoice.number in text


@pytest.mark.django_db
def test_other_organisations_get_404_and_anonymous_401(client, invoice, outsider, other_org):
    _key, auth = key_for(outsider, other_org)
    assert client.get("/api/v1/invoices/", **auth).json()["results"] == []
    assert client.get(f"/api/v1/invoices/{invoice.pk}/", **auth).status_code == 404
    assert client.get(f"/api/v1/invoices/{invoice.pk}/pdf/", **auth).status_code == 404
    assert client.get(f"/api/v1/invoices/{invoice.pk}/").status_code == 401


@pytest.mark.django_db
def test_credit_notes_and_supplementary_invoices_over_the_api(client, invoice, buyer_owner, buyer_org):
    from decimal import Decimal

    from billing.services.invoices import ExtraLine, issue_credit_note, issue_supplementary_invoice

    note = issue_credit_note(invoice=invoice, amount=Decimal("100.00"), reason="Late delivery", now=ISSUED_AT)
    extra = issue_supplementary_invoice(
        invoice=invoice,
        lines=[ExtraLine(description="Deburring", quantity=Decimal("1"), unit_price=Decimal("50.00"))],
        reason="Agreed extra",
        now=ISSUED_AT,
    )
    _key, auth = key_for(buyer_owner, buyer_org)
    detail = client.get(f"/api/v1/invoices/{invoice.pk}/", **auth).json()
    assert (detail["supplements"], detail["credit_notes"]) == (
        None,
        [
            {
                "number": note.number,
                "issued_at": detail["credit_notes"][0]["issued_at"],
                "currency": "CNY",
                "net": "-88.50",
                "vat": "-11.50",
                "gross": "-100.00",
                "reason": "Late delivery",
            }
        ],
    )
    supplement = client.get(f"/api/v1/invoices/{extra.pk}/", **auth).json()
    assert (supplement["supplements"], supplement["gross"], supplement["credit_notes"]) == (invoice.pk, "56.50", [])
