"""Trade pages: actions by role, the thread and its files, inspection, RFQ and quote pages,
the job board; outsiders get 404 and change nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Quote, RFQInvitation, Trade, TradeAttachment, TradeFileAccess, TradeMessage
from marketplace.services import quotes as quote_services
from marketplace.services import trades as services
from tests import samples
from tests.marketplace.trade_world import idle, mill_of, order_of

S = Trade.Status


def _soon(hours: int):
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    return base + timedelta(hours=hours)


@pytest.fixture
def mill(provider_org):
    resource = mill_of(provider_org)
    idle(resource, _soon(0), _soon(12))
    return resource


@pytest.fixture
def trade(mill, buyer_org, buyer_owner):
    order = order_of(buyer_org)
    links = services.book_plan(order=order, buyer_user=buyer_owner, slices=[(mill.pk, _soon(2), _soon(4), 20)])
    [trade] = services.confirm_plan(order=order, buyer_user=buyer_owner, booking_ids=[links[0].booking_id])
    return trade


@pytest.mark.django_db
def test_each_side_sees_only_its_own_next_steps(client_for, trade, buyer_owner, provider_owner):
    page = client_for(buyer_owner).get(reverse("trade_detail", args=[trade.pk])).content.decode()
    assert 'value="cancelled"' in page and 'value="in_production"' not in page
    page = client_for(provider_owner).get(reverse("trade_detail", args=[trade.pk])).content.decode()
    assert 'value="in_production"' in page and 'value="cancelled"' in page


@pytest.mark.django_db
def test_the_provider_starts_production_and_the_buyer_cannot(client_for, trade, buyer_owner, provider_owner):
    url = reverse("trade_transition", args=[trade.pk])
    client_for(buyer_owner).post(url, {"to": "in_production"})
    assert Trade.objects.get(pk=trade.pk).status == "confirmed"
    assert trade.events.count() == 1
    response = client_for(provider_owner).post(url, {"to": "in_production"})
    assert response.status_code == 302
    assert Trade.objects.get(pk=trade.pk).status == "in_production"
    assert trade.events.count() == 2


@pytest.mark.django_db
def test_messages_with_attachments_are_private_and_every_opening_is_logged(
    client_for, trade, buyer_owner, provider_owner, private_media
):
    client = client_for(buyer_owner)
    response = client.post(
        reverse("trade_message", args=[trade.pk]),
        {"body": "Drawing rev B attached", "files": [samples.upload("flange-b.pdf", samples.pdf())]},
    )
    assert response.status_code == 302
    attachment = TradeAttachment.objects.get()
    assert (attachment.original_name, attachment.content_type, attachment.message.body) == (
        "flange-b.pdf",
        "application/pdf",
        "Drawing rev B attached",
    )
    assert provider_owner.notifications.filter(kind="trade_message").count() == 1
    client = client_for(provider_owner)
    response = client.get(reverse("trade_attachment", args=[trade.pk, attachment.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert list(TradeFileAccess.objects.values_list("attachment", "user", "organisation")) == [
        (attachment.pk, provider_owner.pk, trade.provider_id)
    ]


@pytest.mark.django_db
def test_a_disguised_attachment_is_refused_and_nothing_is_stored(client_for, trade, buyer_owner, private_media):
    from tests.conftest import stored_files

    client_for(buyer_owner).post(
        reverse("trade_message", args=[trade.pk]),
        {"body": "see file", "files": [samples.upload("flange.pdf", samples.exe())]},
    )
    assert (TradeMessage.objects.count(), TradeAttachment.objects.count(), stored_files(private_media)) == (0, 0, [])


@pytest.mark.django_db
def test_outsiders_get_404_on_trades_messages_and_files(client_for, trade, buyer_owner, outsider, private_media):
    message = services.post_message(
        trade=trade,
        by=buyer_owner,
        organisation=trade.buyer,
        body="Hello",
        uploads=[samples.upload("a.pdf", samples.pdf())],
    )
    attachment = message.attachments.get()
    client = client_for(outsider)
    for url in (
        reverse("trade_detail", args=[trade.pk]),
        reverse("trade_attachment", args=[trade.pk, attachment.pk]),
        reverse("trade_report", args=[trade.pk]),
    ):
        assert client.get(url).status_code == 404
    for url in (reverse("trade_message", args=[trade.pk]), reverse("trade_transition", args=[trade.pk])):
        assert client.post(url, {"body": "x", "to": "cancelled"}).status_code == 404
    assert (TradeMessage.objects.count(), TradeFileAccess.objects.count()) == (1, 0)
    assert Trade.objects.get(pk=trade.pk).status == "confirmed"


@pytest.mark.django_db
def test_the_buyer_records_the_inspection_with_a_private_report(
    client_for, trade, buyer_owner, provider_owner, outsider, private_media
):
    Trade.objects.filter(pk=trade.pk).update(status=S.DELIVERED, delivered_at=timezone.now())
    response = client_for(buyer_owner).post(
        reverse("trade_inspection", args=[trade.pk]),
        {
            "accepted": 19,
            "rejected": 1,
            "reasons": "Bore out of tolerance",
            "report": samples.upload("cmm.pdf", samples.pdf()),
        },
    )
    assert response.status_code == 302
    trade.refresh_from_db()
    assert (trade.status, trade.accepted_quantity, trade.rejected_quantity, trade.inspection_report_name) == (
        "inspected",
        19,
        1,
        "cmm.pdf",
    )
    assert client_for(provider_owner).get(reverse("trade_report", args=[trade.pk])).status_code == 200
    assert TradeFileAccess.objects.filter(attachment__isnull=True).count() == 1
    assert client_for(outsider).get(reverse("trade_report", args=[trade.pk])).status_code == 404


@pytest.mark.django_db
def test_rfq_quote_and_award_through_the_pages(client_for, mill, provider_org, provider_owner, buyer_org, buyer_owner):
    order = order_of(buyer_org)
    client = client_for(buyer_owner)
    response = client.post(reverse("order_rfq", args=[order.pk]), {"providers": [provider_org.pk], "message": "Hi"})
    assert response.status_code == 302
    invitation = RFQInvitation.objects.get()

    client = client_for(provider_owner)
    assert order.title in client.get(reverse("job_board")).content.decode()
    fmt = "%Y-%m-%dT%H:%M"
    local = timezone.localtime
    response = client.post(
        reverse("rfq_respond", args=[invitation.pk]),
        {
            "resource": mill.pk,
            "work": "3600.00",
            "setup": "240.00",
            "lead_time_days": 5,
            "slot_start": local(_soon(6)).strftime(fmt),
            "slot_end": local(_soon(8)).strftime(fmt),
            "valid_until": local(_soon(0)).strftime(fmt),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    quote = Quote.objects.get()
    assert (quote.total, quote.slot_start) == (3840, _soon(6))

    client = client_for(buyer_owner)
    page = client.get(reverse("order_quotes", args=[order.pk])).content.decode()
    assert provider_org.name in page and reverse("quote_award", args=[quote.pk]) in page
    response = client.post(reverse("quote_award", args=[quote.pk]))
    trade = Trade.objects.get()
    assert response.url == reverse("trade_detail", args=[trade.pk])


@pytest.mark.django_db
def test_an_expired_quote_is_refused_on_the_page_and_nothing_is_written(
    client_for, mill, provider_org, provider_owner, buyer_org, buyer_owner
):
    order = order_of(buyer_org)
    rfq = quote_services.create_rfq(order=order, by=buyer_owner, providers=[provider_org])
    now = timezone.now()
    quote = quote_services.submit_quote(
        invitation=rfq.invitations.get(),
        by=provider_owner,
        resource=mill,
        lines=[{"code": "work", "label": "Work", "amount": "100.00"}],
        lead_time_days=2,
        slot_start=_soon(6),
        slot_end=_soon(8),
        valid_until=now + timedelta(minutes=1),
        now=now - timedelta(hours=1),
    )
    Quote.objects.filter(pk=quote.pk).update(valid_until=now - timedelta(minutes=1))
    response = client_for(buyer_owner).post(reverse("quote_award", args=[quote.pk]), follow=True)
    assert "expired" in response.content.decode() or "过期" in response.content.decode()
    assert Trade.objects.count() == 0
    assert Quote.objects.get().status == "submitted"


@pytest.mark.django_db
def test_outsiders_cannot_see_or_award_quotes(
    client_for, mill, provider_org, provider_owner, buyer_org, buyer_owner, outsider
):
    order = order_of(buyer_org)
    rfq = quote_services.create_rfq(order=order, by=buyer_owner, providers=[provider_org])
    client = client_for(outsider)
    assert client.get(reverse("order_quotes", args=[order.pk])).status_code == 404
    assert client.get(reverse("rfq_respond", args=[rfq.invitations.get().pk])).status_code == 404
    # The invited provider cannot award either (only the buyer's quotes are reachable).
    quote = quote_services.submit_quote(
        invitation=rfq.invitations.get(),
        by=provider_owner,
        resource=mill,
        lines=[{"code": "work", "label": "Work", "amount": "100.00"}],
        lead_time_days=2,
        slot_start=_soon(6),
        slot_end=_soon(8),
        valid_until=_soon(0),
    )
    assert client.post(reverse("quote_award", args=[quote.pk])).status_code == 404
    assert client_for(provider_owner).post(reverse("quote_award", args=[quote.pk])).status_code == 404
    assert Trade.objects.count() == 0


@pytest.mark.django_db
def test_job_board_draws_bookings_per_machine(client_for, trade, mill, provider_owner):
    page = client_for(provider_owner).get(reverse("job_board")).content.decode()
    assert mill.name in page
    assert 'class="gantt-confirmed"' in page
    assert reverse("trade_detail", args=[trade.pk]) in page


@pytest.mark.django_db
def test_trade_lists_show_each_side_its_trades(client_for, trade, buyer_owner, provider_owner, outsider):
    assert f"#{trade.pk}" in client_for(buyer_owner).get(reverse("trade_list")).content.decode()
    assert f"#{trade.pk}" in client_for(provider_owner).get(reverse("trade_list") + "?side=provider").content.decode()
    assert (
        reverse("trade_detail", args=[trade.pk]) not in client_for(outsider).get(reverse("trade_list")).content.decode()
    )


@pytest.mark.django_db
def test_the_public_provider_page_shows_the_derived_track_record(client, trade, provider_org):
    response = client.get(reverse("capacity:provider_public", args=[provider_org.slug]))
    assert response.status_code == 200
    assert response.context["provider_reputation"].trades == 1


@pytest.mark.django_db
def test_the_trade_page_sends_an_operator_to_the_dispute_page_to_resolve(client_for, trade, operator, buyer_owner):
    Trade.objects.filter(pk=trade.pk).update(status=S.DISPUTED)
    client = client_for(operator)
    page = client.get(reverse("trade_detail", args=[trade.pk])).content.decode()
    # No bare "resolved" button: resolving needs a decision, and a refund goes through billing.
    assert 'value="resolved"' not in page
    assert reverse("ops_dispute", args=[trade.pk]) in page
    response = client.post(
        reverse("trade_transition", args=[trade.pk]), {"to": "resolved", "note": "Five parts resent"}
    )
    assert response.status_code == 302 and response.url == reverse("ops_dispute", args=[trade.pk])
    trade.refresh_from_db()
    assert trade.status == S.DISPUTED
    assert buyer_owner.notifications.filter(kind="trade_resolved").count() == 0


@pytest.mark.django_db
def test_the_rfq_and_quote_forms_render(client_for, mill, provider_org, provider_owner, buyer_org, buyer_owner):
    order = order_of(buyer_org)
    page = client_for(buyer_owner).get(reverse("order_rfq", args=[order.pk])).content.decode()
    assert provider_org.name in page
    rfq = quote_services.create_rfq(order=order, by=buyer_owner, providers=[provider_org])
    page = client_for(provider_owner).get(reverse("rfq_respond", args=[rfq.invitations.get().pk])).content.decode()
    assert mill.name in page and reverse("rfq_decline", args=[rfq.invitations.get().pk]) in page
