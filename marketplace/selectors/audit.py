"""The operator's audit trail: one list over every recorded change.

Why an explicit AuditEntry model plus a merging reader, rather than django-simple-history or
django-pghistory: the domains already write their own append-only event rows (ReviewEvent,
OrderEvent, TradeEvent) with the *why* (a reason, a note) and the actor as the service saw
them; a row-snapshot tracker would duplicate those as whole-row copies without the reason,
capture saves that are not state changes, and (for pghistory) add triggers to every table and
another dependency. What no event row records — operator actions such as suspensions, flag
resolutions, dispute decisions, withdrawn certificate claims — is written explicitly by the ops
services through ``record_audit``. This selector then reads all four sources as one
``UNION ALL`` query, filtered and paginated in SQL: a page costs two queries (count and rows)
whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PAGE_SIZE = 50

SUBJECT_TYPES = {
    "provider": _("Provider"),
    "resource": _("Listing"),
    "order": _("Order"),
    "trade": _("Trade"),
    "organisation": _("Organisation"),
    "reconciliationrun": _("Stripe reconciliation"),
}

_UNION = """
    SELECT 'audit' AS source, a.id, a.at, a.actor_id,
           CASE ct.model WHEN 'providerprofile' THEN 'provider' ELSE ct.model END AS subject_type,
           a.subject_id, a.action, '' AS from_status, '' AS to_status, a.reason AS note
    FROM marketplace_auditentry a JOIN django_content_type ct ON ct.id = a.subject_type_id
    UNION ALL
    SELECT 'review', r.id, r.created_at, r.actor_id, r.subject_type, r.subject_id, 'status',
           r.from_status, r.to_status, r.reason
    FROM capacity_reviewevent r
    UNION ALL
    SELECT 'order', e.id, e.at, e.actor_id, 'order', e.order_id, 'status', e.from_status, e.to_status, e.note
    FROM marketplace_orderevent e
    UNION ALL
    SELECT 'trade', e.id, e.at, e.actor_id, 'trade', e.trade_id,
           CASE e.kind WHEN 'transition' THEN 'status' ELSE e.kind END, e.from_status, e.to_status, e.note
    FROM marketplace_tradeevent e
"""


@dataclass(frozen=True)
class AuditRow:
    source: str
    id: int
    at: datetime
    actor_email: str | None
    subject_type: str
    subject_id: int
    action: str
    from_status: str
    to_status: str
    note: str

    @property
    def subject_label(self):
        return SUBJECT_TYPES.get(self.subject_type, self.subject_type)


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_trail(
    *,
    who: str = "",
    subject_type: str = "",
    subject_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    text: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> AuditPage:
    """Every audit entry and domain event, newest first, filtered by the actor's e-mail
    (substring), subject type and id, local dates (inclusive) and free text (action, note,
    statuses). Two queries per page."""
    where, params = ["TRUE"], {}
    if who:
        where.append("u.email ILIKE %(who)s")
        params["who"] = f"%{who}%"
    if subject_type:
        where.append("x.subject_type = %(subject_type)s")
        params["subject_type"] = subject_type
    if subject_id is not None:
        where.append("x.subject_id = %(subject_id)s")
        params["subject_id"] = subject_id
    if date_from:
        where.append("x.at >= %(date_from)s")
        params["date_from"] = _day_start(date_from)
    if date_to:
        where.append("x.at < %(date_to)s")
        params["date_to"] = _day_start(date_to + timedelta(days=1))
    if text:
        where.append(
            "(x.action ILIKE %(text)s OR x.note ILIKE %(text)s OR x.from_status ILIKE %(text)s"
            " OR x.to_status ILIKE %(text)s)"
        )
        params["text"] = f"%{text}%"
    base = f"FROM ({_UNION}) x LEFT JOIN marketplace_user u ON u.id = x.actor_id WHERE {' AND '.join(where)}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) {base}", params)
        total = cursor.fetchone()[0]
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        cursor.execute(
            f"SELECT x.source, x.id, x.at, u.email, x.subject_type, x.subject_id, x.action, "
            f"x.from_status, x.to_status, x.note {base} ORDER BY x.at DESC, x.source, x.id DESC "
            "LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": page_size, "offset": (page - 1) * page_size},
        )
        rows = [AuditRow(*row) for row in cursor.fetchall()]
    return AuditPage(rows=rows, total=total, page=page, pages=pages)
