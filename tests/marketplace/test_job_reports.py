"""Job reports on the trade page (machines without telemetry): the provider submits run time,
parts and a content-checked evidence file; the buyer confirms or disputes; roles are checked
and refused requests change nothing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from capacity.models import BookingUsage, JobReport, JobReportEvent
from marketplace.models import TradeBooking, TradeEvent, TradeFileAccess
from marketplace.services import trades as services
from tests import samples
from tests.conftest import stored_files
from tests.marketplace.trade_world import idle, mill_of, order_of

pytestmark = pytest.mark.django_db

T = datetime(2025, 6, 2, 8, tzinfo=UTC)
START, END = T + timedelta(hours=2), T + timedelta(hours=10)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def trade(provider_org, buyer_org, buyer_owner):
    mill = mill_of(provider_org)
    idle(mill, T, T + timedelta(hours=12))
    order = order_of(buyer_org)
    links = services.book_plan(order=order, buyer_user=buyer_owner, slices=[(mill.pk, START, END, 20)], now=T)
    [trade] = services.confirm_plan(order=order, buyer_user=buyer_owner, booking_ids=[links[0].booking_id], now=T)
    return trade


@pytest.fixture
def link(trade):
    return TradeBooking.objects.select_related("booking").get(trade=trade)


def _report_data(link, upload=None, hours="6.5", parts="20"):
    data = {f"report-{link.pk}-run_hours": hours, f"report-{link.pk}-parts": parts, f"report-{link.pk}-note": "Shift A"}
    if upload is not None:
        data[f"report-{link.pk}-evidence"] = upload
    return data


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _state():
    return (
        list(JobReport.objects.order_by("pk").values_list("pk", "status", "run_seconds", "parts")),
        JobReportEvent.objects.count(),
        TradeEvent.objects.count(),
        # The trade page derives usage when absent (a read); a refusal must not change a source.
        list(BookingUsage.objects.exclude(source="telemetry").values_list("pk", "source", "run_seconds")),
    )


def test_the_provider_submits_a_job_report_with_checked_evidence(
    client_for, trade, link, provider_owner, buyer_owner, private_media
):
    page = client_for(provider_owner).get(reverse("trade_detail", args=[trade.pk]), **EN).content.decode()
    assert "Report usage (machine without telemetry)" in page

    response = client_for(provider_owner).post(
        reverse("trade_job_report", args=[trade.pk, link.pk]),
        _report_data(link, samples.upload("counter.pdf", samples.pdf())),
        follow=True,
        **EN,
    )

    assert _messages(response) == ["Job report sent to the buyer."]
    report = JobReport.objects.get()
    assert (report.booking_id, report.run_seconds, report.parts, report.status, report.note) == (
        link.booking_id,
        23400,
        20,
        "submitted",
        "Shift A",
    )
    assert report.evidence.name.endswith(".pdf")
    assert TradeEvent.objects.filter(trade=trade, kind="usage").get().note.endswith(": 6.5 h, 20 parts.")
    assert buyer_owner.notifications.filter(kind="trade_job_report").count() == 1

    evidence = reverse("trade_job_report_evidence", args=[trade.pk, report.pk])
    for user in (buyer_owner, provider_owner):
        served = client_for(user).get(evidence)
        assert (served.status_code, served["Content-Type"]) == (200, "application/pdf")
    assert TradeFileAccess.objects.filter(trade=trade, attachment=None).count() == 2


def test_a_refused_evidence_file_stores_no_report_and_no_file(client_for, trade, link, provider_owner, private_media):
    before = _state()
    response = client_for(provider_owner).post(
        reverse("trade_job_report", args=[trade.pk, link.pk]),
        _report_data(link, samples.upload("counter.pdf", b"MZ not really a pdf")),
        follow=True,
        **EN,
    )
    assert _messages(response) == ["counter.pdf is not a valid PDF file: its content was checked, not just its name."]
    assert _state() == before
    assert stored_files(private_media) == []


def test_only_the_provider_submits_and_outsiders_get_404(client_for, trade, link, buyer_owner, outsider):
    url = reverse("trade_job_report", args=[trade.pk, link.pk])
    before = _state()
    assert client_for(outsider).post(url, _report_data(link)).status_code == 404
    refused = client_for(buyer_owner).post(url, _report_data(link), follow=True, **EN)
    assert _messages(refused) == ["Only the provider reports usage for its bookings."]
    assert _state() == before


def test_the_buyer_confirms_and_usage_comes_from_the_report(client_for, trade, link, provider_owner, buyer_owner):
    client_for(provider_owner).post(
        reverse("trade_job_report", args=[trade.pk, link.pk]), _report_data(link), follow=True
    )
    report = JobReport.objects.get()
    url = reverse("trade_job_report_confirm", args=[trade.pk, report.pk])
    page = client_for(buyer_owner).get(reverse("trade_detail", args=[trade.pk]), **EN).content.decode()
    assert url in page

    before = _state()
    refused = client_for(provider_owner).post(url, follow=True, **EN)
    assert _messages(refused) == ["Only the buyer can confirm or dispute a job report."]
    assert _state() == before

    confirmed = client_for(buyer_owner).post(url, follow=True, **EN)
    assert _messages(confirmed) == ["Job report confirmed."]
    assert JobReport.objects.get().status == "confirmed"
    usage = BookingUsage.objects.get(booking=link.booking)
    assert (usage.source, usage.run_seconds, usage.parts) == ("job_report", Decimal("23400.000"), Decimal("20.000"))
    assert list(JobReportEvent.objects.order_by("pk").values_list("to_status", "organisation")) == [
        ("submitted", trade.provider_id),
        ("confirmed", trade.buyer_id),
    ]
    assert provider_owner.notifications.filter(kind="trade_job_report").count() == 1


def test_the_buyer_disputes_with_a_reason(client_for, trade, link, provider_owner, buyer_owner, outsider):
    client_for(provider_owner).post(
        reverse("trade_job_report", args=[trade.pk, link.pk]), _report_data(link), follow=True
    )
    report = JobReport.objects.get()
    url = reverse("trade_job_report_dispute", args=[trade.pk, report.pk])
    field = f"dispute-{report.pk}-reason"
    before = _state()

    assert client_for(outsider).post(url, {field: "No"}).status_code == 404
    empty = client_for(buyer_owner).post(url, {field: "  "}, follow=True, **EN)
    assert _messages(empty) == ["Say why you dispute the report."]
    assert _state() == before

    client_for(buyer_owner).post(url, {field: "The counter photo shows 4 h"}, follow=True, **EN)
    assert JobReport.objects.get().status == "disputed"
    assert TradeEvent.objects.filter(kind="usage").last().note == "Job report disputed: The counter photo shows 4 h"

    # A disputed report may be replaced by a new one.
    again = client_for(provider_owner).post(
        reverse("trade_job_report", args=[trade.pk, link.pk]), _report_data(link, hours="4"), follow=True, **EN
    )
    assert _messages(again) == ["Job report sent to the buyer."]
    assert list(JobReport.objects.order_by("pk").values_list("status", "run_seconds")) == [
        ("disputed", 23400),
        ("submitted", 14400),
    ]


def test_a_report_of_another_trade_is_404(client_for, trade, link, provider_owner, buyer_owner, buyer_org):
    client_for(provider_owner).post(
        reverse("trade_job_report", args=[trade.pk, link.pk]), _report_data(link), follow=True
    )
    report = JobReport.objects.get()
    other_order = order_of(buyer_org, title="Other")
    mill = mill_of(trade.provider)
    idle(mill, T, T + timedelta(hours=12))
    other_links = services.book_plan(
        order=other_order, buyer_user=buyer_owner, slices=[(mill.pk, START, END, 20)], now=T
    )
    [other] = services.confirm_plan(
        order=other_order, buyer_user=buyer_owner, booking_ids=[other_links[0].booking_id], now=T
    )
    before = _state()
    response = client_for(buyer_owner).post(reverse("trade_job_report_confirm", args=[other.pk, report.pk]))
    assert response.status_code == 404
    assert _state() == before
