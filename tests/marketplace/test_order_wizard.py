"""The buyer's order wizard, the order lists and what each side sees on the order page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from capacity.models import Category, Material
from marketplace.models import Order, OrderEvent, OrderShare
from marketplace.services import orders as services
from tests.factories import OrderFactory, ProviderProfileFactory


@pytest.fixture
def en(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def step_url(order, step):
    return reverse("order_wizard", args=[order.pk, step])


@pytest.mark.django_db
def test_the_whole_wizard(client_for, buyer_org, buyer_owner, private_media):
    client = client_for(buyer_owner)
    milling = Category.objects.get(code="P0101")
    assert client.get(reverse("order_create")).status_code == 200

    response = client.post(
        reverse("order_create"),
        {
            "kind": "production",
            "major": milling.parent_id,
            "minor": milling.pk,
            "title": "Gearbox housing",
            "description": "6061-T6, anodised",
            "quantity": "40",
            "material": Material.objects.order_by("code").first().pk,
            "material_note": "T6",
            "billing_preference": "part",
            "material_supply": "provider_supplied",
            "material_budget": "1200",
            "action": "next",
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == step_url(order, "spec")
    assert (order.status, order.category, order.quantity, order.material_budget) == (
        "draft",
        milling,
        40,
        Decimal("1200.00"),
    )

    response = client.post(
        step_url(order, "spec"),
        {
            "envelope_x_mm": "220",
            "envelope_y_mm": "160",
            "envelope_z_mm": "90",
            "weight_kg": "2.4",
            "tolerance_mm": "0.01",
            "certifications": ["ISO9001", "IATF16949"],
            "action": "next",
        },
    )
    assert response.url == step_url(order, "drawings")
    response = client.post(
        step_url(order, "drawings"), {"nda_required": "on", "nda_text": "Do not disclose.", "action": "next"}
    )
    assert response.url == step_url(order, "delivery")
    due = (timezone.localtime() + timedelta(days=30)).replace(second=0, microsecond=0)
    response = client.post(
        step_url(order, "delivery"),
        {
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "location": "JS:SZ",
            "address": "88 Xinghu St",
            "budget": "52000",
            "currency": "CNY",
            "action": "next",
        },
    )
    assert response.url == step_url(order, "review")
    review = client.get(step_url(order, "review"))
    assert "Gearbox housing" in review.content.decode()
    response = client.post(step_url(order, "review"))
    assert response.url == reverse("order_detail", args=[order.pk])

    order.refresh_from_db()
    assert (order.status, order.due_at, order.province, order.city, order.budget, order.certifications) == (
        "open",
        due,
        "JS",
        "SZ",
        Decimal("52000.00"),
        ["ISO9001", "IATF16949"],
    )
    assert list(order.events.values_list("from_status", "to_status")) == [("", "draft"), ("draft", "open")]


@pytest.mark.django_db
def test_invalid_step_saves_nothing_and_shows_a_focused_summary(client_for, buyer_org, buyer_owner, en):
    order = OrderFactory(buyer=buyer_org, status="draft", envelope_x_mm=Decimal("50"))
    response = client_for(buyer_owner).post(
        step_url(order, "spec"), {"envelope_x_mm": "-3", "envelope_y_mm": "", "envelope_z_mm": "10"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "data-error-summary" in page
    assert 'tabindex="-1"' in page
    assert 'href="#id_envelope_y_mm"' in page
    assert Order.objects.get(pk=order.pk).envelope_x_mm == Decimal("50.00")


@pytest.mark.django_db
def test_due_date_in_the_past_is_refused(client_for, buyer_org, buyer_owner, en):
    order = OrderFactory(buyer=buyer_org, status="draft")
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client_for(buyer_owner).post(step_url(order, "delivery"), {"due_at": past, "currency": "CNY"})
    assert response.status_code == 200
    assert "The due date must be in the future." in response.content.decode()
    assert Order.objects.get(pk=order.pk).due_at == order.due_at


@pytest.mark.django_db
def test_submitting_an_incomplete_order_lists_the_problems(client_for, buyer_org, buyer_owner, en):
    order = OrderFactory(buyer=buyer_org, status="draft", due_at=None)
    response = client_for(buyer_owner).post(step_url(order, "review"))
    assert response.status_code == 200
    assert "Set a due date." in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == "draft"
    assert OrderEvent.objects.count() == 0


@pytest.mark.django_db
def test_back_and_save_draft(client_for, buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status="draft")
    client = client_for(buyer_owner)
    page = client.get(step_url(order, "spec")).content.decode()
    assert f'href="{step_url(order, "what")}"' in page
    response = client.post(
        step_url(order, "spec"),
        {"envelope_x_mm": "10", "envelope_y_mm": "20", "envelope_z_mm": "30", "action": "save"},
    )
    assert response.url == step_url(order, "spec")
    assert Order.objects.get(pk=order.pk).envelope == (Decimal("10.00"), Decimal("20.00"), Decimal("30.00"))


@pytest.mark.django_db
def test_category_minor_list_follows_the_major(client_for, buyer_org, buyer_owner):
    machining = Category.objects.get(code="P01")
    response = client_for(buyer_owner).get(
        reverse("order_category_options"), {"kind": "production", "major": machining.pk}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert 'id="category-fields"' in page
    assert f'value="{Category.objects.get(code="P0101").pk}"' in page
    assert f'value="{Category.objects.get(code="T0101").pk}"' not in page


@pytest.mark.django_db
def test_testing_spec_asks_for_measurand_and_range(client_for, buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status="draft", kind="testing", category=Category.objects.get(code="T0101"))
    page = client_for(buyer_owner).get(step_url(order, "spec")).content.decode()
    assert 'name="measurand"' in page
    assert 'name="range_unit"' in page


@pytest.mark.django_db
def test_closed_orders_leave_the_wizard(client_for, buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status="awarded")
    response = client_for(buyer_owner).post(step_url(order, "what"), {"title": "Changed"})
    assert response.url == reverse("order_detail", args=[order.pk])
    assert Order.objects.get(pk=order.pk).title == "Aluminium flange"


@pytest.mark.django_db
def test_order_list_filters_by_status(client_for, buyer_org, buyer_owner, other_org):
    OrderFactory(buyer=buyer_org, status="draft", title="Draft bracket")
    OrderFactory(buyer=buyer_org, status="open", title="Open shaft")
    OrderFactory(buyer=other_org, status="open", title="Somebody else's")
    client = client_for(buyer_owner)
    page = client.get(reverse("order_list")).content.decode()
    assert "Draft bracket" in page and "Open shaft" in page
    assert "Somebody else" not in page
    page = client.get(reverse("order_list"), {"status": "open"}).content.decode()
    assert "Open shaft" in page and "Draft bracket" not in page


@pytest.mark.django_db
def test_nav_entries(client_for, buyer_owner, provider_owner):
    page = client_for(buyer_owner).get(reverse("home")).content.decode()
    assert f'href="{reverse("order_list")}"' in page
    assert f'href="{reverse("shared_order_list")}"' not in page
    page = client_for(provider_owner).get(reverse("home")).content.decode()
    assert f'href="{reverse("shared_order_list")}"' in page
    assert f'href="{reverse("order_list")}"' not in page


@pytest.mark.django_db
def test_provider_sees_the_shared_order_but_never_the_budget(
    client_for, buyer_org, buyer_owner, provider_org, provider_owner
):
    order = OrderFactory(
        buyer=buyer_org,
        status="open",
        budget=Decimal("98765.43"),
        material_supply="provider_supplied",
        material_budget=Decimal("4321.09"),
    )
    services.share_order(order=order, provider=provider_org, by=buyer_owner)
    client = client_for(provider_owner)

    listing = client.get(reverse("shared_order_list")).content.decode()
    detail = client.get(reverse("order_detail", args=[order.pk])).content.decode()

    assert "Aluminium flange" in listing and "Aluminium flange" in detail
    for page in (listing, detail):
        assert "98,765.43" not in page and "98765.43" not in page
        assert "4,321.09" not in page and "4321.09" not in page
    buyer_page = client_for(buyer_owner).get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "98,765.43" in buyer_page


@pytest.mark.django_db
def test_buyer_shares_and_cancels_from_the_order_page(client_for, buyer_org, buyer_owner, provider_org):
    ProviderProfileFactory(organisation=provider_org)
    order = OrderFactory(buyer=buyer_org, status="open")
    client = client_for(buyer_owner)
    assert "Suzhou Precision CNC" in client.get(reverse("order_detail", args=[order.pk])).content.decode()

    client.post(reverse("order_share", args=[order.pk]), {"provider": provider_org.pk})
    assert list(OrderShare.objects.values_list("provider", flat=True)) == [provider_org.pk]
    share = OrderShare.objects.get()
    client.post(reverse("order_unshare", args=[order.pk, share.pk]))
    assert OrderShare.objects.count() == 0

    client.post(reverse("order_cancel", args=[order.pk]), {"note": "No longer needed"})
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert list(OrderEvent.objects.values_list("to_status", "note")) == [("cancelled", "No longer needed")]


@pytest.mark.django_db
def test_orders_are_only_shared_with_verified_providers(client_for, buyer_org, buyer_owner, other_org):
    order = OrderFactory(buyer=buyer_org, status="open")
    client_for(buyer_owner).post(reverse("order_share", args=[order.pk]), {"provider": other_org.pk})
    assert OrderShare.objects.count() == 0
