"""Reads for orders: who may see an order and its drawings, and the lists they see.

Scoping is by the *active* organisation: the buyer's members see their orders, providers
see orders shared with them (and the spec summary of orders whose latest matches include one
of their resources, without drawings), operators (with a second factor) see everything. Anybody else
gets nothing, so views answer 404 and an order's existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from marketplace.models import NdaAcceptance, Order, OrderFile, OrderShare, Organisation, User
from marketplace.selectors.matching import is_matched_provider

BUYER = "buyer"
PROVIDER = "provider"  # the buyer shared the order with this provider
MATCHED = "matched"  # a resource of this provider is in the order's latest matches: summary only
OPERATOR = "operator"


@dataclass(frozen=True)
class OrderAccess:
    order: Order
    role: str  # BUYER, PROVIDER or OPERATOR
    organisation: Organisation | None  # the viewer's active organisation

    @property
    def is_buyer(self) -> bool:
        return self.role == BUYER

    @property
    def is_provider(self) -> bool:
        return self.role == PROVIDER

    @property
    def is_matched_provider(self) -> bool:
        return self.role == MATCHED

    @property
    def sees_files(self) -> bool:
        """Drawings are listed for the buyer, operators and providers the order is shared with."""
        return self.role != MATCHED

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR

    @property
    def sees_budget(self) -> bool:
        return self.role in (BUYER, OPERATOR)


def is_verified_operator(user: User) -> bool:
    """Operators act on orders only with a second factor, as in the operator area."""
    from marketplace.middleware import _has_totp

    return user.is_authenticated and user.is_operator and _has_totp(user)


def order_access(*, user: User, organisation: Organisation | None, order_id: int) -> OrderAccess | None:
    """The viewer's access to an order, or None when they may not know it exists."""
    order = (
        Order.objects.select_related("buyer", "category", "category__parent", "material", "measurand")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        return None
    if organisation is not None:
        if order.buyer_id == organisation.pk:
            return OrderAccess(order, BUYER, organisation)
        if OrderShare.objects.filter(order=order, provider=organisation).exists():
            return OrderAccess(order, PROVIDER, organisation)
        if organisation.is_provider and is_matched_provider(order=order, organisation=organisation):
            return OrderAccess(order, MATCHED, organisation)
    if is_verified_operator(user):
        return OrderAccess(order, OPERATOR, organisation)
    return None


def drawing_refusal(access: OrderAccess) -> str | None:
    """Why the viewer may not open this order's drawings yet (None when they may)."""
    if access.is_provider and access.order.nda_required and not nda_accepted(access):
        return _("Accept the buyer's non-disclosure agreement before opening the drawings.")
    return None


def nda_accepted(access: OrderAccess) -> bool:
    return NdaAcceptance.objects.filter(order=access.order, organisation=access.organisation).exists()


def order_file(access: OrderAccess, file_id: int) -> OrderFile | None:
    if not access.sees_files:
        return None  # a match shows the spec summary; drawings need the buyer's share
    return OrderFile.objects.filter(order=access.order, pk=file_id).first()


def buyer_orders(*, organisation: Organisation, status: str | None = None):
    orders = Order.objects.of_buyer(organisation).select_related("category")
    if status:
        orders = orders.filter(status=status)
    return orders


def shared_orders(*, organisation: Organisation):
    return (
        Order.objects.shared_with(organisation)
        .select_related("buyer", "category")
        .order_by("-shares__created_at", "-pk")
    )


def shares_with_nda(order: Order) -> list[tuple[OrderShare, NdaAcceptance | None]]:
    acceptances = {a.organisation_id: a for a in order.nda_acceptances.select_related("user")}
    return [
        (share, acceptances.get(share.provider_id))
        for share in order.shares.select_related("provider", "shared_by").order_by("created_at", "pk")
    ]


def shareable_providers(order: Order):
    """Verified providers the order is not yet shared with (the buyer picks among them)."""
    from capacity.models import ProviderProfile

    return (
        Organisation.objects.filter(
            kind__in=[Organisation.Kind.PROVIDER, Organisation.Kind.BOTH],
            provider_profile__status=ProviderProfile.Status.VERIFIED,
        )
        .exclude(pk=order.buyer_id)
        .exclude(shared_orders__order=order)
        .order_by("name")
    )
