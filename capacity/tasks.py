"""Metering tasks: they take ids and ISO times, call a service, and are safe to run twice."""

from celery import shared_task
from django.utils.dateparse import parse_datetime

from capacity.services import metering


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
