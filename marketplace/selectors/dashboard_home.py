"""What an organisation sees first after signing in: its work in progress, in a few queries."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from capacity.models import Booking, ProviderProfile, Resource
from marketplace.models import Match, Order, Organisation, Trade

CLOSED_TRADES = (Trade.Status.COMPLETED, Trade.Status.CANCELLED, Trade.Status.RESOLVED)


def home_summary(organisation: Organisation, *, now=None) -> dict:
    now = now or timezone.now()
    summary: dict = {}
    open_trades = Q(~Q(status__in=CLOSED_TRADES))
    if organisation.is_buyer:
        counts = Order.objects.filter(buyer=organisation).aggregate(
            drafts=Count("pk", filter=Q(status=Order.Status.DRAFT)),
            open=Count("pk", filter=Q(status__in=[Order.Status.OPEN, Order.Status.MATCHED])),
            awarded=Count("pk", filter=Q(status=Order.Status.AWARDED)),
        )
        summary["buyer"] = {
            **counts,
            "recent_orders": list(
                Order.objects.filter(buyer=organisation).select_related("category").order_by("-created_at")[:5]
            ),
            "trades": list(
                Trade.objects.filter(open_trades, buyer=organisation)
                .select_related("provider")
                .order_by("-created_at")[:5]
            ),
        }
    if organisation.is_provider:
        profile = ProviderProfile.objects.filter(organisation=organisation).first()
        resources = Resource.objects.filter(provider=organisation).aggregate(
            listed=Count("pk", filter=Q(status=Resource.Status.LISTED)),
            pending=Count("pk", filter=Q(status=Resource.Status.PENDING_REVIEW)),
            total=Count("pk"),
        )
        summary["provider"] = {
            "profile": profile,
            "resources": resources,
            "matched_orders": Match.objects.filter(provider=organisation, run__order__status=Order.Status.MATCHED)
            .values("order")
            .distinct()
            .count(),
            "upcoming": list(
                Booking.objects.filter(
                    resource__provider=organisation,
                    status__in=Booking.ACTIVE,
                    span__overlap=(now, now + timedelta(days=7)),
                )
                .select_related("resource")
                .order_by("span")[:6]
            ),
            "trades": list(
                Trade.objects.filter(open_trades, provider=organisation)
                .select_related("buyer")
                .order_by("-created_at")[:5]
            ),
        }
    return summary
