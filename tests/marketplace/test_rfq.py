"""RFQs: an order sent to a few providers, quotes or declines, one award that books the slot."""

from datetime import timedelta
from decimal import Decimal

import pytest

from capacity.models import Booking
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import RFQ, OrderShare, Quote, RFQInvitation, Trade
from marketplace.services import quotes as services
from tests.factories import MembershipFactory, OrganisationFactory, ProviderProfileFactory
from tests.marketplace.trade_world import NOW, at, mill_of, order_of

LINES = [
    {"code": "work", "label": "Milling", "amount": "3600.00"},
    {"code": "setup", "label": "Setup", "amount": "240.00"},
    {"code": "freight", "label": "Freight", "amount": "80.00"},
]


@pytest.fixture
def rival(db):
    organisation = OrganisationFactory(name="Ningbo Rival", kind="provider")
    ProviderProfileFactory(organisation=organisation)
    user = MembershipFactory(organisation=organisation, user__email="rival@provider.example").user
    return organisation, user


@pytest.fixture
def rfq_world(provider_org, provider_owner, buyer_org, buyer_owner, rival):
    mill = mill_of(provider_org)
    rival_mill = mill_of(rival[0])
    order = order_of(buyer_org)
    rfq = services.create_rfq(order=order, by=buyer_owner, providers=[provider_org, rival[0]], message="Hi", now=NOW)
    return {"mill": mill, "rival_mill": rival_mill, "order": order, "rfq": rfq}


def _quote(invitation, user, resource, *, valid_until=None, start=None, now=NOW):
    return services.submit_quote(
        invitation=invitation,
        by=user,
        resource=resource,
        lines=LINES,
        lead_time_days=5,
        slot_start=start or at(10),
        slot_end=(start or at(10)) + timedelta(hours=2),
        valid_until=valid_until or NOW + timedelta(days=3),
        now=now,
    )


@pytest.mark.django_db
def test_an_rfq_shares_the_order_and_notifies_each_provider(rfq_world, provider_org, provider_owner, rival):
    rfq = rfq_world["rfq"]
    assert sorted(rfq.invitations.values_list("provider_id", "status")) == sorted(
        [(provider_org.pk, "invited"), (rival[0].pk, "invited")]
    )
    assert set(OrderShare.objects.filter(order=rfq.order).values_list("provider_id", flat=True)) == {
        provider_org.pk,
        rival[0].pk,
    }
    assert provider_owner.notifications.filter(kind="rfq_invited").count() == 1


@pytest.mark.django_db
def test_an_rfq_goes_to_at_most_the_configured_number_of_providers(settings, buyer_org, buyer_owner):
    settings.SPINDLE_RFQ_MAX = 2
    providers = []
    for _ in range(3):
        organisation = OrganisationFactory(kind="provider")
        ProviderProfileFactory(organisation=organisation)
        providers.append(organisation)
    order = order_of(buyer_org)
    with pytest.raises(DomainError) as refused:
        services.create_rfq(order=order, by=buyer_owner, providers=providers, now=NOW)
    assert refused.value.code == "too_many"
    assert (RFQ.objects.count(), OrderShare.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_awarding_a_quote_books_its_slot_creates_the_trade_and_tells_the_others(
    rfq_world, provider_org, provider_owner, buyer_owner, rival
):
    rfq = rfq_world["rfq"]
    mine = rfq.invitations.get(provider=provider_org)
    theirs = rfq.invitations.get(provider=rival[0])
    quote = _quote(mine, provider_owner, rfq_world["mill"])
    other = _quote(theirs, rival[1], rfq_world["rival_mill"])
    assert (quote.total, quote.currency) == (Decimal("3920.00"), "CNY")

    trade = services.award_quote(quote=quote, by=buyer_owner, now=NOW + timedelta(hours=1))

    assert (trade.provider, trade.origin, trade.quote, trade.price_estimate, trade.freight_amount) == (
        provider_org,
        "quote",
        quote,
        Decimal("3840.00"),
        Decimal("80.00"),
    )
    booking = Booking.objects.get(trade_link__trade=trade)
    assert (booking.status, booking.span.lower, booking.resource_id) == ("confirmed", at(10), rfq_world["mill"].pk)
    assert dict(Quote.objects.values_list("pk", "status")) == {quote.pk: "awarded", other.pk: "not_selected"}
    assert dict(RFQInvitation.objects.values_list("pk", "status")) == {mine.pk: "selected", theirs.pk: "not_selected"}
    assert rival[1].notifications.filter(kind="quote_not_selected").count() == 1
    rfq_world["order"].refresh_from_db()
    assert rfq_world["order"].status == "awarded"


@pytest.mark.django_db
def test_an_expired_quote_cannot_be_awarded(rfq_world, provider_org, provider_owner, buyer_owner):
    quote = _quote(rfq_world["rfq"].invitations.get(provider=provider_org), provider_owner, rfq_world["mill"])
    with pytest.raises(DomainError) as refused:
        services.award_quote(quote=quote, by=buyer_owner, now=quote.valid_until)
    assert refused.value.code == "expired"
    assert (Trade.objects.count(), Booking.objects.count()) == (0, 0)
    quote.refresh_from_db()
    assert quote.status == "submitted"
    rfq_world["order"].refresh_from_db()
    assert rfq_world["order"].status == "open"


@pytest.mark.django_db
def test_a_provider_declines_with_a_reason(rfq_world, rival, buyer_owner):
    invitation = rfq_world["rfq"].invitations.get(provider=rival[0])
    with pytest.raises(DomainError):
        services.decline_invitation(invitation=invitation, by=rival[1], reason=" ")
    services.decline_invitation(invitation=invitation, by=rival[1], reason="Fully booked", now=NOW)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.decline_reason) == ("declined", "Fully booked")
    assert buyer_owner.notifications.filter(kind="rfq_declined").count() == 1
    with pytest.raises(DomainError):
        _quote(invitation, rival[1], rfq_world["rival_mill"])


@pytest.mark.django_db
def test_only_the_invited_provider_quotes_on_its_own_resource(rfq_world, provider_org, provider_owner, rival):
    mine = rfq_world["rfq"].invitations.get(provider=provider_org)
    with pytest.raises(PermissionDeniedError):
        _quote(mine, rival[1], rfq_world["rival_mill"])
    with pytest.raises(DomainError) as refused:
        _quote(mine, provider_owner, rfq_world["rival_mill"])
    assert refused.value.code == "resource"
    assert Quote.objects.count() == 0


@pytest.mark.django_db
def test_only_the_buyer_awards(rfq_world, provider_org, provider_owner, outsider):
    quote = _quote(rfq_world["rfq"].invitations.get(provider=provider_org), provider_owner, rfq_world["mill"])
    for user in (provider_owner, outsider):
        with pytest.raises(PermissionDeniedError):
            services.award_quote(quote=quote, by=user, now=NOW)
    assert Trade.objects.count() == 0
