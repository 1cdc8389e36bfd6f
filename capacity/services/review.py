"""The audit trail shared by provider verification and listing review."""

from __future__ import annotations

from datetime import datetime

from capacity.models import ReviewEvent
from marketplace.models import User


def record_review_event(
    *,
    subject_type: str,
    subject_id: int,
    from_status: str,
    to_status: str,
    actor: User | None,
    reason: str = "",
    details: dict | None = None,
    now: datetime,
) -> ReviewEvent:
    return ReviewEvent.objects.create(
        subject_type=subject_type,
        subject_id=subject_id,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        details=details or {},
        created_at=now,
    )
