"""Metering tasks: they take ids and ISO times, call a service, and are safe to run twice."""

from celery import shared_task
from django.utils.dateparse import parse_datetime

from capacity.services import metering


@shared_task
def recompute_usage_near(resource_id: int, start: str, end: str) -> int:
    """Re-derive usage of the bookings around newly stored readings."""
    return metering.recompute_usage_for_span(
        resource_id=resource_id, start=parse_datetime(start), end=parse_datetime(end)
    )


@shared_task
def finalise_due_usage() -> int:
    return metering.finalise_due_usage()
