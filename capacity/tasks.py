"""Capacity tasks: they take ids (and ISO times), call a service, and are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.dateparse import parse_datetime

from capacity.models import Resource
from capacity.services import metering
from capacity.services.availability import materialise_idle_windows

logger = logging.getLogger(__name__)

ROLLING_STATUSES = (Resource.Status.LISTED, Resource.Status.PAUSED)


@shared_task
def roll_idle_windows(resource_ids: list[int] | None = None) -> int:
    """Keep every listed or paused resource's idle windows materialised HORIZON ahead (daily beat).

    Each resource is rebuilt in its own transaction (materialise_idle_windows is atomic and locks
    the resource row), so one failure neither rolls back nor blocks the others. Rebuilding is
    idempotent: running twice stores the same windows. Returns how many resources were rolled.
    """
    candidates = Resource.objects.filter(status__in=ROLLING_STATUSES).select_related("provider")
    if resource_ids is not None:
        candidates = candidates.filter(pk__in=resource_ids)
    rolled = 0
    for resource in candidates.order_by("pk").iterator():
        try:
            materialise_idle_windows(resource=resource)
        except Exception:
            logger.exception("rolling idle windows failed for resource %s", resource.pk)
        else:
            rolled += 1
    return rolled


@shared_task
def recompute_usage_near(resource_id: int, start: str, end: str, received_at: str | None = None) -> int:
    """Re-derive usage of the bookings around newly stored readings (as of their arrival)."""
    return metering.recompute_usage_for_span(
        resource_id=resource_id,
        start=parse_datetime(start),
        end=parse_datetime(end),
        now=parse_datetime(received_at) if received_at else None,
    )


@shared_task
def finalise_due_usage() -> int:
    return metering.finalise_due_usage()


@shared_task(name="capacity.tasks.expire_stale_holds")
def expire_stale_holds() -> int:
    """Beat (every minute): turn holds past their expiry into ``expired``. Idempotent."""
    from capacity.services.booking import expire_stale_holds as expire

    return expire()
