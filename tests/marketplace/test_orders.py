"""Order services: drafts, updates, submission rules, cancellation, sharing and NDAs."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from capacity.models import Category, Measurand
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import NdaAcceptance, Notification, Order, OrderEvent, OrderShare
from marketplace.services import orders as services
from tests.factories import OrderFactory, ProviderProfileFactory

NOW = datetime(2030, 6, 3, 9, 30, tzinfo=UTC)


def milling():
    return Category.objects.get(code="P0101")


def what(**overrides):
    fields = {"kind": "production", "category": milling(), "title": "Aluminium flange", "quantity": 200}
    fields.update(overrides)
    return fields


def snapshot():
    return (
        list(Order.objects.order_by("pk").values_list("pk", "status", "title", "quantity", "updated_at")),
        OrderEvent.objects.count(),
    )


@pytest.mark.django_db
def test_create_order_starts_a_draft_with_one_event(buyer_org, buyer_owner):
    order = services.create_order(buyer=buyer_org, by=buyer_owner, fields=what(), now=NOW)

    order.refresh_from_db()
    assert (order.status, order.buyer, order.created_by, order.title, order.quantity, order.currency) == (
        "draft",
        buyer_org,
        buyer_owner,
        "Aluminium flange",
        200,
        "CNY",
    )
    assert list(order.events.values_list("from_status", "to_status", "actor", "at")) == [
        ("", "draft", buyer_owner.pk, NOW)
    ]


@pytest.mark.django_db
def test_providers_and_outsiders_cannot_create_orders(provider_org, provider_owner, buyer_org, outsider):
    with pytest.raises(PermissionDeniedError):
        services.create_order(buyer=provider_org, by=provider_owner, fields=what())
    with pytest.raises(PermissionDeniedError):
        services.create_order(buyer=buyer_org, by=outsider, fields=what())
    assert snapshot() == ([], 0)


@pytest.mark.django_db
def test_category_must_match_the_kind(buyer_org, buyer_owner):
    with pytest.raises(DomainError) as refused:
        services.create_order(buyer=buyer_org, by=buyer_owner, fields=what(kind="testing"))
    assert refused.value.code == "category_kind"
    assert snapshot() == ([], 0)


@pytest.mark.django_db
def test_unknown_certifications_are_refused(buyer_org, buyer_owner):
    with pytest.raises(DomainError):
        services.create_order(buyer=buyer_org, by=buyer_owner, fields=what(certifications=["ISO9001", "ISO9999"]))
    assert snapshot() == ([], 0)


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["draft", "open"])
def test_update_order_while_draft_or_open(status, buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status=status)
    services.update_order(order=order, by=buyer_owner, changes={"quantity": 250, "certifications": ["IATF16949"]})
    order.refresh_from_db()
    assert (order.quantity, order.certifications) == (250, ["IATF16949"])


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["matched", "awarded", "closed", "cancelled", "expired"])
def test_update_order_is_refused_after_open(status, buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status=status)
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        services.update_order(order=order, by=buyer_owner, changes={"quantity": 250})
    assert refused.value.code == "not_editable"
    assert snapshot() == before


@pytest.mark.django_db
def test_outsider_cannot_update(buyer_org, outsider):
    order = OrderFactory(buyer=buyer_org, status="draft")
    before = snapshot()
    with pytest.raises(PermissionDeniedError):
        services.update_order(order=order, by=outsider, changes={"quantity": 1})
    assert snapshot() == before


@pytest.mark.django_db
def test_submit_a_complete_order_opens_it(buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status="draft", due_at=NOW + timedelta(days=20))

    services.submit_order(order=order, by=buyer_owner, now=NOW)

    order.refresh_from_db()
    assert (order.status, order.submitted_at) == ("open", NOW)
    assert list(order.events.values_list("from_status", "to_status")) == [("draft", "open")]


@pytest.mark.django_db
def test_a_major_category_means_any_of_its_minors(buyer_org, buyer_owner):
    order = OrderFactory(
        buyer=buyer_org, status="draft", category=Category.objects.get(code="P01"), due_at=NOW + timedelta(days=5)
    )
    services.submit_order(order=order, by=buyer_owner, now=NOW)
    assert Order.objects.get(pk=order.pk).status == "open"


@pytest.mark.django_db
def test_submit_lists_everything_missing_and_changes_nothing(buyer_org, buyer_owner):
    order = OrderFactory(
        buyer=buyer_org, status="draft", due_at=NOW - timedelta(minutes=1), envelope_z_mm=None, nda_required=True
    )
    before = snapshot()

    with pytest.raises(services.IncompleteOrderError) as refused, translation.override("en"):
        services.submit_order(order=order, by=buyer_owner, now=NOW)

    assert refused.value.problems == [
        "The due date must be in the future.",
        "Give the part's size (X, Y and Z) for a production order.",
        "Write the NDA text providers must accept, or do not require an NDA.",
    ]
    assert snapshot() == before


@pytest.mark.django_db
def test_testing_orders_need_measurand_and_range(buyer_org, buyer_owner):
    tensile = Category.objects.get(code="T0101")
    order = OrderFactory(
        buyer=buyer_org,
        status="draft",
        kind="testing",
        category=tensile,
        envelope_x_mm=None,
        envelope_y_mm=None,
        envelope_z_mm=None,
        due_at=NOW + timedelta(days=3),
    )
    with pytest.raises(services.IncompleteOrderError) as refused, translation.override("en"):
        services.submit_order(order=order, by=buyer_owner, now=NOW)
    assert refused.value.problems == [
        "Choose what is to be tested or measured (the measurand).",
        "Give the range to be tested or measured, with its unit.",
    ]
    services.update_order(
        order=order,
        by=buyer_owner,
        changes={
            "measurand": Measurand.objects.order_by("code").first(),
            "range_min": Decimal("0"),
            "range_max": Decimal("600"),
            "range_unit": "MPa",
        },
    )
    services.submit_order(order=order, by=buyer_owner, now=NOW)
    assert Order.objects.get(pk=order.pk).status == "open"


@pytest.mark.django_db
def test_only_drafts_are_submitted(buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status="open")
    with pytest.raises(DomainError) as refused:
        services.submit_order(order=order, by=buyer_owner, now=NOW)
    assert refused.value.code == "not_draft"
    assert OrderEvent.objects.count() == 0


@pytest.mark.django_db
def test_cancel_order_by_the_buyer(buyer_org, buyer_owner):
    order = OrderFactory(buyer=buyer_org, status="open")
    services.cancel_order(order=order, by=buyer_owner, note="Design changed", now=NOW)
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert list(OrderEvent.objects.values_list("from_status", "to_status", "note")) == [
        ("open", "cancelled", "Design changed")
    ]


@pytest.mark.django_db
def test_outsiders_cannot_cancel(buyer_org, outsider, provider_owner):
    order = OrderFactory(buyer=buyer_org, status="open")
    for user in (outsider, provider_owner):
        with pytest.raises(PermissionDeniedError):
            services.cancel_order(order=order, by=user, now=NOW)
    assert Order.objects.get(pk=order.pk).status == "open"
    assert OrderEvent.objects.count() == 0


@pytest.mark.django_db
def test_share_with_a_provider_notifies_its_members(buyer_org, buyer_owner, provider_org, provider_owner):
    order = OrderFactory(buyer=buyer_org, status="open")
    share = services.share_order(order=order, provider=provider_org, by=buyer_owner)
    assert (share.order, share.provider, share.shared_by) == (order, provider_org, buyer_owner)
    assert list(Notification.objects.values_list("user", "kind")) == [(provider_owner.pk, "order_shared")]


@pytest.mark.django_db
def test_sharing_refusals_change_nothing(buyer_org, buyer_owner, provider_org, other_org):
    draft = OrderFactory(buyer=buyer_org, status="draft")
    with pytest.raises(DomainError) as refused:
        services.share_order(order=draft, provider=provider_org, by=buyer_owner)
    assert refused.value.code == "not_shareable"

    order = OrderFactory(buyer=buyer_org, status="open")
    with pytest.raises(DomainError) as refused:
        services.share_order(order=order, provider=buyer_org, by=buyer_owner)
    assert refused.value.code == "not_provider"

    services.share_order(order=order, provider=provider_org, by=buyer_owner)
    with pytest.raises(DomainError) as refused:
        services.share_order(order=order, provider=provider_org, by=buyer_owner)
    assert refused.value.code == "already_shared"
    assert list(OrderShare.objects.values_list("order", "provider")) == [(order.pk, provider_org.pk)]


@pytest.mark.django_db
def test_nda_acceptance_needs_a_share_and_an_nda(buyer_org, buyer_owner, provider_org, provider_member, outsider):
    ProviderProfileFactory(organisation=provider_org)
    order = OrderFactory(buyer=buyer_org, status="open", nda_required=True, nda_text="Keep it secret.")
    with pytest.raises(PermissionDeniedError):
        services.accept_nda(order=order, organisation=provider_org, by=provider_member)
    services.share_order(order=order, provider=provider_org, by=buyer_owner)
    with pytest.raises(PermissionDeniedError):
        services.accept_nda(order=order, organisation=provider_org, by=outsider)
    assert NdaAcceptance.objects.count() == 0

    first = services.accept_nda(order=order, organisation=provider_org, by=provider_member, now=NOW)
    again = services.accept_nda(order=order, organisation=provider_org, by=provider_member)
    assert first.pk == again.pk
    assert list(NdaAcceptance.objects.values_list("organisation", "user", "accepted_at")) == [
        (provider_org.pk, provider_member.pk, NOW)
    ]


@pytest.mark.django_db
def test_changing_the_nda_text_voids_acceptances(buyer_org, buyer_owner, provider_org, provider_member):
    order = OrderFactory(buyer=buyer_org, status="open", nda_required=True, nda_text="Version 1")
    services.share_order(order=order, provider=provider_org, by=buyer_owner)
    services.accept_nda(order=order, organisation=provider_org, by=provider_member)

    services.update_order(order=order, by=buyer_owner, changes={"quantity": 300})
    assert NdaAcceptance.objects.count() == 1
    services.update_order(order=order, by=buyer_owner, changes={"nda_text": "Version 2"})
    assert NdaAcceptance.objects.count() == 0


@pytest.mark.django_db
def test_exposure_tests_without_a_main_measurand_need_no_range(buyer_org, buyer_owner):
    salt_spray = Category.objects.filter(kind="testing", parent__isnull=False, measurand="").first()
    order = OrderFactory(
        buyer=buyer_org,
        status="draft",
        kind="testing",
        category=salt_spray,
        envelope_x_mm=None,
        envelope_y_mm=None,
        envelope_z_mm=None,
        due_at=NOW + timedelta(days=3),
    )
    services.submit_order(order=order, by=buyer_owner, now=NOW)
    assert Order.objects.get(pk=order.pk).status == "open"
