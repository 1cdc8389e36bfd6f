"""The audit trail: an AuditEntry per operator action, and one list over every event source."""

from datetime import date, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from marketplace.models import AuditEntry, OrderEvent, Organisation, Trade, TradeFlag
from marketplace.selectors.audit import audit_trail
from marketplace.services import ops
from tests.factories import OrderFactory, ProviderProfileFactory, ResourceFactory
from tests.marketplace.ops_world import NOW, make_trade

pytestmark = pytest.mark.django_db


def entries():
    return list(AuditEntry.objects.order_by("pk").values_list("action", "subject_id", "changes", "reason"))


def test_each_operator_action_writes_one_entry(operator, provider_org):
    ProviderProfileFactory(organisation=provider_org)
    trade = make_trade(resource=ResourceFactory(provider=provider_org), status=Trade.Status.DISPUTED)
    flag = TradeFlag.objects.create(trade=trade, kind=TradeFlag.Kind.PRICE_OUTLIER)

    ops.suspend_organisation(organisation=provider_org, by=operator, reason="Fraud report", now=NOW)
    ops.lift_suspension(organisation=provider_org, by=operator, reason="Cleared", now=NOW)
    ops.resolve_flag(flag=flag, by=operator, note="Agreed rush price", now=NOW)
    ops.resolve_dispute(trade=trade, by=operator, decision="rejected", note="Parts within tolerance", now=NOW)

    assert entries() == [
        ("organisation.suspend", provider_org.pk, {"suspended": [False, True]}, "Fraud report"),
        ("organisation.lift_suspension", provider_org.pk, {"suspended": [True, False]}, "Cleared"),
        ("flag.resolve", trade.pk, {"flag": ["price_outlier", None]}, "Agreed rush price"),
        (
            "trade.resolve_dispute",
            trade.pk,
            {"status": ["disputed", "resolved"], "decision": [None, "rejected"]},
            "Parts within tolerance",
        ),
    ]
    assert set(AuditEntry.objects.values_list("actor", flat=True)) == {operator.pk}
    org_type = ContentType.objects.get_for_model(Organisation)
    assert AuditEntry.objects.filter(subject_type=org_type).count() == 2


def test_a_refused_action_writes_nothing(operator, provider_owner, buyer_org):
    from marketplace.errors import DomainError

    with pytest.raises(DomainError):
        ops.suspend_organisation(organisation=buyer_org, by=provider_owner, reason="no")
    with pytest.raises(DomainError):
        ops.lift_suspension(organisation=buyer_org, by=operator)
    assert AuditEntry.objects.count() == 0


def test_the_unified_list_merges_every_source(operator, provider_org, buyer_owner):
    ProviderProfileFactory(organisation=provider_org)
    order = OrderFactory()
    OrderEvent.objects.create(order=order, actor=buyer_owner, from_status="draft", to_status="open", at=NOW)
    trade = make_trade(resource=ResourceFactory(provider=provider_org), created_at=NOW - timedelta(days=3))
    ops.suspend_organisation(organisation=provider_org, by=operator, reason="Fraud report", now=NOW)

    everything = audit_trail()
    sources = sorted({(row.source, row.subject_type) for row in everything.rows})
    assert sources == [
        ("audit", "organisation"),
        ("order", "order"),
        ("review", "provider"),  # suspend_provider's ReviewEvent
        ("trade", "trade"),
    ]
    by_operator = audit_trail(who="ops@spindle")
    assert [(r.source, r.action) for r in by_operator.rows] == [("audit", "organisation.suspend"), ("review", "status")]
    assert [r.subject_id for r in audit_trail(subject_type="trade").rows] == [trade.pk]
    assert [r.subject_id for r in audit_trail(subject_type="order", subject_id=order.pk).rows] == [order.pk]
    assert [r.action for r in audit_trail(text="fraud").rows] == ["organisation.suspend", "status"]
    window = audit_trail(date_from=date(2030, 6, 12), date_to=date(2030, 6, 12))
    assert [(r.source, r.subject_id) for r in window.rows] == [("trade", trade.pk)]
    assert audit_trail(date_from=date(2030, 6, 16)).total == 0


def test_a_page_costs_two_queries_whatever_its_size(django_assert_num_queries):
    for _ in range(3):
        make_trade()
    with django_assert_num_queries(2):
        small = audit_trail(page_size=50)
    for _ in range(30):
        make_trade()
    with django_assert_num_queries(2):
        large = audit_trail(page=2, page_size=20)
    assert (small.total, large.total, large.pages, len(large.rows)) == (3, 33, 2, 13)


def test_audit_page_filters_and_paginates(client_for, operator):
    for _ in range(3):
        make_trade()
    response = client_for(operator).get(reverse("ops_audit"), {"subject_type": "trade", "page": "x"})
    assert response.status_code == 200
    assert response.context["result"].total == 3
    bad = client_for(operator).get(reverse("ops_audit"), {"date_from": "not a date"})
    assert bad.status_code == 200
    assert bad.context["result"].total == 3
