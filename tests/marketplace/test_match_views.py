"""Match pages: who sees them, running and polling, compare, the provider's view of a matched order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Match, MatchRun, Order, OrderEvent
from marketplace.services import matching as services
from tests.factories import ResourceFactory
from tests.marketplace.match_orders import job_order
from tests.marketplace.matching_market import MONDAY, mill, provider, window

pytestmark = pytest.mark.django_db


@pytest.fixture
def matched(buyer_org, provider_org):
    """An order matched by two mills: one of provider_org (rank 1, cheaper) and one elsewhere."""
    own = mill(provider(organisation=provider_org), rate=Decimal("120"))
    other = mill(rate=Decimal("200"))
    order = job_order(buyer_org)
    run = services.run_matching(order=order, now=MONDAY)
    return order, run, own, other


def test_the_buyer_sees_ranked_cards_with_price_finish_and_reasons(client_for, buyer_owner, matched):
    order, _run, own, other = matched
    client = client_for(buyer_owner)

    response = client.get(reverse("order_matches", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    cards = response.context["cards"]
    assert [c.match.resource_id for c in cards] == [own.pk, other.pk]
    body = response.content.decode()
    assert own.name in body and other.name in body
    assert reverse("capacity:catalogue_resource", args=[own.pk]) in body
    assert reverse("capacity:provider_public", args=[own.provider.slug]) in body
    assert 'name="m"' in body and 'form="compare-form"' in body
    assert "Run matching again" in body
    assert 'class="match-timeline"' in body
    assert cards[0].explanation == cards[0].match.explanation["en"]
    assert cards[0].timeline.slots[0].start == cards[0].match.finish_at - timedelta(hours=10)


def test_the_order_page_links_to_the_matches_for_open_and_matched_orders(client_for, buyer_owner, matched):
    order = matched[0]
    response = client_for(buyer_owner).get(reverse("order_detail", args=[order.pk]))
    assert reverse("order_matches", args=[order.pk]) in response.content.decode()


def test_outsiders_and_providers_without_a_match_get_404(client_for, matched, outsider, provider_owner):
    order, run, own, _other = matched
    Match.objects.filter(run=run, provider=own.provider).delete()
    for user in (outsider, provider_owner):
        client = client_for(user)
        assert client.get(reverse("order_matches", args=[order.pk])).status_code == 404
        assert client.get(reverse("order_detail", args=[order.pk])).status_code == 404


def test_a_provider_whose_resource_matched_still_cannot_open_the_matches_page(client_for, provider_owner, matched):
    order = matched[0]
    client = client_for(provider_owner)
    assert client.get(reverse("order_matches", args=[order.pk])).status_code == 404
    assert client.get(reverse("order_match_compare", args=[order.pk])).status_code == 404
    before = MatchRun.objects.count()
    assert client.post(reverse("order_match_run", args=[order.pk])).status_code == 404
    assert MatchRun.objects.count() == before


def test_run_matching_again_queues_a_run_that_completes_on_commit(
    client_for, buyer_org, buyer_owner, django_capture_on_commit_callbacks
):
    now = timezone.now()
    resource = ResourceFactory(cycle_time_minutes=Decimal("30"))
    window(resource, now + timedelta(days=2), now + timedelta(days=3))
    order = job_order(buyer_org, material=None, certifications=[], due_at=now + timedelta(days=10))
    client = client_for(buyer_owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("order_match_run", args=[order.pk]))

    assert response.status_code == 302
    run = MatchRun.objects.get(order=order)
    assert (run.status, run.progress, run.requested_by) == ("done", 100, buyer_owner)
    assert list(Match.objects.filter(run=run).values_list("resource_id", flat=True)) == [resource.pk]
    assert Order.objects.get(pk=order.pk).status == "matched"


def test_a_refused_run_shows_the_reason_and_stores_nothing(client_for, buyer_org, buyer_owner):
    order = job_order(buyer_org, due_at=timezone.now() - timedelta(days=1))

    response = client_for(buyer_owner).post(
        reverse("order_match_run", args=[order.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert "The due date has passed: set a later one to find matches." in response.content.decode()
    assert MatchRun.objects.count() == 0


def test_the_poll_shows_progress_while_running_and_the_results_when_done(client_for, buyer_owner, matched):
    order, _done, own, _other = matched
    running = MatchRun.objects.create(order=order, status="running", progress=50)
    client = client_for(buyer_owner)
    url = reverse("order_match_run_status", args=[order.pk, running.pk])

    polling = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in polling and 'value="50"' in polling and 'aria-live="polite"' in polling

    MatchRun.objects.filter(pk=running.pk).update(status="failed", progress=100, error={"en": "x", "zh-hans": "x"})
    finished = client.get(url).content.decode()
    assert "hx-trigger" not in finished
    assert own.name in finished  # the latest done run's matches stay visible


def test_compare_up_to_three_and_a_clear_message_beyond(client_for, buyer_owner, matched):
    order, run, _own, _other = matched
    ids = list(Match.objects.filter(run=run).order_by("rank").values_list("pk", flat=True))
    client = client_for(buyer_owner)
    url = reverse("order_match_compare", args=[order.pk])

    response = client.get(url, {"m": ids})
    assert response.status_code == 200
    assert [c.match.pk for c in response.context["cards"]] == ids

    too_many = client.get(url, {"m": [*ids, 999998, 999999]}, HTTP_ACCEPT_LANGUAGE="en")
    assert too_many.status_code == 400
    assert too_many.context["error"] == "You can compare at most 3 matches at a time; you chose 4."
    assert too_many.context["cards"] == []


def test_the_matches_page_query_count_does_not_grow_with_the_matches(client_for, buyer_org, buyer_owner):
    few = job_order(buyer_org, title="Few")
    mill()
    services.run_matching(order=few, now=MONDAY)
    for _ in range(4):
        mill()
    many = job_order(buyer_org, title="Many")
    services.run_matching(order=many, now=MONDAY)
    client = client_for(buyer_owner)
    client.get(reverse("order_matches", args=[few.pk]))  # warm the session

    counts = []
    for order, expected in ((few, 1), (many, 5)):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("order_matches", args=[order.pk]))
        assert len(response.context["cards"]) == expected
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_matched_provider_sees_the_summary_but_not_the_budget_nor_the_drawings(
    client_for, provider_owner, buyer_owner, matched, private_media
):
    from marketplace.services import orders as order_services
    from tests import samples

    order, _run, _own, _other = matched
    Order.objects.filter(pk=order.pk).update(status="open")  # drawings are added while open
    order.status = "open"
    drawing = order_services.add_order_file(
        order=order, by=buyer_owner, upload=samples.upload("housing.pdf", samples.pdf())
    )
    client = client_for(provider_owner)

    response = client.get(reverse("order_detail", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.context["access"].is_matched_provider
    body = response.content.decode()
    assert order.title in body
    assert "9,000" not in body and "Budget ceiling" not in body
    assert "housing.pdf" not in body
    assert response.context["files"] == []
    assert client.get(reverse("order_file", args=[order.pk, drawing.pk])).status_code == 404
    assert client.post(reverse("order_nda_accept", args=[order.pk])).status_code == 404


def test_a_matched_order_is_listed_for_the_provider_with_resource_rank_and_price(client_for, provider_owner, matched):
    order, _run, own, _other = matched

    response = client_for(provider_owner).get(reverse("matched_order_list"))

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r["order"].pk, [(i["resource"].pk, i["rank"], i["price"]) for i in r["items"]]) for r in rows] == [
        (order.pk, [(own.pk, 1, Decimal("1440.00"))])
    ]
    assert "9,000" not in response.content.decode()


def test_an_outsider_provider_lists_nothing_and_cannot_open_the_order(client_for, matched, outsider):
    order = matched[0]
    client = client_for(outsider)
    assert client.get(reverse("matched_order_list")).context["rows"] == []
    assert client.get(reverse("order_detail", args=[order.pk])).status_code == 404
    assert OrderEvent.objects.filter(order=order).count() == 1
