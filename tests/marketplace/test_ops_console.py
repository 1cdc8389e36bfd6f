"""The operator console: queue counts, pages, disputes, suspensions and the certificate job."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from capacity.models import Certification, ProviderProfile, Resource
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import (
    CertificateNotice,
    Notification,
    Order,
    OrganisationSuspension,
    Trade,
    TradeEvent,
    TradeFlag,
)
from marketplace.services import ops
from marketplace.services import orders as order_services
from tests.factories import OrderFactory, ProviderProfileFactory, ResourceFactory
from tests.marketplace.ops_world import NOW, make_trade

pytestmark = pytest.mark.django_db


def test_home_shows_each_queue_with_its_count(client_for, operator):
    make_trade(status=Trade.Status.DISPUTED)
    TradeFlag.objects.create(trade=make_trade(), kind=TradeFlag.Kind.PRICE_OUTLIER)
    response = client_for(operator).get(reverse("ops_home"))
    assert response.status_code == 200
    context = response.context
    assert (context["open_flags"], context["open_disputes"], context["suspended"]) == (1, 1, 0)
    html = response.content.decode()
    for name in ("capacity:ops_providers", "capacity:ops_listings", "ops_flags", "ops_disputes", "ops_audit"):
        assert reverse(name) in html
    assert reverse("ops_dashboard") in html


def test_every_console_page_renders_for_an_operator(client_for, operator):
    trade = make_trade(status=Trade.Status.DISPUTED)
    TradeFlag.objects.create(trade=trade, kind=TradeFlag.Kind.USAGE_OVERRUN, details={"bookings": []})
    client = client_for(operator)
    for url in (
        reverse("ops_home"),
        reverse("ops_flags"),
        reverse("ops_flags") + "?show=resolved",
        reverse("ops_disputes"),
        reverse("ops_dispute", args=[trade.pk]),
        reverse("ops_organisations") + "?q=Organisation",
        reverse("ops_organisation", args=[trade.buyer_id]),
        reverse("ops_audit") + "?subject_type=trade&q=confirmed",
        reverse("ops_dashboard"),
    ):
        assert client.get(url).status_code == 200, url


def test_operations_menu_starts_with_the_console(client_for, operator):
    html = client_for(operator).get(reverse("home")).content.decode()
    menu = html[html.index("nav-menu") :]
    assert menu.index(reverse("ops_home")) < menu.index(reverse("capacity:ops_providers"))


def test_resolving_a_flag_from_the_queue(client_for, operator):
    flag = TradeFlag.objects.create(trade=make_trade(), kind=TradeFlag.Kind.PRICE_OUTLIER)
    client = client_for(operator)
    client.post(reverse("ops_flag_resolve", args=[flag.pk]), {"note": ""})
    flag.refresh_from_db()
    assert flag.resolved_at is None
    client.post(reverse("ops_flag_resolve", args=[flag.pk]), {"note": "Checked with the provider."})
    flag.refresh_from_db()
    assert (flag.resolved_by, flag.resolution_note) == (operator, "Checked with the provider.")


def test_dispute_is_resolved_with_a_decision_and_both_parties_hear(client_for, operator, provider_owner, buyer_owner):
    resource = ResourceFactory(
        provider=ProviderProfileFactory(organisation=provider_owner.memberships.get().organisation).organisation
    )
    trade = make_trade(buyer_org=buyer_owner.memberships.get().organisation, resource=resource)
    Trade.objects.filter(pk=trade.pk).update(status=Trade.Status.DISPUTED)
    client = client_for(operator)
    refused = client.post(reverse("ops_dispute_resolve", args=[trade.pk]), {"decision": "redo", "note": ""})
    assert refused.status_code == 400
    trade.refresh_from_db()
    assert trade.status == Trade.Status.DISPUTED
    response = client.post(
        reverse("ops_dispute_resolve", args=[trade.pk]),
        {"decision": "redo", "note": "Six flanges out of tolerance."},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    trade.refresh_from_db()
    assert trade.status == Trade.Status.RESOLVED
    event = TradeEvent.objects.filter(trade=trade).order_by("pk").last()
    assert (event.from_status, event.to_status, event.actor) == ("disputed", "resolved", operator)
    assert event.note == "Redo: the provider makes the rejected parts again — Six flanges out of tolerance."
    notified = set(Notification.objects.filter(kind="trade_resolved").values_list("user__email", flat=True))
    assert notified == {provider_owner.email, buyer_owner.email}


def test_suspending_a_provider_hides_its_listings_flags_trades_and_reverses(operator, provider_owner):
    provider = provider_owner.memberships.get().organisation
    ProviderProfileFactory(organisation=provider)
    resource = ResourceFactory(provider=provider)
    running = make_trade(resource=resource)
    done = make_trade(resource=resource, status=Trade.Status.COMPLETED, start=NOW + timedelta(days=9))
    assert list(Resource.objects.visible_to_buyers().filter(provider=provider)) == [resource]

    ops.suspend_organisation(organisation=provider, by=operator, reason="Fake certificates", now=NOW)
    assert Resource.objects.visible_to_buyers().filter(provider=provider).count() == 0
    assert ProviderProfile.objects.get(organisation=provider).status == "suspended"
    assert list(TradeFlag.objects.filter(kind=TradeFlag.Kind.SUSPENDED_PARTY).values_list("trade_id", flat=True)) == [
        running.pk
    ]
    assert done.flags.count() == 0
    assert Notification.objects.filter(user=provider_owner, kind="organisation_suspended").count() == 1
    with pytest.raises(DomainError):
        ops.suspend_organisation(organisation=provider, by=operator, reason="again", now=NOW)

    ops.lift_suspension(organisation=provider, by=operator, reason="Certificates checked", now=NOW + timedelta(days=1))
    assert list(Resource.objects.visible_to_buyers().filter(provider=provider)) == [resource]
    assert ProviderProfile.objects.get(organisation=provider).status == "verified"
    suspension = OrganisationSuspension.objects.get()
    assert (suspension.lifted_by, suspension.lifted_at) == (operator, NOW + timedelta(days=1))
    assert Notification.objects.filter(user=provider_owner, kind="organisation_reinstated").count() == 1


def test_a_suspended_buyer_cannot_order_or_submit(operator, buyer_owner, buyer_org):
    draft = OrderFactory(buyer=buyer_org, status=Order.Status.DRAFT)
    ops.suspend_organisation(organisation=buyer_org, by=operator, reason="Unpaid invoices", now=NOW)
    assert ops.is_suspended(buyer_org)
    orders_before = Order.objects.count()
    with pytest.raises(PermissionDeniedError):
        order_services.create_order(buyer=buyer_org, by=buyer_owner, fields={"title": "Bracket"})
    with pytest.raises(PermissionDeniedError):
        order_services.submit_order(order=draft, by=buyer_owner)
    assert Order.objects.count() == orders_before
    draft.refresh_from_db()
    assert draft.status == Order.Status.DRAFT
    ops.lift_suspension(organisation=buyer_org, by=operator, now=NOW)
    assert not ops.is_suspended(buyer_org)


def test_a_suspended_buyer_cannot_book_a_plan(operator, buyer_owner, buyer_org, provider_org):
    from marketplace.services import trades as trade_services
    from tests.marketplace.trade_world import at, mill_of, order_of

    mill = mill_of(provider_org)
    order = order_of(buyer_org)
    ops.suspend_organisation(organisation=buyer_org, by=operator, reason="Unpaid invoices", now=NOW)
    with pytest.raises(PermissionDeniedError):
        trade_services.book_plan(
            order=order, buyer_user=buyer_owner, slices=[(mill.pk, at(10), at(12), 20, None)], now=NOW
        )
    assert mill.bookings.count() == 0


def test_suspension_pages_suspend_and_lift(client_for, operator, buyer_org):
    client = client_for(operator)
    client.post(reverse("ops_organisation_suspend", args=[buyer_org.pk]), {"reason": ""})
    assert OrganisationSuspension.objects.count() == 0
    client.post(reverse("ops_organisation_suspend", args=[buyer_org.pk]), {"reason": "Fraud report"})
    assert OrganisationSuspension.objects.get().reason == "Fraud report"
    client.post(reverse("ops_organisation_lift", args=[buyer_org.pk]), {"reason": ""})
    assert OrganisationSuspension.objects.get().lifted_by == operator


def test_certificate_expiry_warns_once_then_withdraws_claims(provider_owner):
    provider = provider_owner.memberships.get().organisation
    ProviderProfileFactory(organisation=provider)
    resource = ResourceFactory(provider=provider, standards=["ISO9001", "GB/T 19001"])
    cert = Certification.objects.create(
        profile=provider.provider_profile,
        standard="ISO9001",
        number="Q-77",
        issuer="CQC",
        valid_from=date(2027, 1, 1),
        valid_until=date(2030, 7, 1),
    )
    assert ops.process_certificate_expiry(now=NOW) == {"warned": 1, "withdrawn": 0}
    assert ops.process_certificate_expiry(now=NOW + timedelta(days=1)) == {"warned": 0, "withdrawn": 0}
    assert Notification.objects.filter(user=provider_owner, kind="certificate_expiring").count() == 1
    resource.refresh_from_db()
    assert resource.standards == ["ISO9001", "GB/T 19001"]

    after = NOW + timedelta(days=20)  # 2030-07-05: expired
    assert ops.process_certificate_expiry(now=after) == {"warned": 0, "withdrawn": 1}
    resource.refresh_from_db()
    assert resource.standards == ["GB/T 19001"]
    notice = CertificateNotice.objects.get(certification=cert, kind="withdrawn")
    assert notice.details == {"resources": [resource.pk], "standard": "ISO9001"}
    assert Notification.objects.filter(user=provider_owner, kind="certificate_expired").count() == 1
    assert ops.process_certificate_expiry(now=after + timedelta(days=1)) == {"warned": 0, "withdrawn": 0}


def test_an_expired_certificate_with_a_renewal_withdraws_nothing(provider_owner):
    provider = provider_owner.memberships.get().organisation
    ProviderProfileFactory(organisation=provider)
    resource = ResourceFactory(provider=provider, standards=["ISO9001"])
    for number, start, end in (
        ("old", date(2027, 1, 1), date(2030, 1, 1)),
        ("new", date(2030, 1, 1), date(2033, 1, 1)),
    ):
        Certification.objects.create(
            profile=provider.provider_profile,
            standard="ISO9001",
            number=number,
            issuer="CQC",
            valid_from=start,
            valid_until=end,
        )
    assert ops.process_certificate_expiry(now=NOW) == {"warned": 0, "withdrawn": 0}
    resource.refresh_from_db()
    assert resource.standards == ["ISO9001"]
